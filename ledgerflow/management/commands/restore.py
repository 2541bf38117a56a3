"""``restore ARCHIVE``: verify the HMAC and checksum, then restore, check the manifest and
commit in one transaction, holding writes from the backup of what it replaces to the commit."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.db.errors import OperatorError
from ledgerflow.db.urls import database_config
from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.recovery.backup import SIGNATURE_FIELD
from ledgerflow.recovery.restore import restore_archive


class Command(BaseCommand):
    help = (
        "Restore a backup archive into an empty database (DATABASE_URL's, or --database-url), or "
        "into a non-empty one only with --confirm DBNAME (after a verified backup of what it "
        "holds). The manifest's HMAC (LEDGERFLOW_BACKUP_KEY) and the checksum are verified first; "
        "writes to the replaced tables wait from that backup until the commit; row counts and "
        "the migration state are compared with the manifest before the commit."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The .dump file written by backup.")
        parser.add_argument("--database-url", help="Restore into this database instead.")
        parser.add_argument(
            "--confirm",
            metavar="DBNAME",
            help="The target database's name: replace the archive's objects in a non-empty one.",
        )
        parser.add_argument(
            "--allow-unauthenticated",
            action="store_true",
            help="Accept an archive whose manifest carries no HMAC (written without "
            "LEDGERFLOW_BACKUP_KEY); only for archives kept where nobody could alter them.",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            help="Seconds to wait for the locks that hold writes (default 10); then give up "
            "with nothing changed.",
        )

    def handle(self, *args, **options):
        if options["database_url"]:
            try:
                settings_dict = database_config(options["database_url"], variable="--database-url")
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from None
        else:
            use_direct_connection()  # pg_dump and the restoring transaction bypass PgBouncer
            settings_dict = connections["default"].settings_dict
            connections["default"].close()  # hold no session that pg_restore would wait for
        try:
            result = restore_archive(
                options["archive"],
                settings_dict,
                confirm=options["confirm"],
                allow_unauthenticated=options["allow_unauthenticated"],
                lock_timeout=options["lock_timeout"],
            )
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
        if result.previous_backup:
            self.stdout.write(
                f"Backup of what it replaced verified: {result.previous_backup.archive_path}"
            )
        if result.held_tables:
            self.stdout.write(
                f"Writes held: {len(result.held_tables)} tables were locked in SHARE mode from "
                "before that backup until the restore committed, so every write is either in "
                "the backup or was made after the commit, into the restored tables (writers "
                "waited; readers waited only from the replacement of the tables to the commit)."
            )
        if SIGNATURE_FIELD not in result.manifest:
            self.stdout.write(
                "The archive's manifest carries no HMAC: restored as unauthenticated "
                "(--allow-unauthenticated)."
            )
        self.stdout.write(
            f"Restored {options['archive']} into {result.target} in one transaction"
            + (" (replacing the archive's objects)." if result.replaced_existing else ".")
        )
        self.stdout.write(
            f"  verified against the manifest before the commit: {len(result.migration_state)} "
            "applied migrations"
        )
        for table, rows in result.row_counts.items():
            self.stdout.write(
                f"  {table}: {rows} rows (manifest {result.manifest['tables'][table]})"
            )
