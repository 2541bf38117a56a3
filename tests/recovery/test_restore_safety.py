"""A confirmed restore into a live database: no acknowledged write lost, nothing changed unless
everything matched, authenticated manifests, and no client left running when it is killed."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.recovery.conftest import BACKUP_KEY, contents, existing_tables
from tests.support.databases import REPO_ROOT, connect, database_url, scratch_database

pytestmark = pytest.mark.process

INSERT_ORDER = (
    "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
    "VALUES (%s, 'acc-1', 'broker', '1', '0x' || repeat('a', 40))"
)


def _manifest_file(archive):
    return archive.with_name(archive.stem + ".manifest.json")


def _signed(manifest, key=BACKUP_KEY):
    """The manifest with its HMAC recomputed as documented: HMAC-SHA256 of every other field as
    canonical JSON (sorted keys, no spaces), hex."""
    body = {name: value for name, value in manifest.items() if name != "hmac_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return {**body, "hmac_sha256": hmac.new(key.encode(), text.encode(), "sha256").hexdigest()}


def _order_ids(dbname):
    with connect(dbname) as conn:
        return {row[0] for row in conn.execute("SELECT order_id FROM orders").fetchall()}


def _write_orders(dbname, stop, acknowledged):
    """Insert orders one by one, as a service does; an id is acknowledged once its INSERT
    returned (autocommit: committed)."""
    conn = None
    number = 0
    while not stop.is_set():
        number += 1
        try:
            if conn is None:
                conn = connect(dbname, autocommit=True)
            conn.execute(INSERT_ORDER, [f"w-{number}"])
        except psycopg.Error:
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.01)
            continue
        acknowledged.append(f"w-{number}")
    if conn is not None:
        conn.close()


def test_restore_under_a_writer_loses_no_acknowledged_order(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    stop, acknowledged = threading.Event(), []
    writer = threading.Thread(target=_write_orders, args=(seeded_db, stop, acknowledged))
    writer.start()
    try:
        while len(acknowledged) < 20:
            time.sleep(0.01)
        result = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)
        during = len(acknowledged)
        time.sleep(0.3)
    finally:
        stop.set()
        writer.join()

    assert result.returncode == 0, result.stderr
    assert "Writes held: " in result.stdout
    (previous,) = set(backup_dir.glob("*.dump")) - {archive}
    with scratch_database("lf_rec_prev") as copy:
        assert run(copy, "restore", str(previous)).returncode == 0
        in_backup = _order_ids(copy)
    in_database = _order_ids(seeded_db)
    lost = [order for order in acknowledged if order not in in_backup | in_database]
    assert lost == []
    assert len(in_backup - {"ord-1", "ord-2", "ord-3"}) >= 20  # written before the restore
    assert len(acknowledged) > during  # the writer went on after the restore, into its tables


def test_restore_that_does_not_match_its_manifest_changes_nothing(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    manifest_file = _manifest_file(archive)
    manifest = json.loads(manifest_file.read_text())
    manifest["tables"]["public.orders"] = 99  # the archive holds 3
    manifest_file.write_text(json.dumps(_signed(manifest)))
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (telegram_id) VALUES (4242)")
    rows_now = contents(seeded_db)

    result = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert result.returncode == 1
    assert "public.orders: manifest 99, database 3" in result.stderr
    assert "nothing in the database was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert contents(seeded_db) == rows_now


def test_archive_edited_with_a_recomputed_checksum_is_refused(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("UPDATE orders SET amount = '999999999' WHERE order_id = 'ord-1'")
    assert run(seeded_db, "backup").returncode == 0
    (edited,) = set(backup_dir.glob("*.dump")) - {archive}
    manifest_file = _manifest_file(archive)
    manifest = json.loads(manifest_file.read_text())
    archive.write_bytes(edited.read_bytes())  # same row counts, other amounts
    manifest["sha256"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    manifest["size_bytes"] = archive.stat().st_size
    manifest_file.write_text(json.dumps(manifest))  # its HMAC left as it was

    with scratch_database("lf_rec_target") as target:
        result = run(target, "restore", str(archive))

        assert result.returncode == 1
        assert "fails its HMAC check" in result.stderr
        assert "Nothing was restored" in result.stderr
        assert existing_tables(target) == []


def test_manifest_without_hmac_is_restored_only_when_allowed(seeded_db, run, backup_dir):
    written = run(seeded_db, "backup", env={"LEDGERFLOW_BACKUP_KEY": ""})
    assert written.returncode == 0, written.stderr
    assert "manifest NOT authenticated: LEDGERFLOW_BACKUP_KEY is unset" in written.stdout
    (archive,) = backup_dir.glob("*.dump")
    assert "hmac_sha256" not in json.loads(_manifest_file(archive).read_text())

    with scratch_database("lf_rec_target") as target:
        refused = run(target, "restore", str(archive))
        assert refused.returncode == 1
        assert "carries no HMAC" in refused.stderr
        assert "--allow-unauthenticated" in refused.stderr
        assert existing_tables(target) == []

        allowed = run(target, "restore", str(archive), "--allow-unauthenticated")
        assert allowed.returncode == 0, allowed.stderr
        assert "restored as unauthenticated" in allowed.stdout
        assert contents(target) == contents(seeded_db)


def test_authenticated_manifest_needs_the_key_it_was_written_with(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")

    with scratch_database("lf_rec_target") as target:
        unset = run(target, "restore", str(archive), env={"LEDGERFLOW_BACKUP_KEY": ""})
        other = run(target, "restore", str(archive), env={"LEDGERFLOW_BACKUP_KEY": "x" * 40})

        assert unset.returncode == 1
        assert "LEDGERFLOW_BACKUP_KEY is unset" in unset.stderr
        assert other.returncode == 1
        assert "fails its HMAC check" in other.stderr
        assert existing_tables(target) == []


def _children(pid, program):
    """Pids of ``program`` processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if name == program and int(rest.split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _restore_replacing_tables(dbname):
    """Whether a session of this database holds a table's ACCESS EXCLUSIVE lock: the restore has
    dropped a table and not committed yet."""
    with connect("postgres") as conn:
        return conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = %s AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'"
            " AND l.granted)",
            [dbname],
        ).fetchone()[0]


