import pytest
from django.db import connection

from ledgerflow.health import cache, checks
from ledgerflow.migrating import checksums, ledger
from ledgerflow.schema.drift import detect_drift


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def drift_calls(monkeypatch):
    """Counts the calls of the real ``detect_drift`` made through the readiness checks."""
    calls = []

    def counting(connection):
        calls.append(connection.alias)
        return detect_drift(connection)

    monkeypatch.setattr(checks, "detect_drift", counting)
    return calls


@pytest.fixture
def edited_checksum(transactional_db):
    """Records ``app.name``'s checksum as ``migrate`` does, then makes the recorded value differ
    from the code's (as if the migration file had been edited after it was applied). The ledger
    is put back as it was afterwards."""
    saved = []

    def edit(app, name):
        saved.append((app, name, ledger.recorded_checksums(connection).get((app, name))))
        assert checksums.record_applied(connection, app, name) is not None
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ledgerflow_migration_checksums SET checksum = %s WHERE app = %s AND name = %s",
                ["0" * 64, app, name],
            )

    yield edit
    for app, name, row in saved:
        ledger.forget_checksum(connection, app, name)
        if row is not None:
            checksums.record_applied(
                connection,
                app,
                name,
                row["checksum"],
                duration_ms=row["duration_ms"],
                lock_wait_ms=row["lock_wait_ms"],
                baselined=row["baselined"],
                applied_by=row["applied_by"],
            )


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
