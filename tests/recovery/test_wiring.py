"""Rollback, migrate and the takeover share one lock and one checksum ledger."""

import json

import pytest

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.recovery.conftest import SEEDED_COUNTS
from tests.schema.legacy import build_legacy_database
from tests.support.databases import connect, database_url, manage, scratch_database

pytestmark = pytest.mark.process


def checksum_rows(dbname, app):
    with connect(dbname) as conn:
        return conn.execute(
            "SELECT name FROM ledgerflow_migration_checksums WHERE app = %s ORDER BY name", [app]
        ).fetchall()


def test_rollback_waits_for_the_migration_lock_and_names_its_holder(migrated_db, run):
    with connect(migrated_db, autocommit=True) as holder:
        holder.execute("SET application_name = 'deploy-pod-7'")
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])

        result = run(
            migrated_db, "rollback", "orders", "zero", env={"MIGRATION_LOCK_WAIT_TIMEOUT": "1"}
        )

    assert result.returncode != 0
    assert "deploy-pod-7" in result.stdout + result.stderr
    with connect(migrated_db) as conn:
        assert conn.execute("SELECT to_regclass('orders') IS NOT NULL").fetchone() == (True,)


def test_rollback_forgets_the_checksums_of_what_it_unapplied(migrated_db, run):
    assert checksum_rows(migrated_db, "orders") == [("0001_create_order_status_and_orders",)]

    result = run(migrated_db, "rollback", "orders", "zero")

    assert result.returncode == 0, result.stdout + result.stderr
    assert checksum_rows(migrated_db, "orders") == []
    again = run(migrated_db, "migrate", "--no-input")
    assert again.returncode == 0, again.stdout + again.stderr
    assert checksum_rows(migrated_db, "orders") == [("0001_create_order_status_and_orders",)]


def test_migrate_backup_archives_the_rows_before_applying(seeded_db, run, backup_dir):
    rolled_back = run(seeded_db, "rollback", "ledgerflow", "0003", "--allow-data-loss")
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    for archive in backup_dir.glob("*"):
        archive.unlink()

    result = run(seeded_db, "migrate", "--backup", "--no-input")

    assert result.returncode == 0, result.stdout + result.stderr
    (manifest_path,) = backup_dir.glob("*.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["reason"] == "pre-migrate"
    assert {t: manifest["tables"][f"public.{t}"] for t in SEEDED_COUNTS} == SEEDED_COUNTS
    assert ["ledgerflow", "0004_create_release_tags"] not in manifest["migration_state"]
    assert f"Backup verified: {manifest_path.with_suffix('').with_suffix('.dump')}" in result.stdout


def test_migrate_backup_takes_nothing_when_nothing_is_pending(migrated_db, run, backup_dir):
    result = run(migrated_db, "migrate", "--backup", "--no-input")

    assert result.returncode == 0, result.stdout + result.stderr
    assert not backup_dir.exists() or list(backup_dir.iterdir()) == []


def test_a_takeover_records_checksums_so_migrate_verifies_them():
    with scratch_database("lf_adopt") as name:
        url = database_url(name)
        build_legacy_database(name)
        manage("adopt_sqlx", "--no-input", database_url_value=url)

        adopted = checksum_rows(name, "orders")
        with connect(name) as conn:
            baselined = conn.execute(
                "SELECT count(*) FROM ledgerflow_migration_checksums WHERE baselined"
            ).fetchone()[0]

    assert adopted == [("0001_create_order_status_and_orders",)]
    assert baselined == 0
