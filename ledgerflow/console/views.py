"""The migrations console: a read-only admin page. Applying stays in deploys."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.template.response import TemplateResponse

from ledgerflow.console.overview import migrations_overview
from ledgerflow.db.errors import is_lock_timeout
from ledgerflow.db.timeouts import behind_lock_timeout
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.checksums import checksum_mismatches
from ledgerflow.migrating.history import migration_history
from ledgerflow.migrating.ledger import recorded_checksums
from ledgerflow.migrating.lock import lock_holder
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
    """Each source is read once: the history, the checksum ledger (durations and mismatches
    both come from it), the lock holder and the drift."""
    history = read(migration_history, connection)
    recorded = locked(history) or read(recorded_checksums, connection)

    def changed_checksums(connection):
        loader = history.value.loader if history.value else None
        return checksum_mismatches(connection, loader, recorded=recorded.value)

    def overview(connection):
        return migrations_overview(connection, history.value, recorded.value or {})

    checksums = (
        locked(history, recorded)
        or (recorded if recorded.error else None)
        or read(changed_checksums, connection, lock_timeout=False)
    )
    # detect_drift reads in its own read-only snapshot with its own lock timeout; the plan's SQL
    # is rendered outside a transaction (operations that run outside one refuse to inside it).
    drift = locked(history) or read(detect_drift, connection, lock_timeout=False)
    state = history if history.error else read(overview, connection, lock_timeout=False)
    context = {
        **site.each_context(request),
        "title": "Migrations",
        "target": describe_target(connection.settings_dict),
        "state": state.value,
        "state_error": state.error,
        "durations": recorded,
        "lock": read(lock_holder, connection, lock_timeout=False),
        "checksums": checksums,
        "drift": drift,
    }
    return TemplateResponse(request, "admin/ledgerflow/console/migrations.html", context)
