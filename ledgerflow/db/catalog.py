"""Reading PostgreSQL's catalogs and statistics views about the LedgerFlow relations.

Who holds locks on them, which indexes are INVALID, how many rows the planner estimates: facts the
deploy tooling, the health probes and the console read the same way.
"""

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


_ROW_ESTIMATES_SQL = """
SELECT c.relname, c.reltuples
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)
"""


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


def row_estimates(cursor, tables):
    """``[(table, estimate)]`` from ``pg_class.reltuples`` for the tables of ``tables`` that
    exist, by name; an estimate of -1 means never vacuumed or analysed (unknown)."""
    cursor.execute(_ROW_ESTIMATES_SQL, [list(tables)])
    return sorted(cursor.fetchall())
