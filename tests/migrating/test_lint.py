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

    def run(migration, *, new_tables=False, before=()):
        """``before``: operations already applied to the models (state only)."""
        changed = state.clone()
        for operation in before:
            operation.state_forwards("orders", changed)
        findings = lint_migration(migration, changed, set() if new_tables else live, connection)
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


ADD_VALUE = "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded'"


def test_lf004_add_value_in_an_atomic_or_shared_migration_trips(lint):
    assert lint(_migration([migrations.RunSQL(ADD_VALUE)])) == [("LF004", True)]
    shared = [migrations.RunSQL(ADD_VALUE), migrations.RunSQL("SELECT 1")]
    assert lint(_migration(shared, atomic=False)) == [("LF004", True)]


def test_lf004_add_value_alone_in_a_non_atomic_migration_does_not(lint):
    assert lint(_migration([migrations.RunSQL(ADD_VALUE)], atomic=False)) == []


def test_lf005_type_change_in_place_trips(lint):
    to_bigint = migrations.AlterField("order", "broker_id", models.BigIntegerField())
    assert lint(_migration([to_bigint])) == [("LF005", True)]
    narrower = migrations.AlterField("order", "broker_id", models.CharField(max_length=100))
    assert lint(_migration([narrower])) == [("LF005", True)]
    raw = migrations.RunSQL("ALTER TABLE orders ALTER COLUMN amount TYPE numeric")
    assert lint(_migration([raw])) == [("LF005", True)]


def test_lf005_same_type_alteration_does_not(lint):
    same = migrations.AlterField(
        "order", "broker_id", models.CharField(max_length=255, help_text="the broker")
    )
    assert lint(_migration([same])) == []


def test_lf005_widening_a_varchar_does_not_since_the_table_is_not_rewritten(lint):
    for field in (
        models.CharField(max_length=1000),
        models.CharField(max_length=None),
        models.TextField(),
    ):
        assert lint(_migration([migrations.AlterField("order", "broker_id", field)])) == []


def test_only_the_projects_own_migrations_are_judged(db):
    """Django's own pending migrations (here: every one of ``auth``, with its tables live) are
    trusted, so an interrupted first deploy can be resumed."""
    from django.db.migrations.executor import MigrationExecutor

    from ledgerflow.migrating.lint import lint_plan

    executor = MigrationExecutor(connection)
    auth = [
        (executor.loader.get_migration("auth", name), False)
        for app, name in sorted(executor.loader.disk_migrations)
        if app == "auth" and name != "0001_initial"
    ]
    assert lint_plan(auth, executor, connection) == []


def test_lf006_raw_concurrent_index_sql_must_be_resumable(lint):
    create = "CREATE INDEX CONCURRENTLY idx_orders_broker ON orders (broker_id)"
    drop = "DROP INDEX CONCURRENTLY idx_orders_broker"
    assert lint(_sql(create, atomic=False)) == [("LF006", True)]
    assert lint(_sql(drop, atomic=False)) == [("LF006", True)]
    bare_add_value = "ALTER TYPE order_status ADD VALUE 'refunded'"
    assert lint(_sql(bare_add_value, atomic=False)) == [("LF006", True)]
    resumable = (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_broker ON orders (broker_id)",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_orders_broker",
    )
    assert lint(_sql(*resumable, atomic=False)) == []


def test_acknowledged_finding_is_a_note_not_an_error(lint):
    migration = _migration([REMOVE_BROKER], ignore={"LF001": "column unused since release 12"})
    assert lint(migration) == [("LF001", False)]


def _sql(*statements, **kwargs):
    return _migration([migrations.RunSQL(statement) for statement in statements], **kwargs)


def test_raw_drop_rename_and_type_change_without_the_column_keyword_trip(lint):
    assert lint(_sql("ALTER TABLE orders DROP broker_id")) == [("LF001", True)]
    assert lint(_sql("ALTER TABLE orders RENAME amount TO amt")) == [("LF001", True)]
    assert lint(_sql('ALTER TABLE IF EXISTS public."orders" RENAME TO orders_v2')) == [
        ("LF001", True)
    ]
    assert lint(_sql("ALTER TABLE orders ALTER amount TYPE text")) == [("LF005", True)]
    assert lint(_sql("ALTER TABLE orders ALTER COLUMN amount SET DATA TYPE text")) == [
        ("LF005", True)
    ]
    assert lint(_sql("ALTER TABLE orders ADD memo text, DROP COLUMN broker_id")) == [
        ("LF001", True)
    ]


def test_raw_constraint_default_and_not_null_drops_are_not_column_drops(lint):
    assert lint(_sql("ALTER TABLE orders DROP CONSTRAINT orders_order_id_key")) == []
    assert lint(_sql("ALTER TABLE orders ALTER amount DROP DEFAULT")) == []
    assert lint(_sql("ALTER TABLE orders ALTER COLUMN amount DROP NOT NULL")) == []
    assert lint(_sql("ALTER TABLE orders RENAME CONSTRAINT orders_order_id_key TO k")) == []
    assert lint(_sql("ALTER INDEX idx_orders_status RENAME TO idx_status")) == []


