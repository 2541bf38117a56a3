"""The schema built by ``migrate`` is the contract's schema, object for object."""

import pytest
from django.db import connection

from ledgerflow.contract.schema import expected_snapshot
from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from tests.support.databases import connect, load_legacy_schema, scratch_database


def migrated_snapshot():
    with connection.cursor() as cursor:
        return schema_snapshot(cursor)


def test_migrated_schema_matches_the_contract(db):
    differences = diff_snapshots(expected_snapshot(), migrated_snapshot())

    assert differences == [], (
        "migrated schema differs from the contract (docs/CONTRACT.md):\n" + "\n".join(differences)
    )


@pytest.mark.process
def test_migrated_schema_is_indistinguishable_from_the_legacy_schema(db):
    with scratch_database("lf_legacy") as name:
        load_legacy_schema(name)
        with connect(name) as conn:
            legacy = schema_snapshot(conn.cursor())

    differences = diff_snapshots(legacy, migrated_snapshot())

    assert differences == [], "migrated schema differs from the legacy one:\n" + "\n".join(
        differences
    )


def test_a_difference_is_reported_readably():
    expected = expected_snapshot()
    actual = expected_snapshot()
    actual["tables"]["orders"]["columns"][6]["default"] = "'completed'::order_status"
    del actual["tables"]["deposit_events"]["indexes"]["idx_deposit_events_processed"]
    actual["enums"]["order_status"].append("refunded")

    differences = diff_snapshots(expected, actual)

    assert differences == [
        "enums.order_status: expected ['pending', 'completed', 'failed', 'cancelled'], "
        "found ['pending', 'completed', 'failed', 'cancelled', 'refunded']",
        "tables.deposit_events.indexes.idx_deposit_events_processed: missing (expected "
        "{'definition': 'CREATE INDEX idx_deposit_events_processed ON public.deposit_events "
        "USING btree (processed)', 'valid': True})",
        "tables.orders.columns.status.default: expected \"'pending'::order_status\", "
        "found \"'completed'::order_status\"",
    ]


def test_not_null_is_read_as_a_column_property_only(db):
    # PostgreSQL 18 also lists NOT NULL in pg_constraint (users_telegram_id_not_null); read as
    # constraints they would be differences from a contract written on older servers.
    snapshot = migrated_snapshot()

    telegram_id = next(
        c for c in snapshot["tables"]["users"]["columns"] if c["name"] == "telegram_id"
    )
    constraint_types = {
        name: constraint["type"]
        for table in snapshot["tables"].values()
        for name, constraint in table["constraints"].items()
    }
    assert telegram_id["not_null"] is True
    assert "n" not in constraint_types.values()
    assert "users_telegram_id_not_null" not in constraint_types
