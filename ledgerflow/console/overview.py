"""What the migrations console shows of a ``MigrationHistory``: each app's migrations with their
times, and the pending plan with its SQL (what ``sqlmigrate`` prints). Nothing here writes to the
database."""

from dataclasses import dataclass, field
from datetime import datetime


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
class MigrationsOverview:
    apps: list[AppMigrations]
    plan: list[PendingStep]
    # Rows of django_migrations that name no migration file: applied by other code, or renamed.
    unknown_applied: list[tuple[str, str]]
    inconsistent_history: str = ""
    # Migrations on disk not recorded as applied. Usually the plan's steps; with an inconsistent
    # history also the gaps the plan skips (it starts from each app's applied leaf).
    unapplied: list[tuple[str, str]] = field(default_factory=list)
    at_head: bool = False


def _tenths(value):
    return round(value, 1) if value is not None else None


def migrations_overview(connection, history, recorded_checksums):
    """The console's view of ``history``. ``recorded_checksums`` is what
    ``ledger.recorded_checksums`` read: the durations and lock waits ``migrate`` recorded
    (Django itself records neither). The plan's SQL is rendered on ``connection``, outside any
    transaction: operations that run outside one refuse to render inside it."""
    apps = []
    for app_label in sorted(history.loader.migrated_apps):
        rows = []
        for node in history.migrations_of(app_label):
            recorded = recorded_checksums.get(node) or {}
            rows.append(
                MigrationRow(
                    name=node[1],
                    applied=history.is_applied(node),
                    applied_at=history.applied_at.get(node),
                    duration_ms=_tenths(recorded.get("duration_ms")),
                    lock_wait_ms=_tenths(recorded.get("lock_wait_ms")),
                )
            )
        apps.append(AppMigrations(app_label=app_label, migrations=rows))

    plan = []
    for migration in history.plan():
        step = PendingStep(
            app_label=migration.app_label, name=migration.name, atomic=migration.atomic
        )
        try:
            step.sql = history.collect_sql(connection, migration)
        except Exception as exc:  # a step whose SQL cannot be rendered still belongs in the plan
            step.error = f"{type(exc).__name__}: {exc}"
        plan.append(step)

    return MigrationsOverview(
        apps=apps,
        plan=plan,
        unknown_applied=history.unknown,
        inconsistent_history=history.inconsistency,
        unapplied=history.pending,
        at_head=history.at_head,
    )