def _recovery_sessions(dbname):
    with connect("postgres") as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND application_name = 'ledgerflow-recovery'",
            [dbname],
        ).fetchone()[0]


@pytest.mark.parametrize("kill_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_killed_restore_leaves_the_database_unchanged_and_no_pg_restore(
    seeded_db, run, backup_dir, kill_signal
):
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
            "SELECT 'bulk-' || g, 'acc-1', 'broker', g::text, '0x' || repeat('a', 40) "
            "FROM generate_series(1, 300000) g"
        )
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("DELETE FROM orders WHERE order_id LIKE 'bulk-%'")
    rows_now = contents(seeded_db)
    env = {
        **os.environ,
        "LEDGERFLOW_ENV": "test",
        "DATABASE_URL": database_url(seeded_db),
        "LEDGERFLOW_BACKUP_DIR": str(backup_dir),
        "LEDGERFLOW_BACKUP_KEY": BACKUP_KEY,
    }
    arguments = ["restore", str(archive), "--confirm", seeded_db]
    command = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), *arguments],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait(lambda: _restore_replacing_tables(seeded_db)), "the restore never began"
        clients = _children(command.pid, "pg_restore")
        command.send_signal(kill_signal)
        command.wait(timeout=30)
    finally:
        command.kill()
        command.wait()

    assert clients, "no pg_restore ran under the command"
    assert _wait(lambda: not any(_alive(pid) for pid in clients), 10), "pg_restore outlived it"
    assert _wait(lambda: _recovery_sessions(seeded_db) == 0)
    assert contents(seeded_db) == rows_now


def test_restore_gives_up_with_nothing_changed_when_a_writer_holds_a_table(
    seeded_db, run, backup_dir
):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db) as writer:  # a transaction left open after an INSERT
        writer.execute(INSERT_ORDER, ["open-1"])

        result = run(
            seeded_db, "restore", str(archive), "--confirm", seeded_db, "--lock-timeout", "0.5"
        )

        assert result.returncode == 1
        assert "could not lock the tables" in result.stderr
        assert "Nothing was changed" in result.stderr
        writer.commit()
    assert list(backup_dir.glob("*.dump")) == [archive]  # not even a pre-restore backup
    assert "open-1" in _order_ids(seeded_db)


def test_restore_is_refused_while_a_migration_holds_the_migration_lock(seeded_db, run, backup_dir):
    assert run(seeded_db, "backup").returncode == 0
    (archive,) = backup_dir.glob("*.dump")
    with connect(seeded_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (telegram_id) VALUES (4242)")
    rows_now = contents(seeded_db)
    with connect(seeded_db, autocommit=True) as deploy:
        deploy.execute("SET application_name = 'deploy-pod-7'")
        deploy.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])

        result = run(seeded_db, "restore", str(archive), "--confirm", seeded_db)

    assert result.returncode == 1
    assert "a migration holds the migration lock" in result.stderr
    assert "deploy-pod-7" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert contents(seeded_db) == rows_now
    assert list(backup_dir.glob("*.dump")) == [archive]
