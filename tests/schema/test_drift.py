"""Drift detection: each hand edit named, a clean database reports nothing, nothing is written."""

import copy
import json
import uuid

import pytest
from django.db import connection

from ledgerflow.db.introspection import compare_snapshots, grant_notes
from ledgerflow.schema import expected
from ledgerflow.schema.drift import detect_drift
from ledgerflow.schema.states import head_state
from tests.schema.behaviour_edits import BEHAVIOUR_EDITS
from tests.schema.legacy import build_legacy_database, execute
from tests.support.databases import (
    connect,
    database_url,
    manage,
    migrated_database,
    scratch_database,
)


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


def deposit_events(*numbers, explicit_ids=False):
    """INSERTs of deposit events numbered ``numbers``. With ``explicit_ids`` their ids are those
    numbers: a sequence is not rolled back with a test's transaction, so the ids it hands out
    depend on the tests run before."""
    id_column = "id, " if explicit_ids else ""
    return "".join(
        f"INSERT INTO deposit_events ({id_column}chain_id, contract_address, order_id, sender, "
        "amount, transaction_hash, block_number, log_index) VALUES "
        f"({f'{n}, ' if explicit_ids else ''}1, '0xc1', 'ord-{n}', '0xs', '1', '0xt{n}', {n}, 0);"
        for n in numbers
    )


THREE_DEPOSIT_EVENTS = deposit_events(1, 2, 3, explicit_ids=True)

# Edits that break the services' next statements (or open the tables to every role) while the
# tables' shape is unchanged, each with the one difference drift must report and its fix.
OUTAGE_EDITS = [
    pytest.param(
        # A restore or a hand-run setval left the sequence behind the rows: the next insert
        # takes an id that exists and fails with a duplicate key.
        THREE_DEPOSIT_EVENTS + "SELECT setval('deposit_events_id_seq', 1)",
        "sequence",
        "deposit_events_id_seq",
        "next value 2 is already taken in deposit_events.id (max 3): the next insert that "
        "takes its id from the sequence fails with a duplicate key",
        'SELECT setval(\'"deposit_events_id_seq"\', (SELECT max("id") FROM "deposit_events"));',
        id="sequence-behind",
    ),
    pytest.param(
        THREE_DEPOSIT_EVENTS + "SELECT setval('deposit_events_id_seq', 3, false)",
        "sequence",
        "deposit_events_id_seq",
        "next value 3 is already taken in deposit_events.id (max 3): the next insert that "
        "takes its id from the sequence fails with a duplicate key",
        'SELECT setval(\'"deposit_events_id_seq"\', (SELECT max("id") FROM "deposit_events"));',
        id="sequence-reset-not-called",
    ),
    pytest.param(
        "REVOKE INSERT, UPDATE ON orders FROM CURRENT_USER",
        "grant",
        "orders",
        "privileges revoked from the table owner: INSERT, UPDATE",
        "DO $$BEGIN EXECUTE format('GRANT INSERT, UPDATE ON TABLE \"orders\" TO %s', "
        "(SELECT relowner::regrole FROM pg_class WHERE oid = '\"orders\"'::regclass)); END$$;",
        id="owner-revoked",
    ),
    pytest.param(
        "GRANT SELECT, UPDATE ON accounts TO PUBLIC",
        "grant",
        "accounts",
        "privileges granted to PUBLIC (every role): SELECT, UPDATE, expected none",
        'REVOKE SELECT, UPDATE ON TABLE "accounts" FROM PUBLIC;',
        id="public-grant",
    ),
    pytest.param(
        "ALTER TABLE orders SET (fillfactor = 70, autovacuum_enabled = false)",
        "table",
        "orders",
        "storage parameters are autovacuum_enabled=false, fillfactor=70, expected none",
        'ALTER TABLE "orders" RESET (autovacuum_enabled, fillfactor);',
        id="table-storage-parameters",
    ),
    pytest.param(
        "ALTER TABLE deposit_events SET (toast.autovacuum_enabled = false)",
        "table",
        "deposit_events",
        "storage parameters are toast.autovacuum_enabled=false, expected none",
        'ALTER TABLE "deposit_events" RESET (toast.autovacuum_enabled);',
        id="toast-storage-parameter",
    ),
    pytest.param(
        "ALTER INDEX idx_orders_status SET (fillfactor = 50)",
        "index",
        "idx_orders_status",
        "storage parameters are fillfactor=50, expected none",
        'ALTER INDEX "idx_orders_status" RESET (fillfactor);',
        id="index-storage-parameter",
    ),
    pytest.param(
        # The primary key's constraint definition shows its index's parameters too.
        "ALTER INDEX orders_pkey SET (fillfactor = 50)",
        "index",
        "orders_pkey",
        "storage parameters are fillfactor=50, expected none",
        'ALTER INDEX "orders_pkey" RESET (fillfactor);',
        id="constraint-index-storage-parameter",
    ),
    pytest.param(
        "ALTER TABLE orders ALTER COLUMN amount SET STORAGE EXTERNAL",
        "column",
        "orders.amount",
        "storage is EXTERNAL, expected EXTENDED (the type's default)",
        'ALTER TABLE "orders" ALTER COLUMN "amount" SET STORAGE EXTENDED;',
        id="column-storage-external",
    ),
    pytest.param(
        "ALTER TABLE users ALTER COLUMN username SET STORAGE PLAIN",
        "column",
        "users.username",
        "storage is PLAIN, expected EXTENDED (the type's default)",
        'ALTER TABLE "users" ALTER COLUMN "username" SET STORAGE EXTENDED;',
        id="column-storage-plain",
    ),
    pytest.param(
        "ALTER TABLE accounts ALTER COLUMN email SET COMPRESSION pglz",
        "column",
        "accounts.email",
        "compression is pglz, expected the default",
        'ALTER TABLE "accounts" ALTER COLUMN "email" SET COMPRESSION default;',
        id="column-compression",
    ),
]


