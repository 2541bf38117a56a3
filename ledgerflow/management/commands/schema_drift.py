"""``manage.py schema_drift``: does the live schema match what its migrations should have built?"""

import json
import sys

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ledgerflow.db.urls import database_config, describe_target, psycopg_params
from ledgerflow.observability.masking import MASK, mask_secrets
from ledgerflow.schema.drift import (
    V2_CHECKED,
    compare_databases,
    compare_v2_databases,
    detect_drift,
    detect_v2_drift,
)

EXIT_DRIFT = 1


class Command(BaseCommand):
    help = (
        "Compare the database with the schema its applied migrations should have built "
        "(columns, constraints, indexes and their validity, enum labels in order, the trigger "
        "function's body, triggers and whether they are enabled, sequences and whether they are "
        "ahead of their columns, storage parameters, column storage, privileges of the owner and "
        "PUBLIC), or with another database (--against). Schema v2 (ledgerflow_v2) is compared "
        "with what its own applied migrations build and reported apart; not migrated yet is "
        "pending, not drift. Grants to other roles are notes. "
        "Exit 0: no drift; 1: drift in v1 or v2 (every object named); 2: error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--against",
            metavar="URL",
            help="Compare with the database at this postgres:// URL instead of the stored "
            "expectation (e.g. staging against production); read-only on both.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        target = describe_target(connection.settings_dict)
        notes = []
        v2_notes = []
        if options["against"]:
            try:
                other_settings = database_config(options["against"], variable="--against")
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc), returncode=2) from None
            other = describe_target(other_settings)
            try:
                differences = compare_databases(
                    connection, psycopg_params(other_settings), notes=notes
                )
                v2 = compare_v2_databases(
                    connection, psycopg_params(other_settings), notes=v2_notes
                )
            except psycopg.OperationalError as exc:
                raise CommandError(
                    f"cannot connect to --against {other}: {_first_line(exc, other_settings)}",
                    returncode=2,
                ) from None
            except psycopg.ProgrammingError as exc:
                raise CommandError(
                    f"--against {other} is not usable: {_first_line(exc, other_settings)}",
                    returncode=2,
                ) from None
            compared = f"{target} (reference) against {other}"
        else:
            differences = detect_drift(connection, notes=notes)
            compared = f"{target} against the schema of its applied migrations"
            v2 = detect_v2_drift(connection, notes=v2_notes)
        drifted = bool(differences) or v2.drift

        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "compared": compared,
                        "drift": drifted,
                        "differences": [d.as_dict() for d in differences],
                        "notes": [note.as_dict() for note in notes],
                        "ledgerflow_v2": {
                            **v2.as_dict(),
                            "notes": [note.as_dict() for note in v2_notes],
                        },
                    },
                    indent=2,
                    default=str,
                )
            )
        elif differences:
            self.stdout.write(f"drift: {len(differences)} difference(s) comparing {compared}:")
            for difference in differences:
                self.stdout.write(f"  {difference}")
                if difference.fix_sql:
                    self.stdout.write(f"      safe fix: {difference.fix_sql}")
        else:
            self.stdout.write(f"no drift: {compared}")
        if not options["json"]:
            for note in notes:
                self.stdout.write(f"  note: {note}")
            self._write_v2(v2, v2_notes)
        if drifted:
            sys.exit(EXIT_DRIFT)

    def _write_v2(self, v2, notes):
        """Schema v2 under its own heading, so a v2 finding never reads as a v1 one."""
        verdict = {V2_CHECKED: "drift" if v2.drift else "no drift"}.get(v2.status, v2.status)
        self.stdout.write(f"ledgerflow_v2 (schema v2): {verdict}: {v2.summary()}")
        for difference in v2.differences:
            self.stdout.write(f"  {difference}")
            if difference.fix_sql:
                self.stdout.write(f"      safe fix: {difference.fix_sql}")
        for note in notes:
            self.stdout.write(f"  note: {note}")


def _first_line(exc, settings_dict):
    """The driver's reason, without the --against password (not one of the configured ones)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if settings_dict.get("PASSWORD"):
        line = line.replace(settings_dict["PASSWORD"], MASK)
    return mask_secrets(line)
