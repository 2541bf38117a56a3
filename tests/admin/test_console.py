"""The migrations console: applied and pending per app, the plan with its SQL, feature states."""

import threading

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledgerflow.console import views
from ledgerflow.console.views import LOCKED
from ledgerflow.migrating import checksums
from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from ledgerflow.models import AppliedMigrationChecksum
from tests.support.databases import connect

CHECKSUM_TABLE = AppliedMigrationChecksum._meta.db_table

pytestmark = pytest.mark.django_db

ORDERS_0001 = ("orders", "0001_create_order_status_and_orders")


def console(client):
    response = client.get(reverse("admin:migrations_console"))
    assert response.status_code == 200
    return response


def test_a_migrated_database_is_at_head(staff_client):
    response = console(staff_client)
    state = response.context["state"]
    assert state.at_head is True
    assert state.plan == []
    orders = next(app for app in state.apps if app.app_label == "orders")
    assert [(row.name, row.applied) for row in orders.migrations] == [(ORDERS_0001[1], True)]
    assert orders.migrations[0].applied_at is not None
    assert "Nothing to apply." in response.content.decode()


def test_a_pending_migration_is_listed_with_its_sql(staff_client):
    MigrationRecorder.Migration.objects.filter(app=ORDERS_0001[0], name=ORDERS_0001[1]).delete()
    response = console(staff_client)
    state = response.context["state"]
    assert state.at_head is False
    assert [(step.app_label, step.name) for step in state.plan] == [ORDERS_0001]
    sql = "\n".join(state.plan[0].sql)
    assert "CREATE TYPE" in sql
    assert 'CREATE TABLE "orders"' in sql
    content = response.content.decode()
    assert "1 pending step" in content
    assert "CREATE TYPE" in content


def test_building_the_plan_changes_nothing(staff_client):
    MigrationRecorder.Migration.objects.filter(app=ORDERS_0001[0], name=ORDERS_0001[1]).delete()
    recorded = MigrationRecorder.Migration.objects.count()
    console(staff_client)
    assert MigrationRecorder.Migration.objects.count() == recorded
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_type WHERE typname = 'order_status' "
            "AND typnamespace = 'public'::regnamespace"  # schema v2 has an enum of its own
        )
        assert cursor.fetchone()[0] == 1


def test_a_recorded_migration_without_a_file_is_reported_and_not_at_head(staff_client):
    MigrationRecorder.Migration.objects.create(app="orders", name="0099_gone")
    response = console(staff_client)
    state = response.context["state"]
    assert state.unknown_applied == [("orders", "0099_gone")]
    assert state.at_head is False
    assert "1 applied migration unknown to this code" in cell(response.content.decode(), "at-head")


def test_each_source_is_read_once_per_request(staff_client):
    with CaptureQueriesContext(connection) as queries:
        console(staff_client)
    statements = [query["sql"] for query in queries.captured_queries]

    def count(fragment):
        return sum(fragment in sql for sql in statements)

    # The history, and drift's own reading inside the snapshot it compares with the catalog.
    assert count("FROM django_migrations") == 2
    assert count(f'FROM "{CHECKSUM_TABLE}"') == 1  # the ORM quotes the name
    assert count("pg_locks") == 1


def cell(content, element):
    return content.split(f'id="{element}">', 1)[1].split("</td>", 1)[0]


@pytest.mark.django_db(transaction=True)
def test_the_lock_checksums_and_drift_are_read_from_the_database(staff_client):
    content = console(staff_client).content.decode()
    assert "free" in cell(content, "feature-lock")
    assert "all match" in cell(content, "feature-checksums")
    assert "none" in cell(content, "feature-drift")

    # Another session (a migrate run) holds the lock; closing it releases the lock.
    with connect(connection.settings_dict["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        content = console(staff_client).content.decode()
    assert "held: " in cell(content, "feature-lock")


def test_a_checksum_mismatch_and_drift_are_shown(staff_client):
    checksums.record_applied(connection, *ORDERS_0001)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledgerflow_migration_checksums SET checksum = %s WHERE app = %s AND name = %s",
            ["0" * 64, *ORDERS_0001],
        )
        cursor.execute("ALTER TABLE orders ADD COLUMN note text")
    content = console(staff_client).content.decode()
    assert "1 mismatch" in cell(content, "feature-checksums")
    assert f"{ORDERS_0001[0]}.{ORDERS_0001[1]}: recorded checksum 000000000000" in content
    drift = cell(content, "feature-drift")
    assert "1 difference" in drift
    assert "column orders.note" in drift


def test_a_failing_reading_is_an_error_on_the_page_not_a_500(staff_client, monkeypatch):
    def broken(connection):
        raise RuntimeError("lock table missing")

    broken.__name__ = "lock_holder"
    monkeypatch.setattr(views, "lock_holder", broken)
    content = console(staff_client).content.decode()
    assert "error: RuntimeError: lock table missing" in cell(content, "feature-lock")
    assert "all match" in cell(content, "feature-checksums")


def test_durations_and_lock_waits_are_the_ones_migrate_recorded(staff_client):
    checksums.record_applied(connection, *ORDERS_0001, duration_ms=12.34, lock_wait_ms=5.6)
    response = console(staff_client)
    orders = next(app for app in response.context["state"].apps if app.app_label == "orders")
    assert (orders.migrations[0].duration_ms, orders.migrations[0].lock_wait_ms) == (12.3, 5.6)
    row = response.content.decode().split(f"<td>{ORDERS_0001[1]}</td>", 1)[1].split("</tr>")[0]
    assert "12.3 ms" in row
    assert "5.6 ms" in row


def test_migrations_without_recorded_figures_show_not_recorded(staff_client):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CHECKSUM_TABLE} WHERE app = %s", [ORDERS_0001[0]])
    response = console(staff_client)
    orders = next(app for app in response.context["state"].apps if app.app_label == "orders")
    assert (orders.migrations[0].duration_ms, orders.migrations[0].lock_wait_ms) == (None, None)
    row = response.content.decode().split(f"<td>{ORDERS_0001[1]}</td>", 1)[1].split("</tr>")[0]
    assert row.count("not recorded") == 2


@pytest.mark.django_db(transaction=True)
def test_a_locked_django_migrations_is_reported_without_waiting(staff_client):
    # A migration altering django_migrations holds it exclusively until it commits.
    with connect(connection.settings_dict["NAME"]) as other:
        other.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
        # Released after a while in any case: a page that waited for the lock instead of giving
        # up would then read the table and fail the assertions below rather than hang the suite.
        release = threading.Timer(20, other.rollback)
        release.start()
        response = console(staff_client)
        release.cancel()
        other.rollback()
    content = response.content.decode()
    assert LOCKED in cell(content, "at-head")
    assert LOCKED in cell(content, "feature-status")
    assert LOCKED in cell(content, "feature-checksums")
    assert "free" in cell(content, "feature-lock")
    assert "Nothing to apply." not in content
    # Released, the page reads it again.
    assert "yes" in cell(console(staff_client).content.decode(), "at-head")


def test_a_gap_in_the_history_is_not_at_head(staff_client):
    # Django's plan starts from each app's applied leaf, so it skips the missing first migration.
    MigrationRecorder.Migration.objects.filter(app="contenttypes", name="0001_initial").delete()
    response = console(staff_client)
    state = response.context["state"]
    assert state.plan == []
    assert state.unapplied == [("contenttypes", "0001_initial")]
    assert state.at_head is False
    at_head = cell(response.content.decode(), "at-head")
    assert "no</span>" in at_head
    assert "contenttypes.0001_initial" in at_head
    assert state.inconsistent_history
