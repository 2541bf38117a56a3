"""Every migration is reversible: each app, and everything, goes to zero and back cleanly."""

import io

import pytest
from django.core.management import call_command

from ledgerflow.contract.schema import expected_snapshot
from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from tests.support import databases
from tests.support.databases import connect, database_url, manage

LEDGERFLOW_APPS = ("accounts", "users", "orders", "indexer")
TABLES_OF = {
    "accounts": {"accounts"},
    "users": {"users"},
    "orders": {"orders"},
    "indexer": {"chain_states", "deposit_events"},
}


def snapshot(dbname):
    with connect(dbname) as conn:
        return schema_snapshot(conn.cursor())


def migrate(dbname, *args):
    return manage("migrate", *args, "--no-input", database_url_value=database_url(dbname))


def rollback(dbname, *args, env=None):
    """Going back is ``rollback``'s job; on empty tables every reverse step is lossless."""
    return manage("rollback", *args, database_url_value=database_url(dbname), env=env)


def bookkeeping_tables(dbname):
    with connect(dbname) as conn:
        return conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'ledgerflow\\_%'"
        ).fetchall()


@pytest.fixture
def migrated_database():
    with databases.migrated_database("lf_roundtrip") as name:
        yield name


@pytest.mark.process
@pytest.mark.parametrize("app", LEDGERFLOW_APPS)
def test_app_goes_to_zero_and_back(migrated_database, app):
    rollback(migrated_database, app, "zero")
    without_app = snapshot(migrated_database)

    migrate(migrated_database)
    restored = snapshot(migrated_database)

    assert set(without_app["tables"]) == {
        table for other in LEDGERFLOW_APPS if other != app for table in TABLES_OF[other]
    }
    if app == "orders":
        assert without_app["enums"] == {}
    assert diff_snapshots(expected_snapshot(), restored) == []


@pytest.mark.process
def test_reversing_everything_leaves_no_ledgerflow_object_behind(migrated_database, tmp_path):
    # The bookkeeping tables hold the migrate runs and checksums: losing them needs the flag,
    # and the flag takes a verified backup first.
    result = rollback(
        migrated_database,
        "ledgerflow",
        "zero",
        "--allow-data-loss",
        env={"LEDGERFLOW_BACKUP_DIR": str(tmp_path)},
    )
    assert "Backup verified" in result.stdout

    leftovers = snapshot(migrated_database)
    with connect(migrated_database) as conn:
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'update\\_%\\_updated\\_at'"
        ).fetchall()
        applied = conn.execute(
            "SELECT app FROM django_migrations WHERE app IN "
            "('ledgerflow', 'accounts', 'users', 'orders', 'indexer')"
        ).fetchall()

    assert leftovers == {"tables": {}, "enums": {}, "functions": {}, "sequences": {}}
    assert bookkeeping_tables(migrated_database) == []
    assert triggers == []
    assert applied == []

    migrate(migrated_database)
    assert diff_snapshots(expected_snapshot(), snapshot(migrated_database)) == []


@pytest.mark.process
def test_a_second_migrate_has_nothing_to_do(migrated_database):
    result = migrate(migrated_database)

    assert "No migrations to apply." in result.stdout


def test_models_and_migrations_agree(db):
    output = io.StringIO()

    # --check exits 1 (SystemExit) when the models have changes without a migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=output)

    assert "No changes detected" in output.getvalue()
