"""The migrations console: a read-only admin page. Applying stays in deploys."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.template.response import TemplateResponse

from ledgerflow.console.migration_state import durations_from_status, migration_state
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.checksums import checksum_mismatches
from ledgerflow.migrating.lock import lock_holder
from ledgerflow.migrating.status import migration_status
from ledgerflow.schema.drift import detect_drift

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    value: Any = None
    error: str = ""


def read(function, connection):
    """``function(connection)`` as a ``Reading``: a failure is shown on the page, never a 500."""
    try:
        return Reading(value=function(connection))
    except Exception as exc:
        logger.exception("The migrations console could not read %s", function.__name__)
        return Reading(error=f"{type(exc).__name__}: {exc}")


def migrations_console(request, site):
    status = read(migration_status, connection)
    durations = durations_from_status(status.value) if status.value else {}
    state = migration_state(connection, durations=durations)
    reported_at_head = status.value.get("at_head") if isinstance(status.value, dict) else None
    context = {
        **site.each_context(request),
        "title": "Migrations",
        "target": describe_target(connection.settings_dict),
        "state": state,
        "status": status,
        "reported_at_head": reported_at_head,
        "lock": read(lock_holder, connection),
        "checksums": read(checksum_mismatches, connection),
        "drift": read(detect_drift, connection),
    }
    return TemplateResponse(request, "admin/ledgerflow/console/migrations.html", context)
