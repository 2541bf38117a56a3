"""``backup``: a verified pg_dump archive with a checksum and a manifest."""

import json

from django.core.management.base import BaseCommand, CommandError

from ledgerflow.db.errors import OperatorError
from ledgerflow.recovery.backup import SIGNATURE_FIELD, take_backup


class Command(BaseCommand):
    help = (
        "Write a verified pg_dump custom-format archive of the database (or of --table tables) "
        "and its manifest (checksum, migration state, time, row counts) to LEDGERFLOW_BACKUP_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--table", action="append", dest="tables", help="Only this table (repeatable)."
        )
        parser.add_argument("--directory", help="Write here instead of LEDGERFLOW_BACKUP_DIR.")
        parser.add_argument("--reason", default="manual", help="A word for the file name.")
        parser.add_argument("--json", action="store_true", help="Print the manifest as JSON.")

    def handle(self, *args, **options):
        try:
            result = take_backup(
                tables=options["tables"], reason=options["reason"], directory=options["directory"]
            )
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        if options["json"]:
            self.stdout.write(
                json.dumps({"archive": str(result.archive_path), **manifest}, indent=2)
            )
            return
        self.stdout.write(f"Backup verified: {result.archive_path}")
        self.stdout.write(f"  manifest: {result.manifest_path}")
        self.stdout.write(f"  sha256:   {manifest['sha256']} ({manifest['size_bytes']} bytes)")
        if SIGNATURE_FIELD in manifest:
            self.stdout.write("  manifest authenticated: HMAC-SHA256 with LEDGERFLOW_BACKUP_KEY")
        else:
            self.stdout.write(
                "  manifest NOT authenticated: LEDGERFLOW_BACKUP_KEY is unset, so `restore` "
                "accepts this archive only with --allow-unauthenticated"
            )
        self.stdout.write(f"  migrations applied: {len(manifest['migration_state'])}")
        for table, rows in manifest["tables"].items():
            self.stdout.write(f"  {table}: {rows} rows")