def test_lf002_raw_set_not_null_and_not_null_column_without_default_trip(lint):
    assert lint(_sql("ALTER TABLE orders ALTER transaction_hash SET NOT NULL")) == [("LF002", True)]
    assert lint(_sql("ALTER TABLE orders ALTER COLUMN transaction_hash SET NOT NULL")) == [
        ("LF002", True)
    ]
    assert lint(_sql("ALTER TABLE orders ADD COLUMN memo int NOT NULL")) == [("LF002", True)]
    assert lint(_sql("ALTER TABLE orders ADD fee numeric(12, 2) NOT NULL")) == [("LF002", True)]


def test_lf002_raw_column_with_default_nullable_or_on_a_new_table_does_not(lint):
    assert lint(_sql("ALTER TABLE orders ADD COLUMN memo int NOT NULL DEFAULT 0")) == []
    assert lint(_sql("ALTER TABLE orders ADD memo text")) == []
    assert (
        lint(_sql("ALTER TABLE orders ADD CONSTRAINT c CHECK (amount IS NOT NULL) NOT VALID")) == []
    )
    assert lint(_sql("ALTER TABLE orders ADD COLUMN memo int NOT NULL"), new_tables=True) == []


DROP_BROKER_SQL = migrations.RunSQL("ALTER TABLE orders DROP COLUMN broker_id")


def test_separate_database_and_state_lints_its_database_operations(lint):
    separate = migrations.SeparateDatabaseAndState(
        database_operations=[DROP_BROKER_SQL], state_operations=[REMOVE_BROKER]
    )
    # One finding: the SQL's. The RemoveField is state only.
    assert lint(_migration([separate])) == [("LF001", True)]
    nested = migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.SeparateDatabaseAndState(
                database_operations=[migrations.DeleteModel("order")]
            )
        ]
    )
    assert lint(_migration([nested])) == [("LF001", True)]


def test_separate_database_and_state_state_operations_are_not_linted(lint):
    state_only = migrations.SeparateDatabaseAndState(state_operations=[REMOVE_BROKER])
    assert lint(_migration([state_only])) == []
    add_value = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunSQL(ADD_VALUE)], state_operations=[REMOVE_BROKER]
    )
    assert lint(_migration([add_value], atomic=False)) == []


INDEXED_BROKER = migrations.AlterField(
    "order", "broker_id", models.CharField(max_length=255, db_index=True)
)
UNIQUE_BROKER = migrations.AlterField(
    "order", "broker_id", models.CharField(max_length=255, unique=True)
)
UNIQUE_TOGETHER = migrations.AlterUniqueTogether("order", {("account_id", "broker_id")})


def test_lf003_indexed_field_made_unique_and_unique_together_trip(lint):
    assert lint(_migration([UNIQUE_BROKER]), before=[INDEXED_BROKER]) == [("LF003", True)]
    assert lint(_migration([UNIQUE_TOGETHER])) == [("LF003", True)]


def test_lf003_unique_together_already_there_or_on_a_new_table_does_not(lint):
    assert lint(_migration([UNIQUE_TOGETHER]), before=[UNIQUE_TOGETHER]) == []
    assert lint(_migration([UNIQUE_TOGETHER]), new_tables=True) == []
    assert lint(_migration([UNIQUE_BROKER]), before=[UNIQUE_BROKER]) == []


def _owner(**kwargs):
    return models.ForeignKey("users.user", models.DO_NOTHING, db_constraint=False, **kwargs)


def test_altering_a_foreign_key_on_a_live_table_does_not_crash(lint):
    add_owner = migrations.AddField("order", "owner", _owner(null=True))
    alter_owner = migrations.AlterField("order", "owner", _owner(null=True, help_text="buyer"))
    assert lint(_migration([alter_owner]), before=[add_owner]) == []


def test_raw_index_on_a_new_table_and_sql_in_literals_or_comments_do_not_trip(lint):
    assert lint(_sql("CREATE INDEX i ON orders (broker_id)"), new_tables=True) == []
    assert lint(_sql("ALTER TABLE orders DROP broker_id"), new_tables=True) == []
    assert lint(_sql("COMMENT ON TABLE orders IS 'do not CREATE INDEX here'")) == []
    assert (
        lint(
            _sql("COMMENT ON COLUMN orders.amount IS E'it\\'s not ALTER TABLE orders DROP amount'")
        )
        == []
    )
    assert lint(_sql("-- DROP TABLE orders\nSELECT 1 /* CREATE INDEX i ON orders (x) */")) == []


def test_raw_sql_in_a_do_block_and_quoted_names_still_trip(lint):
    assert lint(_sql("DO $$ BEGIN ALTER TABLE orders DROP amount; END $$")) == [("LF001", True)]
    assert lint(_sql('CREATE UNIQUE INDEX IF NOT EXISTS i ON public."orders" (broker_id)')) == [
        ("LF003", True)
    ]
    assert lint(_sql("DROP TABLE IF EXISTS scratch, orders")) == [("LF001", True)]


def test_lf001_rename_model_keeping_its_db_table_does_not(lint):
    assert lint(_migration([migrations.RenameModel("order", "purchase")])) == []


def test_lf001_rename_model_without_db_table_trips(db):
    state = MigrationLoader(connection).project_state()
    migrations.AlterModelTable("order", None).state_forwards("orders", state)
    rename = _migration([migrations.RenameModel("order", "purchase")])
    findings = lint_migration(rename, state, {"orders_order"}, connection)
    assert [f.rule for f in findings] == ["LF001"]
