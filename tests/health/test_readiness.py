"""/health/live and /health/ready in-process, against the migrated test database."""

import logging

import pytest

from ledgerflow.health import checks

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS_0001 = ("orders", "0001_create_order_status_and_orders")
DRIFT_UNKNOWN_STATE = "1 schema difference from what the migrations build"


def ready(client, **headers):
    response = client.get("/health/ready", **headers)
    return response.status_code, response.json()


def failed_checks(body):
    return {name: entry["reason"] for name, entry in body["checks"].items() if not entry["ok"]}


def test_ready_is_200_at_head_with_checksums_and_drift_verified(client):
    status, body = ready(client)

    assert status == 200
    assert body["status"] == "ok"
    assert list(body["checks"]) == [
        "database",
        "migrations_applied",
        "no_unknown_migrations",
        "checksums",
        "drift",
        "drift_v2",
    ]
    assert all(entry["ok"] for entry in body["checks"].values())
    assert body["checks"]["drift"]["reason"] == "the live schema matches the migrations"
    assert body["checks"]["checksums"]["reason"] == "every applied migration matches its checksum"


def test_ready_is_503_naming_an_unapplied_migration(client, migration_rows):
    migration_rows("DELETE FROM django_migrations WHERE app = %s AND name = %s", ORDERS_0001)

    status, body = ready(client)

    assert status == 503
    assert body["status"] == "unavailable"
    assert failed_checks(body) == {
        "migrations_applied": "1 migration of this code not applied "
        "(the database is behind; run manage.py migrate)",
        # drift has no expected schema for a state no release builds, and says so
        "drift": DRIFT_UNKNOWN_STATE,
    }
    assert body["checks"]["migrations_applied"]["details"] == [
        "orders.0001_create_order_status_and_orders"
    ]


def test_ready_is_503_when_the_database_has_a_migration_this_code_does_not_know(
    client, migration_rows
):
    migration_rows(
        "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())",
        ["orders", "0002_from_a_newer_release"],
    )

    status, body = ready(client)

    assert status == 503
    assert failed_checks(body) == {
        "no_unknown_migrations": "1 applied migration unknown to this code "
        "(the database is ahead; deploy the release that has them)",
        "drift": DRIFT_UNKNOWN_STATE,
    }
    assert body["checks"]["no_unknown_migrations"]["details"] == [
        "orders.0002_from_a_newer_release"
    ]


def test_ready_is_503_on_drift_naming_the_drifted_objects(client, orders_note_column):
    status, body = ready(client)

    assert status == 503
    drift = body["checks"]["drift"]
    assert drift["ok"] is False
    assert drift["reason"] == "1 schema difference from what the migrations build"
    assert len(drift["details"]) == 1
    assert any(line.startswith("column orders.note: ") for line in drift["details"])
    assert set(failed_checks(body)) == {"drift"}


def test_ready_is_503_on_a_checksum_mismatch(client, edited_checksum):
    edited_checksum(*ORDERS_0001)

    status, body = ready(client)

    assert status == 503
    assert failed_checks(body) == {"checksums": "1 applied migration changed since applied"}
    assert body["checks"]["checksums"]["details"] == ["orders.0001_create_order_status_and_orders"]


def test_expensive_checks_are_cached_for_the_configured_interval(client, drift_calls, settings):
    settings.HEALTH_CACHE_SECONDS = 300
    first = ready(client)[1]
    second = ready(client)[1]

    assert len(drift_calls) == 1
    assert first["checks"]["drift"]["cached"] is False
    assert second["checks"]["drift"]["cached"] is True

    settings.HEALTH_CACHE_SECONDS = 0
    ready(client)
    ready(client)
    assert len(drift_calls) == 3


def test_a_check_that_raises_fails_with_a_masked_reason_instead_of_passing(client, monkeypatch):
    def broken(connection):
        raise RuntimeError("cannot read postgres://ledger:s3cret@db.internal/ledgerflow")

    monkeypatch.setattr(checks, "detect_drift", broken)

    status, body = ready(client)

    assert status == 503
    assert failed_checks(body) == {"drift": "the check could not run (RuntimeError)"}
    assert body["checks"]["drift"]["details"] == [
        "cannot read postgres://ledger:***@db.internal/ledgerflow"
    ]


def test_each_failed_check_is_logged_once_with_its_name_and_reason(client, caplog, migration_rows):
    migration_rows("DELETE FROM django_migrations WHERE app = %s AND name = %s", ORDERS_0001)
    migration_rows(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('users', '0099_x', now())"
    )
    caplog.set_level(logging.INFO)

    ready(client)

    events = [r for r in caplog.records if r.name == "ledgerflow.health"]
    assert sorted((r.check, r.levelname) for r in events) == [
        ("drift", "WARNING"),
        ("migrations_applied", "WARNING"),
        ("no_unknown_migrations", "WARNING"),
    ]
    assert [r for r in caplog.records if r.name == "django.request"] == []


def test_live_is_200_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_503_without_waiting_when_a_migration_holds_django_migrations(client):
    from django.db import connection

    from tests.support.databases import connect

    with connect(connection.settings_dict["NAME"]) as locker:
        locker.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")

        status, body = ready(client)

    assert status == 503
    locked = "django_migrations is locked, probably by a running migrate; not ready until it ends"
    assert failed_checks(body) == {
        "migrations_applied": locked,
        "no_unknown_migrations": locked,
        "drift": locked,
        "drift_v2": locked,
    }
    assert body["checks"]["database"]["ok"] is True
