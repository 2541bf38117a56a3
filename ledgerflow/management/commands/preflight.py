"""``preflight``: every pre-deploy check, plus the plan and its exact SQL, changing nothing."""

import json

from django.core.management.base import BaseCommand
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.migrating import preflight
from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.schema.drift import detect_drift


class Command(BaseCommand):
    help = (
        "Check models against migrations, linear history, checksums and the pending migrations' "
        "safety for the running services; print the plan and the SQL migrate would run, and any "
        "drift the database already has (reported, not a failure: the deploy neither causes nor "
        "repairs it). Exits 1 on any problem. Changes nothing."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--database", default="default", choices=tuple(connections), help="Database alias."
        )
        parser.add_argument("--no-sql", action="store_true", help="Do not render the SQL.")

    def handle(self, *args, **options):
        if options["database"] == "default":
            use_direct_connection()
        connection = connections[options["database"]]
        executor = MigrationExecutor(connection)
        report = preflight.run(executor, with_sql=not options["no_sql"])
        drift = detect_drift(connection)
        if options["json"]:
            answer = {**report.as_dict(), "drift": [str(difference) for difference in drift]}
            self.stdout.write(json.dumps(answer, indent=2))
        else:
            self._print(report, drift)
        if not report.ok:
            raise SystemExit(1)

    def _print(self, report, drift):
        if report.plan:
            self.stdout.write(self.style.MIGRATE_HEADING("Plan:"))
            for item in report.plan:
                self.stdout.write(f"  {item['app']}.{item['name']}")
        else:
            self.stdout.write("Plan: nothing to apply.")
        for migration in report.sql:
            mode = "" if migration["atomic"] else " (non-atomic)"
            self.stdout.write(
                self.style.MIGRATE_HEADING(f"-- {migration['app']}.{migration['name']}{mode}")
            )
            for statement in migration["sql"]:
                self.stdout.write(statement)
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        for difference in drift:
            if difference.kind == "migration_state":  # no expected schema to compare with
                self.stdout.write(f"note: {difference}")
            else:
                self.stdout.write(
                    self.style.WARNING(f"drift already present before this deploy: {difference}")
                )
        for check, message in report.problems:
            self.stderr.write(self.style.ERROR(f"[{check}] {message}"))
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Pre-flight checks passed."))
        else:
            self.stderr.write(f"Pre-flight failed: {len(report.problems)} problem(s).")
