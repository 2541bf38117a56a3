"""``rollback``: lossy steps refused with the data named, dry runs, backups, steps and tags."""

import json

import pytest

from ledgerflow.db.introspection import schema_snapshot
from ledgerflow.db.tables import PROJECT_APPS, PROJECT_TABLES
from tests.recovery.conftest import (
    SEEDED_COUNTS,
    applied,
    contents,
    enum_exists,
    existing_tables,
)
from tests.support.databases import connect, migrated_database, scratch_database

pytestmark = pytest.mark.process


def test_lossy_rollback_is_refused_naming_tables_and_row_counts_and_keeps_every_row(
    seeded_db, run, backup_dir
):
    rows_before, state_before = contents(seeded_db), applied(seeded_db)

    result = run(seeded_db, "rollback", "ledgerflow", "zero")

    assert result.returncode == 1
    assert "Refused: this rollback would lose data. Nothing was changed." in result.stderr
    for table, rows in SEEDED_COUNTS.items():
        assert f"  {table}: {rows} rows" in result.stderr
    assert "drops enum type order_status, used by 3 values in orders.status" in result.stderr
    assert contents(seeded_db) == rows_before
    assert applied(seeded_db) == state_before
    assert not backup_dir.exists() or list(backup_dir.iterdir()) == []


def test_plan_names_lossy_steps_before_the_sql(seeded_db, run):
    result = run(seeded_db, "rollback", "orders", "zero")

    summary = result.stdout.split("\n\n")[0]
    assert "Atomic: yes, the whole rollback runs in one transaction." in summary
    assert "Irreversible steps: none" in summary
    assert (
        "Lossy steps: orders.0001_create_order_status_and_orders; data at stake: orders (3 rows)"
        in summary
    )
    assert result.returncode == 1


def test_dry_run_prints_drop_table_and_changes_nothing(seeded_db, run):
    rows_before, state_before = contents(seeded_db), applied(seeded_db)

    result = run(seeded_db, "rollback", "ledgerflow", "zero", "--dry-run")

    assert result.returncode == 0, result.stderr
    for table in PROJECT_TABLES:
        assert f'DROP TABLE "{table}" CASCADE;' in result.stdout
    assert "DROP TYPE order_status;" in result.stdout
    assert "DROP FUNCTION update_updated_at_column();" in result.stdout
    assert "LOSSY: drops table deposit_events holding 2 rows" in result.stdout
    assert "Dry run: nothing was changed." in result.stdout
    assert contents(seeded_db) == rows_before
    assert applied(seeded_db) == state_before


def test_allow_data_loss_backs_up_rolls_back_and_restore_brings_back_the_same_rows(
    seeded_db, run, backup_dir
):
    rows_before, state_before = contents(seeded_db), applied(seeded_db)
    with connect(seeded_db) as conn:
        schema_before = schema_snapshot(conn.cursor())

    result = run(seeded_db, "rollback", "ledgerflow", "zero", "--allow-data-loss")

    assert result.returncode == 0, result.stderr
    ours = [key for key in state_before if key[0] in PROJECT_APPS]
    assert f"Rolled back {len(ours)} migration(s) in one transaction." in result.stdout
    assert not set(PROJECT_TABLES) & set(existing_tables(seeded_db))
    assert not enum_exists(seeded_db)
    (archive,) = backup_dir.glob("*.dump")
    manifest = json.loads(archive.with_name(archive.stem + ".manifest.json").read_text())
    assert {t: manifest["tables"][f"public.{t}"] for t in SEEDED_COUNTS} == SEEDED_COUNTS
    assert [tuple(key) for key in manifest["migration_state"]] == state_before
    assert f"Backup verified: {archive}" in result.stdout

    restored = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert restored.returncode == 0, restored.stderr
    assert contents(seeded_db) == rows_before
    assert applied(seeded_db) == state_before
    with connect(seeded_db) as conn:
        assert schema_snapshot(conn.cursor()) == schema_before

    with scratch_database("lf_rec_empty") as empty:
        into_empty = run(empty, "restore", str(archive))
        assert into_empty.returncode == 0, into_empty.stderr
        assert contents(empty) == rows_before
        assert applied(empty) == state_before


def test_lossless_rollback_runs_without_flags(migrated_db, run, backup_dir):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (account_id) VALUES ('kept')")
    accounts_before = contents(migrated_db, ["accounts"])

    result = run(migrated_db, "rollback", "orders", "zero")

    assert result.returncode == 0, result.stderr
    assert "Lossy steps: none" in result.stdout
    assert "orders" not in existing_tables(migrated_db)
    assert not enum_exists(migrated_db)
    assert ("orders", "0001_create_order_status_and_orders") not in applied(migrated_db)
    assert contents(migrated_db, ["accounts"]) == accounts_before
    assert not backup_dir.exists()


