"""``manage.py schema_version``: the migration heads the Rust services are built against."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.migrating.history import code_schema_version, migration_history


class Command(BaseCommand):
    help = (
        "Print the schema version this code migrates to (embed it in the Rust services' build). "
        "With --check, compare it with the database's and exit 1 when they differ."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare with the version recorded in the database (DATABASE_URL).",
        )
        parser.add_argument("--database", default="default", help="Database alias to check.")

    def handle(self, *args, check, database, **options):
        expected = code_schema_version()
        self.stdout.write(expected)
        if not check:
            return
        actual = migration_history(connections[database]).schema_version
        if actual != expected:
            raise CommandError(
                f"the database is at {actual or 'no recorded migration'!s}, this code expects "
                f"{expected}; run `manage.py migrate` (or deploy the release that matches)."
            )
