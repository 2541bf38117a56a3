"""Drift detection: each hand edit named, a clean database reports nothing, nothing is written."""

import json

import pytest
from django.db import connection

from ledgerflow.schema.drift import detect_drift
from tests.schema.behaviour_edits import BEHAVIOUR_EDITS
from tests.schema.legacy import build_legacy_database, execute
from tests.support.databases import connect, database_url, manage, scratch_database


def test_freshly_migrated_database_has_no_drift(db):
    assert detect_drift(connection) == []


@pytest.mark.parametrize(
    ("edit", "kind", "name", "description"),
    [
        (
            "DROP INDEX idx_orders_status",
            "index",
            "idx_orders_status",
            "is missing",
        ),
        (
            "ALTER TYPE order_status ADD VALUE 'refunded'",
            "enum",
            "order_status",
            "unexpected labels ['refunded']: expected ['pending', 'completed', 'failed', "
            "'cancelled'], found ['pending', 'completed', 'failed', 'cancelled', 'refunded']",
        ),
        (
            "ALTER TYPE order_status ADD VALUE 'refunded' BEFORE 'completed'",
            "enum",
            "order_status",
            "unexpected labels ['refunded']: expected ['pending', 'completed', 'failed', "
            "'cancelled'], found ['pending', 'refunded', 'completed', 'failed', 'cancelled']",
        ),
        (
            "DROP TRIGGER update_users_updated_at ON users",
            "trigger",
            "update_users_updated_at",
            "is missing",
        ),
        (
            "ALTER TABLE orders DISABLE TRIGGER update_orders_updated_at",
            "trigger",
            "update_orders_updated_at",
            "trigger is disabled, expected enabled",
        ),
        (
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'failed'",
            "column",
            "orders.status",
            "default differs: expected \"'pending'::order_status\", "
            "found \"'failed'::order_status\"",
        ),
        (
            "ALTER TABLE deposit_events ALTER COLUMN processed DROP DEFAULT",
            "column",
            "deposit_events.processed",
            "default differs: expected 'false', found None",
        ),
        (
            "CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger AS $$ "
            "BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
            "function",
            "update_updated_at_column()",
            "body differs: expected 'BEGIN NEW.updated_at = NOW(); RETURN NEW; END;', "
            "found 'BEGIN RETURN NEW; END;'",
        ),
        (
            "ALTER SEQUENCE deposit_events_id_seq INCREMENT BY 10",
            "sequence",
            "deposit_events_id_seq",
            "increment differs: expected 1, found 10",
        ),
        (
            "ALTER TABLE accounts ADD COLUMN note text",
            "column",
            "accounts.note",
            "column is not expected",
        ),
    ],
)
def test_hand_edit_is_named(db, edit, kind, name, description):
    with connection.cursor() as cursor:
        cursor.execute(edit)  # inside the test's transaction: rolled back afterwards

    differences = detect_drift(connection)

    assert [(d.kind, d.name, d.description) for d in differences] == [(kind, name, description)]


@pytest.mark.parametrize(("edit", "kind", "name", "description"), BEHAVIOUR_EDITS)
def test_behaviour_changing_edit_is_named(db, edit, kind, name, description):
    with connection.cursor() as cursor:
        cursor.execute(edit)  # inside the test's transaction: rolled back afterwards

    differences = detect_drift(connection)

    assert [(d.kind, d.name, d.description) for d in differences] == [(kind, name, description)]
    assert differences[0].fix_sql is None  # none of these has a repair that is safe to run


def test_differences_are_json_serialisable(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_orders_status")

    payload = json.loads(json.dumps([d.as_dict() for d in detect_drift(connection)]))

    assert payload[0]["kind"] == "index"
    assert payload[0]["fix_sql"].startswith("CREATE INDEX CONCURRENTLY idx_orders_status")


def test_detect_drift_writes_nothing_and_runs_in_a_read_only_session():
    with scratch_database("lf_drift") as name:
        build_legacy_database(name)
        with connect(name, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = on")
            objects_before = conn.execute("SELECT count(*) FROM pg_class").fetchone()

            differences = detect_drift(conn)

            assert conn.execute("SELECT count(*) FROM pg_class").fetchone() == objects_before
    assert [(d.kind, d.name) for d in differences] == [("migration_state", "django_migrations")]
    assert "run `manage.py adopt_sqlx`" in differences[0].description


def test_database_without_migrations_has_no_expectation():
    with scratch_database("lf_drift") as name, connect(name) as conn:
        differences = detect_drift(conn)

    assert len(differences) == 1
    assert differences[0].description == (
        "drift cannot be checked: no migrations of this project are recorded; "
        "run `manage.py migrate`"
    )


def test_database_ahead_of_the_code_is_reported_not_compared(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('orders', '0099_from_a_newer_release', now())"
        )

    differences = detect_drift(connection)

    assert [(d.kind, d.name) for d in differences] == [("migration_state", "django_migrations")]
    assert "orders.0099_from_a_newer_release" in differences[0].description


def test_schema_drift_command_exits_non_zero_naming_each_drifted_object():
    with scratch_database("lf_drift") as name:
        url = database_url(name)
        manage("migrate", "--no-input", database_url_value=url)
        clean = manage("schema_drift", database_url_value=url)
        execute(
            name,
            "DROP INDEX idx_orders_status; ALTER TYPE order_status ADD VALUE 'refunded';"
            "ALTER TABLE users DISABLE TRIGGER update_users_updated_at;"
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'failed';",
        )

        drifted = manage("schema_drift", "--json", database_url_value=url, check=False)

    report = json.loads(drifted.stdout)
    assert clean.stdout.startswith("no drift")
    assert drifted.returncode == 1
    assert report["drift"] is True
    assert sorted((d["kind"], d["name"]) for d in report["differences"]) == [
        ("column", "orders.status"),
        ("enum", "order_status"),
        ("index", "idx_orders_status"),
        ("trigger", "update_users_updated_at"),
    ]


def test_schema_drift_against_another_database():
    with scratch_database("lf_drift") as first, scratch_database("lf_drift") as second:
        for name in (first, second):
            manage("migrate", "--no-input", database_url_value=database_url(name))
        same = manage(
            "schema_drift",
            "--against",
            database_url(second),
            database_url_value=database_url(first),
        )
        execute(second, "DROP TRIGGER update_chain_states_updated_at ON chain_states")

        different = manage(
            "schema_drift",
            "--against",
            database_url(second),
            database_url_value=database_url(first),
            check=False,
        )

    assert same.returncode == 0
    assert different.returncode == 1
    assert "trigger update_chain_states_updated_at: is missing" in different.stdout


def test_schema_drift_against_an_unreachable_database_is_a_clear_error(db):
    result = manage(
        "schema_drift",
        "--against",
        "postgres://nobody:secret@127.0.0.1:1/none",
        database_url_value=database_url(connection.settings_dict["NAME"]),
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(
        'CommandError: cannot connect to --against database "none" on 127.0.0.1:1 as user '
        '"nobody": connection failed:'
    )
    assert "secret" not in result.stderr
