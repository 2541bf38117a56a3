"""The migration advisory lock: one ``migrate`` at a time per database.

A *session* advisory lock, so PostgreSQL frees it when the holder's connection ends (a killed
pod, an OOM kill). Behind a transaction-pooling PgBouncer a session lock is meaningless — the
server connection is shared between clients — hence ``MIGRATION_DATABASE_URL`` for a direct route.
"""

import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError

# "LFMI" in ASCII. Below 2**31, so pg_locks shows it as classid 0, objid KEY, objsubid 1.
MIGRATION_LOCK_KEY = 0x4C464D49
POLL_INTERVAL = 0.5
REPORT_INTERVAL = 10.0

_HOLDER_SQL = """
SELECT a.pid, a.application_name, host(a.client_addr), a.usename, a.backend_start,
       a.query_start, a.state, a.query
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1
LIMIT 1
"""


class LockWaitTimeout(CommandError):
    """Another run kept the migration lock longer than ``MIGRATION_LOCK_WAIT_TIMEOUT``."""


def _iso(value):
    return value.isoformat() if value is not None else None


def lock_holder(connection):
    """Who holds the migration lock on ``connection``'s database, or ``None`` when it is free.

    Returns ``pid``, ``application_name``, ``client_addr`` (``None`` for a Unix socket),
    ``user``, ``backend_start`` and ``query_start`` (ISO 8601 strings), ``state`` and ``query``.
    """
    with connection.cursor() as cursor:
        # pg_stat_activity is snapshotted once per transaction: inside a caller's transaction
        # it would not show sessions that connected since.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_HOLDER_SQL, [MIGRATION_LOCK_KEY])
        row = cursor.fetchone()
    if row is None:
        return None
    pid, application_name, client_addr, user, backend_start, query_start, state, query = row
    return {
        "pid": pid,
        "application_name": application_name,
        "client_addr": client_addr,
        "user": user,
        "backend_start": _iso(backend_start),
        "query_start": _iso(query_start),
        "state": state,
        "query": query,
    }


def describe_holder(holder):
    if holder is None:
        return "nobody (the lock was just released)"
    where = holder["client_addr"] or "local socket"
    return (
        f"pid {holder['pid']} ({holder['application_name'] or 'no application_name'}, "
        f"user {holder['user']}, from {where}, connected {holder['backend_start']}, "
        f"state {holder['state']})"
    )


def try_acquire(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        return cursor.fetchone()[0]


def try_acquire_for_transaction(cursor):
    """Take the lock until the cursor's transaction ends, without waiting; whether it was free.

    For work done in one transaction of its own (``restore``): it must not start while a
    migration runs, and no migration may start before it commits."""
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
    return cursor.fetchone()[0]


def release(connection):
    """Release the lock if this session holds it; harmless when it does not."""
    if connection.connection is None:
        return  # the connection is gone, and PostgreSQL released the lock with it
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND classid = 0 AND objid = %s AND objsubid = 1",
                [MIGRATION_LOCK_KEY, MIGRATION_LOCK_KEY],
            )
    except DatabaseError:
        # A lost or broken connection: PostgreSQL releases the lock when the session ends, and
        # raising here would hide the error that broke it.
        pass


def acquire(connection, *, timeout=None, report=print):
    """Take the migration lock, waiting at most ``timeout`` seconds (default
    ``MIGRATION_LOCK_WAIT_TIMEOUT``). Returns the seconds waited. While waiting, ``report`` is
    called with a line naming the holder, at once and then every ``REPORT_INTERVAL`` seconds.

    Polls ``pg_try_advisory_lock`` rather than blocking in ``pg_advisory_lock`` so the wait is
    bounded on our side and no statement_timeout is needed for it."""
    if connection.in_atomic_block:
        raise CommandError("The migration lock cannot be taken inside a transaction.")
    timeout = settings.MIGRATION_LOCK_WAIT_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    next_report = started
    while not try_acquire(connection):
        now = time.monotonic()
        waited = now - started
        if waited >= timeout:
            holder = lock_holder(connection)
            raise LockWaitTimeout(
                f"Gave up after waiting {waited:.1f}s for the migration lock "
                f"(MIGRATION_LOCK_WAIT_TIMEOUT={timeout:g}); it is held by "
                f"{describe_holder(holder)}. Another migrate is probably running: wait for it, "
                "or end that session if it is stuck (SELECT pg_terminate_backend(pid))."
            )
        if now >= next_report:
            report(
                f"Waiting for the migration lock held by {describe_holder(lock_holder(connection))}"
                f" ({waited:.0f}s of {timeout:g}s)."
            )
            next_report = now + REPORT_INTERVAL
        time.sleep(min(POLL_INTERVAL, max(timeout - waited, 0.01)))
    return time.monotonic() - started
