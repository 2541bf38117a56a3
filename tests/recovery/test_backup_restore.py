"""``backup`` and ``restore``: checksums, manifests, refusals before any change."""

import hashlib
import json
import stat

import pytest

from tests.recovery.conftest import applied, contents, existing_tables
from tests.support.databases import connect, scratch_database

pytestmark = pytest.mark.process


def _manifest(archive):
    return json.loads(archive.with_name(archive.stem + ".manifest.json").read_text())


def test_backup_of_named_tables_writes_checksum_counts_and_migration_state(
    seeded_db, run, backup_dir
):
    result = run(seeded_db, "backup", "--table", "orders", "--table", "deposit_events")

    assert result.returncode == 0, result.stderr
    (archive,) = backup_dir.glob("*.dump")
    manifest = _manifest(archive)
    assert manifest["scope"] == "tables"
    assert manifest["tables"] == {"public.orders": 3, "public.deposit_events": 2}
    assert manifest["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert manifest["size_bytes"] == archive.stat().st_size
    assert [tuple(key) for key in manifest["migration_state"]] == applied(seeded_db)
    with connect(seeded_db) as conn:
        assert manifest["server_version"] == conn.execute("SHOW server_version").fetchone()[0]
    assert f"Backup verified: {archive}" in result.stdout


def test_backup_of_an_unknown_table_is_refused_and_writes_nothing(seeded_db, run, backup_dir):
    result = run(seeded_db, "backup", "--table", "payments")

    assert result.returncode == 1
    assert "no such table" in result.stderr
    assert "public.payments" in result.stderr
    assert list(backup_dir.iterdir()) == []


def test_corrupted_archive_is_refused_before_anything_is_restored(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))

    with scratch_database("lf_rec_target") as target:
        result = run(target, "restore", str(archive))

        assert result.returncode == 1
        assert "is corrupted or was altered" in result.stderr
        assert "Nothing was restored" in result.stderr
        assert existing_tables(target) == []


