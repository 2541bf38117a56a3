"""Single-flight migrate: concurrent runs, a held lock, a killed run, a direct connection."""

import json
import signal
import time

import pytest

from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.migrating.support import (
    MigrationsCopy,
    applied,
    migrate_has_connected,
    query,
    run_manage,
    start_manage,
    wait_until,
)
from tests.support.databases import (
    connect,
    database_url,
    load_legacy_schema,
    manage,
    migrated_database,
    scratch_database,
)

pytestmark = pytest.mark.process


def _snapshot(dbname):
    with connect(dbname) as conn:
        return schema_snapshot(conn.cursor())


def test_eight_concurrent_migrates_all_succeed_once_each():
    with scratch_database() as db, scratch_database("lf_legacy") as legacy:
        children = [start_manage(db, "migrate", "--no-input") for _ in range(8)]
        results = [(child.wait(timeout=300), *child.communicate()) for child in children]
        load_legacy_schema(legacy)

        assert [code for code, _, _ in results] == [0] * 8, results
        duplicates = query(
            db,
            "SELECT app, name, count(*) FROM django_migrations "
            "GROUP BY app, name HAVING count(*) > 1",
        )
        assert duplicates == []
        assert diff_snapshots(_snapshot(legacy), _snapshot(db)) == []
        runs = query(db, "SELECT outcome, applied_count FROM ledgerflow_migrate_runs ORDER BY id")
        assert len(runs) == 8
        assert sorted(count for _, count in runs)[-1] == len(
            query(db, "SELECT 1 FROM django_migrations")
        )
        assert {outcome for outcome, _ in runs} == {"succeeded"}


def test_migrate_waits_for_a_held_lock_then_gives_up_naming_the_holder():
    with (
        scratch_database() as db,
        connect(db, autocommit=True, application_name="holder-under-test") as holder,
    ):
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        pid = holder.info.backend_pid

        result = run_manage(db, "migrate", env={"MIGRATION_LOCK_WAIT_TIMEOUT": "1.5"})

        assert result.returncode == 1
        assert "Waiting for the migration lock held by" in result.stdout
        assert f"pid {pid} (holder-under-test" in result.stderr
        assert "MIGRATION_LOCK_WAIT_TIMEOUT=1.5" in result.stderr
        assert query(db, "SELECT to_regclass('django_migrations')") == [(None,)]


def test_waiting_migrate_proceeds_once_the_lock_is_released():
    with scratch_database() as db:
        with connect(db, autocommit=True, application_name="short-holder") as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
            child = start_manage(db, "migrate")
            # Release only once the child is connected and polling for the lock.
            assert migrate_has_connected(db)
            time.sleep(0.5)
        out, err = child.communicate(timeout=120)

        assert child.returncode == 0, err
        assert "Waiting for the migration lock held by pid" in out
        assert "(short-holder" in out
        assert ("users", "0001_create_users") in query(
            db, "SELECT app, name FROM django_migrations"
        )


def test_killed_migrate_releases_the_lock_and_leaves_nothing_half_applied(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    orders.write(
        "0002_slow_step.py",
        """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        migrations.RunSQL("CREATE TABLE half_applied (id int)", "DROP TABLE half_applied"),
        migrations.RunSQL("SELECT pg_sleep(60)", migrations.RunSQL.noop),
    ]
""",
    )
    with migrated_database() as db:
        child = start_manage(db, "migrate", "--no-preflight", env=orders.env())
        assert wait_until(
            lambda: query(
                db, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%%'"
            ),
            timeout=60,
        )

        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)

        assert wait_until(
            lambda: (
                not query(
                    db,
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                    [MIGRATION_LOCK_KEY],
                )
            ),
            timeout=20,
        )
        assert query(db, "SELECT to_regclass('half_applied')") == [(None,)]
        assert "0002_slow_step" not in applied(db, "orders")
        rerun = run_manage(db, "migrate")  # the stock migrations: nothing left to do
        assert rerun.returncode == 0, rerun.stderr


def test_migration_database_url_is_used_instead_of_database_url():
    with scratch_database() as db:
        result = manage(
            "migrate",
            database_url_value=database_url("lf_issue3_no_such_database"),
            env={"MIGRATION_DATABASE_URL": database_url(db)},
            check=False,
        )
        status = manage("migration_status", "--json", database_url_value=database_url(db))

        assert result.returncode == 0, result.stderr
        assert json.loads(status.stdout)["at_head"] is True
