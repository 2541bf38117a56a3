"""``flush``, refused on a database holding rows unless told so, and then only after a backup.

Stock ``flush --no-input`` empties every table the models own (orders, deposit events, the
checksum ledger, the staff users) without a question. Here it names the tables and row counts at
stake and refuses; with ``--allow-data-loss`` it first writes a verified backup of the whole
database, as ``rollback --allow-data-loss`` does.
"""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush as django_flush
from django.db import connections

from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.backup import take_backup
from ledgerflow.recovery.state import row_count


def is_test_database(connection):
    # Django's test cases flush the database they created (``test_<name>``) between
    # transactional tests; that database holds nothing to lose. Never so in production.
    return not settings.IS_PRODUCTION and connection.settings_dict["NAME"].startswith("test_")


class Command(django_flush.Command):
    help = (
        "Delete every row of the tables the models own. Refused when any holds rows, unless "
        "--allow-data-loss is given; then a verified backup is written first."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--allow-data-loss",
            action="store_true",
            help="Empty tables that hold rows, after writing a verified backup of the database.",
        )

    def handle(self, **options):
        connection = connections[options["database"]]
        if not is_test_database(connection):
            at_stake = self._rows_at_stake(connection)
            if at_stake and not options["allow_data_loss"]:
                listed = ", ".join(f"{table} ({rows} rows)" for table, rows in at_stake.items())
                raise CommandError(
                    f"flush would delete every row of {listed}; refused, nothing was changed. "
                    "To empty them anyway, run `python manage.py flush --allow-data-loss`, which "
                    "writes a verified backup first."
                )
            if at_stake:
                try:
                    backup = take_backup(reason="pre-flush", using=options["database"])
                except RecoveryError as exc:
                    raise CommandError(
                        f"Backup before flush failed; nothing was deleted: {exc}"
                    ) from None
                self.stdout.write(f"Backup verified: {backup.archive_path}")
        return super().handle(**options)

    @staticmethod
    def _rows_at_stake(connection):
        tables = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        with connection.cursor() as cursor:
            counts = {table: row_count(cursor, table) for table in sorted(tables)}
        return {table: rows for table, rows in counts.items() if rows}
