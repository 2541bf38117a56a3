"""Facts read from the live database: tables, types and their row counts.

Functions take a DB-API cursor (Django's or psycopg's), so the same code reads the current
database, a snapshot shared with ``pg_dump`` and a restore target. Applied migrations are read by
``ledgerflow.migrating.history``.
"""

from ledgerflow.sql import quote_qualified


def user_tables(cursor):
    """Every ordinary or partitioned table outside the system schemas, as ``schema.table``."""
    cursor.execute(
        """
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY 1
        """
    )
    return [row[0] for row in cursor.fetchall()]


def partitioned_tables(cursor):
    """The partitioned tables among ``user_tables``: they hold no rows of their own (their rows
    are in their partitions), so an archive has no data entry for them."""
    cursor.execute(
        """
        SELECT n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'p'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY 1
        """
    )
    return [row[0] for row in cursor.fetchall()]


def with_partitions(cursor, names):
    """``names`` followed by every partition (at any depth) of the partitioned tables among them:
    ``pg_dump --table`` of a partitioned table dumps none of its rows otherwise."""
    cursor.execute(
        """
        SELECT n.nspname || '.' || c.relname
        FROM unnest(%s::regclass[]) AS root(oid) CROSS JOIN pg_partition_tree(root.oid) AS tree
        JOIN pg_class c ON c.oid = tree.relid JOIN pg_namespace n ON n.oid = c.relnamespace
        ORDER BY tree.level, 1
        """,
        [[quote_qualified(name) for name in names]],
    )
    return list(dict.fromkeys([*names, *(row[0] for row in cursor.fetchall())]))


def user_types(cursor):
    """Enum, domain and composite types created by users (not a table's row type)."""
    cursor.execute(
        """
        SELECT n.nspname || '.' || t.typname
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1
        """
    )
    return [row[0] for row in cursor.fetchall()]


def table_exists(cursor, name):
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [quote_qualified(name)])
    return cursor.fetchone()[0]


def row_count(cursor, name):
    """Exact number of rows in table ``name`` (``schema.table`` or ``table``)."""
    cursor.execute(f"SELECT count(*) FROM {quote_qualified(name)}")
    return cursor.fetchone()[0]


def has_rows(cursor, name):
    """Whether table ``name`` holds any row; stops at the first, unlike ``row_count``."""
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_qualified(name)})")
    return cursor.fetchone()[0]


def row_counts(cursor, names):
    return {name: row_count(cursor, name) for name in names}


def server_version_num(cursor):
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0])
