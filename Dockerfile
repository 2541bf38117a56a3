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

# psycopg[binary] brings its own libpq: no system packages are needed.
COPY pyproject.toml requirements.lock README.md manage.py ./
COPY ledgerflow ./ledgerflow
COPY accounts ./accounts
COPY users ./users
COPY orders ./orders
COPY indexer ./indexer
COPY config ./config
COPY docker/entrypoint.sh /usr/local/bin/ledgerflow-entrypoint
# Every dependency pinned with its hash (requirements.lock, `make lock`); then the project alone.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps . \
    && useradd --system --no-create-home --uid 10001 ledgerflow

USER 10001
ENTRYPOINT ["/usr/local/bin/ledgerflow-entrypoint"]
CMD ["migrate", "--no-input"]
