"""Bounded table locks: lock_timeout with retries, blockers named, INVALID indexes rebuilt."""

import threading
import time

import psycopg
import pytest

from tests.migrating.support import (
    MigrationsCopy,
    applied,
    column_exists,
    query,
    run_manage,
    wait_until,
)
from tests.support.databases import connect, migrated_database

pytestmark = pytest.mark.process

ADD_COLUMN = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        migrations.AddField("order", "memo", models.CharField(max_length=20, null=True)),
    ]
"""

ADD_INDEX_CONCURRENTLY = """from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        AddIndexConcurrently(
            "order", models.Index(fields=["broker_id"], name="idx_orders_broker_id")
        ),
    ]
"""

FAST_RETRIES = {
    "MIGRATION_LOCK_TIMEOUT": "0.2",
    "MIGRATION_RETRIES": "1",
    "MIGRATION_RETRY_BACKOFF": "0.1",
}


def _hold_orders(dbname, application_name):
    """A service-like session with an open transaction that has read ``orders``."""
    conn = connect(dbname, application_name=application_name)
    conn.execute("SELECT count(*) FROM orders")
    return conn


def test_migration_blocked_past_its_retries_fails_naming_the_blocker(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    with migrated_database() as db:
        orders.write("0002_add_memo.py", ADD_COLUMN)
        with _hold_orders(db, "balancer-under-test") as holder:
            result = run_manage(
                db, "migrate", "--no-preflight", env={**orders.env(), **FAST_RETRIES}
            )
            holder.rollback()

        assert result.returncode == 1
        assert "hit lock_timeout (0.2s) on attempt 1; rolled back, retrying" in result.stdout
        assert "could not get its table locks within lock_timeout (0.2s) in 2 attempt(s)" in (
            result.stderr
        )
        assert "balancer-under-test" in result.stderr
        assert "orders AccessShareLock" in result.stderr
        assert not column_exists(db, "orders", "memo")
        assert "0002_add_memo" not in applied(db, "orders")
        assert query(
            db, "SELECT outcome FROM ledgerflow_migrate_runs ORDER BY id DESC LIMIT 1"
        ) == [("failed",)]


def test_migration_blocked_briefly_succeeds_on_retry_and_records_its_lock_wait(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    with migrated_database() as db:
        orders.write("0002_add_memo.py", ADD_COLUMN)
        holder = _hold_orders(db, "short-transaction")

        def finish_once_migrate_waits():
            # Let the migration fail on lock_timeout at least once, then end the transaction.
            wait_until(
                lambda: query(
                    db,
                    "SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'orders'::regclass",
                ),
                timeout=60,
                interval=0.02,
            )
            time.sleep(0.5)
            holder.rollback()

        releaser = threading.Thread(target=finish_once_migrate_waits)
        releaser.start()
        try:
            result = run_manage(
                db,
                "migrate",
                "--no-preflight",
                env={**orders.env(), **FAST_RETRIES, "MIGRATION_RETRIES": "20"},
            )
        finally:
            releaser.join()
            holder.close()

        assert result.returncode == 0, result.stderr
        assert column_exists(db, "orders", "memo")
        [(lock_wait_ms,)] = query(
            db,
            "SELECT lock_wait_ms FROM ledgerflow_migration_checksums "
            "WHERE app = 'orders' AND name = '0002_add_memo'",
        )
        assert lock_wait_ms > 0


def test_non_atomic_migration_is_not_retried(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    with migrated_database() as db:
        orders.write("0002_add_broker_index.py", ADD_INDEX_CONCURRENTLY)
        with connect(db) as holder:
            holder.execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
            result = run_manage(
                db, "migrate", "--no-preflight", env={**orders.env(), **FAST_RETRIES}
            )
            holder.rollback()

        assert result.returncode == 1
        assert "retrying" not in result.stdout
        assert "Non-atomic migration orders.0002_add_broker_index could not get a lock" in (
            result.stderr
        )
        assert "0002_add_broker_index" not in applied(db, "orders")


def test_invalid_concurrent_index_is_dropped_and_rebuilt(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    with migrated_database() as db:
        orders.write("0002_add_broker_index.py", ADD_INDEX_CONCURRENTLY)
        with connect(db, autocommit=True) as conn:
            for order_id in ("o-1", "o-2"):
                conn.execute(
                    "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address)"
                    " VALUES (%s, '1', 'same-broker', '5', '0x0')",
                    [order_id],
                )
            # A failed concurrent build leaves its index behind, INVALID, as a killed one does.
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(
                    "CREATE UNIQUE INDEX CONCURRENTLY idx_orders_broker_id ON orders (broker_id)"
                )
        assert query(
            db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_orders_broker_id'::regclass",
        ) == [(False,)]
        preflight = run_manage(db, "preflight", "--no-sql", env=orders.env())

        # --no-preflight: the copied migration adds an index the models do not declare.
        result = run_manage(db, "migrate", "--no-preflight", env=orders.env())

        assert "index idx_orders_broker_id on orders is INVALID" in preflight.stdout
        assert result.returncode == 0, result.stderr
        assert "Index idx_orders_broker_id on orders is INVALID" in result.stdout
        assert query(
            db,
            "SELECT indisvalid, indisunique FROM pg_index "
            "WHERE indexrelid = 'idx_orders_broker_id'::regclass",
        ) == [(True, False)]
