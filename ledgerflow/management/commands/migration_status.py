"""``migration_status``: applied and pending migrations per app, checksums, drift, head, last run;
with ``--exit-code``, the deploy gate."""

import json

from django.core.management.base import BaseCommand
from django.db import connections

from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.migrating.lock import describe_holder
from ledgerflow.migrating.status import gate_failures, migration_status
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.tags import list_tags
from ledgerflow.schema.drift import detect_drift, detect_v2_drift


class Command(BaseCommand):
    help = (
        "Report applied and pending migrations, checksum state, schema drift and whether the "
        "database is at head (every migration applied)."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--database", default="default", choices=tuple(connections), help="Database alias."
        )
        parser.add_argument(
            "--exit-code",
            action="store_true",
            help=(
                "Exit 1 when a migration is pending or unknown, an applied migration changed or "
                "the schema drifted (the deploy gate, for scripts and probes)."
            ),
        )

    def handle(self, *args, **options):
        if options["database"] == "default":
            use_direct_connection()
        connection = connections[options["database"]]
        status = migration_status(connection)
        status["drift"] = [str(difference) for difference in detect_drift(connection)]
        # Schema v2 apart: not migrated yet is no failure here (its pending migrations are).
        status["drift_v2"] = [str(d) for d in detect_v2_drift(connection).differences]
        status["gate_failures"] = gate_failures(status, status["drift"], status["drift_v2"])
        try:
            status["release_tags"] = list_tags()
        except RecoveryError:
            status["release_tags"] = []  # the tags table comes with a pending migration
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, sort_keys=True))
        else:
            self._print(status)
        if options["exit_code"] and status["gate_failures"]:
            if not options["json"]:
                self.stderr.write(
                    f"deploy gate failed: {'; '.join(status['gate_failures'])} (each named "
                    "above). Nothing was changed. Pending migrations: run `manage.py migrate`; "
                    "edited migrations: restore them or `manage.py accept_migration_checksum`; "
                    "drift: `manage.py schema_drift` shows each difference and its fix."
                )
            raise SystemExit(1)

    def _print(self, status):
        for app, entry in status["apps"].items():
            self.stdout.write(self.style.MIGRATE_HEADING(app))
            for item in entry["applied"]:
                timing = (
                    f"{item['duration_ms']:.0f} ms, lock wait {item['lock_wait_ms']:.0f} ms"
                    if item["duration_ms"] is not None
                    else "no timing (baselined)"
                    if item["baselined"]
                    else "no timing"
                )
                mark = {
                    "ok": "",
                    "changed": "  CHECKSUM CHANGED",
                    "unrecorded": "  no checksum",
                    "unverified": "",
                }
                self.stdout.write(
                    f"  [X] {item['name']}  applied {item['applied_at']}  ({timing})"
                    f"{mark[item['checksum']]}"
                )
            for item in entry["pending"]:
                self.stdout.write(f"  [ ] {item['name']}  pending")
        for item in status["unknown_applied"]:
            self.stdout.write(
                self.style.WARNING(
                    f"applied in the database but not in the code: {item['app']}.{item['name']} "
                    f"({item['applied_at']}); the database is ahead of this release"
                )
            )
        run = status["last_run"]
        if run:
            self.stdout.write(
                f"last migrate run: {run['outcome']} at {run['started_at']} by {run['run_by']}, "
                f"{run['applied_count']} applied in {run['duration_ms']} ms, lock wait "
                f"{run['lock_wait_ms']} ms"
            )
        for tag in status["release_tags"]:
            self.stdout.write(
                f"release tag {tag['name']}: {len(tag['migration_state'])} migrations, "
                f"tagged {tag['created_at']} by {tag['created_by']}"
            )
        for difference in status["drift"]:
            self.stdout.write(self.style.WARNING(f"drift: {difference}"))
        for difference in status["drift_v2"]:
            self.stdout.write(self.style.WARNING(f"schema v2 drift: {difference}"))
        if status["lock_holder"]:
            self.stdout.write(f"migration lock held by {describe_holder(status['lock_holder'])}")
        if status["at_head"]:
            self.stdout.write(self.style.SUCCESS("at head"))
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"NOT at head: {status['pending_count']} pending, "
                    f"{len(status['unknown_applied'])} unknown"
                )
            )
        if status["checksum_mismatches"]:
            self.stdout.write(
                self.style.WARNING(f"{len(status['checksum_mismatches'])} changed since applied")
            )
