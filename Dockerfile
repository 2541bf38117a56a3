# LedgerFlow Schema: an image whose default command is `python manage.py migrate`.
#   docker build -t ledgerflow-schema .
#   docker run --rm -e DATABASE_URL=postgres://user:password@host:5432/ledgerflow ledgerflow-schema
# The install and run steps are the README's "Container" section, step for step.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEDGERFLOW_ENV=production

WORKDIR /app

# pg_dump and pg_restore 18 back up and restore every supported server (14 to 18) for `backup`,
# `restore`, `migrate --backup` and lossy rollbacks; only they and libpq are installed, with the
# Debian libraries they link against (docker/install_pg_client.py names them). Unpinned: Debian's
# security updates replace these versions, so a pin would break the build (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgssapi-krb5-2 liblz4-1 libssl3 libzstd1 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY docker/install_pg_client.py /tmp/
RUN python /tmp/install_pg_client.py /opt/pg-client \
    && rm /tmp/install_pg_client.py
ENV LEDGERFLOW_PG_BIN_DIR=/opt/pg-client/bin

# psycopg[binary] brings its own libpq. No extras: the embedded development server stays out.
COPY pyproject.toml requirements.lock README.md manage.py ./
COPY ledgerflow ./ledgerflow
COPY accounts ./accounts
COPY users ./users
COPY orders ./orders
COPY indexer ./indexer
COPY ledgerflow_v2 ./ledgerflow_v2
COPY config ./config
COPY docker/entrypoint.sh /usr/local/bin/ledgerflow-entrypoint
# Every dependency pinned with its hash (requirements.lock, `make lock`); then the project alone.
# manage.py imports the project from /app, which PYTHONDONTWRITEBYTECODE and USER leave without
# bytecode: compiled here once, or every container start compiles every module again (~0.06 s).
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps . \
    && python -m compileall -q ledgerflow ledgerflow_v2 accounts users orders indexer \
    && useradd --system --no-create-home --uid 10001 ledgerflow

USER 10001
ENTRYPOINT ["/usr/local/bin/ledgerflow-entrypoint"]
CMD ["migrate", "--no-input"]
