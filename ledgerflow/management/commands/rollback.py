"""``rollback``: unapply migrations without ever losing data silently.

rollback APP MIGRATION | rollback APP zero | rollback --steps N | rollback --to-tag NAME
"""

from django.core.management.base import BaseCommand, CommandError

from ledgerflow.db.errors import OperatorError
from ledgerflow.recovery.planning import (
    migrations_for_steps,
    migrations_to_state,
    migrations_to_target,
)
from ledgerflow.recovery.rollback import rollback
from ledgerflow.recovery.tags import get_tag


class Command(BaseCommand):
    help = (
        "Roll back migrations to a named migration of an app, by a number of steps, or to a "
        "release tag. Prints the plan and the SQL of every reverse step first; refuses steps "
        "that would lose data unless --allow-data-loss, and then only after a verified backup."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="?", help="App to roll back (with MIGRATION).")
        parser.add_argument(
            "migration", nargs="?", help="Migration to end at (a name or prefix), or 'zero'."
        )
        parser.add_argument(
            "--steps", type=int, help="Unapply the N most recently applied migrations."
        )
        parser.add_argument("--to-tag", help="Return to the migration state of a release tag.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and SQL, change nothing."
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            help="Seconds to wait for the tables' locks before giving up (default 10).",
        )
        parser.add_argument(
            "--allow-data-loss",
            action="store_true",
            help="Run lossy steps after a verified backup of the database (LEDGERFLOW_BACKUP_DIR).",
        )

    def handle(self, *args, **options):
        app_label, migration = options["app_label"], options["migration"]
        steps, tag_name = options["steps"], options["to_tag"]
        modes = sum([app_label is not None, steps is not None, tag_name is not None])
        if modes != 1 or (app_label is not None and migration is None):
            raise CommandError(
                "give exactly one target: APP MIGRATION (or APP zero), --steps N, or --to-tag NAME."
            )
        try:
            if app_label is not None:
                target = f"to {app_label} {migration}"

                def select(executor, cursor):
                    return migrations_to_target(executor, app_label, migration)

            elif steps is not None:
                target = f"{steps} step(s)"

                def select(executor, cursor):
                    return migrations_for_steps(executor.loader, cursor, steps)

            else:
                tag = get_tag(tag_name)
                target = f"to release tag {tag.name}"

                def select(executor, cursor):
                    return migrations_to_state(
                        executor.loader, cursor, tag.migration_state, f"release tag {tag.name}"
                    )

            rollback(
                select,
                target,
                dry_run=options["dry_run"],
                allow_data_loss=options["allow_data_loss"],
                write=self.stdout.write,
                lock_timeout=options["lock_timeout"],
            )
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
