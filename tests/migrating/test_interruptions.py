"""An interrupted migrate leaves nothing half done, and a plain rerun converges.

The dangerous moment is between a migration's DDL and its history row: stock Django commits the
DDL (deferred SQL included) first and records the migration afterwards. These tests stop migrate
exactly there — a session holds ``django_migrations`` so the INSERT of the history row waits —
and then kill it, or let its lock timeout fire.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import psycopg
import pytest

from tests.migrating.support import (
    MigrationsCopy,
    applied,
    migrate_has_connected,
    query,
    run_manage,
    start_manage,
    wait_until,
)
from tests.support.databases import REPO_ROOT, connect, manage, scratch_database

pytestmark = pytest.mark.process

FAST_RETRIES = {
    "MIGRATION_LOCK_TIMEOUT": "0.3",
    "MIGRATION_RETRIES": "6",
    "MIGRATION_RETRY_BACKOFF": "0.1",
}


def _waits_on_history(dbname):
    """Whether a session waits for a lock on ``django_migrations`` (to record a migration)."""
    return bool(
        query(
            dbname,
            "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND l.relation = 'django_migrations'::regclass "
            "AND a.datname = %s",
            [dbname],
        )
    )


def _hold_history(dbname):
    """A session holding ``django_migrations`` against writes (reads still pass)."""
    conn = connect(dbname)
    conn.execute("LOCK TABLE django_migrations IN EXCLUSIVE MODE")
    return conn


def _relation_exists(dbname, name):
    return query(dbname, "SELECT to_regclass(%s) IS NOT NULL", [name])[0][0]


def _type_exists(dbname, name):
    return bool(query(dbname, "SELECT 1 FROM pg_type WHERE typname = %s", [name]))


def _history_duplicates(dbname):
    return query(
        dbname, "SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1"
    )


def test_migrate_killed_before_its_history_row_leaves_no_unrecorded_table():
    with scratch_database() as db:
        assert run_manage(db, "migrate", "accounts").returncode == 0
        holder = _hold_history(db)
        try:
            child = start_manage(db, "migrate", "orders")
            assert migrate_has_connected(db)
            assert wait_until(lambda: _waits_on_history(db), timeout=60)
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        finally:
            holder.close()

        # The orders migration created the enum type and the table (and, deferred, its
        # indexes) before it stopped: none of it may stay without its history row.
        assert "0001_create_order_status_and_orders" not in applied(db, "orders")
        assert not _relation_exists(db, "orders")
        assert not _type_exists(db, "order_status")

        rerun = run_manage(db, "migrate")
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert applied(db, "orders") == ["0001_create_order_status_and_orders"]
        assert _relation_exists(db, "idx_orders_account_id")
        assert _history_duplicates(db) == []
        recorded = query(
            db,
            "SELECT count(*) FROM ledgerflow_migration_checksums "
            "WHERE app = 'orders' AND NOT baselined",
        )
        assert recorded == [(1,)]


def test_lock_timeout_on_the_history_row_rolls_back_the_whole_migration_then_retries():
    with scratch_database() as db:
        assert run_manage(db, "migrate", "accounts").returncode == 0
        holder = _hold_history(db)
        released = threading.Event()

        def release_after_two_timeouts():
            wait_until(lambda: _waits_on_history(db), timeout=60)
            threading.Event().wait(0.8)  # longer than lock_timeout: at least one retry
            holder.close()
            released.set()

        releaser = threading.Thread(target=release_after_two_timeouts)
        releaser.start()
        try:
            result = run_manage(db, "migrate", "orders", env=FAST_RETRIES)
        finally:
            releaser.join()
            holder.close()

        assert released.is_set()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "rolled back, retrying" in result.stdout
        assert applied(db, "orders") == ["0001_create_order_status_and_orders"]
        assert _history_duplicates(db) == []


def test_ok_is_printed_only_after_the_migration_committed():
    with scratch_database() as db:
        assert run_manage(db, "migrate", "accounts").returncode == 0
        holder = _hold_history(db)
        try:
            child = start_manage(db, "migrate", "orders")
            assert wait_until(lambda: _waits_on_history(db), timeout=60)
            child.send_signal(signal.SIGKILL)
            out, _ = child.communicate(timeout=30)
        finally:
            holder.close()
        assert "Applying orders.0001_create_order_status_and_orders..." in out
        assert "Applying orders.0001_create_order_status_and_orders... OK" not in out


def test_run_row_counts_what_committed_before_a_kill():
    with scratch_database() as db:
        assert run_manage(db, "migrate", "ledgerflow").returncode == 0
        assert run_manage(db, "migrate", "auth", "0001").returncode == 0
        before = len(query(db, "SELECT 1 FROM django_migrations"))
        # A reader of auth_permission: auth.0002 (ALTER TABLE) waits for it, after the run has
        # applied the migrations ordered before it.
        reader = connect(db)
        reader.execute("SELECT count(*) FROM auth_permission")
        try:
            child = start_manage(db, "migrate")
            assert wait_until(
                lambda: query(
                    db,
                    "SELECT 1 FROM pg_locks WHERE NOT granted "
                    "AND relation = 'auth_permission'::regclass",
                ),
                timeout=60,
            )
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        finally:
            reader.close()
        gained = len(query(db, "SELECT 1 FROM django_migrations")) - before
        assert gained > 0
        # Killed: the run stays "running" (status reports it as interrupted), counting exactly
        # the migrations that committed.
        rows = query(
            db,
            "SELECT outcome, applied_count FROM ledgerflow_migrate_runs ORDER BY id DESC LIMIT 1",
        )
        assert rows == [("running", gained)]


TWO_CONCURRENT_INDEXES = """from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        AddIndexConcurrently(
            "order", models.Index(fields=["broker_id"], name="idx_orders_broker_id")
        ),
        AddIndexConcurrently("order", models.Index(fields=["amount"], name="idx_orders_amount")),
    ]
