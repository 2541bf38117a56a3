"""One migration session: what every command that changes the migration state holds while it works.

``migrate``, ``rollback`` and ``adopt_sqlx`` open one with ``migration_session``: the connection is
pointed at ``MIGRATION_DATABASE_URL`` when set (a session lock behind a transaction-pooling
PgBouncer protects nothing), the migration advisory lock is taken (waiting at most
``MIGRATION_LOCK_WAIT_TIMEOUT``), ``lock_timeout`` and ``statement_timeout`` are set for the block
and put back afterwards, and a ``migrate`` run is recorded in ``ledgerflow_migrate_runs``.
``restore`` works in one transaction of its own connection, so it holds the same lock for that
transaction (``lock.try_acquire_for_transaction``) instead of waiting for it.

The executor finds the session of its connection with ``current``: that is how the executor Django's
own ``migrate`` builds learns about the run it counts and the checks to make before applying.
"""

import contextlib
import contextvars
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ledgerflow.migrating import ledger, lock, timeouts
from ledgerflow.migrating.connection import use_direct_connection

_active = contextvars.ContextVar("ledgerflow_migration_session", default=None)


@dataclass
class MigrationSession:
    connection: object
    waited: float  # seconds spent waiting for the migration lock
    report: Callable[[str], None]
    # Called by the executor with Django's plan before anything is applied (migrate's checks).
    before_apply: Callable | None = None
    run_id: int | None = None
    applied: int = 0  # migrations committed so far
    _recording: bool = False

    def start_run(self, ledger_exists=None):
        """Record this run in ``ledgerflow_migrate_runs`` (later, if the tables are not there yet:
        a fresh database gets them from its first migrations). ``ledger_exists``: whether they
        are, when the caller knows."""
        self._recording = True
        if ledger_exists is None:
            ledger_exists = ledger.exists(self.connection)
        if ledger_exists:
            self.run_id = ledger.start_run(self.connection, lock_wait_ms=self.waited * 1000)

    def _finish(self, started, outcome, error=""):
        if not self._recording:
            return
        if self.connection.in_atomic_block and self.connection.needs_rollback:
            return
        if self.run_id is None:
            if outcome == "failed" or not ledger.exists(self.connection):
                return
            self.start_run(ledger_exists=True)  # the ledger tables were created by this run
        ledger.finish_run(
            self.connection,
            self.run_id,
            duration_ms=(time.monotonic() - started) * 1000,
            outcome=outcome,
            error=error,
            applied_count=self.applied,
        )


def current(connection):
    """The migration session open on ``connection`` in this thread, or ``None``."""
    session = _active.get()
    return session if session is not None and session.connection is connection else None


@contextlib.contextmanager
def migration_session(
    using=DEFAULT_DB_ALIAS, *, lock_wait_timeout=None, lock_timeout=None, report=print
):
    """Hold the migration lock with bounded lock and statement timeouts; yields the session.

    ``lock_wait_timeout`` bounds the wait for another run's lock (default
    ``MIGRATION_LOCK_WAIT_TIMEOUT``), ``lock_timeout`` each statement's wait for table locks
    (default ``MIGRATION_LOCK_TIMEOUT``); ``report`` receives the lines naming the holder while
    waiting. The connection's own settings are restored on the way out."""
    if using == DEFAULT_DB_ALIAS:
        use_direct_connection(using)
    connection = connections[using]
    waited = lock.acquire(connection, timeout=lock_wait_timeout, report=report)
    session = MigrationSession(connection, waited, report)
    started = time.monotonic()
    token = _active.set(session)
    try:
        with timeouts.session_timeouts(connection, lock_timeout=lock_timeout):
            yield session
        session._finish(started, "succeeded")
    except BaseException as exc:
        # The original error matters more than the bookkeeping row.
        with contextlib.suppress(DatabaseError):
            session._finish(started, "failed", str(exc)[:2000])
        raise
    finally:
        _active.reset(token)
        lock.release(connection)
