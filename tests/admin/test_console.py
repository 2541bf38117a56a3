"""The migrations console: applied and pending per app, the plan with its SQL, feature states."""

import sys
import types

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse

from ledgerflow.console import features
from ledgerflow.console.migration_state import durations_from_status, migration_state

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
        cursor.execute("SELECT count(*) FROM pg_type WHERE typname = 'order_status'")
        assert cursor.fetchone()[0] == 1


def test_a_recorded_migration_without_a_file_is_reported(db):
    MigrationRecorder.Migration.objects.create(app="orders", name="0099_gone")
    state = migration_state(connection)
    assert state.unknown_applied == [("orders", "0099_gone")]


def test_features_not_built_yet_show_not_available(staff_client, monkeypatch):
    for name in ("ledgerflow.migrating", "ledgerflow.schema"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    content = console(staff_client).content.decode()
    for element in ("feature-lock", "feature-checksums", "feature-drift", "feature-status"):
        cell = content.split(f'id="{element}">', 1)[1].split("</td>", 1)[0]
        assert "not available" in cell, element


def install_module(monkeypatch, dotted, **functions):
    """A real module under ``dotted`` (parents created), as another branch would provide it."""
    parts = dotted.split(".")
    for i in range(2, len(parts) + 1):
        name = ".".join(parts[:i])
        if name not in sys.modules:
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    for key, function in functions.items():
        monkeypatch.setattr(sys.modules[dotted], key, function, raising=False)


def test_present_features_are_shown(staff_client, monkeypatch):
    install_module(monkeypatch, "ledgerflow.migrating.lock", lock_holder=lambda c: {"pid": 4242})
    install_module(
        monkeypatch,
        "ledgerflow.migrating.checksums",
        checksum_mismatches=lambda c: ["orders.0001 changed after it was applied"],
    )
    install_module(monkeypatch, "ledgerflow.schema.drift", detect_drift=lambda c: [])
    content = console(staff_client).content.decode()
    assert "held: pid=4242" in content
    assert "orders.0001 changed after it was applied" in content
    assert "1 mismatch" in content
    drift = content.split('id="feature-drift">', 1)[1].split("</td>", 1)[0]
    assert "none" in drift


def test_a_failing_feature_is_an_error_on_the_page_not_a_500(staff_client, monkeypatch):
    def broken(connection):
        raise RuntimeError("lock table missing")

    install_module(monkeypatch, "ledgerflow.migrating.lock", lock_holder=broken)
    content = console(staff_client).content.decode()
    assert "error: RuntimeError: lock table missing" in content


def test_durations_come_from_the_status_feature(staff_client, monkeypatch):
    status = {
        "at_head": True,
        "apps": {"orders": {"applied": [{"name": ORDERS_0001[1], "duration": 0.25}]}},
    }
    install_module(monkeypatch, "ledgerflow.migrating.status", migration_status=lambda c: status)
    state = console(staff_client).context["state"]
    orders = next(app for app in state.apps if app.app_label == "orders")
    assert orders.migrations[0].duration == 0.25


def test_a_status_report_of_another_shape_gives_no_durations():
    assert durations_from_status(["unexpected"]) == {}
    assert durations_from_status({"orders": {"applied": "x"}}) == {}


def test_a_missing_module_is_not_available_but_a_broken_one_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setitem(features.FEATURES, "missing", ("lf_console_no_such_module", "f"))
    assert features.probe("missing", connection).available is False
    monkeypatch.setitem(features.FEATURES, "typo", ("ledgerflow.console.views", "no_function"))
    assert features.probe("typo", connection).available is False

    # A module that exists but cannot import its own dependency must not pass as "not built".
    (tmp_path / "lf_console_broken.py").write_text("import lf_console_missing_dependency\n")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setitem(features.FEATURES, "broken", ("lf_console_broken", "f"))
    result = features.probe("broken", connection)
    assert result.available is True
    assert "lf_console_missing_dependency" in result.error
