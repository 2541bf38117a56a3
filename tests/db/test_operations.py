"""The hand-written migration operations: exact SQL both ways, and they round-trip."""

import pytest
from django.db import connection
from django.db.migrations.state import ProjectState

from ledgerflow.db.operations import (
    CreateEnumType,
    CreateUpdatedAtTrigger,
    InstallUpdatedAtFunction,
)


def test_enum_type_sql_and_description():
    operation = CreateEnumType("mood", ["ok", "it's bad"])

    assert operation.sql == "CREATE TYPE mood AS ENUM ('ok', 'it''s bad');"
    assert operation.reverse_sql == "DROP TYPE mood;"
    assert operation.describe() == "Create enum type mood (ok, it's bad)"
    assert operation.deconstruct() == (
        "CreateEnumType",
        [],
        {"name": "mood", "labels": ["ok", "it's bad"]},
    )


def test_trigger_sql_and_description():
    operation = CreateUpdatedAtTrigger("orders")

    assert operation.sql == (
        "CREATE TRIGGER update_orders_updated_at BEFORE UPDATE ON orders "
        "FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();"
    )
    assert operation.reverse_sql == "DROP TRIGGER update_orders_updated_at ON orders;"
    assert operation.deconstruct() == ("CreateUpdatedAtTrigger", [], {"table": "orders"})
    assert operation.migration_name_fragment == "create_update_orders_updated_at"


def test_function_description():
    assert (
        InstallUpdatedAtFunction().describe()
        == "Install trigger function update_updated_at_column()"
    )


@pytest.mark.django_db
def test_operations_run_forwards_and_backwards():
    state = ProjectState()
    enum = CreateEnumType("lf_probe_status", ["a", "b"])
    trigger = CreateUpdatedAtTrigger("lf_probe")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE lf_probe (v int, updated_at timestamptz)")

    with connection.schema_editor() as editor:
        enum.database_forwards("orders", editor, state, state)
        trigger.database_forwards("orders", editor, state, state)
    with connection.cursor() as cursor:
        cursor.execute("SELECT enum_range(NULL::lf_probe_status)::text")
        labels = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'update_lf_probe_updated_at'"
        )
        triggers = cursor.fetchone()[0]

    with connection.schema_editor() as editor:
        trigger.database_backwards("orders", editor, state, state)
        enum.database_backwards("orders", editor, state, state)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_type WHERE typname = 'lf_probe_status'")
        types_left = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'update_lf_probe_updated_at'"
        )
        triggers_left = cursor.fetchone()[0]

    assert (labels, triggers) == ("{a,b}", 1)
    assert (types_left, triggers_left) == (0, 0)
