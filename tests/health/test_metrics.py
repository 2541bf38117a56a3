"""/metrics: each gauge with the value the database state implies."""

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from ledgerflow.health import checks
from ledgerflow.health.metrics import last_run_figures
from ledgerflow.schema.drift import detect_drift

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_at_head(client):
    metrics = scrape(client)

    assert metrics[("ledgerflow_database_up", ())] == 1
    assert metrics[("ledgerflow_schema_pending_migrations", ())] == 0
    assert metrics[("ledgerflow_schema_unknown_migrations", ())] == 0
    assert metrics[("ledgerflow_schema_at_head", ())] == 1
    assert metrics[("ledgerflow_db_pool_enabled", ())] == 0
    assert metrics[("ledgerflow_schema_drift_objects", ())] == 0
    assert metrics[("ledgerflow_schema_checksum_mismatches", ())] == 0


def test_pending_and_unknown_migrations_are_counted(client, migration_rows):
    migration_rows(
        "DELETE FROM django_migrations WHERE app = 'orders' OR (app = 'users' AND name LIKE '0001%%')"
    )
    migration_rows(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('indexer', '0042_x', now())"
    )

    metrics = scrape(client)

    assert metrics[("ledgerflow_schema_pending_migrations", ())] == 2
    assert metrics[("ledgerflow_schema_unknown_migrations", ())] == 1
    assert metrics[("ledgerflow_schema_at_head", ())] == 0


def test_drift_checksums_and_last_migrate_run_are_read_from_the_database(
    client, orders_note_column, edited_checksum
):
    edited_checksum("users", "0001_create_users")
    edited_checksum("orders", "0001_create_order_status_and_orders")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledgerflow_migrate_runs (started_at, finished_at, run_by, lock_wait_ms, "
            "duration_ms, applied_count, outcome) "
            "VALUES (now() + interval '1 hour', now() + interval '1 hour', 'ops@host', 250, 1500, "
            "1, 'succeeded') RETURNING id"
        )
        run_id = cursor.fetchone()[0]
    try:
        metrics = scrape(client)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledgerflow_migrate_runs WHERE id = %s", [run_id])

    expected_drift = len(detect_drift(connection))
    assert expected_drift >= 1
    assert metrics[("ledgerflow_schema_drift_objects", ())] == expected_drift
    assert metrics[("ledgerflow_schema_checksum_mismatches", ())] == 2
    assert metrics[("ledgerflow_migrate_last_duration_seconds", ())] == 1.5
    assert metrics[("ledgerflow_migrate_last_lock_wait_seconds", ())] == 0.25
    # At head means every migration applied, as migration_status and the console say it.
    assert metrics[("ledgerflow_schema_at_head", ())] == 1


def test_row_estimates_come_from_pg_class_after_analyze(client):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
            "SELECT 'o' || g, '1', 'b', '10', '0xabc' FROM generate_series(1, 3) AS g"
        )
        cursor.execute("ANALYZE orders")
        cursor.execute("ANALYZE users")

    metrics = scrape(client)

    assert metrics[("ledgerflow_table_rows_estimate", (("table", "orders"),))] == 3
    assert metrics[("ledgerflow_table_rows_estimate", (("table", "users"),))] == 0


@pytest.mark.parametrize(
    ("run", "figures"),
    [
        ({"duration_ms": 2000, "lock_wait_ms": 500}, (2.0, 0.5)),
        ({"duration_ms": None, "lock_wait_ms": 0}, (None, 0.0)),
        (None, (None, None)),
    ],
)
def test_last_run_figures_read_the_last_run(run, figures):
    assert last_run_figures(run) == figures


def test_metrics_are_closed_in_production_without_a_token_or_network(client, settings):
    settings.IS_PRODUCTION = True
    settings.HEALTH_TOKEN = ""
    settings.HEALTH_ALLOWED_NETWORKS = []

    response = client.get("/metrics")

    assert response.status_code == 403
    assert b"HEALTH_TOKEN" in response.content


def test_metrics_and_details_need_the_token_when_one_is_set(client, settings):
    settings.HEALTH_TOKEN = "t0ken-for-scrapers"

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scrape(client, HTTP_AUTHORIZATION="Bearer t0ken-for-scrapers")

    public = client.get("/health/ready").json()
    detailed = client.get("/health/ready", HTTP_AUTHORIZATION="Bearer t0ken-for-scrapers").json()
    assert all(set(entry) == {"ok", "reason"} for entry in public["checks"].values())
    assert all({"details", "seconds", "cached"} <= set(e) for e in detailed["checks"].values())


def test_an_allowed_network_opens_metrics_without_a_token(client, settings):
    settings.IS_PRODUCTION = True
    settings.HEALTH_TOKEN = "unused-here"
    settings.HEALTH_ALLOWED_NETWORKS = ["10.1.0.0/16", "192.0.2.7"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.200.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403


def test_an_ipv4_client_seen_through_a_dual_stack_socket_matches_ipv4_entries(client, settings):
    settings.IS_PRODUCTION = True
    settings.HEALTH_TOKEN = ""
    settings.HEALTH_ALLOWED_NETWORKS = ["127.0.0.1", "10.1.0.0/16"]

    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 403


def test_drift_that_cannot_be_checked_leaves_the_drift_gauge_out(client, migration_rows):
    # An unknown migration: no expected schema to compare with, only a migration_state entry.
    migration_rows(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('indexer', '0042_x', now())"
    )
    assert [d.kind for d in detect_drift(connection)] == ["migration_state"]

    metrics = scrape(client)

    assert ("ledgerflow_schema_drift_objects", ()) not in metrics
    assert metrics[("ledgerflow_schema_at_head", ())] == 0
    assert metrics[("ledgerflow_schema_checksum_mismatches", ())] == 0


def test_a_reading_that_raises_keeps_the_database_up_and_exports_no_value(client, monkeypatch):
    def broken(connection):
        raise RuntimeError("drift detection failed")

    monkeypatch.setattr(checks, "detect_drift", broken)

    metrics = scrape(client)

    assert metrics[("ledgerflow_database_up", ())] == 1
    assert metrics[("ledgerflow_schema_at_head", ())] == 1
    assert ("ledgerflow_schema_drift_objects", ()) not in metrics


def test_a_locked_migration_table_is_reported_as_such_not_as_a_database_outage(client):
    from tests.support.databases import connect

    with connect(connection.settings_dict["NAME"]) as locker:
        locker.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")

        metrics = scrape(client)

    assert metrics[("ledgerflow_database_up", ())] == 1
    assert metrics[("ledgerflow_schema_migrations_locked", ())] == 1
    assert metrics[("ledgerflow_schema_at_head", ())] == 0
    assert ("ledgerflow_schema_pending_migrations", ()) not in metrics
    assert scrape(client)[("ledgerflow_schema_migrations_locked", ())] == 0
