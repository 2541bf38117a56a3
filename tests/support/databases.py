"""Scratch databases on the test server, and ``manage.py`` run as operators run it.

Tests that migrate to zero, build legacy databases or race several processes need databases of
their own, apart from pytest-django's test database.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings

from ledgerflow.db import scratch as db_scratch
from ledgerflow.db.urls import psycopg_params

REPO_ROOT = Path(__file__).resolve().parents[2]
LEGACY_SCHEMA_SQL = REPO_ROOT / "tests" / "contract" / "legacy_schema.sql"


def server_conninfo(dbname):
    """psycopg connection arguments for ``dbname`` on the server the test settings point at.

    Without the URL's options: the tests' own sessions must not carry the project's
    application_name, by which they find (and end) the sessions of a child ``manage.py``."""
    return psycopg_params({**settings.DATABASES["default"], "OPTIONS": {}}, dbname=dbname)


def database_url(dbname):
    """A ``DATABASE_URL`` for ``dbname`` on the test server."""
    info = server_conninfo(dbname)
    auth = quote(info.get("user", ""), safe="")
    if info.get("password"):
        auth += ":" + quote(info["password"], safe="")
    host = quote(info.get("host", ""), safe="")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgres://{auth}@{host}{port}/{dbname}"


def connect(dbname, **kwargs):
    return psycopg.connect(**server_conninfo(dbname), **kwargs)


def scratch_database(prefix="lf_scratch"):
    """An empty database on the test server for the duration of the block; dropped afterwards."""
    return db_scratch.scratch_database(server_conninfo("postgres"), prefix=prefix)


def load_legacy_schema(dbname):
    """Build the schema as the legacy sqlx migration did, from the contract's SQL."""
    with connect(dbname, autocommit=True) as conn:
        conn.execute(LEGACY_SCHEMA_SQL.read_text())


def manage(*args, database_url_value=None, env=None, check=True, timeout=300):
    """Run ``python manage.py ARGS`` in a child process, as an operator would."""
    child_env = {**os.environ, "LEDGERFLOW_ENV": "test", "PYTHONWARNINGS": "error", **(env or {})}
    if database_url_value is not None:
        child_env["DATABASE_URL"] = database_url_value
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result
