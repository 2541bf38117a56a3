"""Throwaway databases on a PostgreSQL server: created for a block, dropped with ``FORCE`` after.

The one way the project, its tests and its benchmarks make a scratch database: ``schema_docs``
migrates them to generate the expected schema, the tests and benchmarks run migrations and races
in them apart from their own database.
"""

import uuid
from contextlib import contextmanager

import psycopg


@contextmanager
def scratch_database(server, *, prefix="lf_scratch", template=None):
    """The name of a new database, empty or a copy of ``template``, for the block; dropped
    afterwards even while sessions are still connected to it.

    ``server`` holds psycopg's connection arguments (``ledgerflow.db.urls.psycopg_params``) for
    any database on the server to connect to while the new one is created and dropped
    (``postgres``, or the configured one). The name is ``prefix`` and a random suffix."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    _execute(server, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield name
    finally:
        _execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _execute(server, statement):
    with psycopg.connect(**server, autocommit=True) as conn:
        conn.execute(statement)
