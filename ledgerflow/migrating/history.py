"""The migration history: what ``django_migrations`` records, against the migrations on disk.

Every report of migration state (``migration_status``, readiness, ``/metrics``, the console,
drift, rollback, backups, ``schema_version``) reads it here: ``read_history(cursor)`` is one
``SELECT`` on ``django_migrations`` (never creating it: a probe against an empty database leaves
it empty), compared with the migration graph on disk, which is loaded once per process
(``code_loader``) and loaded again only when the settings that choose migrations change.

"At head" means one thing: every migration of this code is applied and the database records none
this code lacks. Checksums and drift are separate findings; the deploy gate
(``migration_status --exit-code``) checks all three.

The *state key* is the sorted ``"app.name"`` of every applied migration of ``PROJECT_APPS``: it
picks the expected schema of a database (``ledgerflow.schema.expected``). The *schema version* is
each project app's greatest applied migration name, ``app:name`` joined by spaces in app order,
what the Rust services read at start-up with ``SCHEMA_VERSION_SQL`` (``docs/INTEGRATION.md``
quotes it verbatim). Per-app histories are linear and names start with a zero-padded number, so
the greatest name is the head.

Schema v2 has a version of its own, ``ledgerflow_v2:<head>`` (``V2_SCHEMA_VERSION_SQL``, for the
newest services, whose ``search_path`` is ``ledgerflow_v2`` alone, hence ``public.`` on
``django_migrations``): v2 migrations never change the v1 version the older services compare.
"""

import copy
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.core.signals import setting_changed
from django.db.migrations.loader import MigrationLoader

from ledgerflow.db.tables import PROJECT_APPS, V2_APP

SCHEMA_VERSION_SQL = f"""\
SELECT string_agg(app || ':' || head, ' ' ORDER BY app) AS schema_version
FROM (
    SELECT app, max(name) AS head
    FROM django_migrations
    WHERE app IN ({", ".join(f"'{app}'" for app in PROJECT_APPS)})
    GROUP BY app
) AS heads;"""

V2_SCHEMA_VERSION_SQL = f"""\
SELECT '{V2_APP}:' || max(name) AS schema_version
FROM public.django_migrations
WHERE app = '{V2_APP}';"""

_code_lock = threading.Lock()
_code = None


def code_loader():
    """Django's ``MigrationLoader`` for the migrations on disk (no database), built once per
    process: the files cannot change under a running process, and loading them re-imports every
    migration module."""
    global _code
    with _code_lock:
        if _code is None:
            _code = MigrationLoader(None, ignore_no_migrations=True)
        return _code


def forget_code():
    """Drop the cached graph; the next ``code_loader()`` reads the disk again."""
    global _code
    with _code_lock:
        _code = None


def _settings_changed(setting, **kwargs):
    if setting in ("INSTALLED_APPS", "MIGRATION_MODULES"):
        forget_code()


setting_changed.connect(_settings_changed, dispatch_uid="ledgerflow.migrating.history")


def state_key(nodes):
    """The canonical form of a set of ``(app, name)`` nodes or ``"app.name"`` strings."""
    return tuple(
        sorted(node if isinstance(node, str) else f"{node[0]}.{node[1]}" for node in nodes)
    )


def code_schema_version():
    """The schema version this code migrates to."""
    heads = {}
    for app, name in code_loader().graph.leaf_nodes():
        heads[app] = max(name, heads.get(app, name))
    return " ".join(f"{app}:{heads[app]}" for app in PROJECT_APPS if app in heads)


def code_v2_schema_version():
    """The schema v2 version this code migrates to (``ledgerflow_v2:<head>``)."""
    names = [name for app, name in code_loader().graph.leaf_nodes() if app == V2_APP]
    return f"{V2_APP}:{max(names)}" if names else None


@dataclass(frozen=True)
class AppliedMigration:
    app: str
    name: str
    applied_at: datetime

    @property
    def key(self):
        return (self.app, self.name)