@pytest.mark.parametrize(("edit", "kind", "name", "description", "fix_sql"), OUTAGE_EDITS)
def test_outage_cause_is_named_with_its_fix(db, edit, kind, name, description, fix_sql):
    with connection.cursor() as cursor:
        cursor.execute(edit)  # inside the test's transaction: rolled back afterwards

    differences = detect_drift(connection)

    assert [(d.kind, d.name, d.description, d.fix_sql) for d in differences] == [
        (kind, name, description, fix_sql)
    ]


def test_sequence_in_ordinary_use_is_not_drift(db):
    with connection.cursor() as cursor:
        cursor.execute(
            deposit_events(1, 2, 3) + "DELETE FROM deposit_events WHERE block_number = 3"
        )

    assert detect_drift(connection) == []


def test_grant_to_a_service_role_is_a_note_not_drift(db):
    role = f"lf_reporting_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        # Roles belong to the server, but CREATE ROLE is transactional: rolled back afterwards.
        cursor.execute(f"CREATE ROLE {role}; GRANT SELECT ON orders TO {role}")
    notes = []

    differences = detect_drift(connection, notes=notes)

    assert differences == []
    assert [(n.kind, n.name, n.description, n.fix_sql) for n in notes] == [
        (
            "grant",
            "orders",
            f"{role} holds SELECT, which the migrations do not grant (a deployment's grant: "
            "a note, not drift)",
            None,
        )
    ]


def test_grants_to_other_roles_that_differ_between_two_databases_are_notes():
    head = expected.stored().snapshot_for(head_state())
    reference = copy.deepcopy(head)
    reference["tables"]["orders"]["grants"] = {"billing": ["SELECT"], "PUBLIC": ["SELECT"]}
    other = copy.deepcopy(head)
    other["tables"]["orders"]["grants"] = {"billing": ["SELECT", "UPDATE"], "PUBLIC": ["SELECT"]}

    notes = grant_notes(reference, other)

    assert compare_snapshots(reference, other) == []
    assert [(n.kind, n.name, n.description) for n in notes] == [
        ("grant", "orders", "billing holds SELECT, UPDATE, expected SELECT (a note, not drift)")
    ]


def test_sequence_this_role_may_not_read_is_a_note_not_a_failure(db):
    role = f"lf_monitor_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE ROLE {role}; GRANT SELECT ON django_migrations TO {role}; SET ROLE {role}"
        )
    notes = []

    try:
        differences = detect_drift(connection, notes=notes)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")

    assert differences == []
    assert [(n.kind, n.name, n.description) for n in notes] == [
        (
            "sequence",
            "deposit_events_id_seq",
            "position not checked: this role may not read deposit_events_id_seq and "
            "deposit_events.id",
        )
    ]


def test_differences_are_json_serialisable(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_orders_status")

    payload = json.loads(json.dumps([d.as_dict() for d in detect_drift(connection)]))

    assert payload[0]["kind"] == "index"
    assert payload[0]["fix_sql"].startswith("CREATE INDEX CONCURRENTLY idx_orders_status")


@pytest.mark.process
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


@pytest.mark.process
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


@pytest.mark.process
def test_schema_drift_command_exits_non_zero_naming_each_drifted_object():
    with migrated_database("lf_drift") as name:
        url = database_url(name)
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


@pytest.mark.process
def test_schema_drift_command_gives_working_fixes_for_outage_causes():
    role = f"lf_reporting_{uuid.uuid4().hex[:8]}"
    try:
        with migrated_database("lf_drift") as name:
            url = database_url(name)
            execute(
                name,
                THREE_DEPOSIT_EVENTS + "SELECT setval('deposit_events_id_seq', 1);"
                "REVOKE DELETE ON chain_states FROM CURRENT_USER;"
                "GRANT SELECT ON users TO PUBLIC;"
                f"CREATE ROLE {role}; GRANT SELECT ON orders TO {role};"
                "ALTER TABLE orders SET (fillfactor = 70);"
                "ALTER INDEX idx_orders_status SET (fillfactor = 50);"
                "ALTER TABLE orders ALTER COLUMN amount SET STORAGE EXTERNAL;",
            )

            drifted = manage("schema_drift", "--json", database_url_value=url, check=False)
            report = json.loads(drifted.stdout)
            for difference in report["differences"]:
                execute(name, difference["fix_sql"])
            fixed = manage("schema_drift", database_url_value=url, check=False)
            with connect(name, autocommit=True) as conn:
                conn.execute(deposit_events(4))  # the id sequence is usable again
    finally:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")

    assert drifted.returncode == 1
    assert sorted((d["kind"], d["name"]) for d in report["differences"]) == [
        ("column", "orders.amount"),
        ("grant", "chain_states"),
        ("grant", "users"),
        ("index", "idx_orders_status"),
        ("sequence", "deposit_events_id_seq"),
        ("table", "orders"),
    ]
    assert [(n["kind"], n["name"]) for n in report["notes"]] == [("grant", "orders")]
    assert fixed.returncode == 0, fixed.stdout
    assert fixed.stdout.startswith("no drift")
    assert f"note: grant orders: {role} holds SELECT" in fixed.stdout


@pytest.mark.process
def test_schema_drift_against_another_database():
    with migrated_database("lf_drift") as first, migrated_database("lf_drift") as second:
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


@pytest.mark.process
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
