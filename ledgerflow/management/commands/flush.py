"""``flush``, refused on a database holding rows unless told so, and then only after a backup.

Stock ``flush --no-input`` empties every table the models own (orders, deposit events, the
checksum ledger, the staff users) without a question. Here it names the tables and row counts at
stake and refuses; with ``--allow-data-loss`` it first writes a verified backup of the whole
database, as ``rollback --allow-data-loss`` does, from a snapshot taken while the tables are
locked against writes until they are emptied.
"""

from django.conf import settings
from django.core import mail
from django.core.management.base import CommandError
from django.core.management.commands import flush as django_flush
from django.db import OperationalError, connections, transaction

from ledgerflow.db.errors import OperatorError
from ledgerflow.db.timeouts import set_lock_timeout
from ledgerflow.recovery.backup import take_backup
from ledgerflow.recovery.state import has_rows, row_count

LOCK_TIMEOUT_SECONDS = 10


def flushing_for_the_test_runner():
    """Whether this flush is Django's test runner emptying its test database between
    transactional tests (which hold nothing to lose). Only the test runner calls
    ``setup_test_environment()``, which gives ``django.core.mail`` its ``outbox`` until the run
    ends; the database's name proves nothing (an operator's ``test_orders`` can hold real rows).
    Never so in production."""
    return not settings.IS_PRODUCTION and hasattr(mail, "outbox")


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
        if flushing_for_the_test_runner():
            return super().handle(**options)
        tables = sorted(
            connection.introspection.django_table_names(only_existing=True, include_views=False)
        )
        # Counted first without locks, so a refused flush never stalls the services' writes.
        with connection.cursor() as cursor:
            counts = {table: row_count(cursor, table) for table in tables}
        self._refuse_unless_allowed({t: rows for t, rows in counts.items() if rows}, options)
        try:
            with transaction.atomic(using=options["database"]):
                with connection.cursor() as cursor:
                    set_lock_timeout(cursor, LOCK_TIMEOUT_SECONDS)
                    if tables:
                        # SHARE stops writes until the tables are emptied but lets pg_dump read.
                        names = ", ".join(connection.ops.quote_name(name) for name in tables)
                        cursor.execute(f"LOCK TABLE {names} IN SHARE MODE")
                    # Again under the lock, which writers now wait for: only whether rows are
                    # there, not how many (the backup's manifest counts them).
                    filled = [table for table in tables if has_rows(cursor, table)]
                if filled and not options["allow_data_loss"]:
                    raise CommandError(
                        f"rows arrived in {', '.join(filled)} while flush was starting; refused, "
                        "nothing was changed. To empty them anyway, run `python manage.py flush "
                        "--allow-data-loss`, which writes a verified backup first."
                    )
                if filled:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_export_snapshot()")
                        snapshot = cursor.fetchone()[0]
                    backup = take_backup(
                        reason="pre-flush", snapshot=snapshot, using=options["database"]
                    )
                    self.stdout.write(f"Backup verified: {backup.archive_path}")
                super().handle(**options)
        except OperatorError as exc:
            raise CommandError(f"Backup before flush failed; nothing was deleted: {exc}") from None
        except OperationalError as exc:
            raise CommandError(
                f"Could not lock the tables within {LOCK_TIMEOUT_SECONDS} s (a long transaction "
                f"holds one: {exc}); nothing was deleted."
            ) from None

    @staticmethod
    def _refuse_unless_allowed(at_stake, options):
        if at_stake and not options["allow_data_loss"]:
            listed = ", ".join(f"{table} ({rows} rows)" for table, rows in at_stake.items())
            raise CommandError(
                f"flush would delete every row of {listed}; refused, nothing was changed. "
                "To empty them anyway, run `python manage.py flush --allow-data-loss`, which "
                "writes a verified backup first."
            )
