"""Scratch databases: created for the block, empty or copied from a template, dropped after."""

import psycopg
from django.conf import settings

from ledgerflow.db.scratch import scratch_database
from ledgerflow.db.urls import psycopg_params

SERVER = psycopg_params(settings.DATABASES["default"], dbname="postgres")


def _exists(name):
    with psycopg.connect(**SERVER) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def test_a_scratch_database_exists_for_the_block_and_is_dropped_while_still_connected():
    with scratch_database(SERVER, prefix="lf_scratch_test") as name:
        assert name.startswith("lf_scratch_test_")
        assert _exists(name)
        left_open = psycopg.connect(**{**SERVER, "dbname": name})
    try:
        assert not _exists(name)
    finally:
        left_open.close()


def test_a_scratch_database_copies_its_template():
    with scratch_database(SERVER, prefix="lf_scratch_template") as template:
        with psycopg.connect(**{**SERVER, "dbname": template}, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
            conn.execute("INSERT INTO kept VALUES (7)")
        with (
            scratch_database(SERVER, prefix="lf_scratch_copy", template=template) as copy,
            psycopg.connect(**{**SERVER, "dbname": copy}) as conn,
        ):
            rows = conn.execute("SELECT id FROM kept").fetchall()

    assert rows == [(7,)]
    assert not _exists(copy)
    assert not _exists(template)
