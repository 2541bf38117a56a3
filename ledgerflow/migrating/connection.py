"""The direct connection migrate needs when the normal route is a transaction-pooling PgBouncer."""

from django.conf import settings
from django.db import connections

from ledgerflow.db.urls import database_config


def use_direct_connection(alias="default"):
    """Point ``alias`` at ``MIGRATION_DATABASE_URL`` when it is set; returns whether it did.

    Session advisory locks and session ``SET``s only mean something on a connection PgBouncer
    does not share between clients, so deploy tooling must reach PostgreSQL (or a session-mode
    pool) directly."""
    url = settings.MIGRATION_DATABASE_URL
    if not url:
        return False
    connection = connections[alias]
    direct = database_config(
        url,
        connect_timeout=settings.DATABASES[alias]["OPTIONS"].get("connect_timeout", 10),
        variable="MIGRATION_DATABASE_URL",
    )
    if all(connection.settings_dict.get(key) == value for key, value in direct.items()):
        return True  # already there: keep the session (and whatever it holds)
    connection.close()
    connection.settings_dict = {**connection.settings_dict, **direct}
    return True
