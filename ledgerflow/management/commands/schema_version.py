"""``manage.py schema_version``: the migration heads the Rust services are built against."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.migrating.history import (
    code_schema_version,
    code_v2_schema_version,
    migration_history,
)


class Command(BaseCommand):
    help = (
        "Print the schema version this code migrates to (embed it in the Rust services' build). "
        "With --check, compare it with the database's and exit 1 when they differ. "
        "--schema v2: the version of schema v2 (ledgerflow_v2), for the newest services."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare with the version recorded in the database (DATABASE_URL).",
        )
        parser.add_argument("--database", default="default", help="Database alias to check.")
        parser.add_argument(
            "--schema",
            choices=("v1", "v2"),
            default="v1",
            help="v1 (default): the five tables in public, for the older services; v2: "
            "ledgerflow_v2, for the newest ones. Each has its own version.",
        )

    def handle(self, *args, check, database, schema, **options):
        expected = code_v2_schema_version() if schema == "v2" else code_schema_version()
        self.stdout.write(expected)
        if not check:
            return
        history = migration_history(connections[database])
        actual = history.v2_schema_version if schema == "v2" else history.schema_version
        if actual != expected:
            raise CommandError(
                f"the database is at {actual or 'no recorded migration'!s}, this code expects "
                f"{expected}; run `manage.py migrate` (or deploy the release that matches)."
            )
