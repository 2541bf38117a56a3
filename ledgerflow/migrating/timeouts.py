"""Bounded waits for table locks: session timeouts, who blocks us, and INVALID indexes.

Every statement ``migrate`` runs carries ``lock_timeout`` (so DDL never queues for long behind a
service's transaction while every later query of the services queues behind the DDL) and
``statement_timeout``. A lock timeout surfaces as SQLSTATE 55P03, which ``executor`` retries for
atomic migrations only.
"""

import contextlib

import psycopg
from django.conf import settings
from django.db import Error as DjangoDatabaseError

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

_BLOCKERS_SQL = """
SELECT a.pid, a.application_name, a.usename, a.state, a.xact_start,
       string_agg(DISTINCT c.relname || ' ' || l.mode, ', ') AS locks, left(a.query, 200)
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
JOIN pg_class c ON c.oid = l.relation
WHERE l.locktype = 'relation' AND l.granted AND a.pid <> pg_backend_pid()
  AND a.datname = current_database()
  AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'i')
GROUP BY a.pid, a.application_name, a.usename, a.state, a.xact_start, a.query
ORDER BY a.xact_start NULLS LAST
LIMIT 20
"""

_INVALID_INDEXES_SQL = """
SELECT i.relname, t.relname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE NOT x.indisvalid AND i.relnamespace = 'public'::regnamespace
ORDER BY i.relname
"""


def _ms(seconds):
    return round(seconds * 1000)


_SESSION_SETTINGS = ("lock_timeout", "statement_timeout", "client_connection_check_interval")


@contextlib.contextmanager
def session_timeouts(connection, *, lock_timeout=None):
    """``lock_timeout`` (seconds, default ``MIGRATION_LOCK_TIMEOUT``) and ``statement_timeout``
    for the block, on ``connection``'s session; the previous values are put back afterwards, so a
    caller's connection (``call_command``) is left as it was."""
    names = _SESSION_SETTINGS if connection.pg_version >= 140000 else _SESSION_SETTINGS[:2]
    lock_timeout = settings.MIGRATION_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    wanted = {
        "lock_timeout": f"{_ms(lock_timeout)}ms",
        "statement_timeout": f"{_ms(settings.MIGRATION_STATEMENT_TIMEOUT)}ms",
        # A killed migrate's backend would otherwise finish its statement before noticing the
        # client is gone, holding the advisory lock and table locks meanwhile.
        "client_connection_check_interval": "1s",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
        previous = dict(zip(names, cursor.fetchone(), strict=True))
        _set(cursor, {name: wanted[name] for name in names})
    try:
        yield
    finally:
        # A lost connection took the settings with it; a failed transaction must end first.
        if connection.connection is not None and not connection.needs_rollback:
            with contextlib.suppress(DjangoDatabaseError), connection.cursor() as cursor:
                _set(cursor, previous)


def _set(cursor, values):
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in values),
        [item for pair in values.items() for item in pair],
    )


def sqlstate(exc):
    """The SQLSTATE of a database error, looking through Django's wrapping."""
    while exc is not None:
        if isinstance(exc, psycopg.Error) and exc.sqlstate:
            return exc.sqlstate
        exc = exc.__cause__ or exc.__context__
    return None


def is_lock_timeout(exc):
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def blocking_sessions(connection):
    """Other sessions holding locks on LedgerFlow relations: the likely blockers of our DDL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view of the other sessions
        cursor.execute(_BLOCKERS_SQL)
        return [
            {
                "pid": pid,
                "application_name": app,
                "user": user,
                "state": state,
                "xact_start": xact_start.isoformat() if xact_start else None,
                "locks": locks,
                "query": query,
            }
            for pid, app, user, state, xact_start, locks, query in cursor.fetchall()
        ]


def describe_blockers(blockers):
    if not blockers:
        return "no session holds a lock on a LedgerFlow table now (the blocker has finished)"
    return "; ".join(
        f"pid {b['pid']} ({b['application_name'] or 'no application_name'}, {b['state']}, "
        f"transaction since {b['xact_start']}) holding {b['locks']}: {b['query']!r}"
        for b in blockers
    )


def invalid_indexes(connection):
    """``[(index, table)]`` of INVALID indexes: what an interrupted CREATE INDEX CONCURRENTLY
    leaves behind."""
    with connection.cursor() as cursor:
        cursor.execute(_INVALID_INDEXES_SQL)
        return [tuple(row) for row in cursor.fetchall()]
