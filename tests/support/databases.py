"""Scratch databases on the test server, and ``manage.py`` run as operators run it.

Tests that migrate to zero, build legacy databases or race several processes need databases of
their own, apart from pytest-django's test database. Each scratch database has a unique name, so
tests running in parallel (pytest-xdist) never share one.
"""

import io
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connections
from django.test.utils import override_settings

from ledgerflow import cli
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


def _create_database(name, template=None):
    with connect("postgres", autocommit=True) as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _drop_database(name):
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_database(prefix="lf_scratch", template=None):
    """An empty database (or a copy of ``template``) on the test server for the duration of the
    block; dropped afterwards."""
    return db_scratch.scratch_database(
        server_conninfo("postgres"), prefix=prefix, template=template
    )


_migrated_template = None


def migrated_template():
    """A database with every migration applied by ``manage.py migrate``, to be copied.

    Built once per test process (each xdist worker has its own) on first use and dropped by
    ``drop_migrated_template`` when the session ends: copying it takes about a sixth of the time
    of creating a database and migrating it. Nothing may connect to it once built, because
    PostgreSQL copies a template only while no one else is connected to it.
    """
    global _migrated_template
    if _migrated_template is None:
        name = f"lf_template_{uuid.uuid4().hex[:10]}"
        _create_database(name)
        try:
            manage("migrate", "--no-input", database_url_value=database_url(name))
        except BaseException:
            _drop_database(name)
            raise
        _migrated_template = name
    return _migrated_template


def drop_migrated_template():
    global _migrated_template
    if _migrated_template is not None:
        _drop_database(_migrated_template)
        _migrated_template = None


def migrated_database(prefix="lf_scratch"):
    """A scratch database at the head of every app's migrations, for tests whose subject is not
    that first ``migrate`` (the tests of ``migrate`` itself start from ``scratch_database``)."""
    return scratch_database(prefix, template=migrated_template())


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


# Variables a child ``manage.py`` would read at start-up, as the settings they become.
SETTINGS_FROM_ENV = {
    "LEDGERFLOW_BACKUP_DIR": Path,
    "LEDGERFLOW_BACKUP_KEY": str,
    "LEDGERFLOW_PG_BIN_DIR": str,
    "MIGRATION_LOCK_WAIT_TIMEOUT": float,
}


@contextmanager
def default_connection_to(dbname):
    """Django's default connection opens ``dbname`` for the block, and the test database after."""
    connection = connections["default"]
    saved = connection.settings_dict
    connection.close()
    connection.settings_dict = {**saved, "NAME": dbname}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict = saved


def manage_in_process(dbname, *args, env=None):
    """``manage.py ARGS`` against ``dbname`` as ``manage`` runs it, without a child process.

    It goes through the CLI's own entry point (same exit codes, same one-paragraph errors) on
    Django's default connection pointed at ``dbname``; ``env`` may set only the variables of
    ``SETTINGS_FROM_ENV``. Use ``manage`` where the process itself is under test: its start-up,
    settings read from the environment, signals, or what reaches the real stderr (log lines).
    The caller must allow database access (``django_db_blocker.unblock()``).
    """
    unknown = set(env or {}) - set(SETTINGS_FROM_ENV)
    assert not unknown, f"set {sorted(unknown)} in a child: use manage()"
    overrides = {name: SETTINGS_FROM_ENV[name](value) for name, value in (env or {}).items()}
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["manage.py", *args]
    with (
        default_connection_to(dbname),
        override_settings(**overrides),
        redirect_stdout(stdout),
        redirect_stderr(stderr),
    ):
        try:
            returncode = cli.execute(argv)
        except SystemExit as exit_:
            returncode = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(argv, returncode, stdout.getvalue(), stderr.getvalue())
