"""Pre-flight validation: every check ``preflight`` and ``migrate`` run before applying anything.

Nothing here changes the schema. Checks: models and migrations agree (``makemigrations
--check``), linear history per app (no conflicting leaves; django-linear-migrations'
``max_migration.txt`` checks), recorded checksums match the code, no INVALID index is left, and
the pending migrations pass the lint rules of ``lint``.
"""

import io
from dataclasses import dataclass, field

from django.core import checks as django_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from ledgerflow.migrating import checksums, lint, timeouts
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


def run(executor, *, models_check=True, with_sql=True):
    """Run every check against ``executor.connection``; returns a ``Report``."""
    connection = executor.connection
    report = Report()
    loader = executor.loader
    if models_check:
        report.problems += [("models", m) for m in check_models_match_migrations()]
    report.problems += [("history", m) for m in check_linear_history(loader)]
    report.problems += [
        ("checksums", checksums.describe_mismatch(m))
        for m in checksums.checksum_mismatches(connection, loader)
    ]
    for index, table in timeouts.invalid_indexes(connection):
        report.notes.append(
            f"index {index} on {table} is INVALID (an interrupted concurrent build); migrate "
            "drops and rebuilds it when a pending migration creates it, otherwise drop it by hand"
        )
    plan = pending_plan(executor)
    report.plan = [
        {"app": m.app_label, "name": m.name, "backwards": backwards} for m, backwards in plan
    ]
    report.findings = lint.lint_plan(plan, executor, connection)
    report.problems += [("lint", str(f)) for f in report.findings if f.is_error]
    report.notes += [str(f) for f in report.findings if not f.is_error]
    if with_sql:
        report.sql = plan_sql(executor, plan)
    return report
