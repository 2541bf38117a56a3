"""The schema version the Rust services check at start-up, without Django.

A version is the head migration of each LedgerFlow app, ``app:name`` joined by spaces in app order,
for example ``accounts:0001_create_accounts indexer:0001_… ledgerflow:0001_… orders:0001_…
users:0001_…``. ``SCHEMA_VERSION_SQL`` reads it from ``django_migrations``; ``code_version()``
computes it from this code. ``docs/INTEGRATION.md`` quotes the query verbatim (a test keeps them
equal). Per-app histories are linear and names start with a zero-padded number, so the greatest
name is the head.
"""

from ledgerflow.health.migration_state import code_migrations

LEDGERFLOW_APPS = ("accounts", "indexer", "ledgerflow", "orders", "users")

SCHEMA_VERSION_SQL = """\
SELECT string_agg(app || ':' || head, ' ' ORDER BY app) AS schema_version
FROM (
    SELECT app, max(name) AS head
    FROM django_migrations
    WHERE app IN ('accounts', 'indexer', 'ledgerflow', 'orders', 'users')
    GROUP BY app
) AS heads;"""


def code_version():
    """The schema version this code migrates to."""
    heads = code_migrations().heads
    return " ".join(f"{app}:{heads[app]}" for app in LEDGERFLOW_APPS if app in heads)


def database_version(connection):
    """The schema version recorded in the database (``None`` when nothing is recorded)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(SCHEMA_VERSION_SQL.rstrip(";"))
        return cursor.fetchone()[0]
