"""The effects model: what an operation does, read from its structure or, for RunSQL, its SQL."""

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

from ledgerflow.migrating import effects as fx
from ledgerflow.migrating.effects.operations import backwards, forwards
from ledgerflow.migrating.effects.sql import read_sql
from ledgerflow.migrating.executor import concurrent_index_names


def _kinds(effects):
    return [(e.kind, e.table, e.column or e.name) for e in effects]


@pytest.fixture(scope="module")
def state():
    return MigrationLoader(None, ignore_no_migrations=True).project_state()


def _after(state, operation, app_label="orders"):
    after = state.clone()
    operation.state_forwards(app_label, after)
    return after


# Reading SQL (RunSQL) -------------------------------------------------------------------------


def test_alter_table_actions_are_read_one_by_one():
    effects = read_sql(
        'ALTER TABLE public."Orders" ADD fee numeric(12, 2) NOT NULL, DROP COLUMN IF EXISTS memo, '
        "ALTER amount TYPE numeric(20, 2) USING amount::numeric, RENAME CONSTRAINT a TO b"
    )

    assert _kinds(effects) == [
        (fx.ADD_COLUMN, "public.Orders", "fee"),
        (fx.DROP_COLUMN, "public.Orders", "memo"),
        (fx.CHANGE_TYPE, "public.Orders", "amount"),
        (fx.ALTER_TABLE, "public.Orders", None),
    ]
    assert effects[0].not_null
    assert (effects[2].new_type, effects[2].using) == ("numeric(20, 2)", "amount::numeric")


def test_drop_table_lists_and_statements_are_split_by_the_lexer():
    effects = read_sql('DROP TABLE IF EXISTS a, s."B;c" CASCADE; TRUNCATE ONLY d RESTART IDENTITY')

    assert _kinds(effects) == [
        (fx.DROP_TABLE, "public.a", None),
        (fx.DROP_TABLE, "s.B;c", None),
        (fx.TRUNCATE, "public.d", None),
    ]


def test_words_in_comments_literals_and_quoted_names_are_not_read():
    sql = (
        "-- DROP TABLE orders\n/* DELETE FROM orders /* nested */ TRUNCATE orders */ "
        "INSERT INTO notes (body, \"drop\") VALUES (E'DROP TABLE \\'x\\'', $$DELETE$$)"
    )

    assert [e.kind for e in read_sql(sql)] == [fx.UNMEASURED]
    assert read_sql("INSERT INTO notes (body) VALUES ('DROP TABLE orders; DELETE')") == []


def test_enum_recreation_is_read_in_order_with_its_labels():
    effects = read_sql(
        "ALTER TYPE order_status RENAME TO order_status_old; "
        "CREATE TYPE order_status AS ENUM ('pending', 'it''s'); "
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'x'; DROP TYPE order_status_old"
    )

    assert [(e.kind, e.name) for e in effects] == [
        (fx.RENAME_TYPE, "public.order_status"),
        (fx.CREATE_TYPE, "public.order_status"),
        (fx.ADD_ENUM_VALUE, "public.order_status"),
        (fx.DROP_TYPE, "public.order_status_old"),
    ]
    assert effects[0].new_name == "public.order_status_old"
    assert effects[1].labels == ("pending", "it's")
    assert effects[2].resumable


def test_deletes_are_measurable_but_a_delete_in_a_cte_or_do_block_is_not():
    (delete, writes) = read_sql("DELETE FROM orders o WHERE o.status = 'pending'")
    cte = read_sql("WITH gone AS (DELETE FROM orders) SELECT 1")
    block = read_sql("DO $$ BEGIN DELETE FROM orders; END $$")

    assert (delete.kind, delete.verb, delete.alias, delete.where) == (
        fx.WRITE_ROWS,
        "deletes",
        "o",
        "o.status = 'pending'",
    )
    assert writes.kind == fx.WRITES
    assert [e.kind for e in cte] == [fx.WRITES, fx.UNMEASURED]
    assert cte[1].word == "DELETE"
    # A DO block's body runs: its unconditional DELETE is counted as deleting every row.
    assert [(e.kind, e.where) for e in block] == [(fx.WRITE_ROWS, None), (fx.WRITES, None)]


def test_foreign_key_actions_and_trigger_events_are_harmless():
    sql = (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES accounts ON DELETE "
        "CASCADE; CREATE TRIGGER t BEFORE UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE "
        "FUNCTION f(); DROP INDEX CONCURRENTLY i"
    )

    kinds = [e.kind for e in read_sql(sql)]

    assert fx.UNMEASURED not in kinds
    assert fx.WRITE_ROWS not in kinds
    assert kinds[0] == fx.ALTER_TABLE
    assert kinds[-1] == fx.DROP_INDEX


