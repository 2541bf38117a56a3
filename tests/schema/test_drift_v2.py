"""Drift of schema v2 (ledgerflow_v2): compared with what its own applied migrations build, told
apart from v1, not migrated yet is pending (not drift), fixes name ledgerflow_v2."""

import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from ledgerflow.schema import expected
from ledgerflow.schema.drift import (
    V2_CHECKED,
    V2_PENDING,
    V2_UNCHECKED,
    detect_drift,
    detect_v2_drift,
)
from ledgerflow.schema.states import v2_states
from tests.support.databases import connect, database_url, manage, migrated_database

pytestmark = pytest.mark.django_db

V2_MIGRATIONS = [
    "ledgerflow_v2.0001_create_schema_ledgerflow_v2",
    "ledgerflow_v2.0002_create_cutover_records",
]
# Swaps two labels: the enum keeps its five labels, in another order ('deposited' third).
REORDER_ENUM = (
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'deposited' TO 'lf_swap'; "
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'completed' TO 'deposited'; "
    "ALTER TYPE ledgerflow_v2.order_status RENAME VALUE 'lf_swap' TO 'completed'"
)
UNMIGRATE_V2 = (
    "DROP SCHEMA ledgerflow_v2 CASCADE; DELETE FROM django_migrations WHERE app = 'ledgerflow_v2'"
)


def execute(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)