def test_archive_without_manifest_is_refused(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    archive.with_name(archive.stem + ".manifest.json").unlink()

    with scratch_database("lf_rec_target") as target:
        result = run(target, "restore", str(archive))

        assert result.returncode == 1
        assert "has no manifest" in result.stderr
        assert existing_tables(target) == []


def test_restore_into_a_non_empty_database_needs_its_name_confirmed(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (telegram_id) VALUES (4242)")
    rows_now = contents(seeded_db)

    refused = run(seeded_db, "restore", str(archive))
    wrong_name = run(seeded_db, "restore", str(archive), "--confirm", "other")

    assert refused.returncode == 1
    assert f"--confirm {seeded_db}" in refused.stderr
    assert wrong_name.returncode == 1
    assert contents(seeded_db) == rows_now


def test_confirmed_restore_first_backs_up_what_it_replaces(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (telegram_id) VALUES (4242)")  # written after the archive
    rows_now = contents(seeded_db)

    result = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert result.returncode == 0, result.stderr
    (previous,) = set(backup_dir.glob("*.dump")) - {archive}
    assert f"Backup of what it replaced verified: {previous}" in result.stdout
    assert 4242 not in [row[0] for row in fetch_users(seeded_db)]
    with scratch_database("lf_rec_prev") as copy:
        assert run(copy, "restore", str(previous)).returncode == 0
        assert contents(copy) == rows_now


def fetch_users(dbname):
    with connect(dbname) as conn:
        return conn.execute("SELECT telegram_id FROM users").fetchall()


def test_table_backup_restores_its_rows_into_the_current_database(seeded_db, run, backup_dir):
    before = contents(seeded_db, ["orders"])
    assert run(seeded_db, "backup", "--table", "orders").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("DELETE FROM orders WHERE order_id = 'ord-2'")

    result = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert result.returncode == 0, result.stderr
    assert contents(seeded_db, ["orders"]) == before


def test_client_of_another_major_version_is_refused_with_the_fix(
    seeded_db, run, backup_dir, tmp_path
):
    with connect(seeded_db) as conn:
        major = conn.info.server_version // 10000  # the version matrix runs this on 14 to 18
    bin_dir = tmp_path / "older"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text(f"#!/bin/sh\necho 'pg_dump (PostgreSQL) {major - 1}.11'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    result = run(seeded_db, "backup", env={"LEDGERFLOW_PG_BIN_DIR": str(bin_dir)})

    assert result.returncode == 1
    assert f"pg_dump is pg_dump (PostgreSQL) {major - 1}.11" in result.stderr
    assert f"runs PostgreSQL {major}" in result.stderr
    assert f"postgresql-client-{major}" in result.stderr
    assert not backup_dir.exists() or list(backup_dir.glob("*.dump")) == []


UNUSUAL_TABLES_SQL = """
CREATE TABLE audit_log (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE audit_log_2024 PARTITION OF audit_log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO audit_log VALUES (1, '2024-05-01');
CREATE TABLE "my table" (id int);
INSERT INTO "my table" VALUES (7), (8);
CREATE SCHEMA "odd schema";
CREATE TABLE "odd schema"."x y" (id int);
"""
UNUSUAL_TABLES = ("audit_log", "audit_log_2024", '"my table"', '"odd schema"."x y"')


def test_whole_database_backup_with_partitioned_and_spaced_tables_restores(
    seeded_db, run, backup_dir
):
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute(UNUSUAL_TABLES_SQL)
    before = contents(seeded_db, UNUSUAL_TABLES)

    result = run(seeded_db, "backup")

    assert result.returncode == 0, result.stderr
    (archive,) = backup_dir.glob("*.dump")
    manifest = _manifest(archive)
    assert manifest["partitioned_tables"] == ["public.audit_log"]
    assert manifest["tables"]["public.audit_log"] == 1  # its partitions' rows
    assert manifest["tables"]["public.audit_log_2024"] == 1
    assert manifest["tables"]["public.my table"] == 2
    assert manifest["tables"]["odd schema.x y"] == 0
    with scratch_database("lf_rec_target") as target:
        into_empty = run(target, "restore", str(archive))
        assert into_empty.returncode == 0, into_empty.stderr
        assert contents(target, UNUSUAL_TABLES) == before
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_log")
    replaced = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)
    assert replaced.returncode == 0, replaced.stderr
    assert contents(seeded_db, UNUSUAL_TABLES) == before


def test_backup_of_a_partitioned_table_holds_its_partitions(seeded_db, run, backup_dir):
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute(UNUSUAL_TABLES_SQL)

    result = run(seeded_db, "backup", "--table", "audit_log")

    assert result.returncode == 0, result.stderr
    (archive,) = backup_dir.glob("*.dump")
    assert _manifest(archive)["tables"] == {"public.audit_log": 1, "public.audit_log_2024": 1}
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_log")
    restored = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)
    assert restored.returncode == 0, restored.stderr
    assert contents(seeded_db, ["audit_log"])["audit_log"] == ['{"id":1,"at":"2024-05-01"}']


def test_older_whole_database_archive_is_refused_by_a_newer_database(run, backup_dir):
    with scratch_database("lf_rec_old") as name:
        assert run(name, "migrate", "ledgerflow", "0003").returncode == 0
        assert run(name, "backup").returncode == 0
        (archive,) = backup_dir.glob("*.dump")
        assert run(name, "migrate").returncode == 0
        state_now = applied(name)

        result = run(name, "restore", str(archive), "--confirm", name)

        assert result.returncode == 1
        assert "public.ledgerflow_release_tags" in result.stderr
        assert "ledgerflow.0004_create_release_tags" in result.stderr
        assert "Restore into an empty database" in result.stderr
        assert "Nothing was restored" in result.stderr
        assert list(backup_dir.glob("*.dump")) == [archive]  # no pre-restore backup either
        assert applied(name) == state_now


@pytest.mark.parametrize(
    "damage",
    [
        lambda manifest: manifest.pop("tables"),
        lambda manifest: manifest.pop("scope"),
        lambda manifest: manifest.pop("migration_state"),
        lambda manifest: manifest.update(tables=list(manifest["tables"])),
    ],
    ids=["no-tables", "no-scope", "no-migration-state", "tables-as-list"],
)
def test_manifest_of_the_wrong_shape_is_refused_before_anything_runs(
    seeded_db, run, backup_dir, damage
):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    manifest_file = archive.with_name(archive.stem + ".manifest.json")
    manifest = json.loads(manifest_file.read_text())
    damage(manifest)
    manifest_file.write_text(json.dumps(manifest))

    with scratch_database("lf_rec_target") as target:
        result = run(target, "restore", str(archive))

        assert result.returncode == 1
        assert "is damaged" in result.stderr
        assert "Traceback" not in result.stderr
        assert existing_tables(target) == []
