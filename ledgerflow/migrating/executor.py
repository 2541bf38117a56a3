"""Django's ``MigrationExecutor`` with bounded lock waits, retries, checksums and logging.

Each migration runs with the session's ``lock_timeout``/``statement_timeout``. An atomic migration
that hits the lock timeout has been rolled back whole, so it is retried (``MIGRATION_RETRIES``
times, exponential backoff with jitter); on the last failure the error names the sessions that
hold locks on LedgerFlow tables. A non-atomic migration may have done part of its work, so it is
never retried; before it runs, INVALID indexes it creates concurrently (left by an interrupted
earlier run) are dropped so they are rebuilt. The checksum row is written by ``record_migration``,
inside the migration's transaction when it is atomic.
"""

import logging
import random
import re
import time

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.core.management.base import CommandError
from django.db import DatabaseError, migrations
from django.db.migrations.executor import MigrationExecutor

from ledgerflow.migrating import checksums, timeouts

logger = logging.getLogger("ledgerflow.migrations")

_CONCURRENT_INDEX_RE = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)


class MigrationLockTimeout(CommandError):
    """An atomic migration kept hitting lock_timeout; nothing of it was applied."""


def concurrent_index_names(migration):
    """Names of the indexes ``migration`` builds with CREATE INDEX CONCURRENTLY."""
    names = []
    for operation in migration.operations:
        if isinstance(operation, AddIndexConcurrently):
            names.append(operation.index.name)
        elif isinstance(operation, migrations.RunSQL):
            statements = (
                operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
            )
            for statement in statements:
                text = statement[0] if isinstance(statement, list | tuple) else statement
                names.extend(_CONCURRENT_INDEX_RE.findall(str(text)))
    return names


class SafeMigrationExecutor(MigrationExecutor):
    def __init__(self, connection, progress_callback=None, *, report=None):
        super().__init__(connection, progress_callback)
        self.report = report or (lambda message: None)
        self.applied = []  # (app, name, duration_ms, lock_wait_ms)
        self._started = None
        self._lock_wait = 0.0

    def apply_migration(self, state, migration, fake=False, fake_initial=False):
        self._started = time.monotonic()
        self._lock_wait = 0.0
        label = f"{migration.app_label}.{migration.name}"
        if fake:
            return super().apply_migration(state, migration, fake=fake, fake_initial=fake_initial)
        if not migration.atomic:
            self._rebuild_invalid_indexes(migration)
        retries = settings.MIGRATION_RETRIES if self._retryable(migration) else 0
        attempt = 0
        while True:
            attempt += 1
            # Migration.apply mutates the state it is given; a retry needs the untouched one.
            attempt_state = state.clone() if retries else state
            attempt_started = time.monotonic()
            try:
                new_state = super().apply_migration(
                    attempt_state, migration, fake=fake, fake_initial=fake_initial
                )
            except DatabaseError as exc:
                if not timeouts.is_lock_timeout(exc):
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
                    f"{timeouts.describe_blockers(timeouts.blocking_sessions(self.connection))}"
                )
                self._log(migration, "retrying", attempt=attempt)
                time.sleep(delay)
                self._lock_wait += delay
                continue
            self._log(migration, "applied", attempt=attempt)
            return new_state

    def _retryable(self, migration):
        # Inside a caller's transaction a failed statement aborts that transaction: no retry.
        return migration.atomic and not self.connection.in_atomic_block

    def _timings(self):
        duration_ms = (time.monotonic() - self._started) * 1000 if self._started else None
        return duration_ms, self._lock_wait * 1000

    def record_migration(self, migration):
        super().record_migration(migration)
        duration_ms, lock_wait_ms = self._timings()
        checksums.record_applied(
            self.connection,
            migration.app_label,
            migration.name,
            migration=migration,
            duration_ms=duration_ms,
            lock_wait_ms=lock_wait_ms,
        )

    def unapply_migration(self, state, migration, fake=False):
        # Only reachable through `migrate --allow-backwards`, which the rollback command uses.
        self._started, self._lock_wait = time.monotonic(), 0.0
        state = super().unapply_migration(state, migration, fake=fake)
        checksums.forget_applied(self.connection, migration.app_label, migration.name)
        self._log(migration, "unapplied")
        return state

    def _log(self, migration, outcome, **extra):
        duration_ms, lock_wait_ms = self._timings()
        if outcome == "applied":
            self.applied.append((migration.app_label, migration.name, duration_ms, lock_wait_ms))
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
                **extra,
            },
        )

    def _lock_timeout_error(self, migration, attempts, exc):
        blockers = timeouts.describe_blockers(timeouts.blocking_sessions(self.connection))
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
        for index, table in timeouts.invalid_indexes(self.connection):
            if index in wanted:
                self.report(
                    f"  Index {index} on {table} is INVALID (an earlier concurrent build was "
                    f"interrupted); dropping it so {migration.app_label}.{migration.name} "
                    "rebuilds it."
                )
                with self.connection.cursor() as cursor:
                    cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index}"')
                logger.warning(
                    "dropped INVALID index %s on %s before rebuilding it",
                    index,
                    table,
                    extra={"app": migration.app_label, "migration": migration.name},
                )
