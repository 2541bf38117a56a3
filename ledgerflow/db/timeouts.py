"""How long a statement waits for a table lock: ``lock_timeout``, and reads that give up on one.

A statement queued behind a lock makes every later query on that table queue behind it, so the
project's DDL, locks and probes wait a bounded time and then fail with ``LOCK_NOT_AVAILABLE``
(``ledgerflow.db.errors.is_lock_timeout``) instead.
"""

import math

from django.db import transaction

# Seconds a probe (readiness, metrics, the migrations console) waits for a table lock: a running
# migrate holds django_migrations, and a probe must answer "locked" long before a proxy times out.
PROBE_LOCK_TIMEOUT = 1.0


def set_lock_timeout(cursor, seconds, *, local=True):
    """Let statements on ``cursor`` wait at most ``seconds`` for a lock (0: as long as it takes),
    until the transaction ends (``local``) or for the rest of the session. Milliseconds are
    rounded up, so a positive wait never becomes 0, which PostgreSQL reads as no limit."""
    milliseconds = math.ceil(seconds * 1000) if seconds > 0 else 0
    cursor.execute("SELECT set_config('lock_timeout', %s, %s)", [f"{milliseconds}ms", local])


def behind_lock_timeout(function, connection, seconds=PROBE_LOCK_TIMEOUT):
    """``function(connection)`` in a transaction that gives up after ``seconds`` on a lock (a
    running migrate holds ``django_migrations``) instead of queueing the reading behind it."""
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            set_lock_timeout(cursor, seconds)
        return function(connection)
