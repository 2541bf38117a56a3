"""The migrations console: a read-only admin page. Applying stays in deploys."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.template.response import TemplateResponse

from ledgerflow.console.migration_state import durations_from_status, migration_state
from ledgerflow.db.errors import is_lock_timeout
from ledgerflow.db.timeouts import behind_lock_timeout
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.checksums import checksum_mismatches
from ledgerflow.migrating.lock import lock_holder
from ledgerflow.migrating.status import migration_status
from ledgerflow.schema.drift import detect_drift

logger = logging.getLogger(__name__)

LOCKED = "django_migrations is locked (a migration is running)"


@dataclass(frozen=True)
class Reading:
    value: Any = None
    error: str = ""


def read(function, connection, *, lock_timeout=True):
    """``function(connection)`` as a ``Reading``: a failure is shown on the page, never a 500.

    With ``lock_timeout`` the reading runs in a transaction that waits at most the readiness
    checks' lock timeout for a table lock: a migration holding ``django_migrations`` would
    otherwise keep the page waiting until it commits, past the proxy's timeout (a 502).
    """
    try:
        if lock_timeout:
            return Reading(value=behind_lock_timeout(function, connection))
        return Reading(value=function(connection))
    except Exception as exc:
        if is_lock_timeout(exc):
            return Reading(error=LOCKED)
        logger.exception("The migrations console could not read %s", function.__name__)
        return Reading(error=f"{type(exc).__name__}: {exc}")


def locked(*readings):
    """The first of ``readings`` that found django_migrations locked, else ``None``. Every
    reading but the lock holder's reads that table: after one timed out the others would each
    wait out their lock timeout too, for the same answer."""
    return next((reading for reading in readings if reading.error == LOCKED), None)


def migrations_console(request, site):
    status = read(migration_status, connection)
    durations = durations_from_status(status.value) if status.value else {}

    def migration_state_with_durations(connection):
        return migration_state(connection, durations=durations)

    # migration_state sets its own lock timeout, only around its reads of django_migrations (the
    # plan's SQL cannot all be rendered inside a transaction).
    state = locked(status) or read(migration_state_with_durations, connection, lock_timeout=False)
    checksums = locked(status, state) or read(checksum_mismatches, connection)
    # detect_drift reads in its own read-only snapshot with its own lock timeout.
    drift = locked(status, state) or read(detect_drift, connection, lock_timeout=False)
    reported_at_head = status.value.get("at_head") if isinstance(status.value, dict) else None
    context = {
        **site.each_context(request),
        "title": "Migrations",
        "target": describe_target(connection.settings_dict),
        "state": state.value,
        "state_error": state.error,
        "status": status,
        "reported_at_head": reported_at_head,
        "lock": read(lock_holder, connection, lock_timeout=False),
        "checksums": checksums,
        "drift": drift,
    }
    return TemplateResponse(request, "admin/ledgerflow/console/migrations.html", context)
