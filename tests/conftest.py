import subprocess

import pytest
from django.conf import settings

from ledgerflow.db import embedded
from tests.support import databases


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Without DATABASE_URL the suite runs on the embedded PostgreSQL: start it first. Each
    pytest-xdist worker keeps its own test database (``test_<name>_gw0``, ...): the suffix
    fixture this one overrides must still run."""
    if settings.USES_EMBEDDED_DATABASE:
        embedded.ensure_running(settings.BASE_DIR)


@pytest.fixture(scope="session", autouse=True)
def _drop_the_migrated_template():
    """The template ``migrated_database`` copies is built on first use; dropped at the end."""
    yield
    databases.drop_migrated_template()


@pytest.fixture(autouse=True)
def _processes_only_where_marked(request, monkeypatch):
    """Keeps the fast lane (``-m "not process"``) fast and the marker true: a test that starts a
    process or creates a database fails unless it is marked ``process``."""
    if request.node.get_closest_marker("process"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError(
            f"{request.node.nodeid} starts a process or creates a database: "
            "mark it @pytest.mark.process"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(databases, "_create_database", refuse)


@pytest.fixture
def live_database_url(db):
    """A DATABASE_URL for the (migrated) test database, for child processes."""
    from django.db import connection

    return databases.database_url(connection.settings_dict["NAME"])
