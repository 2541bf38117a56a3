"""``migration_status`` and ``lock_holder`` on the test database."""

import io
import json

from django.core.management import call_command
from django.db import connection

from ledgerflow.migrating import checksums
from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY, lock_holder
from ledgerflow.migrating.status import gate_failures, migration_status
from ledgerflow.models import AppliedMigrationChecksum
from tests.support.databases import connect

CHECKSUM_TABLE = AppliedMigrationChecksum._meta.db_table

ORDERS_0001 = ("orders", "0001_create_order_status_and_orders")


def test_status_of_a_migrated_database_is_at_head_and_json_serialisable(db):
    status = json.loads(json.dumps(migration_status(connection)))

    assert status["at_head"] is True
    assert status["pending_count"] == 0
    assert status["unknown_applied"] == []
    orders = status["apps"]["orders"]
    assert [m["name"] for m in orders["applied"]] == ["0001_create_order_status_and_orders"]
    assert orders["applied"][0]["checksum"] == "ok"
    # The test database was built by the schema load: one transaction, no time per migration.
    assert orders["applied"][0]["duration_ms"] is None
    assert orders["pending"] == []
    assert status["last_run"]["outcome"] == "succeeded"
    assert status["lock_holder"] is None


def test_a_migration_unknown_to_the_code_means_the_database_is_ahead(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('orders', '0099_from_a_newer_release', now())"
        )

    status = migration_status(connection)

    assert status["at_head"] is False
    assert [(m["app"], m["name"]) for m in status["unknown_applied"]] == [
        ("orders", "0099_from_a_newer_release")
    ]


def test_lock_holder_names_the_session_holding_the_migration_lock(db):
    assert lock_holder(connection) is None
    with connect(connection.settings_dict["NAME"], application_name="status-holder") as other:
        other.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])

        holder = lock_holder(connection)

        assert holder["pid"] == other.info.backend_pid
        assert holder["application_name"] == "status-holder"
        assert holder["state"] in {"idle in transaction", "idle"}
        assert holder["backend_start"] is not None


def test_a_run_left_running_without_the_lock_is_reported_interrupted(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledgerflow_migrate_runs (started_at, run_by, lock_wait_ms, "
            "applied_count, outcome, error) VALUES (now(), 'pod-3', 0, 0, 'running', '')"
        )

    status = migration_status(connection)

    assert status["last_run"]["run_by"] == "pod-3"
    assert status["last_run"]["outcome"] == "interrupted"


def _gate(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("migration_status", "--exit-code", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_the_gate_passes_a_migrated_database_without_drift(db):
    code, output = _gate()

    assert code == 0
    assert "at head" in output
    assert "NOT" not in output


def test_the_gate_fails_on_drift_at_head_and_names_it(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_orders_status")
        cursor.execute("ALTER TABLE orders DISABLE TRIGGER update_orders_updated_at")

    code, output = _gate()

    assert code == 1
    assert "at head" in output
    assert "deploy gate failed: drift: 2 schema differences" in output
    assert "idx_orders_status" in output
    assert "update_orders_updated_at" in output


def test_the_gate_in_json_names_drift_and_keeps_at_head_to_migrations(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_orders_status")

    code, output = _gate("--json")

    report = json.loads(output)
    assert code == 1
    assert report["at_head"] is True
    assert report["gate_failures"] == ["drift: 1 schema difference"]
    assert len(report["drift"]) == 1
    assert "idx_orders_status" in report["drift"][0]


def test_the_gate_names_pending_migrations_and_checksum_mismatches(db):
    checksums.record_applied(connection, *ORDERS_0001)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CHECKSUM_TABLE} SET checksum = %s WHERE app = %s AND name = %s",
            ["0" * 64, *ORDERS_0001],
        )
        cursor.execute("DELETE FROM django_migrations WHERE app = 'users'")

    code, output = _gate("--json")

    assert code == 1
    failures = json.loads(output)["gate_failures"]
    assert failures[:2] == ["1 pending migration", "1 checksum mismatch"]


def test_at_head_means_every_migration_applied_whatever_the_checksums(db):
    checksums.record_applied(connection, *ORDERS_0001)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CHECKSUM_TABLE} SET checksum = %s WHERE app = %s AND name = %s",
            ["0" * 64, *ORDERS_0001],
        )

    status = migration_status(connection)

    assert status["at_head"] is True
    assert gate_failures(status, drift=[]) == ["1 checksum mismatch"]


def test_the_gate_names_schema_v2_drift_apart_from_v1(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX ledgerflow_v2.idx_orders_status")

    code, output = _gate("--json")

    report = json.loads(output)
    assert code == 1
    assert report["gate_failures"] == ["schema v2 drift: 1 schema difference"]
    assert report["drift"] == []
    assert report["drift_v2"] == ["index idx_orders_status: is missing"]
