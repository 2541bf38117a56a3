"""The ``pg_restore --file`` script as ``restore`` runs it, on the test server."""

import io

from ledgerflow.recovery.restore import _execute_script
from tests.support.databases import connect

# The fixed header a pg_restore 17 or newer writes into every script: it cannot know the server
# the script will run on, and transaction_timeout exists only from PostgreSQL 17 on.
HEADER = b"""SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
CREATE TABLE restored (id integer);
"""


def test_a_newer_pg_restores_script_runs_on_the_test_servers_major(migrated_db):
    with connect(migrated_db) as conn, conn.cursor() as cursor:
        server_version_num = conn.info.server_version

        _execute_script(cursor, io.BytesIO(HEADER), server_version_num)

        [(restored,)] = cursor.execute("SELECT to_regclass('restored') IS NOT NULL").fetchall()
        [(timeout,)] = cursor.execute(
            "SELECT setting FROM pg_settings WHERE name = 'transaction_timeout'"
        ).fetchall() or [(None,)]
        conn.rollback()

    assert restored is True
    assert timeout == ("0" if server_version_num >= 170000 else None)