"""


def test_interrupted_non_atomic_migration_resumes_where_it_stopped(tmp_path):
    """A non-atomic migration runs statement by statement: a kill after the first index was
    built and while the second was being built leaves one valid index, one INVALID, and no
    history row. The rerun keeps the first, rebuilds the second and records the migration."""
    # --no-preflight: the models do not declare these indexes, which the models check would flag.
    orders = MigrationsCopy(tmp_path, "orders")
    orders.write("0002_concurrent_indexes.py", TWO_CONCURRENT_INDEXES)
    with scratch_database() as db:
        assert run_manage(db, "migrate", "--no-preflight", env=orders.env()).returncode == 0
        # What the interruption leaves, made directly: the history and checksum rows never
        # written, the second build never marked valid.
        with connect(db, autocommit=True) as conn:
            conn.execute("DELETE FROM django_migrations WHERE name = '0002_concurrent_indexes'")
            conn.execute(
                "DELETE FROM ledgerflow_migration_checksums WHERE name = '0002_concurrent_indexes'"
            )
            conn.execute(
                "UPDATE pg_index SET indisvalid = false "
                "WHERE indexrelid = 'idx_orders_amount'::regclass"
            )

        rerun = run_manage(db, "migrate", "--no-preflight", env=orders.env())

        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "index idx_orders_broker_id is already built" in rerun.stdout
        assert "Index idx_orders_amount on orders is INVALID" in rerun.stdout
        assert applied(db, "orders") == [
            "0001_create_order_status_and_orders",
            "0002_concurrent_indexes",
        ]
        valid = query(
            db,
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname IN ('idx_orders_broker_id', 'idx_orders_amount') ORDER BY 1",
        )
        assert valid == [("idx_orders_amount", True), ("idx_orders_broker_id", True)]
        # Recorded with the checksum of the migration on disk, so the next run finds no edit.
        assert run_manage(db, "migrate", "--no-preflight", env=orders.env()).returncode == 0


@pytest.fixture
def private_server():
    """A PostgreSQL cluster of the test's own, which it may crash: ``(url_for, stop, start)``."""
    from ledgerflow.db import embedded

    base = tempfile.mkdtemp(prefix="lf-crash-")
    os.chmod(base, 0o755)  # the cluster runs as an unprivileged user when we are root
    try:
        embedded.ensure_running(base)
    except embedded.EmbeddedDatabaseError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"no PostgreSQL server binaries to start a private cluster: {exc}")
    server_url = embedded.database_url(base).rsplit("/", 1)[0]
    try:
        yield (
            lambda dbname: f"{server_url}/{dbname}",
            lambda: embedded.stop(base, mode="immediate"),
            lambda: embedded.ensure_running(base),
        )
    finally:
        embedded.stop(base)
        shutil.rmtree(base, ignore_errors=True)


def test_server_stopped_at_a_history_row_leaves_nothing_unrecorded(private_server):
    url_for, stop_immediately, start = private_server
    url = url_for("ledgerflow")
    assert manage("migrate", "contenttypes", database_url_value=url).returncode == 0
    holder = psycopg.connect(url)
    holder.execute("LOCK TABLE django_migrations IN EXCLUSIVE MODE")
    child = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "migrate", "sessions"],
        cwd=REPO_ROOT,
        env={**os.environ, "LEDGERFLOW_ENV": "test", "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with psycopg.connect(url, autocommit=True) as watcher:
        waiting = wait_until(
            lambda: watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted "
                "AND relation = 'django_migrations'::regclass"
            ).fetchone()[0],
            timeout=60,
        )
    assert waiting
    stop_immediately()
    _, err = child.communicate(timeout=120)
    holder.close()
    start()

    assert child.returncode != 0
    # One paragraph that says what happened, not a connect failure nor a traceback.
    assert "the server closed the connection" in err
    assert "cannot connect" not in err
    assert "Traceback" not in err
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('django_session')").fetchone() == (None,)
    rerun = manage("migrate", database_url_value=url, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        names = conn.execute("SELECT name FROM django_migrations WHERE app = 'sessions'")
        assert [row[0] for row in names] == ["0001_initial"]


def _waits_on_a_lock(dbname):
    return bool(
        query(
            dbname,
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [dbname],
        )
    )


def test_migrate_killed_while_loading_the_head_schema_leaves_an_empty_database():
    # A session creates, without committing, a table named as an index the load builds near its
    # end: the load waits there, having created every table and written every row, and is killed.
    late_index = "ledgerflow_release_tags_name_dfb1be85_like"
    with scratch_database() as db:
        blocker = connect(db)
        try:
            blocker.execute(f"CREATE TABLE public.{late_index} (id int)")
            child = start_manage(db, "migrate", env={"MIGRATION_LOCK_TIMEOUT": "60"})
            assert wait_until(lambda: _waits_on_a_lock(db), timeout=60)
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        finally:
            blocker.rollback()
            blocker.close()

        assert not _relation_exists(db, "django_migrations")
        assert not _relation_exists(db, "orders")
        assert not query(db, "SELECT 1 FROM pg_namespace WHERE nspname = 'ledgerflow_v2'")

        rerun = run_manage(db, "migrate")
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "Loaded the head schema" in rerun.stdout
        assert applied(db, "orders") == ["0001_create_order_status_and_orders"]
        assert _history_duplicates(db) == []