def test_rollback_by_steps_unapplies_the_most_recently_applied(migrated_db, run):
    state_before = applied(migrated_db)

    result = run(migrated_db, "rollback", "--steps", "2")

    assert result.returncode == 0, result.stderr
    assert applied(migrated_db) == state_before[:-2]
    newest, second = state_before[-1], state_before[-2]
    assert result.stdout.index(f"[1] unapply {newest[0]}.{newest[1]}") < result.stdout.index(
        f"[2] unapply {second[0]}.{second[1]}"
    )


def test_rollback_by_steps_refuses_more_steps_than_applied(migrated_db, run):
    count = len(applied(migrated_db))

    result = run(migrated_db, "rollback", "--steps", str(count + 1))

    assert result.returncode == 1
    assert f"--steps {count + 1} but only {count} migrations are applied." in result.stderr
    assert len(applied(migrated_db)) == count


def test_rollback_to_tag_returns_to_the_tagged_state(migrated_db, run):
    for app in ("indexer", "orders", "users"):
        assert run(migrated_db, "rollback", app, "zero").returncode == 0
    tagged = run(migrated_db, "tag_release", "v1.0.0", "--created-by", "ci")
    assert tagged.returncode == 0, tagged.stderr
    state_at_tag = applied(migrated_db)
    assert run(migrated_db, "migrate").returncode == 0
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (account_id) VALUES ('a-1')")
    assert len(applied(migrated_db)) == len(state_at_tag) + 3

    result = run(migrated_db, "rollback", "--to-tag", "v1.0.0")

    assert result.returncode == 0, result.stderr
    assert "Rollback plan (to release tag v1.0.0)" in result.stdout
    assert applied(migrated_db) == state_at_tag
    assert {"orders", "users", "chain_states", "deposit_events"}.isdisjoint(
        existing_tables(migrated_db)
    )
    (account,) = contents(migrated_db, ["accounts"])["accounts"]
    assert '"account_id":"a-1"' in account


def test_rollback_to_a_tag_ahead_of_the_database_is_refused(run):
    with migrated_database("lf_rec_tag") as name:
        assert run(name, "tag_release", "v2").returncode == 0
        assert run(name, "rollback", "indexer", "zero").returncode == 0
        state = applied(name)

        result = run(name, "rollback", "--to-tag", "v2")

        assert result.returncode == 1
        assert "includes migrations not applied here" in result.stderr
        assert "indexer.0001_create_chain_states_and_deposit_events" in result.stderr
        assert applied(name) == state


def test_unknown_tag_and_bad_targets_are_refused(migrated_db, run):
    unknown = run(migrated_db, "rollback", "--to-tag", "nope")
    both = run(migrated_db, "rollback", "orders", "zero", "--steps", "1")
    no_app = run(migrated_db, "rollback", "payments", "zero")

    assert unknown.returncode == 1
    assert "no release tag 'nope'" in unknown.stderr
    assert both.returncode == 1
    assert "give exactly one target" in both.stderr
    assert no_app.returncode == 1
    assert "no app 'payments' with migrations" in no_app.stderr


def test_rollback_gives_up_with_nothing_changed_when_a_writer_holds_the_table(migrated_db, run):
    with connect(migrated_db) as writer:
        # An open transaction of a service that has inserted a row and not committed yet.
        writer.execute(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, "
            "token_address) VALUES ('ord-open', 'a', 'b', '1', '0x')"
        )

        result = run(migrated_db, "rollback", "orders", "zero", "--lock-timeout", "0.5")

        writer.rollback()
    assert result.returncode == 1
    assert "could not lock public.orders within 0.5 s" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert "orders" in existing_tables(migrated_db)
    assert ("orders", "0001_create_order_status_and_orders") in applied(migrated_db)


def test_tag_release_before_its_table_exists_says_what_to_run(run):
    with scratch_database("lf_rec_tag") as name:
        assert run(name, "migrate", "ledgerflow", "0001").returncode == 0

        result = run(name, "tag_release", "v1")

        assert result.returncode == 1
        assert "run `python manage.py migrate ledgerflow` first" in result.stderr


def test_tag_release_list_before_its_table_exists_says_what_to_run(run):
    with scratch_database("lf_rec_tag") as name:
        result = run(name, "tag_release", "--list")

        assert result.returncode == 1
        assert "run `python manage.py migrate ledgerflow` first" in result.stderr
        assert "Traceback" not in result.stderr


def test_tag_name_with_a_trailing_newline_is_refused(migrated_db, run):
    result = run(migrated_db, "tag_release", "v1.0\n")

    assert result.returncode == 1
    assert "is not a valid tag name" in result.stderr
    assert run(migrated_db, "tag_release", "--list").stdout.strip() == "[]"
