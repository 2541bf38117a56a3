"""Django's ``MigrationExecutor`` with bounded lock waits, retries, checksums and logging.

Each migration runs with the session's ``lock_timeout``/``statement_timeout``. An atomic migration
that hits the lock timeout has been rolled back whole, so it is retried (``MIGRATION_RETRIES``
times, exponential backoff with jitter); on the last failure the error names the sessions that
hold locks on LedgerFlow tables. A non-atomic migration may have done part of its work, so it is
never retried; before it runs, INVALID indexes it creates concurrently (left by an interrupted
earlier run) are dropped so they are rebuilt.

An atomic migration commits whole or not at all: its DDL, its deferred SQL (Django runs index
creation after the operations), its ``django_migrations`` row, its checksum row and the run's
count share one transaction. Stock Django commits the DDL first and records the migration
afterwards, so a kill, a lost connection or a lock timeout in between leaves tables that no
history row accounts for, and every later ``migrate`` trips over them.

``install`` puts this executor into Django's own ``migrate`` command once, at start-up, when the
installed Django is the one it was verified against; the project's ``migrate`` refuses to run
without it. Inside a migration session (``ledgerflow.migrating.session``) the executor counts
the session's run and calls its checks with Django's plan before applying anything.
"""

import contextlib
import copy
import logging
import random
import time

import django
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.core.management.base import CommandError
from django.db import DatabaseError, migrations, transaction
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.db import catalog
from ledgerflow.db.errors import is_lock_timeout
from ledgerflow.migrating import checksums, effects, ledger, session
from ledgerflow.sql import quote_ident

# The Django release whose MigrationExecutor and migrate command this subclass was checked
# against (apply/unapply/record hooks, the progress callback, the command's module global).
VERIFIED_DJANGO = (5, 2)

logger = logging.getLogger("ledgerflow.migrations")


class MigrationLockTimeout(CommandError):
    """An atomic migration kept hitting lock_timeout; nothing of it was applied."""


def concurrent_index_names(migration):
    """Names of the indexes ``migration`` builds with CREATE INDEX CONCURRENTLY."""
    # Here, not at the top: its patterns take ~20 ms to compile, which a migrate with nothing
    # to apply (or no RunSQL in a non-atomic migration) need not pay.
    from ledgerflow.migrating.effects.sql import read_sql

    names = []
    for operation in migration.operations:
        if isinstance(operation, AddIndexConcurrently):
            names.append(operation.index.name)
        elif isinstance(operation, migrations.RunSQL):
            names.extend(
                effect.name
                for effect in read_sql(operation.sql)
                if effect.kind == effects.BUILD_INDEX and effect.concurrently and effect.name
            )
    return names


