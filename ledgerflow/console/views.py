"""The migrations console: a read-only admin page. Applying stays in deploys."""

from django.db import connection
from django.template.response import TemplateResponse

from ledgerflow.console import features
from ledgerflow.console.migration_state import durations_from_status, migration_state
from ledgerflow.db.urls import describe_target


def migrations_console(request, site):
    status = features.probe("migration_status", connection)
    durations = durations_from_status(status.value) if status.value else {}
    state = migration_state(connection, durations=durations)
    reported_at_head = status.value.get("at_head") if isinstance(status.value, dict) else None
    context = {
        **site.each_context(request),
        "title": "Migrations",
        "target": describe_target(connection.settings_dict),
        "state": state,
        "status_feature": status,
        "reported_at_head": reported_at_head,
        "lock": features.probe("lock_holder", connection),
        "checksums": features.probe("checksum_mismatches", connection),
        "drift": features.probe("drift", connection),
    }
    return TemplateResponse(request, "admin/ledgerflow/console/migrations.html", context)
