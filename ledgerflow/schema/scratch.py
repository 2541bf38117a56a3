"""Throwaway databases on the configured server, migrated to a chosen state.

Used only to *generate* the expected schema and the docs (``manage.py schema_docs``), never by
drift checks or takeovers, which must work where creating databases is not allowed. They go
beside ``LEDGERFLOW_SCRATCH_DATABASE_URL``'s database when it is set, else beside the default's.
"""

from contextlib import ExitStack, contextmanager

import psycopg
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.db.scratch import scratch_database
from ledgerflow.db.tables import PROJECT_APPS, V2_APP
from ledgerflow.db.urls import describe_target, psycopg_params
from ledgerflow.migrating.history import read_history
from ledgerflow.schema.states import nodes_of


class ScratchDatabaseError(Exception):
    pass


@contextmanager
def scratch_connection(using="default"):
    """A Django connection to a new, empty database beside ``using``'s; dropped afterwards."""
    base = connections[using].settings_dict
    if settings.LEDGERFLOW_SCRATCH_DATABASE:
        base = {**base, **settings.LEDGERFLOW_SCRATCH_DATABASE}
    with ExitStack() as stack:
        try:
            name = stack.enter_context(
                scratch_database(psycopg_params(base), prefix="lf_schema_scratch")
            )
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ScratchDatabaseError(
                f"cannot create a scratch database beside {describe_target(base)} ({reason}). "
                "Regenerating the schema files migrates throwaway databases, so it needs a role "
                "allowed to CREATE DATABASE; no deploy step needs one. Nothing was changed. Run "
                "it without DATABASE_URL (the embedded PostgreSQL), or set "
                "LEDGERFLOW_SCRATCH_DATABASE_URL to a database on a server where its role may "
                "create databases: they are created and dropped beside it."
            ) from exc
        alias = f"schema_scratch_{name}"
        options = {key: value for key, value in base.get("OPTIONS", {}).items() if key != "pool"}
        connections.settings[alias] = {**base, "NAME": name, "OPTIONS": options, "CONN_MAX_AGE": 0}
        try:
            yield connections[alias]
        finally:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]


def migrate_to_state(connection, state):
    """Apply exactly the migrations of ``state`` to the (empty) database of ``connection``."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    targets = []
    for app in PROJECT_APPS:
        nodes = [node for node in nodes_of(state) if node[0] == app]
        if nodes:
            targets.append(max(nodes, key=lambda node: len(graph.forwards_plan(node))))
    plan = executor.migration_plan(targets)
    executor.migrate(targets, plan=plan)
    with connection.cursor() as cursor:
        reached = read_history(cursor).state_key
    if reached != tuple(state):
        raise ScratchDatabaseError(
            f"migrating to {list(state)} applied {list(reached)}: the state is not reachable "
            "with the migrations on disk"
        )


def migrate_v2_to_state(connection, state):
    """Apply exactly the schema v2 migrations of ``state`` (a ``v2_states`` key) to the (empty)
    database of ``connection``: v2 depends on no v1 migration, so nothing else is built."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    nodes = nodes_of(state)
    target = max(nodes, key=lambda node: len(graph.forwards_plan(node)))
    executor.migrate([target], plan=executor.migration_plan([target]))
    with connection.cursor() as cursor:
        history = read_history(cursor)
    reached = tuple(f"{app}.{name}" for app, name in sorted(history.applied_keys) if app == V2_APP)
    if reached != tuple(state):
        raise ScratchDatabaseError(
            f"migrating schema v2 to {list(state)} applied {list(reached)}: the state is not "
            "reachable with the migrations on disk"
        )
