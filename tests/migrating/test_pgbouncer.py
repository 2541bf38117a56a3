"""Behind a transaction-pooling PgBouncer a session advisory lock protects nothing; with
``MIGRATION_DATABASE_URL`` pointing past it, ``migrate`` takes a real lock.

Needs the ``pgbouncer`` binary (``.ci/run`` installs it from Debian).
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.migrating.support import query, wait_until
from tests.support.databases import database_url, manage, scratch_database, server_conninfo

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(PGBOUNCER), reason="pgbouncer is not installed (.ci/run installs it)"
    ),
    pytest.mark.process,
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bouncer():
    """A transaction-pooling PgBouncer with one server connection per database; yields a
    function turning a database name into a URL through it."""
    # Run as root, pgbouncer drops to the postgres user, which cannot enter pytest's 0700 tmp.
    with tempfile.TemporaryDirectory(prefix="lf_pgbouncer_") as directory:
        os.chmod(directory, 0o777)
        yield from _run_bouncer(Path(directory))


def _run_bouncer(tmp_path):
    info = server_conninfo("postgres")
    port = _free_port()
    user = info.get("user", "postgres")
    (tmp_path / "users.txt").write_text(f'"{user}" ""\n')
    (tmp_path / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={info.get("host", "127.0.0.1")} port={info.get("port", 5432)}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path / "users.txt"}
pool_mode = transaction
default_pool_size = 1
ignore_startup_parameters = application_name,options,extra_float_digits
logfile = {tmp_path / "pgbouncer.log"}
pidfile = {tmp_path / "pgbouncer.pid"}
"""
    )
    command = [PGBOUNCER, str(tmp_path / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]  # pgbouncer refuses to run as root
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: _accepts(port), timeout=20), "pgbouncer did not start"
        yield lambda dbname: f"postgres://{user}@127.0.0.1:{port}/{dbname}"
    finally:
        process.terminate()
        process.communicate(timeout=20)


def _accepts(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_session_lock_through_transaction_pooling_is_granted_to_two_clients(bouncer):
    import psycopg

    with scratch_database() as db:
        url = bouncer(db)
        with (
            psycopg.connect(url, autocommit=True, prepare_threshold=None) as first,
            psycopg.connect(url, autocommit=True, prepare_threshold=None) as second,
        ):
            took_first = first.execute(
                "SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY]
            ).fetchone()[0]
            # The one server connection went back to the pool still holding the session lock;
            # the second client now runs on it and "gets" the lock too.
            took_second = second.execute(
                "SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY]
            ).fetchone()[0]

        assert (took_first, took_second) == (True, True)


def test_migrate_uses_the_direct_route_past_pgbouncer(bouncer):
    with scratch_database() as db:
        result = manage(
            "migrate",
            database_url_value=bouncer(db),
            env={"MIGRATION_DATABASE_URL": database_url(db)},
            check=False,
        )
        status = manage("migration_status", database_url_value=database_url(db), check=False)

        assert result.returncode == 0, result.stderr
        assert "at head" in status.stdout
        assert query(db, "SELECT count(*) FROM ledgerflow_migrate_runs") == [(1,)]


def test_lock_is_free_again_after_migrate_through_the_direct_route(bouncer):
    with scratch_database() as db:
        manage(
            "migrate",
            database_url_value=bouncer(db),
            env={"MIGRATION_DATABASE_URL": database_url(db)},
        )

        # The server ends the child's session after the child exits, not before: wait for it
        # (a lock still held after that would be a real leak).
        assert wait_until(
            lambda: (
                query(
                    db,
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                    [MIGRATION_LOCK_KEY],
                )
                == [(0,)]
            ),
            timeout=10,
        )
