"""What the migrations console shows, computed from Django's own migration machinery.

Applied and pending migrations come from ``MigrationLoader`` and the ``django_migrations`` table,
the pending plan from ``MigrationExecutor.migration_plan`` and its SQL from
``MigrationLoader.collect_sql`` (what ``sqlmigrate`` prints). Nothing here writes to the database.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.migrations.exceptions import InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from ledgerflow.db.timeouts import behind_lock_timeout


@dataclass
class MigrationRow:
    name: str
    applied: bool
    applied_at: datetime | None = None
    # What ``migrate`` recorded in the checksum ledger; ``None`` for migrations applied before
    # it recorded them (or by stock Django).
    duration_ms: float | None = None
    lock_wait_ms: float | None = None


@dataclass
class AppMigrations:
    app_label: str
    migrations: list[MigrationRow] = field(default_factory=list)

    @property
    def applied_count(self):
        return sum(1 for row in self.migrations if row.applied)

    @property
    def pending_count(self):
        return sum(1 for row in self.migrations if not row.applied)


@dataclass
class PendingStep:
    app_label: str
    name: str
    atomic: bool
    sql: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class MigrationState:
    apps: list[AppMigrations]
    plan: list[PendingStep]
    # Rows of django_migrations that name no migration file: applied by other code, or renamed.
    unknown_applied: list[tuple[str, str]]
    inconsistent_history: str = ""
    # Migrations on disk not recorded as applied. Usually the plan's steps; with an inconsistent
    # history also the gaps the plan skips (it starts from each app's applied leaf).
    unapplied: list[tuple[str, str]] = field(default_factory=list)

    @property
    def at_head(self):
        return not self.unapplied and not self.plan


def migration_state(connection, durations=None):
    """The migration state of ``connection``'s database.

    ``durations`` maps ``(app_label, name)`` to ``(duration_ms, lock_wait_ms)`` as
    ``migration_status()`` reports them; Django itself records neither.
    """
    durations = durations or {}
    # A running migration may hold django_migrations exclusively: give up after the readiness
    # checks' lock timeout (LockNotAvailable) instead of waiting for it, past the proxy's timeout.
    executor, applied_at, inconsistent = behind_lock_timeout(_read_history, connection)
    loader = executor.loader

    apps = []
    graph = loader.graph
    for app_label in sorted(loader.migrated_apps):
        rows = []
        seen = set()
        for leaf in sorted(graph.leaf_nodes(app_label)):
            for node in graph.forwards_plan(leaf):
                if node[0] != app_label or node in seen:
                    continue
                seen.add(node)
                rows.append(
                    MigrationRow(
                        name=node[1],
                        applied=node in loader.applied_migrations,
                        applied_at=applied_at.get(node),
                        duration_ms=durations.get(node, (None, None))[0],
                        lock_wait_ms=durations.get(node, (None, None))[1],
                    )
                )
        apps.append(AppMigrations(app_label=app_label, migrations=rows))

    plan = []
    for migration, backwards in executor.migration_plan(graph.leaf_nodes()):
        step = PendingStep(
            app_label=migration.app_label, name=migration.name, atomic=migration.atomic
        )
        try:
            step.sql = loader.collect_sql([(migration, backwards)])
        except Exception as exc:  # a step whose SQL cannot be rendered still belongs in the plan
            step.error = f"{type(exc).__name__}: {exc}"
        plan.append(step)

    known = set(graph.nodes)
    unknown = sorted(
        key for key in applied_at if key not in known and key[0] in loader.migrated_apps
    )
    return MigrationState(
        apps=apps,
        plan=plan,
        unknown_applied=unknown,
        inconsistent_history=inconsistent,
        unapplied=sorted(known - set(loader.applied_migrations)),
    )


def _read_history(connection):
    """What ``django_migrations`` says: the executor (its loader reads the applied rows), the
    applied-at times and the inconsistency, if any. The plan's SQL is rendered afterwards,
    outside this transaction: operations that run outside one refuse to render inside it."""
    executor = MigrationExecutor(connection)
    recorder = MigrationRecorder(connection)
    applied_at = {}
    if recorder.has_table():
        applied_at = {
            (app, name): applied
            for app, name, applied in recorder.migration_qs.values_list("app", "name", "applied")
        }
    inconsistent = ""
    try:
        executor.loader.check_consistent_history(connection)
    except InconsistentMigrationHistory as exc:
        inconsistent = str(exc)
    return executor, applied_at, inconsistent


def durations_from_status(status):
    """``(app_label, name) -> (duration_ms, lock_wait_ms)`` from ``migration_status()``'s report
    (``{"apps": {label: {"applied": [{"name", "duration_ms", "lock_wait_ms", ...}]}}}``).
    Migrations with neither figure recorded are left out."""
    found = {}
    for app_label, report in status.get("apps", {}).items():
        for entry in report.get("applied", []):
            figures = (entry.get("duration_ms"), entry.get("lock_wait_ms"))
            if figures != (None, None):
                found[(app_label, entry["name"])] = figures
    return found
