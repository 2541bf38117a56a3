"""``backup`` and ``restore``: checksums, manifests, refusals before any change."""

import hashlib
import json
import stat

from tests.recovery.conftest import applied, contents, existing_tables
from tests.support.databases import connect, scratch_database


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
    assert manifest["server_version"].startswith("15")
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
    bin_dir = tmp_path / "pg14"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    result = run(seeded_db, "backup", env={"LEDGERFLOW_PG_BIN_DIR": str(bin_dir)})

    assert result.returncode == 1
    assert "pg_dump is pg_dump (PostgreSQL) 14.11" in result.stderr
    assert "runs PostgreSQL 15" in result.stderr
    assert "postgresql-client-15" in result.stderr
    assert not backup_dir.exists() or list(backup_dir.glob("*.dump")) == []
