"""Which migrations the database lacks, and which it has that this code does not know.

The code's side (the migration graph on disk) is read once per process: it cannot change while
the process runs. The database's side is one ``SELECT`` on ``django_migrations``; the table is
never created here (``MigrationRecorder`` would create it), so a probe against an empty database
leaves it empty.
"""

import threading
from dataclasses import dataclass, field

from django.db import transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

LOCK_TIMEOUT = "1s"
_code_lock = threading.Lock()
_code = None


@dataclass(frozen=True)
class CodeMigrations:
    nodes: frozenset  # (app, name) of every migration in the graph, squashes included
    replaced_by: dict  # squash (app, name) -> the (app, name) keys it replaces
    heads: dict  # app -> name of its leaf migration

    @property
    def known(self):
        return self.nodes | {key for keys in self.replaced_by.values() for key in keys}


@dataclass(frozen=True)
class MigrationState:
    recorder_exists: bool
    pending: list = field(default_factory=list)  # in the code, not applied
    unknown: list = field(default_factory=list)  # applied, not in the code (database ahead)

    @property
    def at_head(self):
        return self.recorder_exists and not self.pending and not self.unknown


def code_migrations():
    """The migration graph of this code, loaded once per process."""
    global _code
    with _code_lock:
        if _code is None:
            loader = MigrationLoader(None, ignore_no_migrations=True)
            heads = {}
            for app, name in loader.graph.leaf_nodes():
                heads[app] = max(name, heads.get(app, name))
            _code = CodeMigrations(
                nodes=frozenset(loader.graph.nodes),
                replaced_by={
                    key: tuple(tuple(r) for r in migration.replaces)
                    for key, migration in loader.replacements.items()
                },
                heads=heads,
            )
        return _code


def applied_migrations(connection):
    """``(table_exists, {(app, name), ...})`` as recorded in ``django_migrations``.

    A migration that alters ``django_migrations`` holds an exclusive lock on it; probes then
    give up after ``LOCK_TIMEOUT`` (``LockNotAvailable``) instead of queueing behind it, each
    holding a connection of the shared database."""
    table = connection.ops.quote_name(MigrationRecorder.Migration._meta.db_table)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if not cursor.fetchone()[0]:
            return False, set()
        cursor.execute(f"SELECT app, name FROM {table}")
        return True, {(app, name) for app, name in cursor.fetchall()}


def migration_state(connection):
    """Compare the database's applied migrations with the code's graph."""
    code = code_migrations()
    exists, recorded = applied_migrations(connection)

    def applied(node):
        # Django counts a squash as applied once every migration it replaces is.
        replaces = code.replaced_by.get(node)
        return node in recorded or bool(replaces and all(key in recorded for key in replaces))

    return MigrationState(
        recorder_exists=exists,
        pending=sorted(node for node in code.nodes if not applied(node)),
        unknown=sorted(recorded - code.known),
    )
