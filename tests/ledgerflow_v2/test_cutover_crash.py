"""A cutover killed mid-way, after it wrote accounts, orders, deposits, balances and rejects in
its transaction, leaves v2 empty and v1 unchanged: the server terminates it, or its process dies.

The test holds a lock on ledgerflow_v2.cutover_notes, which the cutover writes last, so the child
is caught at a known point with everything else written, then killed.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.ledgerflow_v2.dirty_v1 import make_dirty_v1, v1_fingerprint
from tests.support.databases import REPO_ROOT, connect, database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.process]

V2_TABLES = ("accounts", "orders", "balances", "chain_states", "deposit_events")
RECORDS = ("cutover_rejects", "cutover_notes", "cutover_runs")


@pytest.fixture
def committed_dirty_v1():
    make_dirty_v1()
    started = []
    yield started
    for child, holder in started:  # a failed test must not leave the lock held or a child
        holder.close()
        if child.poll() is None:
            child.kill()
        child.communicate()
    # The test runner's flush empties the models' tables; ledgerflow_v2 has no models.
    with connection.cursor() as cursor:
        tables = ", ".join(f"ledgerflow_v2.{table}" for table in (*V2_TABLES, *RECORDS))
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")


def v2_counts(cursor):
    return {
        table: cursor.execute(f"SELECT count(*) FROM ledgerflow_v2.{table}").fetchone()[0]
        for table in (*V2_TABLES, *RECORDS)
    }


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_cutover_caught_before_its_notes(dbname):
    """The child's backend pid, once it waits for the lock the test holds; the child process and
    the test's locking connection."""
    holder = connect(dbname)
    holder.execute("LOCK TABLE ledgerflow_v2.cutover_notes IN EXCLUSIVE MODE")  # reads pass
    child = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "cutover_v2", "--accept-rejects",
         "--no-backup", "--lock-timeout", "120"],
        cwd=REPO_ROOT,
        env={**os.environ, "LEDGERFLOW_ENV": "test", "DATABASE_URL": database_url(dbname)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    with connect(dbname, autocommit=True) as watcher:

        def waiting_backend():
            row = watcher.execute(
                "SELECT l.pid FROM pg_locks l WHERE NOT l.granted "
                "AND l.relation = 'ledgerflow_v2.cutover_notes'::regclass"
            ).fetchone()
            return row and row[0]

        pid = wait_for(waiting_backend, "the cutover to reach its notes")
        # Everything before the notes is written, uncommitted, in the child's transaction.
        written = watcher.execute(
            "SELECT array_agg(relation::regclass::text ORDER BY 1) FROM pg_locks "
            "WHERE pid = %s AND granted AND mode = 'RowExclusiveLock' "
            "AND relation::regclass::text LIKE 'ledgerflow_v2.%%'",
            [pid],
        ).fetchone()[0]
    return pid, child, holder, written


def assert_v2_empty_and_v1_unchanged(dbname, before):
    with connect(dbname, autocommit=True) as conn, conn.cursor() as cursor:
        assert not any(v2_counts(cursor).values())
        assert v1_fingerprint(cursor) == before


def test_a_cutover_terminated_by_the_server_leaves_nothing(committed_dirty_v1):
    dbname = connection.settings_dict["NAME"]
    with connect(dbname) as conn, conn.cursor() as cursor:
        before = v1_fingerprint(cursor)

    pid, child, holder, written = start_cutover_caught_before_its_notes(dbname)
    committed_dirty_v1.append((child, holder))
    assert {"ledgerflow_v2.orders", "ledgerflow_v2.cutover_rejects"} <= set(written)
    with connect(dbname, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    holder.rollback()
    _, stderr = child.communicate(timeout=60)

    assert child.returncode != 0
    assert "terminat" in stderr.lower()
    assert_v2_empty_and_v1_unchanged(dbname, before)


def test_a_cutover_whose_process_dies_leaves_nothing(committed_dirty_v1):
    dbname = connection.settings_dict["NAME"]
    with connect(dbname) as conn, conn.cursor() as cursor:
        before = v1_fingerprint(cursor)

    pid, child, holder, written = start_cutover_caught_before_its_notes(dbname)
    committed_dirty_v1.append((child, holder))
    assert {"ledgerflow_v2.orders", "ledgerflow_v2.cutover_rejects"} <= set(written)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    holder.rollback()  # the orphaned backend runs on, then finds no client to commit for it
    with connect(dbname, autocommit=True) as watcher:
        wait_for(
            lambda: (
                not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
            ),
            "the orphaned backend to end",
        )

    assert_v2_empty_and_v1_unchanged(dbname, before)
