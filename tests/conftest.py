import pytest
from django.conf import settings

from ledgerflow.db import embedded


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """Without DATABASE_URL the suite runs on the embedded PostgreSQL: start it first."""
    if settings.USES_EMBEDDED_DATABASE:
        embedded.ensure_running(settings.BASE_DIR)


@pytest.fixture
def live_database_url(db):
    """A DATABASE_URL for the (migrated) test database, for child processes."""
    from django.db import connection

    from tests.support.databases import database_url

    return database_url(connection.settings_dict["NAME"])