@dataclass(frozen=True)
class MigrationHistory:
    """One reading of ``django_migrations`` against the graph in ``loader``."""

    recorder_exists: bool
    applied: tuple  # every AppliedMigration recorded, oldest first (Django's order of applying)
    loader: MigrationLoader

    @cached_property
    def applied_keys(self):
        """``(app, name)`` of every recorded migration, oldest first."""
        return tuple(migration.key for migration in self.applied)

    @cached_property
    def applied_at(self):
        return {migration.key: migration.applied_at for migration in self.applied}

    def is_applied(self, node):
        """Django's rule: a squash counts as applied when every migration it replaces is (its
        own row alone does not count), any other migration when it is recorded."""
        squash = self.loader.replacements.get(node)
        if squash is not None:
            return all(tuple(key) in self.applied_at for key in squash.replaces)
        return node in self.applied_at

    @cached_property
    def pending(self):
        """Migrations of this code not applied, sorted (gaps in a history included)."""
        return sorted(node for node in self.loader.graph.nodes if not self.is_applied(node))

    @cached_property
    def unknown(self):
        """Recorded migrations of installed apps that this code does not have (the database is
        ahead of it), sorted. Rows of apps no longer installed are not counted, nor those of
        migrations a squash replaces (their files may be gone)."""
        known = set(self.loader.disk_migrations).union(
            *(map(tuple, squash.replaces) for squash in self.loader.replacements.values())
        )
        return sorted(
            key
            for key in self.applied_at
            if key[0] in self.loader.migrated_apps and key not in known
        )

    @property
    def at_head(self):
        """Every migration of this code applied, and none recorded that it lacks."""
        return self.recorder_exists and not self.pending and not self.unknown

    @cached_property
    def state_key(self):
        return state_key(key for key in self.applied_keys if key[0] in PROJECT_APPS)

    @cached_property
    def schema_version(self):
        """The schema version ``SCHEMA_VERSION_SQL`` reads; ``None`` when nothing is recorded."""
        heads = {}
        for app, name in self.applied_keys:
            if app in PROJECT_APPS:
                heads[app] = max(name, heads.get(app, name))
        return " ".join(f"{app}:{heads[app]}" for app in sorted(heads)) or None

    @cached_property
    def v2_schema_version(self):
        """The schema v2 version ``V2_SCHEMA_VERSION_SQL`` reads; ``None`` when v2 has no
        migration recorded."""
        names = [name for app, name in self.applied_keys if app == V2_APP]
        return f"{V2_APP}:{max(names)}" if names else None

    def migrations_of(self, app_label):
        """The migrations of ``app_label`` in the graph, in the order they apply."""
        graph, seen, nodes = self.loader.graph, set(), []
        for leaf in sorted(graph.leaf_nodes(app_label)):
            for node in graph.forwards_plan(leaf):
                if node[0] == app_label and node not in seen:
                    seen.add(node)
                    nodes.append(node)
        return nodes

    def plan(self):
        """The migrations ``migrate`` (every app to its leaf) would apply, in order, as
        Django's ``MigrationExecutor.migration_plan`` finds them: it starts from each app's
        applied leaf, so a gap below an applied migration is in ``pending`` but not here."""
        graph, planned, plan = self.loader.graph, set(), []
        for leaf in graph.leaf_nodes():
            if self.is_applied(leaf):
                continue
            for node in graph.forwards_plan(leaf):
                if node not in planned and not self.is_applied(node):
                    planned.add(node)
                    plan.append(graph.nodes[node])
        return plan

    def collect_sql(self, connection, migration):
        """The SQL of applying ``migration`` alone, as ``sqlmigrate`` prints it; runs nothing."""
        loader = copy.copy(self.loader)
        loader.connection = connection
        return loader.collect_sql([(migration, False)])

    @cached_property
    def inconsistency(self):
        """Django's ``InconsistentMigrationHistory`` message for the first recorded migration
        whose dependency is not applied, or ``""``."""
        graph = self.loader.graph
        for node in self.applied_keys:
            if node not in graph.nodes:
                continue
            for parent in sorted(graph.node_map[node].parents):
                if not self.is_applied(parent) and parent not in self.applied_at:
                    return (
                        f"Migration {node[0]}.{node[1]} is applied before its dependency "
                        f"{parent[0]}.{parent[1]}."
                    )
        return ""


def read_history(cursor, connection=None):
    """One reading of ``django_migrations`` through ``cursor`` (Django's or psycopg's).

    A squash partly applied changes the graph itself (Django then uses the migrations it
    replaces instead): given the Django ``connection``, such a history is compared with Django's
    loader built for that database instead of the cached one (which reads the table again, only
    between deploying a squash and finishing it)."""
    cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return MigrationHistory(recorder_exists=False, applied=(), loader=code_loader())
    cursor.execute("SELECT app, name, applied FROM django_migrations ORDER BY applied, id")
    applied = tuple(AppliedMigration(*row) for row in cursor.fetchall())
    loader = code_loader()
    recorded = {migration.key for migration in applied}
    if connection is not None and any(
        0 < sum(tuple(key) in recorded for key in squash.replaces) < len(squash.replaces)
        for squash in loader.replacements.values()
    ):
        loader = MigrationLoader(connection, ignore_no_migrations=True)
    return MigrationHistory(recorder_exists=True, applied=applied, loader=loader)


def migration_history(connection):
    """``read_history`` on a Django connection."""
    with connection.cursor() as cursor:
        return read_history(cursor, connection)
