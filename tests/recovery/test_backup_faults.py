"""``backup`` on a hostile or broken disk: private files, no system catalogs, and every fault
one paragraph with nothing left behind."""

import fcntl
import os
import stat
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.recovery.conftest import BACKUP_KEY
from tests.support.databases import database_url, manage

pytestmark = pytest.mark.process


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _one_paragraph(result):
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@contextmanager
def tmpfs(path, options):
    """A tmpfs mounted at ``path``: a disk that can be made full or read-only even for root,
    whom file modes do not stop."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"mode=0700,{options}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs ({mounted.stderr.strip()}); simulating a full or read-only "
            "disk needs root with CAP_SYS_ADMIN"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_archive_and_manifest_are_readable_by_their_owner_only(seeded_db, run, backup_dir):
    result = run(seeded_db, "backup")

    assert result.returncode == 0, result.stderr
    assert _mode(backup_dir) == 0o700
    assert sorted(_mode(path) for path in backup_dir.iterdir()) == [0o600, 0o600]


def test_existing_backup_directory_open_to_others_is_made_private(seeded_db, run, backup_dir):
    backup_dir.mkdir(mode=0o755)
    backup_dir.chmod(0o755)

    assert run(seeded_db, "backup").returncode == 0

    assert _mode(backup_dir) == 0o700


def test_backup_directory_anyone_can_write_into_is_refused(seeded_db, run, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)

    result = run(seeded_db, "backup", "--directory", str(shared))

    _one_paragraph(result)
    assert "writable by every user (mode 1777)" in result.stderr
    assert list(shared.iterdir()) == []


@pytest.mark.parametrize(
    "table", ["pg_catalog.pg_authid", "information_schema.tables", "pg_toast.pg_toast_1260"]
)
def test_system_catalog_is_refused_as_a_table(seeded_db, run, backup_dir, table):
    result = run(seeded_db, "backup", "--table", table)

    _one_paragraph(result)
    assert f"--table {table}: system catalogs" in result.stderr
    assert "Nothing was written" in result.stderr
    assert not backup_dir.exists() or list(backup_dir.iterdir()) == []


def test_stale_partial_files_are_removed_and_a_running_backups_kept(seeded_db, run, backup_dir):
    backup_dir.mkdir(mode=0o700)
    stale = backup_dir / ".20260101T000000Z-ledgerflow-manual-aaaaaa.dump.partial"
    running = backup_dir / ".20260101T000000Z-ledgerflow-manual-bbbbbb.dump.partial"
    for path in (stale, running):
        path.write_bytes(b"PGDMP")
        an_hour_ago = time.time() - 3600
        os.utime(path, (an_hour_ago, an_hour_ago))

    with open(running, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run(seeded_db, "backup")

    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert running.exists()


def test_read_only_backup_directory_is_one_paragraph(seeded_db, run, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=64k") as directory:
        result = run(seeded_db, "backup", "--directory", str(directory))

        _one_paragraph(result)
        assert f"cannot write the backup into {directory}" in result.stderr
        assert "Read-only file system" in result.stderr
        assert list(directory.iterdir()) == []


def test_disk_full_during_the_dump_leaves_nothing(seeded_db, run, tmp_path):
    with tmpfs(tmp_path / "full", "size=16k") as directory:
        result = run(seeded_db, "backup", "--directory", str(directory))

        _one_paragraph(result)
        assert "No space left on device" in result.stderr
        assert "the partial archive was removed" in result.stderr
        assert list(directory.iterdir()) == []


def test_disk_full_for_the_manifest_leaves_no_archive_without_manifest(seeded_db, run, tmp_path):
    # Room for the archive's data but one inode only: the manifest cannot be created.
    with tmpfs(tmp_path / "full", "size=1m,nr_inodes=2") as directory:
        result = run(seeded_db, "backup", "--directory", str(directory))

        _one_paragraph(result)
        assert "No space left on device" in result.stderr
        assert "Nothing was kept" in result.stderr
        assert list(directory.iterdir()) == []


def test_malformed_connect_timeout_is_one_paragraph_for_backup(seeded_db, backup_dir):
    result = manage(
        "backup",
        database_url_value=database_url(seeded_db) + "?connect_timeout=abc",
        env={"LEDGERFLOW_BACKUP_DIR": str(backup_dir)},
        check=False,
    )

    _one_paragraph(result)
    assert "bad value for connect_timeout: 'abc'" in result.stderr
    assert "DATABASE_URL" in result.stderr
    assert not backup_dir.exists() or list(backup_dir.iterdir()) == []


def test_malformed_connect_timeout_is_one_paragraph_for_restore(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")

    result = manage(
        "restore",
        str(archive),
        "--database-url",
        database_url(seeded_db) + "?connect_timeout=abc",
        env={"LEDGERFLOW_BACKUP_DIR": str(backup_dir), "LEDGERFLOW_BACKUP_KEY": BACKUP_KEY},
        check=False,
    )

    _one_paragraph(result)
    assert "bad value for connect_timeout: 'abc'" in result.stderr
    assert list(backup_dir.glob("*.dump")) == [archive]
