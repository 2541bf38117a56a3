"""``migrate``, made safe to run from every pod of a deploy at once.

Django's own command (its target parsing, conflict checks and plan), run inside a migration
session (``ledgerflow.migrating.session``: direct connection, advisory lock, timeouts, run record)
with the project's executor (``ledgerflow.migrating.executor``: retries, checksums, crash-safe
recording), which hands Django's plan to ``ledgerflow.migrating.deploy`` before applying anything:
forward only, checksums verified, pre-flight checks, an optional backup.
"""

import functools
import math

from django.apps import apps
from django.core import checks
from django.core.management.base import CommandError
from django.core.management.commands import migrate as django_migrate
from django.db import DEFAULT_DB_ALIAS

from ledgerflow.migrating import deploy, executor
from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.migrating.session import migration_session


class Command(django_migrate.Command):
    help = (
        "Apply pending migrations, one run at a time (advisory lock), with lock/statement "
        "timeouts, checksum verification and pre-flight checks. Forward only: use "
        "`python manage.py rollback` to go back."
    )

    def get_check_kwargs(self, options):
        """The system checks about what migrating relies on (models, databases, the migration
        commands), when Django would run them all.

        The others check what migrate never serves or renders: the URL checks import the URL
        configuration, and through it the health views, django-health-check and dnspython
        (about 80 ms at every deploy); the admin, template and translation checks build template
        engines. ``manage.py check`` and the server's start-up still run them all."""
        kwargs = super().get_check_kwargs(options)
        if "tags" not in kwargs:
            kwargs["tags"] = [checks.Tags.models, checks.Tags.database, checks.Tags.commands]
        return kwargs

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--no-preflight",
            action="store_true",
            help="Skip the models and lint checks (checksums are still verified).",
        )
        parser.add_argument(
            "--lock-wait-timeout",
            type=float,
            default=None,
            help="Seconds to wait for another run's lock (default MIGRATION_LOCK_WAIT_TIMEOUT).",
        )
        parser.add_argument(
            "--backup",
            action="store_true",
            help="Take a verified backup of the whole database before applying anything "
            "(skipped when nothing is pending). Recommended for production deploys.",
        )
        parser.add_argument(
            "--replay",
            action="store_true",
            help="Apply every migration one by one even on an empty database, instead of "
            "loading the head schema snapshot in one transaction.",
        )

    def handle(self, *args, **options):
        if not executor.installed():
            raise executor.not_installed_error()
        if options["fake_initial"]:
            raise CommandError(
                "--fake-initial is refused: it records initial migrations as applied when tables "
                "of the same names exist, without comparing types, defaults, enum labels, indexes "
                "or triggers. To take over a database built by sqlx, run "
                "`python manage.py adopt_sqlx --dry-run`, then `adopt_sqlx`. To record one "
                "migration deliberately, use `migrate APP NAME --fake`. Nothing was changed."
            )
        wait = options["lock_wait_timeout"]
        if wait is not None and not (math.isfinite(wait) and wait >= 0):
            raise CommandError("--lock-wait-timeout must be a number of seconds, 0 or more.")
        if options["app_label"]:
            # As Django's command, and before the lock: a typo costs no wait.
            try:
                apps.get_app_config(options["app_label"])
            except LookupError as exc:
                raise CommandError(str(exc)) from None
        if options["plan"] or options["check_unapplied"]:
            if options["database"] == DEFAULT_DB_ALIAS:
                use_direct_connection()  # the route migrate itself would read through
            return super().handle(*args, **options)  # read-only: no lock, no bookkeeping
        with migration_session(
            options["database"], lock_wait_timeout=wait, report=self.stdout.write
        ) as session:
            if session.waited >= 0.5 and options["verbosity"]:
                self.stdout.write(f"Got the migration lock after {session.waited:.1f}s.")
            session.before_apply = functools.partial(
                deploy.prepare,
                session,
                preflight=not options["no_preflight"],
                backup=functools.partial(self._backup, options["database"])
                if options["backup"]
                else None,
                load=not options["replay"],
                verbosity=options["verbosity"],
            )
            super().handle(*args, **options)

    def _backup(self, database):
        from ledgerflow.db.errors import OperatorError
        from ledgerflow.recovery.backup import take_backup

        try:
            backup = take_backup(reason="pre-migrate", using=database)
        except OperatorError as exc:
            raise CommandError(
                f"Backup before migrating failed; nothing was applied: {exc}"
            ) from None
        self.stdout.write(
            f"Backup verified: {backup.archive_path} (sha256 {backup.manifest['sha256']})."
        )