class SafeMigrationExecutor(MigrationExecutor):
    def __init__(self, connection, progress_callback=None):
        super().__init__(connection, progress_callback)
        self.session = session.current(connection)
        self.report = self.session.report if self.session else (lambda message: None)
        self.applied = []  # (app, name, duration_ms, lock_wait_ms)
        self._started = None
        self._lock_wait = 0.0
        # Migrations applied before the ledger tables exist (a fresh database): their checksum
        # rows are written in the transaction of the migration that creates the ledger.
        self._unrecorded = []
        self._ledger_ready = False
        self._ledger_checked = False

    def migrate(self, targets, plan=None, state=None, fake=False, fake_initial=False):
        if plan is None:
            plan = self.migration_plan(targets)
        if self.session is not None and self.session.before_apply is not None:
            check, self.session.before_apply = self.session.before_apply, None
            loaded = check(self, plan, fake=fake)
            if loaded is not None:  # the head schema was loaded whole (migrating.schema_load)
                return loaded
        return super().migrate(targets, plan, state, fake, fake_initial)

    def apply_migration(self, state, migration, fake=False, fake_initial=False):
        self._started = time.monotonic()
        self._lock_wait = 0.0
        label = f"{migration.app_label}.{migration.name}"
        if fake:
            with transaction.atomic(using=self.connection.alias):  # history and checksum rows
                return super().apply_migration(state, migration, fake=True)
        if not migration.atomic:
            self._rebuild_invalid_indexes(migration)
        retries = settings.MIGRATION_RETRIES if self._retryable(migration) else 0
        attempt = 0
        while True:
            attempt += 1
            # Migration.apply mutates the state it is given; a retry needs the untouched one.
            attempt_state = state.clone() if retries else state
            attempt_started = time.monotonic()
            bookkeeping = (list(self._unrecorded), self._ledger_ready)
            try:
                new_state = self._apply_whole(attempt_state, migration, fake_initial)
            except DatabaseError as exc:
                # The transaction rolled back: so does what this object noted inside it.
                self._unrecorded, self._ledger_ready = bookkeeping
                if not is_lock_timeout(exc):
                    self._log(migration, "failed", error=str(exc).strip())
                    raise
                self._lock_wait += time.monotonic() - attempt_started
                if attempt > retries:
                    self._log(migration, "lock_timeout", error=str(exc).strip())
                    raise self._lock_timeout_error(migration, attempt, exc) from exc
                delay = settings.MIGRATION_RETRY_BACKOFF * 2 ** (attempt - 1)
                delay *= random.uniform(0.5, 1.0)  # jitter: pods retrying together spread out
                self.report(
                    f"  {label} hit lock_timeout ({settings.MIGRATION_LOCK_TIMEOUT:g}s) on attempt "
                    f"{attempt}; rolled back, retrying in {delay:.1f}s. Blocking: "
                    f"{catalog.describe_blockers(catalog.blocking_sessions(self.connection))}"
                )
                self._log(migration, "retrying", attempt=attempt)
                time.sleep(delay)
                self._lock_wait += delay
                continue
            self._log(migration, "applied", attempt=attempt)
            return new_state

    def _apply_whole(self, state, migration, fake_initial):
        """Django's ``apply_migration``, inside one transaction when the migration is atomic."""
        if not migration.atomic:
            resumed = self._resumable(migration)
            return super().apply_migration(state, resumed, fake_initial=fake_initial)
        with self._one_transaction(migration, "apply"):
            return self._apply_in_transaction(state, migration, fake_initial)

    def _apply_in_transaction(self, state, migration, fake_initial):
        """Django's ``apply_migration`` inside the transaction ``_one_transaction`` opened, with a
        schema editor that opens none of its own: a savepoint and its release would cost two
        round trips per migration and protect nothing the transaction does not."""
        fake = False
        if self.progress_callback:
            self.progress_callback("apply_start", migration, fake)
        if fake_initial:
            applied, state = self.detect_soft_applied(state, migration)
            fake = applied
        if not fake:
            with self.connection.schema_editor(atomic=False) as schema_editor:
                # Migration.apply reads this to know that its operations are inside a
                # transaction already (else it wraps each RunSQL and RunPython in one); the
                # editor's exit must not close a transaction it did not open.
                schema_editor.atomic_migration = True
                try:
                    state = migration.apply(state, schema_editor)
                finally:
                    schema_editor.atomic_migration = False
        # After the editor's exit, which runs the deferred SQL (index creation) first.
        self.record_migration(migration)
        if self.progress_callback:
            self.progress_callback("apply_success", migration, fake)
        return state

    @contextlib.contextmanager
    def _one_transaction(self, migration, action, fake=False):
        """A transaction around a whole (un)apply, history rows included. Progress is reported
        around it, so "OK" is printed only once the commit has happened."""
        outcome = {"fake": fake}

        def note(event, migration=None, fake=False):
            # Django reports a migration --fake-initial found already built as faked.
            if event.endswith("_success"):
                outcome["fake"] = fake

        callback, self.progress_callback = self.progress_callback, note
        if callback:
            callback(f"{action}_start", migration, fake)
        try:
            with transaction.atomic(using=self.connection.alias):
                yield
        finally:
            self.progress_callback = callback
        if callback:
            callback(f"{action}_success", migration, outcome["fake"])

    def _history_keys(self, migration):
        """``(app, name, migration)`` of each history row ``migration`` writes: a squash writes
        the rows of the migrations it replaces, as Django's recorder does."""
        if not migration.replaces:
            return [(migration.app_label, migration.name, migration)]
        return [
            (app_label, name, self.loader.disk_migrations.get((app_label, name), migration))
            for app_label, name in migration.replaces
        ]

    def _unrecorded_keys(self):
        return {
            (app_label, name)
            for migration, *_ in self._unrecorded
            for app_label, name, _ in self._history_keys(migration)
        }

    def _retryable(self, migration):
        # Inside a caller's transaction a failed statement aborts that transaction: no retry.
        return migration.atomic and not self.connection.in_atomic_block

    def _timings(self):
        duration_ms = (time.monotonic() - self._started) * 1000 if self._started else None
        return duration_ms, self._lock_wait * 1000

    def _resumable(self, migration):
        """``migration``, less the concurrent index builds and drops an interrupted earlier run
        already finished (they stay as state changes). Statements run one by one outside a
        transaction, so a rerun must start where the last one stopped, not fail on an index that
        already exists."""
        operations, done = [], []
        for operation in migration.operations:
            if isinstance(operation, AddIndexConcurrently) and self._index_exists(
                operation.index.name
            ):
                done.append(f"index {operation.index.name} is already built")
            elif isinstance(operation, RemoveIndexConcurrently) and not self._index_exists(
                operation.name
            ):
                done.append(f"index {operation.name} is already dropped")
            else:
                operations.append(operation)
                continue
            operations.append(migrations.SeparateDatabaseAndState(state_operations=[operation]))
        if not done:
            return migration
        self.report(
            f"  Resuming {migration.app_label}.{migration.name} where an interrupted run "
            f"stopped: {'; '.join(done)}."
        )
        resumed = copy.copy(migration)
        resumed.operations = operations
        resumed.resumes = migration  # recorded, and checksummed, as the migration on disk
        return resumed

    def _index_exists(self, name):
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [self.connection.ops.quote_name(name)]
            )
            return cursor.fetchone()[0]

    def record_migration(self, migration):
        """The history rows of ``migration``, its checksum rows and the run's count, in one
        statement (``ledger.record_migration``) once the ledger tables exist."""
        migration = getattr(migration, "resumes", migration)
        duration_ms, lock_wait_ms = self._timings()
        self._unrecorded.append((migration, duration_ms, lock_wait_ms))
        if not self._ledger_ready:
            # Asked once, then again only after a migration of the ledger's own app: no other
            # creates its tables.
            if not self._ledger_checked or migration.app_label == ledger.APP_LABEL:
                self._ledger_checked = True
                self._ledger_ready = ledger.exists(self.connection)
            if not self._ledger_ready:
                super().record_migration(migration)
                return  # checksums recorded with the migration that creates the ledger tables
            # Applied by an earlier, interrupted run before the ledger existed: baselined now.
            checksums.baseline(
                self.connection,
                self.loader,
                skip=self._unrecorded_keys(),
                recorded=ledger.read_checksums(self.connection),
            )
        ledger.record_migration(
            self.connection,
            [(app_label, name) for app_label, name, _ in self._history_keys(migration)],
            [
                (
                    app_label,
                    name,
                    checksums.migration_checksum(recorded),
                    checksums.ALGORITHM,
                    pending_duration_ms,
                    pending_lock_wait_ms,
                )
                for pending, pending_duration_ms, pending_lock_wait_ms in self._unrecorded
                for app_label, name, recorded in self._history_keys(pending)
            ],
            run_id=self.session.run_id if self.session is not None else None,
            applied_count=len(self._unrecorded),
        )
        self._unrecorded = []

    def unapply_migration(self, state, migration, fake=False):
        # The rollback command unapplies through here, after its data-loss guards.
        self._started, self._lock_wait = time.monotonic(), 0.0
        whole = self._one_transaction(migration, "unapply", fake)
        with whole if migration.atomic else contextlib.nullcontext():
            state = super().unapply_migration(state, migration, fake=fake)
            if ledger.exists(self.connection):
                for app_label, name, _ in self._history_keys(migration):
                    ledger.forget_checksum(self.connection, app_label, name)
        self._log(migration, "unapplied")
        return state

    def _log(self, migration, outcome, **extra):
        """One structured event per outcome. Text logs skip the ones the command has already
        printed (``ledgerflow.observability.logs.SkipPrinted``): Django's "Applying x... OK"
        line, or this executor's report of a retry."""
        printed = (outcome in ("applied", "unapplied") and self.progress_callback is not None) or (
            outcome == "retrying" and self.session is not None
        )
        duration_ms, lock_wait_ms = self._timings()
        if outcome == "applied":
            self.applied.append((migration.app_label, migration.name, duration_ms, lock_wait_ms))
            if self.session is not None:
                self.session.applied += 1
        level = logging.INFO if outcome in ("applied", "retrying", "unapplied") else logging.ERROR
        logger.log(
            level,
            "migration %s.%s %s in %.1f ms (lock wait %.1f ms)",
            migration.app_label,
            migration.name,
            outcome,
            duration_ms,
            lock_wait_ms,
            extra={
                "app": migration.app_label,
                "migration": migration.name,
                "duration_ms": round(duration_ms, 1),
                "lock_wait_ms": round(lock_wait_ms, 1),
                "outcome": outcome,
                "_printed": printed,
                **extra,
            },
        )

    def _lock_timeout_error(self, migration, attempts, exc):
        blockers = catalog.describe_blockers(catalog.blocking_sessions(self.connection))
        if not migration.atomic:
            return MigrationLockTimeout(
                f"Non-atomic migration {migration.app_label}.{migration.name} could not get a "
                f"lock within lock_timeout ({settings.MIGRATION_LOCK_TIMEOUT:g}s). It is not "
                "retried, because the statements before the failing one have already run; it "
                "stays unapplied, and an index it left INVALID is rebuilt on the next run. "
                f"Blocking sessions: {blockers}. Run migrate again once they finish."
            )
        return MigrationLockTimeout(
            f"Migration {migration.app_label}.{migration.name} could not get its table locks "
            f"within lock_timeout ({settings.MIGRATION_LOCK_TIMEOUT:g}s) in {attempts} attempt(s); "
            f"it was rolled back and nothing of it is applied. Blocking sessions: {blockers}. "
            "Let those transactions finish (or end them) and run migrate again, or raise "
            "MIGRATION_LOCK_TIMEOUT / MIGRATION_RETRIES."
        )

    def _rebuild_invalid_indexes(self, migration):
        wanted = set(concurrent_index_names(migration))
        if not wanted:
            return
        for index, table in catalog.invalid_indexes(self.connection):
            if index in wanted:
                self.report(
                    f"  Index {index} on {table} is INVALID (an earlier concurrent build was "
                    f"interrupted); dropping it so {migration.app_label}.{migration.name} "
                    "rebuilds it."
                )
                with self.connection.cursor() as cursor:
                    cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(index)}")
                logger.warning(
                    "dropped INVALID index %s on %s before rebuilding it",
                    index,
                    table,
                    extra={"app": migration.app_label, "migration": migration.name},
                )


def install():
    """Make Django's ``migrate`` build this executor; ``False`` (nothing changed) when the
    installed Django is not the verified release. Called once, from the app's ``ready``."""
    from django.core.management.commands import migrate

    if django.VERSION[:2] != VERIFIED_DJANGO:
        return False
    migrate.MigrationExecutor = SafeMigrationExecutor
    return True


def installed():
    from django.core.management.commands import migrate

    return migrate.MigrationExecutor is SafeMigrationExecutor


def not_installed_error():
    """Why ``migrate`` refuses to run on a Django release the executor was not verified with."""
    verified = ".".join(map(str, VERIFIED_DJANGO))
    return CommandError(
        f"migrate refuses to run: the installed Django is {django.get_version()}, but the "
        f"migration executor (ledgerflow/migrating/executor.py) was verified against Django "
        f"{verified} only, so it was not installed and migrations would run without their "
        f"locks, retries, checksums and crash-safe recording. Install Django {verified}.x "
        "(pyproject.toml pins it), or check the executor against the new release and raise "
        "VERIFIED_DJANGO. Nothing was changed."
    )
