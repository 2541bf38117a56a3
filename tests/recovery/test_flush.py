"""``flush`` never empties tables holding rows without --allow-data-loss and a verified backup."""

import json
import uuid

import pytest
from django.core.management import call_command

from accounts.models import Account
from orders.models import Order
from tests.factories import AccountFactory, OrderFactory
from tests.recovery.conftest import SEED_SQL, SEEDED_COUNTS, contents
from tests.support.databases import connect, scratch_database


@pytest.mark.process
def test_flush_is_refused_naming_the_tables_and_every_row_stays(seeded_db, run, backup_dir):
    rows_before = contents(seeded_db)

    result = run(seeded_db, "flush", "--no-input", child=True)

    assert result.returncode == 1
    assert "refused, nothing was changed" in result.stderr
    for table, rows in SEEDED_COUNTS.items():
        assert f"{table} ({rows} rows)" in result.stderr
    assert "flush --allow-data-loss" in result.stderr
    assert contents(seeded_db) == rows_before
    assert not backup_dir.exists() or not any(backup_dir.iterdir())


@pytest.mark.process
def test_flush_with_allow_data_loss_backs_up_first_and_the_backup_restores(
    seeded_db, run, backup_dir
):
    rows_before = contents(seeded_db)

    result = run(seeded_db, "flush", "--no-input", "--allow-data-loss", child=True)

    assert result.returncode == 0, result.stderr
    assert all(not rows for rows in contents(seeded_db).values())
    (archive,) = backup_dir.glob("*.dump")
    manifest = json.loads(archive.with_name(archive.stem + ".manifest.json").read_text())
    assert manifest["reason"] == "pre-flush"
    assert {t: manifest["tables"][f"public.{t}"] for t in SEEDED_COUNTS} == SEEDED_COUNTS
    assert f"Backup verified: {archive}" in result.stdout

    restored = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert restored.returncode == 0, restored.stderr
    assert contents(seeded_db) == rows_before


@pytest.mark.process
def test_flush_of_a_database_without_rows_needs_no_flag(run):
    with scratch_database("lf_rec_empty") as empty:
        result = run(empty, "flush", "--no-input", child=True)

        assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_flush_of_a_test_named_database_outside_the_test_runner_is_refused(
    migrated_template, run, backup_dir
):
    # An operator's database whose name happens to start with test_ holds real rows.
    with connect("postgres", autocommit=True) as conn:
        name = f"test_lf_orders_{uuid.uuid4().hex[:8]}"
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        with connect(name, autocommit=True) as conn:
            conn.execute(SEED_SQL)
        rows_before = contents(name)

        result = run(name, "flush", "--no-input", child=True)

        assert result.returncode == 1
        assert "refused, nothing was changed" in result.stderr
        assert contents(name) == rows_before
        assert not backup_dir.exists() or not any(backup_dir.iterdir())
    finally:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_the_test_runner_still_empties_its_own_test_database_between_tests():
    AccountFactory()
    OrderFactory()

    call_command("flush", interactive=False, verbosity=0)

    assert Order.objects.count() == 0
    assert Account.objects.count() == 0
