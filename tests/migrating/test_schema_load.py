"""When migrate may load the head schema snapshot instead of replaying (no process needed)."""

import dataclasses

import pytest
from django.db import connection, migrations
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.migrating import schema_load
from ledgerflow.migrating.ledger import recorded_checksums


def _noop(apps, schema_editor):
    pass


@pytest.mark.parametrize(
    "operation",
    [
        migrations.RunPython(_noop),
        migrations.RunSQL("INSERT INTO orders (order_id) VALUES ('x')"),
        migrations.RunSQL("UPDATE orders SET status = 'failed'"),
        migrations.RunSQL("DO $$ BEGIN PERFORM 1; END $$"),
        migrations.RunSQL("SELECT setval('orders_id_seq', 10)"),
        migrations.RunSQL("CREATE ROLE reporting"),
        migrations.RunSQL("GRANT reporting TO ledgerflow"),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("DELETE FROM orders")]
        ),
    ],
)
def test_project_data_code_is_replayed(operation):
    assert schema_load._data_code(operation) is not None


@pytest.mark.parametrize(
    "operation",
    [
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
        migrations.RunSQL("-- why\nCREATE TABLE t (id int); COMMENT ON TABLE t IS 'x';"),
        migrations.RunSQL("ALTER TABLE t ADD COLUMN note text", "ALTER TABLE t DROP COLUMN note"),
        migrations.RunSQL("GRANT SELECT ON t TO reporting"),
        migrations.RunSQL(
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN UPDATE t SET x = 1; END $$ "
            "LANGUAGE plpgsql"
        ),
        migrations.DeleteModel("order"),
    ],
)
def test_definitions_can_be_loaded(operation):
    assert schema_load._data_code(operation) is None


def test_the_committed_snapshot_lists_every_migration_of_the_head_plan():
    snapshot = schema_load.stored_snapshot()
    executor = MigrationExecutor(None)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)

    assert [(app, name) for app, name, _ in snapshot.migrations] == [
        (migration.app_label, migration.name) for migration, _ in plan
    ]


@pytest.fixture
def head_plan(db):
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
    return executor, plan


def test_a_database_that_is_not_empty_is_not_loaded(head_plan):
    executor, plan = head_plan

    assert schema_load.reason_to_replay(executor, plan) == "the database is not empty"


def test_a_migration_changed_since_the_snapshot_is_replayed(head_plan):
    executor, plan = head_plan
    snapshot = schema_load.stored_snapshot()
    app, name, _ = snapshot.migrations[-1]
    changed = dataclasses.replace(
        snapshot, migrations=(*snapshot.migrations[:-1], (app, name, "0" * 64))
    )

    reason = schema_load.reason_to_replay(executor, plan, changed)

    assert reason == f"{app}.{name} changed since the snapshot was generated"


def test_a_plan_other_than_the_snapshots_is_replayed(head_plan):
    executor, plan = head_plan

    assert schema_load.reason_to_replay(executor, plan[:-1]) == (
        "the plan is not the snapshot's migrations"
    )


def test_the_test_database_was_loaded_not_replayed(db):
    # pytest-django's test database is built by migrate, so by the load: no per-migration times.
    # Failing together with tests/schema/test_docs.py: run `python manage.py schema_docs`.
    recorded = recorded_checksums(connection)

    assert len(recorded) == len(schema_load.stored_snapshot().migrations)
    assert {row["duration_ms"] for row in recorded.values()} == {None}
