"""Checksums: what counts as a change, refusal of edited migrations, acceptance, baselining."""

import pytest
from django.db import connection, migrations, models, transaction
from django.db.migrations.loader import MigrationLoader

from ledgerflow.migrating.checksums import (
    ALGORITHM,
    baseline,
    checksum_mismatches,
    migration_checksum,
    record_applied,
)
from ledgerflow.migrating.ledger import recorded_checksums
from tests.migrating.support import MigrationsCopy, query, run_manage
from tests.support.databases import migrated_database

ORDERS_0001 = "0001_create_order_status_and_orders"


def _migration(operations, atomic=True):
    return type("Migration", (migrations.Migration,), {"operations": operations, "atomic": atomic})(
        "0002_test", "orders"
    )


def test_sql_comments_and_whitespace_do_not_change_the_checksum():
    plain = _migration([migrations.RunSQL("ALTER TABLE orders ADD COLUMN note text;")])
    reformatted = _migration(
        [
            migrations.RunSQL(
                "-- why: the bot shows it\nALTER TABLE orders\n    ADD COLUMN note text;"
            )
        ]
    )

    assert migration_checksum(plain) == migration_checksum(reformatted)


def test_a_different_statement_changes_the_checksum():
    text = _migration([migrations.RunSQL("ALTER TABLE orders ADD COLUMN note text;")])
    varchar = _migration([migrations.RunSQL("ALTER TABLE orders ADD COLUMN note varchar(10);")])

    assert migration_checksum(text) != migration_checksum(varchar)


def test_field_arguments_and_atomicity_change_the_checksum():
    def add(length):
        return migrations.AddField("order", "note", models.CharField(max_length=length, null=True))

    assert migration_checksum(_migration([add(10)])) == migration_checksum(_migration([add(10)]))
    assert migration_checksum(_migration([add(10)])) != migration_checksum(_migration([add(11)]))
    assert migration_checksum(_migration([add(10)])) != migration_checksum(
        _migration([add(10)], atomic=False)
    )


def test_record_applied_joins_the_callers_transaction(db):
    before = recorded_checksums(connection)[("orders", ORDERS_0001)]["checksum"]

    seen_inside = []

    def callers_transaction():
        with transaction.atomic():
            record_applied(connection, "orders", ORDERS_0001, checksum="f" * 64)
            seen_inside.append(recorded_checksums(connection)[("orders", ORDERS_0001)]["checksum"])
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        callers_transaction()

    assert seen_inside == ["f" * 64]

    assert recorded_checksums(connection)[("orders", ORDERS_0001)]["checksum"] == before


def test_checksum_mismatches_lists_each_changed_migration(db):
    assert checksum_mismatches(connection) == []
    current = recorded_checksums(connection)[("orders", ORDERS_0001)]["checksum"]
    record_applied(connection, "orders", ORDERS_0001, checksum="0" * 64)

    assert checksum_mismatches(connection) == [
        {"app": "orders", "name": ORDERS_0001, "recorded": "0" * 64, "current": current}
    ]


def test_every_migration_of_the_test_database_has_a_checksum(db):
    applied = set(
        query(connection.settings_dict["NAME"], "SELECT app, name FROM django_migrations")
    )

    assert set(recorded_checksums(connection)) == applied


@pytest.mark.process
def test_edited_applied_migration_is_refused_by_name_and_accepted_with_an_audit(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    env = orders.env()
    with migrated_database() as db:
        orders.edit(
            f"{ORDERS_0001}.py", "class Migration", "# A comment only.\n\n\nclass Migration"
        )
        assert run_manage(db, "migrate", env=env).returncode == 0  # comments do not count
        orders.edit(
            f"{ORDERS_0001}.py",
            '("broker_id", models.CharField(max_length=255))',
            '("broker_id", models.CharField(max_length=200))',
        )
        before = query(
            db, "SELECT app, name, checksum FROM ledgerflow_migration_checksums ORDER BY app, name"
        )

        refused = run_manage(db, "migrate", env=env)

        assert refused.returncode == 1
        assert f"orders.{ORDERS_0001} was edited after it was applied" in refused.stderr
        assert "accept_migration_checksum orders" in refused.stderr
        assert (
            query(
                db,
                "SELECT app, name, checksum FROM ledgerflow_migration_checksums ORDER BY app, name",
            )
            == before
        )
        status = run_manage(db, "migration_status", "--exit-code", env=env)
        assert status.returncode == 1
        assert "CHECKSUM CHANGED" in status.stdout

        no_reason = run_manage(
            db, "accept_migration_checksum", "orders", ORDERS_0001, "--reason", " ", env=env
        )
        assert no_reason.returncode == 1
        assert "a reason is required" in no_reason.stderr

        accepted = run_manage(
            db,
            "accept_migration_checksum",
            "orders",
            ORDERS_0001,
            "--reason",
            "length matches production",
            "--by",
            "alice",
            env=env,
        )
        assert accepted.returncode == 0, accepted.stderr
        assert query(
            db, "SELECT name, accepted_by, reason FROM ledgerflow_migration_checksum_acceptances"
        ) == [(ORDERS_0001, "alice", "length matches production")]
        assert run_manage(db, "migrate", env=env).returncode == 0


@pytest.mark.process
def test_database_migrated_before_checksums_existed_is_baselined():
    with migrated_database() as db:
        total = len(query(db, "SELECT 1 FROM django_migrations"))
        query(db, "DELETE FROM ledgerflow_migration_checksums RETURNING 1")

        assert run_manage(db, "migrate").returncode == 0

        rows = query(
            db, "SELECT baselined, count(*) FROM ledgerflow_migration_checksums GROUP BY baselined"
        )
        assert rows == [(True, total)]


def test_rows_from_an_older_checksum_algorithm_are_rebaselined_not_refused(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledgerflow_migration_checksums SET algorithm = 'v0', checksum = %s "
            "WHERE app = 'orders' AND name = %s",
            ["0" * 64, ORDERS_0001],
        )
    migration = MigrationLoader(connection).disk_migrations[("orders", ORDERS_0001)]

    assert checksum_mismatches(connection) == []
    assert baseline(connection) == [("orders", ORDERS_0001)]

    row = recorded_checksums(connection)[("orders", ORDERS_0001)]
    assert (row["algorithm"], row["checksum"], row["baselined"]) == (
        ALGORITHM,
        migration_checksum(migration),
        True,
    )
