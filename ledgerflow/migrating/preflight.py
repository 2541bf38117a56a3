"""Pre-flight validation: every check ``preflight`` and ``migrate`` run before applying anything.

Nothing here changes the schema. Checks: models and migrations agree (``makemigrations
--check``), linear history per app (no conflicting leaves; django-linear-migrations'
``max_migration.txt`` checks), recorded checksums match the code, no pending migration would
create a table that already exists (a database built by other means, such as the legacy sqlx
crate), no INVALID index is left, and the pending migrations pass the lint rules of ``lint``.
"""

import io
from dataclasses import dataclass, field

from django.core import checks as django_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.migrations.operations import CreateModel

from ledgerflow.db import catalog
from ledgerflow.migrating import checksums, lint
from ledgerflow.migrating.plan import pending_plan, plan_sql


@dataclass
class Report:
    problems: list = field(default_factory=list)  # (check, message): each one fails preflight
    notes: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    plan: list = field(default_factory=list)
    sql: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {
            "ok": self.ok,
            "problems": [{"check": check, "message": message} for check, message in self.problems],
            "notes": self.notes,
            "lint": [finding.as_dict() for finding in self.findings],
            "plan": self.plan,
            "sql": self.sql,
        }


def check_models_match_migrations():
    """Messages when the models have changes no migration records (``makemigrations --check``)."""
    out = io.StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    except SystemExit as exit_:
        if exit_.code:
            lines = [line for line in out.getvalue().splitlines() if line.strip()]
            return ["models have changes without a migration: " + "; ".join(lines)]
    except CommandError as exc:
        if "Conflicting migrations" in str(exc):
            return []  # check_linear_history names the conflicting leaves
        return [f"makemigrations --check failed: {exc}"]
    return []


def check_linear_history(loader):
    messages = [
        f"app {app} has conflicting leaf migrations {', '.join(sorted(names))}; rebase one "
        "onto the other (python manage.py rebase_migration APP)"
        for app, names in sorted(loader.detect_conflicts().items())
    ]
    for message in django_checks.run_checks(tags=[django_checks.Tags.models]):
        if (message.id or "").startswith("dlm.") and message.is_serious():
            messages.append(f"{message.id}: {message.msg}")
    return messages


def check_pending_tables_absent(executor, plan):
    """Messages when pending migrations would create tables the database already has.

    Stock ``migrate`` would apply the migrations before them and then fail on ``relation ...
    already exists`` half-way; ``--fake-initial`` would record them after comparing names only.
    """
    with executor.connection.cursor() as cursor:
        existing = set(executor.connection.introspection.table_names(cursor))
        cursor.execute("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        built_by_sqlx = cursor.fetchone()[0]
    clashes, owners = [], []
    for migration, backwards in plan:
        if backwards:
            continue
        for operation in migration.operations:
            if not isinstance(operation, CreateModel):
                continue
            options = operation.options
            if options.get("proxy") or options.get("managed") is False:
                continue
            table = options.get("db_table") or f"{migration.app_label}_{operation.name_lower}"
            if table in existing:
                clashes.append(f"{table} ({migration.app_label}.{migration.name})")
                if migration not in owners:
                    owners.append(migration)
    if not clashes:
        return []
    if built_by_sqlx:
        how = (
            "this database was built by the legacy sqlx migrations (it has _sqlx_migrations) and "
            "has not been taken over: run `python manage.py adopt_sqlx --dry-run`, then "
            "`python manage.py adopt_sqlx`, which checks the whole schema before recording it"
        )
    else:
        fake = "; ".join(
            f"`python manage.py migrate {m.app_label} {m.name} --fake`" for m in owners
        )
        how = (
            "the database was built by other means, or by a run of an older version of this "
            "tool that was interrupted before it recorded them (this version records each "
            "migration in the transaction of its change). Compare the database with a migrated "
            "one (`python manage.py schema_drift --against URL`); only if they match, record the "
            f"migrations without running them: {fake}; then run migrate again"
        )
    return [
        f"pending migrations would create tables that already exist: {', '.join(clashes)}; {how}"
    ]


def run(executor, *, models_check=True, with_sql=True, plan=None, migrate_checked=False):
    """Run every check against ``executor.connection``; returns a ``Report``. ``plan`` is what
    will be applied (default: every app to its leaf). ``migrate_checked``: the caller
    (``migrate``, under the migration lock) has just compared the checksums and looked for the
    tables the plan creates, and refused on any finding: those two are not repeated."""
    connection = executor.connection
    report = Report()
    loader = executor.loader
    if models_check:
        report.problems += [("models", m) for m in check_models_match_migrations()]
    report.problems += [("history", m) for m in check_linear_history(loader)]
    if not migrate_checked:
        report.problems += [
            ("checksums", checksums.describe_mismatch(m))
            for m in checksums.checksum_mismatches(connection, loader)
        ]
    for index, table in catalog.invalid_indexes(connection):
        report.notes.append(
            f"index {index} on {table} is INVALID (an interrupted concurrent build); migrate "
            "drops and rebuilds it when a pending migration creates it, otherwise drop it by hand"
        )
    if plan is None:
        plan = pending_plan(executor)
    if not migrate_checked:
        report.problems += [("existing", m) for m in check_pending_tables_absent(executor, plan)]
    report.plan = [
        {"app": m.app_label, "name": m.name, "backwards": backwards} for m, backwards in plan
    ]
    report.findings = lint.lint_plan(plan, executor, connection)
    report.problems += [("lint", str(f)) for f in report.findings if f.is_error]
    report.notes += [str(f) for f in report.findings if not f.is_error]
    if with_sql:
        report.sql = plan_sql(executor, plan)
    return report
