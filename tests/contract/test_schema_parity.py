"""The schema built by ``migrate`` is the contract's schema, object for object."""

from django.db import connection

from ledgerflow.db.introspection import LEDGERFLOW_TABLES, diff_snapshots, schema_snapshot
from tests.support.databases import connect, load_legacy_schema, scratch_database


def legacy_snapshot():
    with scratch_database("lf_legacy") as name:
        load_legacy_schema(name)
        with connect(name) as conn:
            return schema_snapshot(conn.cursor())


def test_migrated_schema_matches_the_legacy_schema_in_pg_catalog(db):
    with connection.cursor() as cursor:
        migrated = schema_snapshot(cursor)

    differences = diff_snapshots(legacy_snapshot(), migrated)

    assert differences == [], "migrated schema differs from the contract:\n" + "\n".join(
        differences
    )


def test_snapshot_covers_every_contract_object(db):
    with connection.cursor() as cursor:
        snapshot = schema_snapshot(cursor)

    assert sorted(snapshot["tables"]) == sorted(LEDGERFLOW_TABLES)
    assert snapshot["enums"] == {"order_status": ["pending", "completed", "failed", "cancelled"]}
    assert set(snapshot["sequences"]) == {"deposit_events_id_seq"}
    assert snapshot["sequences"]["deposit_events_id_seq"] == {
        "type": "bigint",
        "owned_by": "deposit_events.id",
    }
    function = snapshot["functions"]["update_updated_at_column"]
    assert (function["returns"], function["language"]) == ("trigger", "plpgsql")
    assert "NEW.updated_at = NOW();" in function["body"]
    assert "RETURN NEW;" in function["body"]
