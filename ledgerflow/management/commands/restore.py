"""``restore ARCHIVE``: verify the checksum, restore as one transaction, check the manifest."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.db.urls import database_config
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.restore import restore_archive


class Command(BaseCommand):
    help = (
        "Restore a backup archive into an empty database (DATABASE_URL's, or --database-url), or "
        "into a non-empty one only with --confirm DBNAME (after a verified backup of what it "
        "holds). The checksum is verified first; row counts and the migration state are compared "
        "with the manifest after."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The .dump file written by backup.")
        parser.add_argument("--database-url", help="Restore into this database instead.")
        parser.add_argument(
            "--confirm",
            metavar="DBNAME",
            help="The target database's name: replace the archive's objects in a non-empty one.",
        )

    def handle(self, *args, **options):
        if options["database_url"]:
            try:
                settings_dict = database_config(options["database_url"], variable="--database-url")
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from None
        else:
            settings_dict = connections["default"].settings_dict
            connections["default"].close()  # hold no session that pg_restore would wait for
        try:
            result = restore_archive(options["archive"], settings_dict, confirm=options["confirm"])
        except RecoveryError as exc:
            raise CommandError(str(exc)) from None
        if result.previous_backup:
            self.stdout.write(
                f"Backup of what it replaced verified: {result.previous_backup.archive_path}"
            )
        self.stdout.write(
            f"Restored {options['archive']} into {result.target}"
            + (" (replacing the archive's objects)." if result.replaced_existing else ".")
        )
        self.stdout.write(
            f"  verified against the manifest: {len(result.migration_state)} applied migrations"
        )
        for table, rows in result.row_counts.items():
            self.stdout.write(
                f"  {table}: {rows} rows (manifest {result.manifest['tables'][table]})"
            )