def run_drift(*args):
    """``(exit code, stdout)`` of ``schema_drift`` in this test's transaction."""
    out = io.StringIO()
    try:
        call_command("schema_drift", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_every_v2_migration_state_has_a_stored_expectation():
    assert expected.stored().v2_states() == v2_states()
    assert v2_states()[-1] == tuple(V2_MIGRATIONS)


def test_freshly_migrated_v2_has_no_drift():
    notes = []
    v2 = detect_v2_drift(connection, notes=notes)

    assert (v2.status, v2.applied, v2.pending, v2.differences) == (
        V2_CHECKED,
        V2_MIGRATIONS,
        [],
        [],
    )
    assert notes == []


def test_a_reordered_enum_label_is_v2_drift_and_not_v1_drift():
    execute(REORDER_ENUM)

    [difference] = detect_v2_drift(connection).differences

    assert (difference.kind, difference.name) == ("enum", "order_status")
    assert difference.description.startswith("labels are in a different order")
    assert difference.actual == ["pending", "completed", "deposited", "failed", "cancelled"]
    assert detect_drift(connection) == []


def test_v1_drift_is_not_reported_as_v2_drift():
    execute("DROP INDEX public.idx_orders_status")

    assert [d.name for d in detect_drift(connection)] == ["idx_orders_status"]
    assert detect_v2_drift(connection).differences == []


@pytest.mark.parametrize(
    ("edit", "fix"),
    [
        (
            "ALTER TABLE ledgerflow_v2.orders ALTER COLUMN chain_id DROP DEFAULT",
            'ALTER TABLE "ledgerflow_v2"."orders" ALTER COLUMN "chain_id" SET DEFAULT 1;',
        ),
        (
            # Far past any id other tests drew from the sequence (nextval is not rolled back).
            "INSERT INTO ledgerflow_v2.accounts (id, username, telegram_id) VALUES (900000007, 'a', 1)",
            'SELECT setval(\'"ledgerflow_v2"."accounts_id_seq"\', '
            '(SELECT max("id") FROM "ledgerflow_v2"."accounts"));',
        ),
    ],
)
def test_v2_fixes_name_ledgerflow_v2_and_repair_it(edit, fix):
    execute(edit)
    [difference] = detect_v2_drift(connection).differences

    assert difference.fix_sql == fix
    execute(fix)
    assert detect_v2_drift(connection).differences == []
    assert detect_drift(connection) == []  # v1's tables of the same names were not touched


def test_a_missing_v2_index_gets_a_concurrent_build_on_the_v2_table():
    execute("DROP INDEX ledgerflow_v2.idx_orders_status")

    [difference] = detect_v2_drift(connection).differences

    assert difference.fix_sql == (
        "CREATE INDEX CONCURRENTLY idx_orders_status ON ledgerflow_v2.orders USING btree (status);"
    )


def test_v2_dropped_by_hand_is_one_clear_difference():
    execute("DROP SCHEMA ledgerflow_v2 CASCADE")

    v2 = detect_v2_drift(connection)

    assert v2.status == V2_CHECKED
    [difference] = v2.differences
    assert (difference.kind, difference.name) == ("schema", "ledgerflow_v2")
    assert "the schema is missing, yet its migrations are recorded as applied" in str(difference)


def test_v2_not_migrated_yet_is_pending_not_drift():
    execute(UNMIGRATE_V2)

    v2 = detect_v2_drift(connection)

    assert (v2.status, v2.applied, v2.pending, v2.differences) == (
        V2_PENDING,
        [],
        V2_MIGRATIONS,
        [],
    )
    assert "not drift" in v2.summary()
    assert detect_drift(connection) == []


def test_a_v2_schema_without_its_migrations_recorded_is_drift():
    execute("DELETE FROM django_migrations WHERE app = 'ledgerflow_v2'")

    [difference] = detect_v2_drift(connection).differences

    assert (difference.kind, difference.name) == ("schema", "ledgerflow_v2")
    assert "no v2 migration is recorded" in difference.description


def test_one_v2_migration_applied_is_compared_with_its_own_state():
    execute(
        "DROP TABLE ledgerflow_v2.cutover_notes, ledgerflow_v2.cutover_rejects, "
        "ledgerflow_v2.cutover_runs; DELETE FROM django_migrations "
        "WHERE app = 'ledgerflow_v2' AND name = '0002_create_cutover_records'"
    )

    v2 = detect_v2_drift(connection)

    assert (v2.status, v2.differences, v2.pending) == (V2_CHECKED, [], V2_MIGRATIONS[1:])


def test_a_role_without_usage_on_v2_gets_unchecked_never_a_false_green():
    role = f"lf_test_{uuid.uuid4().hex[:8]}_nousage"
    execute(f'CREATE ROLE "{role}"; GRANT SELECT ON django_migrations TO "{role}"')
    execute(f'SET ROLE "{role}"')
    try:
        v2 = detect_v2_drift(connection)
    finally:
        execute("RESET ROLE")

    assert v2.status == V2_UNCHECKED
    [difference] = v2.differences
    assert difference.kind == "migration_state"
    assert "no USAGE privilege" in difference.description


def test_schema_drift_reports_v2_under_its_own_heading_with_fixes():
    execute(REORDER_ENUM + "; DROP INDEX ledgerflow_v2.idx_orders_status")

    code, out = run_drift()

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("no drift: ")
    assert lines[1] == (
        "ledgerflow_v2 (schema v2): drift: 2 difference(s) from what the v2 migrations build"
    )
    assert "  index idx_orders_status: is missing" in lines
    assert (
        "      safe fix: CREATE INDEX CONCURRENTLY idx_orders_status ON ledgerflow_v2.orders "
        "USING btree (status);"
    ) in lines


def test_schema_drift_json_has_a_ledgerflow_v2_key():
    execute(REORDER_ENUM)

    code, out = run_drift("--json")
    report = json.loads(out)

    assert code == 1
    assert (report["drift"], report["differences"]) == (True, [])
    v2 = report["ledgerflow_v2"]
    assert (v2["schema"], v2["status"], v2["drift"]) == ("ledgerflow_v2", "checked", True)
    assert [d["name"] for d in v2["differences"]] == ["order_status"]
    assert v2["applied"] == V2_MIGRATIONS


def test_schema_drift_exits_0_while_v2_is_pending():
    execute(UNMIGRATE_V2)

    code, out = run_drift("--json")
    report = json.loads(out)

    assert code == 0
    assert report["drift"] is False
    assert report["ledgerflow_v2"]["status"] == "pending"
    assert report["ledgerflow_v2"]["pending"] == V2_MIGRATIONS


@pytest.mark.process
def test_schema_drift_against_another_database_compares_v2_too():
    with migrated_database("lf_driftv2") as first, migrated_database("lf_driftv2") as second:
        same = manage(
            "schema_drift", "--against", database_url(second),
            database_url_value=database_url(first),
        )  # fmt: skip
        with connect(second, autocommit=True) as conn:
            conn.execute(REORDER_ENUM)
        different = manage(
            "schema_drift", "--against", database_url(second), "--json",
            database_url_value=database_url(first), check=False,
        )  # fmt: skip
        with connect(second, autocommit=True) as conn:
            conn.execute(UNMIGRATE_V2)
        missing = manage(
            "schema_drift", "--against", database_url(second),
            database_url_value=database_url(first), check=False,
        )  # fmt: skip

    assert same.stdout.splitlines()[-1] == (
        "ledgerflow_v2 (schema v2): no drift: the same in both databases"
    )
    assert different.returncode == 1
    report = json.loads(different.stdout)
    assert report["differences"] == []
    assert [d["name"] for d in report["ledgerflow_v2"]["differences"]] == ["order_status"]
    assert missing.returncode == 1
    assert "  schema ledgerflow_v2: the schema is missing in the other database" in (
        missing.stdout.splitlines()
    )
