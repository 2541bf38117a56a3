"""Readiness and /metrics cover schema v2 (ledgerflow_v2) apart from v1: its drift fails the
``drift_v2`` check by name; not migrated yet fails only ``migrations_applied`` (as any pending
migration does), never a drift check."""

import importlib

import pytest
from django.db import connection

from tests.health.test_metrics import scrape
from tests.health.test_readiness import failed_checks, ready

pytestmark = pytest.mark.django_db(transaction=True)

REORDER_ENUM = (
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'deposited' TO 'lf_swap'; "
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'completed' TO 'deposited'; "
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'lf_swap' TO 'completed'"
)


def execute(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def reordered_v2_enum(transactional_db):
    """Two v2 enum labels swapped (committed), swapped back afterwards."""
    execute(REORDER_ENUM)
    yield
    execute(REORDER_ENUM)


@pytest.fixture
def v2_unmigrated(migration_rows):
    """ledgerflow_v2 dropped and its migration rows deleted, as before its first migrate; built
    again afterwards from its migrations' own SQL (the rows come back with ``migration_rows``)."""
    migration_rows(
        "DROP SCHEMA ledgerflow_v2 CASCADE; "
        "DELETE FROM django_migrations WHERE app = 'ledgerflow_v2'"
    )
    yield
    for name in ("0001_create_schema_ledgerflow_v2", "0002_create_cutover_records"):
        execute(importlib.import_module(f"ledgerflow_v2.migrations.{name}").CREATE)


def test_ready_at_head_says_v2_matches_its_migrations(client):
    status, body = ready(client)

    assert status == 200
    assert body["checks"]["drift_v2"]["reason"] == "schema v2 matches its applied migrations"


def test_v2_drift_fails_drift_v2_by_name_and_v1_drift_stays_green(client, reordered_v2_enum):
    status, body = ready(client)

    assert status == 503
    assert failed_checks(body) == {
        "drift_v2": "1 schema v2 difference from what its migrations build"
    }
    [detail] = body["checks"]["drift_v2"]["details"]
    assert detail.startswith("enum order_status: labels are in a different order")
    assert body["checks"]["drift"]["ok"]


def test_v2_not_migrated_is_named_once_as_pending_migrations_not_as_drift(client, v2_unmigrated):
    status, body = ready(client)

    assert status == 503
    assert failed_checks(body) == {
        "migrations_applied": "2 migrations of this code not applied "
        "(the database is behind; run manage.py migrate)",
    }
    assert body["checks"]["drift_v2"]["reason"] == (
        "schema v2 is not migrated yet: nothing to compare"
    )
    assert body["checks"]["drift"]["ok"]


def test_metrics_count_v2_migrations_and_v2_drift(client, reordered_v2_enum):
    metrics = scrape(client)

    assert metrics[("ledgerflow_schema_v2_migrations_applied", ())] == 2
    assert metrics[("ledgerflow_schema_v2_pending_migrations", ())] == 0
    assert metrics[("ledgerflow_schema_v2_drift_objects", ())] == 1
    assert metrics[("ledgerflow_schema_drift_objects", ())] == 0


def test_metrics_while_v2_is_pending_export_no_v2_drift_count(client, v2_unmigrated):
    metrics = scrape(client)

    assert metrics[("ledgerflow_schema_v2_migrations_applied", ())] == 0
    assert metrics[("ledgerflow_schema_v2_pending_migrations", ())] == 2
    assert ("ledgerflow_schema_v2_drift_objects", ()) not in metrics
    assert metrics[("ledgerflow_schema_drift_objects", ())] == 0
