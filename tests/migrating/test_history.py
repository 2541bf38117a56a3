"""The migration history: one read of ``django_migrations`` against the graph on disk."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledgerflow.migrating.history import (
    SCHEMA_VERSION_SQL,
    code_loader,
    code_schema_version,
    migration_history,
    read_history,
)
from tests.migrating.support import MigrationsCopy
from tests.support.databases import connect, scratch_database

pytestmark = pytest.mark.django_db

ORDERS_0001 = ("orders", "0001_create_order_status_and_orders")

STEP = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("users", "{previous}")]
    operations = [migrations.RunSQL("SELECT 1", "SELECT 1")]
"""

SQUASH = """from django.db import migrations


class Migration(migrations.Migration):
    replaces = [("users", "0002_step_a"), ("users", "0003_step_b")]
    dependencies = [("users", "0001_create_users")]
    operations = [migrations.RunSQL("SELECT 1", "SELECT 1")]
"""


def _execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _record(app, name):
    _execute(
        "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())", [app, name]
    )


def test_a_migrated_database_is_read_with_one_query_of_django_migrations():
    assert code_loader() is code_loader()  # the graph is loaded once per process

    with CaptureQueriesContext(connection) as queries:
        history = migration_history(connection)

    reads = [q["sql"] for q in queries.captured_queries if "FROM django_migrations" in q["sql"]]
    assert len(reads) == 1
    assert history.at_head is True
    assert (history.pending, history.unknown, history.inconsistency) == ([], [], "")
    assert ORDERS_0001 in history.applied_keys
    assert history.applied_at[ORDERS_0001] is not None
    assert history.plan() == []


def test_applied_migrations_keep_the_order_they_were_applied_in():
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY applied, id")
        recorded = cursor.fetchall()

    history = migration_history(connection)

    assert list(history.applied_keys) == recorded
    assert [m.key for m in history.applied] == recorded


def test_pending_and_unknown_migrations_are_not_at_head():
    _execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", ORDERS_0001)
    _record("users", "0099_from_a_newer_release")
    _record("an_uninstalled_app", "0001_initial")

    history = migration_history(connection)

    assert history.pending == [ORDERS_0001]
    assert history.unknown == [("users", "0099_from_a_newer_release")]
    assert history.at_head is False
    assert [(m.app_label, m.name) for m in history.plan()] == [ORDERS_0001]


def test_a_gap_below_an_applied_migration_is_pending_and_inconsistent():
    _execute("DELETE FROM django_migrations WHERE app = 'contenttypes' AND name = '0001_initial'")

    history = migration_history(connection)

    assert history.pending == [("contenttypes", "0001_initial")]
    assert history.plan() == []  # Django's plan starts from each app's applied leaf
    assert history.inconsistency.endswith("dependency contenttypes.0001_initial.")


def test_the_state_key_and_schema_version_are_the_project_apps_only():
    history = migration_history(connection)
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_VERSION_SQL.rstrip(";"))
        services_read = cursor.fetchone()[0]

    assert history.schema_version == services_read == code_schema_version()
    assert "users.0001_create_users" in history.state_key
    assert not [key for key in history.state_key if key.startswith(("auth.", "contenttypes."))]
    assert list(history.state_key) == sorted(history.state_key)


def test_a_database_without_django_migrations_has_everything_pending_and_creates_nothing():
    with scratch_database() as db, connect(db) as conn, conn.cursor() as cursor:
        history = read_history(cursor)
        cursor.execute("SELECT to_regclass('django_migrations')")
        created = cursor.fetchone()[0]

    assert (history.recorder_exists, history.applied, history.at_head) == (False, (), False)
    assert len(history.pending) == len(code_loader().graph.nodes)
    assert (history.state_key, history.schema_version) == ((), None)
    assert created is None


@pytest.fixture
def squashed_users(tmp_path, monkeypatch, settings):
    """The users app with 0002 and 0003 squashed; the cached graph follows the setting."""
    users = MigrationsCopy(tmp_path, "users")
    users.write("0002_step_a.py", STEP.format(previous="0001_create_users"))
    users.write("0003_step_b.py", STEP.format(previous="0002_step_a"))
    users.write("0002_squashed_0003.py", SQUASH)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"users": users.package}
    return users


def test_a_squash_is_applied_when_everything_it_replaces_is(squashed_users):
    squash = ("users", "0002_squashed_0003")
    assert squash in code_loader().graph.nodes
    assert migration_history(connection).pending == [squash]

    _record("users", squash[1])  # its own row alone does not count, as in Django
    assert migration_history(connection).pending == [squash]

    _record("users", "0002_step_a")
    _record("users", "0003_step_b")
    history = migration_history(connection)
    assert history.at_head is True
    assert history.migrations_of("users") == [("users", "0001_create_users"), squash]


def test_a_partly_applied_squash_is_followed_through_what_it_replaces(squashed_users):
    _record("users", "0002_step_a")

    history = migration_history(connection)

    assert history.pending == [("users", "0003_step_b")]
    assert history.unknown == []
    assert [(m.app_label, m.name) for m in history.plan()] == [("users", "0003_step_b")]
    assert [name for _app, name in history.migrations_of("users")] == [
        "0001_create_users",
        "0002_step_a",
        "0003_step_b",
    ]
