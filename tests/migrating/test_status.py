"""``migration_status`` and ``lock_holder`` on the test database."""

import json

from django.db import connection

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY, lock_holder
from ledgerflow.migrating.status import migration_status
from tests.support.databases import connect


def test_status_of_a_migrated_database_is_at_head_and_json_serialisable(db):
    status = json.loads(json.dumps(migration_status(connection)))

    assert status["at_head"] is True
    assert status["pending_count"] == 0
    assert status["unknown_applied"] == []
    orders = status["apps"]["orders"]
    assert [m["name"] for m in orders["applied"]] == ["0001_create_order_status_and_orders"]
    assert orders["applied"][0]["checksum"] == "ok"
    assert orders["applied"][0]["duration_ms"] > 0
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
