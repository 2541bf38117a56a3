#!/bin/sh
# Runs `python manage.py ARGS` (default: migrate --no-input) with DATABASE_URL from the environment.
set -eu

if [ -z "${DATABASE_URL:-}" ]; then
    echo "error: DATABASE_URL is not set; run with -e DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB" >&2
    exit 2
fi
# migrate, preflight and migration_status sign nothing, so a throwaway key satisfies the
# production settings; give a real SECRET_KEY (and ALLOWED_HOSTS) to serve the admin.
if [ -z "${SECRET_KEY:-}" ]; then
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    export SECRET_KEY
fi
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost}"

exec python manage.py "$@"
