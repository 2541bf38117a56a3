"""``flush`` never empties tables holding rows without --allow-data-loss and a verified backup."""

import json

from tests.recovery.conftest import SEEDED_COUNTS, contents
from tests.support.databases import scratch_database


def test_flush_is_refused_naming_the_tables_and_every_row_stays(seeded_db, run, backup_dir):
    rows_before = contents(seeded_db)

    result = run(seeded_db, "flush", "--no-input")

    assert result.returncode == 1
    assert "refused, nothing was changed" in result.stderr
    for table, rows in SEEDED_COUNTS.items():
        assert f"{table} ({rows} rows)" in result.stderr
    assert "flush --allow-data-loss" in result.stderr
    assert contents(seeded_db) == rows_before
    assert not backup_dir.exists() or not any(backup_dir.iterdir())


def test_flush_with_allow_data_loss_backs_up_first_and_the_backup_restores(
    seeded_db, run, backup_dir
):
    rows_before = contents(seeded_db)

    result = run(seeded_db, "flush", "--no-input", "--allow-data-loss")

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


def test_flush_of_a_database_without_rows_needs_no_flag(run):
    with scratch_database("lf_rec_empty") as empty:
        result = run(empty, "flush", "--no-input")

        assert result.returncode == 0, result.stderr
