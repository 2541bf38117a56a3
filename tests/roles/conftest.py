"""Login roles for the service-role tests: created once per run with unique names (roles are
cluster-wide and the server is shared), dropped at the end with whatever they were granted."""

import uuid
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from django.db import DatabaseError, connection, transaction

from ledgerflow.roles.services import SERVICES
from tests.support.databases import connect, server_conninfo

ROLE_KINDS = (*(service.name for service in SERVICES), "outsider", "nobody", "grantor")


@pytest.fixture(scope="session")
def role_names(django_db_setup, django_db_blocker):
    """``{kind: role}``: one login role per service, plus ``outsider`` (named in no setting),
    ``nobody`` (granted nothing) and ``grantor`` (for grants made by a non-owner)."""
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"lf_test_{suffix}_{kind}" for kind in ROLE_KINDS}
    with connect("postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE ROLE "{name}" LOGIN')
    yield names
    with django_db_blocker.unblock():
        test_database = connection.settings_dict["NAME"]
    with connect(test_database, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP OWNED BY "{name}"')
    with connect("postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def service_roles(settings, role_names):
    """The four settings name this run's roles; ``{service: role}``."""
    for service in SERVICES:
        setattr(settings, service.setting, role_names[service.name])
    return {service.name: role_names[service.name] for service in SERVICES}


@contextmanager
def as_role(role):
    """Statements on Django's connection run as ``role`` (inside the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def attempt(sql, params=()):
    """``None`` when ``sql`` runs, else the database's message; nothing it did is kept."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            transaction.set_rollback(True)
    except DatabaseError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def url_as(role, dbname):
    """``DATABASE_URL`` of ``dbname`` on the test server, connecting as ``role`` (trust auth)."""
    info = server_conninfo(dbname)
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgres://{role}@{quote(info.get('host', ''), safe='')}{port}/{dbname}"