def test_index_builds_name_their_index_and_whether_a_rerun_can_resume():
    (plain,) = read_sql("CREATE INDEX ON orders (broker_id)")
    (concurrent,) = read_sql('CREATE UNIQUE INDEX CONCURRENTLY "Idx" ON ONLY s.orders (a)')
    (resumable,) = read_sql("CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON orders (a)")

    assert (plain.table, plain.name, plain.concurrently) == ("public.orders", None, False)
    assert (concurrent.name, concurrent.table, concurrent.unique) == ("Idx", "s.orders", True)
    assert (concurrent.resumable, resumable.resumable) == (False, True)


def test_the_executor_rebuilds_the_concurrent_indexes_it_reads():
    migration = migrations.Migration("0002_x", "orders")
    migration.operations = [
        AddIndexConcurrently("order", models.Index(fields=["broker_id"], name="by_broker")),
        migrations.RunSQL(
            "-- CREATE INDEX CONCURRENTLY commented ON orders (a)\n"
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS "by;amount" ON orders (amount); '
            "CREATE INDEX CONCURRENTLY ON orders (status)"
        ),
    ]

    assert concurrent_index_names(migration) == ["by_broker", "by;amount"]


# From the structure of operations -------------------------------------------------------------


def test_forwards_effects_of_field_operations(state):
    remove = migrations.RemoveField("order", "broker_id")
    add = migrations.AddField("order", "memo", models.CharField(max_length=9, db_index=True))
    widen = migrations.AlterField("order", "broker_id", models.CharField(max_length=1000))
    narrow = migrations.AlterField("order", "broker_id", models.CharField(max_length=10))

    assert _kinds(forwards(remove, "orders", state, connection)) == [
        (fx.DROP_COLUMN, "public.orders", "broker_id")
    ]
    added, index = forwards(add, "orders", state, connection)
    assert (added.kind, added.not_null, index.kind, index.concurrently) == (
        fx.ADD_COLUMN,
        True,
        fx.BUILD_INDEX,
        False,
    )
    (widened,) = forwards(widen, "orders", state, connection)
    (narrowed,) = forwards(narrow, "orders", state, connection)
    assert (widened.old_type, widened.new_type, widened.rewrites) == (
        "varchar(255)",
        "varchar(1000)",
        False,
    )
    assert narrowed.rewrites


def test_forwards_of_a_separate_database_and_state_reads_only_its_database_operations(state):
    separate = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunSQL("DROP TABLE legacy")],
        state_operations=[migrations.DeleteModel("order")],
    )

    assert _kinds(forwards(separate, "orders", state, connection)) == [
        (fx.DROP_TABLE, "public.legacy", None)
    ]


def test_backwards_of_add_field_and_create_model_drop_what_they_made(state):
    add = migrations.AddField("order", "memo", models.TextField(null=True))
    create = migrations.CreateModel("Note", [("id", models.BigAutoField(primary_key=True))])

    assert _kinds(backwards(add, "orders", state, _after(state, add), connection)) == [
        (fx.DROP_COLUMN, "public.orders", "memo")
    ]
    assert _kinds(backwards(create, "orders", state, _after(state, create), connection)) == [
        (fx.DROP_TABLE, "public.orders_note", None)
    ]


def test_backwards_of_a_rename_renames_back_and_of_a_narrowing_widens_back(state):
    create = migrations.CreateModel("Note", [("id", models.BigAutoField(primary_key=True))])
    with_note = _after(state, create)
    rename = migrations.RenameModel("Note", "Memo")
    narrow = migrations.AlterField("order", "broker_id", models.CharField(max_length=10))

    (renamed,) = backwards(rename, "orders", with_note, _after(with_note, rename), connection)
    (retyped,) = backwards(narrow, "orders", state, _after(state, narrow), connection)

    assert (renamed.kind, renamed.table, renamed.new_name) == (
        fx.RENAME_TABLE,
        "public.orders_memo",
        "public.orders_note",
    )
    assert (retyped.kind, retyped.column, retyped.old_type, retyped.new_type) == (
        fx.CHANGE_TYPE,
        "broker_id",
        "varchar(10)",
        "varchar(255)",
    )
    assert not retyped.rewrites


def test_backwards_of_sql_and_python_and_of_unknown_structure(state):
    run_sql = migrations.RunSQL("SELECT 1", reverse_sql="DELETE FROM orders WHERE amount = 0")
    noop = migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)
    order_with = migrations.AlterOrderWithRespectTo("order", None)

    assert [e.kind for e in backwards(run_sql, "orders", state, state, connection)] == [
        fx.WRITE_ROWS,
        fx.WRITES,
    ]
    (python,) = backwards(noop, "orders", state, state, connection)
    assert (python.kind, python.noop) == (fx.RUN_PYTHON, True)
    assert backwards(order_with, "orders", state, state, connection) is None


def test_index_builds_do_not_lock_their_table_but_column_drops_do():
    drop, build = read_sql("ALTER TABLE orders DROP memo; CREATE INDEX i ON orders (a)")

    assert (drop.touches_table, build.touches_table) == (True, False)
