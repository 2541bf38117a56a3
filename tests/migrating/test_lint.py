"""Each lint rule: a migration that trips it and one that does not, against the live tables."""

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

from ledgerflow.migrating.lint import lint_migration


def _migration(operations, atomic=True, ignore=None):
    attrs = {"operations": operations, "atomic": atomic}
    if ignore:
        attrs["preflight_ignore"] = ignore
    return type("Migration", (migrations.Migration,), attrs)("0002_under_test", "orders")


@pytest.fixture
def lint(db):
    state = MigrationLoader(connection).project_state()
    live = set(connection.introspection.table_names())

    def run(migration, *, new_tables=False):
        findings = lint_migration(migration, state, set() if new_tables else live, connection)
        return [(f.rule, f.is_error) for f in findings]

    return run


REMOVE_BROKER = migrations.RemoveField("order", "broker_id")


def test_lf001_dropping_a_live_column_trips(lint):
    assert lint(_migration([REMOVE_BROKER])) == [("LF001", True)]


def test_lf001_dropping_a_column_of_a_new_table_does_not(lint):
    assert lint(_migration([REMOVE_BROKER]), new_tables=True) == []


def test_lf001_renames_and_raw_drops_trip(lint):
    assert lint(_migration([migrations.RenameField("order", "broker_id", "broker")])) == [
        ("LF001", True)
    ]
    assert lint(_migration([migrations.AlterModelTable("order", "orders_v2")])) == [("LF001", True)]
    assert lint(_migration([migrations.RunSQL("ALTER TABLE orders DROP COLUMN amount")])) == [
        ("LF001", True)
    ]
    assert lint(_migration([migrations.DeleteModel("order")])) == [("LF001", True)]


def test_lf002_not_null_column_without_db_default_trips(lint):
    field = models.CharField(max_length=10, default="x")
    assert lint(_migration([migrations.AddField("order", "memo", field)])) == [("LF002", True)]


def test_lf002_not_null_column_with_db_default_or_nullable_does_not(lint):
    with_default = models.CharField(max_length=10, db_default="x")
    nullable = models.CharField(max_length=10, null=True)
    assert lint(_migration([migrations.AddField("order", "memo", with_default)])) == []
    assert lint(_migration([migrations.AddField("order", "memo", nullable)])) == []


def test_lf003_plain_index_on_a_live_table_trips(lint):
    index = models.Index(fields=["broker_id"], name="idx_orders_broker_id")
    assert lint(_migration([migrations.AddIndex("order", index)])) == [("LF003", True)]
    assert lint(_migration([migrations.RunSQL("CREATE INDEX i ON orders (broker_id)")])) == [
        ("LF003", True)
    ]


def test_lf003_concurrent_index_does_not(lint):
    index = models.Index(fields=["broker_id"], name="idx_orders_broker_id")
    assert lint(_migration([AddIndexConcurrently("order", index)], atomic=False)) == []
    assert lint(_migration([migrations.AddIndex("order", index)]), new_tables=True) == []


ADD_VALUE = "ALTER TYPE order_status ADD VALUE 'refunded'"


def test_lf004_add_value_in_an_atomic_or_shared_migration_trips(lint):
    assert lint(_migration([migrations.RunSQL(ADD_VALUE)])) == [("LF004", True)]
    shared = [migrations.RunSQL(ADD_VALUE), migrations.RunSQL("SELECT 1")]
    assert lint(_migration(shared, atomic=False)) == [("LF004", True)]


def test_lf004_add_value_alone_in_a_non_atomic_migration_does_not(lint):
    assert lint(_migration([migrations.RunSQL(ADD_VALUE)], atomic=False)) == []


def test_lf005_type_change_in_place_trips(lint):
    to_text = migrations.AlterField("order", "broker_id", models.TextField())
    assert lint(_migration([to_text])) == [("LF005", True)]
    raw = migrations.RunSQL("ALTER TABLE orders ALTER COLUMN amount TYPE numeric")
    assert lint(_migration([raw])) == [("LF005", True)]


def test_lf005_same_type_alteration_does_not(lint):
    same = migrations.AlterField(
        "order", "broker_id", models.CharField(max_length=255, help_text="the broker")
    )
    assert lint(_migration([same])) == []


def test_acknowledged_finding_is_a_note_not_an_error(lint):
    migration = _migration([REMOVE_BROKER], ignore={"LF001": "column unused since release 12"})
    assert lint(migration) == [("LF001", False)]
