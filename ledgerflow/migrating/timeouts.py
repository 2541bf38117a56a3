"""The session timeouts of a migrate run.

Every statement ``migrate`` runs carries ``lock_timeout`` (so DDL never queues for long behind a
service's transaction while every later query of the services queues behind the DDL) and
``statement_timeout``. A lock timeout surfaces as SQLSTATE 55P03
(``ledgerflow.db.errors.is_lock_timeout``), which ``executor`` retries for atomic migrations only;
who blocked it is read by ``ledgerflow.db.catalog``.
"""

import contextlib

from django.conf import settings
from django.db import Error as DjangoDatabaseError


def _ms(seconds):
    return round(seconds * 1000)


_SESSION_SETTINGS = ("lock_timeout", "statement_timeout", "client_connection_check_interval")


@contextlib.contextmanager
def session_timeouts(connection, *, lock_timeout=None):
    """``lock_timeout`` (seconds, default ``MIGRATION_LOCK_TIMEOUT``) and ``statement_timeout``
    for the block, on ``connection``'s session; the previous values are put back afterwards, so a
    caller's connection (``call_command``) is left as it was."""
    names = _SESSION_SETTINGS if connection.pg_version >= 140000 else _SESSION_SETTINGS[:2]
    lock_timeout = settings.MIGRATION_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    wanted = {
        "lock_timeout": f"{_ms(lock_timeout)}ms",
        "statement_timeout": f"{_ms(settings.MIGRATION_STATEMENT_TIMEOUT)}ms",
        # A killed migrate's backend would otherwise finish its statement before noticing the
        # client is gone, holding the advisory lock and table locks meanwhile.
        "client_connection_check_interval": "1s",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
        previous = dict(zip(names, cursor.fetchone(), strict=True))
        _set(cursor, {name: wanted[name] for name in names})
    try:
        yield
    finally:
        # A lost connection took the settings with it; a failed transaction must end first.
        if connection.connection is not None and not connection.needs_rollback:
            with contextlib.suppress(DjangoDatabaseError), connection.cursor() as cursor:
                _set(cursor, previous)


def _set(cursor, values):
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in values),
        [item for pair in values.items() for item in pair],
    )
