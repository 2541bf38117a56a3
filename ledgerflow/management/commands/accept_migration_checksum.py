"""``accept_migration_checksum``: deliberately accept an edit to an applied migration, audited."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ledgerflow.migrating import checksums
from ledgerflow.migrating.connection import use_direct_connection


class Command(BaseCommand):
    help = (
        "Accept the code's current checksum for an applied migration that was edited on "
        "purpose. Records who, when and why in ledgerflow_migration_checksum_acceptances."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label")
        parser.add_argument("migration_name")
        parser.add_argument("--reason", required=True, help="Why the edit is safe (kept).")
        parser.add_argument("--by", default=None, help="Who accepts it (default os-user@host).")
        parser.add_argument(
            "--database", default="default", choices=tuple(connections), help="Database alias."
        )

    def handle(self, *args, **options):
        if options["database"] == "default":
            use_direct_connection()
        connection = connections[options["database"]]
        try:
            previous, accepted = checksums.accept(
                connection,
                options["app_label"],
                options["migration_name"],
                reason=options["reason"],
                accepted_by=options["by"],
            )
        except ValueError as exc:
            raise CommandError(f"Nothing accepted: {exc}.") from None
        self.stdout.write(
            f"Accepted {options['app_label']}.{options['migration_name']}: checksum "
            f"{previous[:12]} -> {accepted[:12]} (audited)."
        )
