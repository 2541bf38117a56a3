import pytest
from django.db import connection

from ledgerflow.db.introspection import schema_snapshot
from ledgerflow.health import cache, features
from tests.health import standins


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def installed_features(monkeypatch, transactional_db):
    """Checksums, migration status and drift "installed" as the stand-ins in ``standins``."""
    standins.reset()
    with connection.cursor() as cursor:
        standins.state["expected_snapshot"] = schema_snapshot(cursor)
    for feature, function in (
        ("checksums", "checksum_mismatches"),
        ("migration_status", "migration_status"),
        ("drift", "detect_drift"),
    ):
        monkeypatch.setitem(features.FEATURES, feature, ("tests.health.standins", function))
    yield standins.state
    standins.reset()


@pytest.fixture
def features_not_installed(monkeypatch):
    """A release without the checksum, status and drift features (their modules absent)."""
    for feature, (_module, function) in list(features.FEATURES.items()):
        monkeypatch.setitem(features.FEATURES, feature, ("tests.health.not_installed", function))


@pytest.fixture
def migration_rows(transactional_db):
    """Lets a test edit ``django_migrations`` (committed, so the checks' own connection sees it)
    and puts every row back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM django_migrations")
        columns = [column.name for column in cursor.description]
        saved = cursor.fetchall()

    def execute(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    yield execute
    column_list = ", ".join(f'"{name}"' for name in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations")
        cursor.executemany(
            f"INSERT INTO django_migrations ({column_list}) VALUES ({placeholders})", saved
        )


@pytest.fixture
def orders_note_column(transactional_db):
    """Adds a column the migrations never made (drift), dropped again afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders ADD COLUMN note text")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders DROP COLUMN note")
