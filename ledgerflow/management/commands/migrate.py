"""``migrate``, made safe to run from every pod of a deploy at once.

Django's own command, plus: a direct connection when ``MIGRATION_DATABASE_URL`` is set; forward
only (going back is ``rollback``'s job, with its data-loss guards); one run at a time under an
advisory lock (the others wait, then find nothing to do); lock and statement timeouts with
retries (``ledgerflow.migrating.executor``); checksums verified before and recorded with every
migration; pre-flight checks before applying; a ``ledgerflow_migrate_runs`` row per run.
"""

import argparse
import contextlib
import math
import time

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.commands import migrate as django_migrate
from django.db import DatabaseError, connections
from django.db.migrations.exceptions import AmbiguityError

from ledgerflow.migrating import checksums, lock, timeouts
from ledgerflow.migrating.connection import use_direct_connection
from ledgerflow.migrating.executor import SafeMigrationExecutor
from ledgerflow.migrating.status import RUNS_TABLE


class Command(django_migrate.Command):
    help = (
        "Apply pending migrations, one run at a time (advisory lock), with lock/statement "
        "timeouts, checksum verification and pre-flight checks. Forward only: use "
        "`python manage.py rollback` to go back."
    )

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
        # For the rollback command only, which applies its own data-loss guards first.
        parser.add_argument("--allow-backwards", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        database = options["database"]
        if database == "default":
            use_direct_connection(database)
        connection = connections[database]
        self.verbosity = options["verbosity"]
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
        if options["plan"] or options["check_unapplied"]:
            return super().handle(*args, **options)  # read-only: no lock, no bookkeeping
        if options["app_label"]:
            # A named target is checked before the lock and any backup: a typo costs nothing.
            executor = SafeMigrationExecutor(connection)
            plan = executor.migration_plan(self._targets(executor, options))
            self._refuse_backwards(plan, options)

        waited = lock.acquire(connection, timeout=options["lock_wait_timeout"], report=self._say)
        self._waited = waited
        run_id = None
        started = time.monotonic()
        session = contextlib.ExitStack()
        try:
            if waited >= 0.5 and self.verbosity:
                self._say(f"Got the migration lock after {waited:.1f}s.")
            session.enter_context(timeouts.session_timeouts(connection))
            # Another run may have applied migrations while we waited: reload what is applied.
            executor = SafeMigrationExecutor(connection, report=self._say)
            plan = executor.migration_plan(self._targets(executor, options))
            if not executor.loader.replace_migrations:
                # Planning to a migration a squash replaced rebuilt the graph without squashes;
                # Django's command checks conflicts on the graph it is given, so restore it.
                executor.loader.replace_migrations = True
                executor.loader.build_graph()
            # Checked again: another run may have moved the database while this one waited.
            self._refuse_backwards(plan, options)
            forward = [(migration, False) for migration, backwards in plan if not backwards]
            checksums.baseline(connection, executor.loader)
            self._preflight(executor, forward, options)
            if options["backup"] and forward and not options["fake"]:
                self._backup(options)
            run_id = self._start_run(connection, waited)
            executor.run_id = run_id
            self._executor = executor
            original = django_migrate.MigrationExecutor
            django_migrate.MigrationExecutor = self._make_executor
            try:
                super().handle(*args, **options)
            finally:
                django_migrate.MigrationExecutor = original
            self._finish_run(connection, run_id, started, "succeeded", "")
        except BaseException as exc:
            if run_id is not None:
                # The original error matters more than the bookkeeping row.
                with contextlib.suppress(DatabaseError):
                    self._finish_run(connection, run_id, started, "failed", str(exc)[:2000])
            raise
        finally:
            session.close()
            lock.release(connection)

    def _make_executor(self, connection, progress_callback=None):
        executor = self._executor
        executor.progress_callback = progress_callback
        return executor

    def _say(self, message):
        self.stdout.write(message)

    def _targets(self, executor, options):
        """The nodes Django's migrate will migrate to, with its own errors for bad names."""
        app_label, name = options["app_label"], options["migration_name"]
        leaves = executor.loader.graph.leaf_nodes()
        if not app_label:
            return leaves
        try:
            apps.get_app_config(app_label)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        if app_label not in executor.loader.migrated_apps:
            if options["run_syncdb"]:
                return []  # Django's own command creates the unmigrated app's tables
            raise CommandError(f"App '{app_label}' does not have migrations.")
        if not name:
            return [key for key in leaves if key[0] == app_label]
        if name == "zero":
            return [(app_label, None)]
        try:
            target = (app_label, executor.loader.get_migration_by_prefix(app_label, name).name)
        except AmbiguityError:
            raise CommandError(
                f"More than one migration matches '{name}' in app '{app_label}'. "
                "Please be more specific."
            ) from None
        except KeyError:
            raise CommandError(
                f"Cannot find a migration matching '{name}' from app '{app_label}'."
            ) from None
        # As Django's own command: a partially applied squash is not in the graph; its last
        # replaced migration stands for it.
        if target not in executor.loader.graph.nodes and target in executor.loader.replacements:
            target = executor.loader.replacements[target].replaces[-1]
        return [target]

    def _refuse_backwards(self, plan, options):
        if options["allow_backwards"] or options["fake"]:
            return  # --fake only edits the history: no table or row is touched
        undo = [f"{m.app_label}.{m.name}" for m, backwards in plan if backwards]
        if undo:
            raise CommandError(
                f"migrate only moves forward; this would unapply {', '.join(undo)}, and "
                "unapplying can drop tables and columns holding payment rows. Use "
                "`python manage.py rollback`, which checks for data loss first. Nothing was "
                "changed."
            )

    def _preflight(self, executor, plan, options):
        mismatches = checksums.checksum_mismatches(executor.connection, executor.loader)
        if mismatches:
            raise CommandError(
                "Refusing to migrate: applied migrations were changed since they ran; nothing "
                "was applied.\n" + "\n".join(checksums.describe_mismatch(m) for m in mismatches)
            )
        if options["fake"] or not plan:
            return  # nothing to apply: Django itself reports unmigrated model changes
        from ledgerflow.migrating import preflight  # only when there is something to apply

        # Always, even with --no-preflight: applying would fail half-way, leaving a partial change.
        clashes = preflight.check_pending_tables_absent(executor, plan)
        if clashes:
            raise CommandError("Refusing to migrate; nothing was applied: " + clashes[0])
        if options["no_preflight"]:
            return
        report = preflight.run(executor, models_check=True, with_sql=False, plan=plan)
        for note in report.notes:
            self._say(f"note: {note}")
        if not report.ok:
            raise CommandError(
                "Pre-flight checks failed; nothing was applied:\n"
                + "\n".join(f"  [{check}] {message}" for check, message in report.problems)
                + "\nFix them, acknowledge a lint finding with `preflight_ignore` in the "
                "migration, or pass --no-preflight to override."
            )

    def _backup(self, options):
        from ledgerflow.db.errors import OperatorError
        from ledgerflow.recovery.backup import take_backup

        try:
            backup = take_backup(reason="pre-migrate", using=options["database"])
        except OperatorError as exc:
            raise CommandError(
                f"Backup before migrating failed; nothing was applied: {exc}"
            ) from None
        self._say(f"Backup verified: {backup.archive_path} (sha256 {backup.manifest['sha256']}).")

    def _start_run(self, connection, waited):
        if not checksums.ledger_exists(connection):
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {RUNS_TABLE} (started_at, run_by, lock_wait_ms, applied_count, "
                "outcome, error) VALUES (now(), %s, %s, 0, 'running', '') RETURNING id",
                [checksums.run_by(), waited * 1000],
            )
            return cursor.fetchone()[0]

    def _finish_run(self, connection, run_id, started, outcome, error):
        if connection.in_atomic_block and connection.needs_rollback:
            return
        if run_id is None:
            run_id = self._start_run(connection, self._waited)  # ledger created in this run
            if run_id is None:
                return
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {RUNS_TABLE} SET finished_at = now(), duration_ms = %s, "
                "applied_count = %s, outcome = %s, error = %s WHERE id = %s",
                [
                    (time.monotonic() - started) * 1000,
                    len(self._executor.applied),
                    outcome,
                    error,
                    run_id,
                ],
            )
