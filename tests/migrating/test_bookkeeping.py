"""What ``migrate`` sends besides the migrations: one bookkeeping statement per migration.

Each migration's history rows, checksum rows and its run's count go in one statement, in the
migration's own transaction; no savepoint inside it; the ledger tables' existence is asked a
handful of times per run, not once per migration.
"""

import re

import pytest
from django.db import connections

from tests.migrating.support import query
from tests.support.databases import manage_in_process, scratch_database

pytestmark = pytest.mark.process

_BOOKKEEPING = re.compile(
    r'^(?:WITH\b.*?\(\s*)?(?:INSERT\s+INTO|UPDATE)\s+"?'
    r"(?:django_migrations|ledgerflow_migration_checksums|ledgerflow_migrate_runs)\b",
    re.IGNORECASE | re.DOTALL,
)


def test_a_cold_migrate_writes_one_bookkeeping_statement_per_migration(django_db_blocker):
    statements = []

    def note(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    connection = connections["default"]
    with scratch_database() as dbname, django_db_blocker.unblock():
        with connection.execute_wrapper(note):
            result = manage_in_process(dbname, "migrate", "--no-input")
        assert result.returncode == 0, result.stdout + result.stderr
        migrations = query(dbname, "SELECT count(*) FROM django_migrations")[0][0]
        checksummed = query(dbname, "SELECT count(*) FROM ledgerflow_migration_checksums")[0][0]

    bookkeeping = [sql for sql in statements if _BOOKKEEPING.match(sql.strip())]
    # One per migration, plus the run's row: written when the run ends, the ledger tables being
    # created by this run.
    assert len(bookkeeping) <= migrations + 2
    assert checksummed == migrations
    assert not [sql for sql in statements if sql.lstrip().upper().startswith("SAVEPOINT")]
    assert sum("to_regclass" in sql for sql in statements) <= 6
