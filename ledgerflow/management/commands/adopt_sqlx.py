"""``manage.py adopt_sqlx``: take over a database that the legacy sqlx migration built."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.migrating.session import migration_session
from ledgerflow.schema import takeover
from ledgerflow.schema.states import SQLX_BASELINE


class Command(BaseCommand):
    help = (
        "Take over a database built by sqlx migration 20250709000001: compare its whole schema "
        "with this project's baseline and, only if they match, record the initial migrations as "
        "applied (one transaction; nothing is dropped or rewritten; _sqlx_migrations is kept). "
        "Exit 0: adopted, already adopted, or (with --dry-run) adoptable; 1: the schema differs; "
        "2: refused (no, failed or unknown sqlx history; inconsistent records)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; change nothing."
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation before recording.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--apply-safe-fixes",
            action="store_true",
            help="When every difference has a safe fix (missing index or trigger, disabled "
            "trigger, missing default), apply the fixes first. Never drops anything.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args, **options):
        if options["database"] == DEFAULT_DB_ALIAS:
            use_direct_connection(DEFAULT_DB_ALIAS)  # inspected where the session will lock
        connection = connections[options["database"]]
        self.as_json = options["json"]
        self.report = {
            "database": describe_target(connection.settings_dict),
            "dry_run": options["dry_run"],
            "status": None,
            "message": "",
            "sqlx": None,
            "differences": [],
            "fixes_applied": [],
            "recorded_migrations": [],
            "takeover": None,
        }
        try:
            self._run(connection, options)
        except takeover.TakeoverRefused as exc:
            self.report["status"] = self.report["status"] or "refused"
            self._finish(str(exc), exc.exit_code)

    def _run(self, connection, options):
        inspection = takeover.inspect(connection)
        self.report["sqlx"] = inspection.sqlx
        self.report["differences"] = [d.as_dict() for d in inspection.differences]

        if inspection.already_adopted:
            record = inspection.existing_takeover
            self.report.update(status="already_adopted", takeover=record)
            return self._finish(
                f"already adopted on {record['adopted_at']} by {record['os_user']} "
                f"(database user {record['database_user']}, host {record['client_host']}); "
                "nothing to do."
            )

        fixes = []
        if inspection.differences:
            self._print_differences(inspection.differences)
            if not options["apply_safe_fixes"]:
                self.report["status"] = "differs"
                hint = (
                    " Every difference has a safe fix: rerun with --apply-safe-fixes to apply "
                    "the SQL shown."
                    if takeover.fixable(inspection.differences)
                    else ""
                )
                raise takeover.TakeoverRefused(
                    f"the schema differs from this project's baseline in "
                    f"{len(inspection.differences)} place(s); nothing was changed.{hint}",
                    exit_code=takeover.EXIT_DIFFERS,
                )
            if not takeover.fixable(inspection.differences):
                self.report["status"] = "differs"
                raise takeover.TakeoverRefused(
                    "some differences have no safe fix, so nothing was applied or recorded; "
                    "resolve them by hand.",
                    exit_code=takeover.EXIT_DIFFERS,
                )
            fixes = [d.fix_sql for d in inspection.differences]

        recorded = [f"{app}.{name}" for app, name in SQLX_BASELINE]
        if options["dry_run"]:
            self.report.update(status="would_adopt", recorded_migrations=recorded)
            would_fix = f" after applying {len(fixes)} fix(es)" if fixes else ""
            return self._finish(
                f"dry run: the database can be adopted{would_fix}; would record as applied: "
                f"{', '.join(recorded)}. Nothing was changed."
            )

        if options["interactive"]:
            self._confirm(connection, recorded, fixes)

        # The migration session keeps a deploy's migrate from racing the takeover.
        with migration_session(options["database"], report=self.stderr.write):
            if fixes:
                self.report["fixes_applied"] = takeover.apply_safe_fixes(
                    connection, inspection.differences
                )
            record = takeover.adopt(connection, applied_fixes=self.report["fixes_applied"])
        if record.pop("already_adopted"):
            self.report.update(status="already_adopted", takeover=record)
            return self._finish("already adopted (by a concurrent run); nothing to do.")
        self.report.update(status="adopted", takeover=record, recorded_migrations=recorded)
        self._finish(
            f"adopted: recorded {', '.join(recorded)} as applied and ran "
            f"{', '.join(record['bookkeeping_migrations'])}; takeover record #{record['id']}. "
            "_sqlx_migrations is kept. Run `manage.py migrate` for later migrations."
        )

    def _confirm(self, connection, recorded, fixes):
        if not sys.stdin.isatty():
            raise CommandError(
                "adopt_sqlx asks for confirmation but standard input is not a terminal; "
                "rerun with --no-input to proceed without asking. Nothing was changed.",
                returncode=takeover.EXIT_REFUSED,
            )
        what = f"apply {len(fixes)} fix(es) and " if fixes else ""
        answer = input(
            f"This will {what}record {len(recorded)} migrations as applied on "
            f"{describe_target(connection.settings_dict)}. Type 'yes' to continue: "
        )
        if answer.strip().lower() != "yes":
            raise takeover.TakeoverRefused("cancelled; nothing was changed.")

    def _print_differences(self, differences):
        if self.as_json:
            return
        for difference in differences:
            self.stderr.write(f"  {difference}")
            if difference.fix_sql:
                self.stderr.write(f"      safe fix: {difference.fix_sql}")

    def _finish(self, message, exit_code=0):
        self.report["message"] = message
        if self.as_json:
            self.stdout.write(json.dumps(self.report, indent=2, default=str))
        elif exit_code:
            self.stderr.write(f"error: {message}")
        else:
            self.stdout.write(message)
        if exit_code:
            sys.exit(exit_code)
