"""``adopt_sqlx`` takes over sqlx-built databases only when their schema is exactly ours."""

import json
import os
import subprocess
import sys

import pytest

from tests.schema.behaviour_edits import BEHAVIOUR_EDITS
from tests.schema.legacy import (
    SQLX_VERSION,
    build_legacy_database,
    contents,
    execute,
    fetch,
    has_table,
)
from tests.support.databases import (
    REPO_ROOT,
    database_url,
    load_legacy_schema,
    manage,
    migrated_database,
    scratch_database,
)

pytestmark = pytest.mark.process

# In the order they are recorded: dependencies first.
BASELINE = [
    "ledgerflow.0001_install_update_updated_at_column",
    "accounts.0001_create_accounts",
    "users.0001_create_users",
    "orders.0001_create_order_status_and_orders",
    "indexer.0001_create_chain_states_and_deposit_events",
]


@pytest.fixture
def legacy_db():
    with scratch_database("lf_adopt") as name:
        build_legacy_database(name)
        yield name


def adopt(dbname, *args, check=False):
    return manage(
        "adopt_sqlx", "--no-input", *args, database_url_value=database_url(dbname), check=check
    )


def recorded(dbname):
    if not has_table(dbname, "django_migrations"):
        return []
    rows = fetch(dbname, "SELECT app || '.' || name FROM django_migrations ORDER BY 1")
    return [row[0] for row in rows]


def test_clean_takeover_then_migrate_keeps_every_row(legacy_db):
    before = contents(legacy_db)

    adopted = adopt(legacy_db, check=True)
    migrated = manage("migrate", "--no-input", database_url_value=database_url(legacy_db))

    assert "adopted: recorded" in adopted.stdout
    assert migrated.returncode == 0
    assert contents(legacy_db) == before  # every row, and _sqlx_migrations, untouched
    assert set(BASELINE) <= set(recorded(legacy_db))
    record = fetch(
        legacy_db,
        "SELECT sqlx_version, sqlx_description, recorded_migrations, database_user, "
        "length(sqlx_checksum) FROM ledgerflow_schema_takeover",
    )
    assert record == [(SQLX_VERSION, "initial schema", BASELINE, "postgres", 96)]
    drift = manage("schema_drift", database_url_value=database_url(legacy_db), check=False)
    assert (drift.returncode, drift.stdout.startswith("no drift")) == (0, True)


def test_services_sql_keeps_working_after_takeover_and_migrate(legacy_db):
    adopt(legacy_db, check=True)
    manage("migrate", "--no-input", database_url_value=database_url(legacy_db))

    execute(
        legacy_db,
        "INSERT INTO users (telegram_id, username, first_name, last_name, evm_address) "
        "VALUES (1003, 'carol', 'Carol', NULL, NULL) "
        "ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username;"
        "UPDATE orders SET status = 'failed' WHERE order_id = 'ord-2';",
    )

    user = fetch(
        legacy_db,
        "SELECT id IS NOT NULL, created_at IS NOT NULL FROM users WHERE telegram_id = 1003",
    )
    order = fetch(
        legacy_db,
        "SELECT status::text, updated_at > created_at FROM orders WHERE order_id = 'ord-2'",
    )
    assert user == [(True, True)]
    assert order == [("failed", True)]


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("DROP INDEX idx_orders_status", "index idx_orders_status: is missing"),
        (
            "ALTER TYPE order_status ADD VALUE 'refunded'",
            "enum order_status: unexpected labels ['refunded']",
        ),
        (
            "DROP TRIGGER update_users_updated_at ON users",
            "trigger update_users_updated_at: is missing",
        ),
        (
            "ALTER TABLE orders DISABLE TRIGGER update_orders_updated_at",
            "trigger update_orders_updated_at: trigger is disabled",
        ),
        (
            "ALTER TABLE chain_states ALTER COLUMN last_scanned_block SET DEFAULT 1",
            "column chain_states.last_scanned_block: default differs",
        ),
        (
            "ALTER TABLE orders ALTER COLUMN transaction_hash TYPE varchar(80)",
            "column orders.transaction_hash: type differs",
        ),
        ("CREATE INDEX idx_extra ON users (username)", "index idx_extra: is not expected"),
    ],
)
def test_drifted_database_is_refused_with_the_object_named_and_nothing_recorded(
    legacy_db, edit, named
):
    execute(legacy_db, edit)
    before = contents(legacy_db)

    result = adopt(legacy_db)

    assert result.returncode == 1
    assert named in result.stderr
    assert "nothing was changed" in result.stderr
    assert recorded(legacy_db) == []
    assert not has_table(legacy_db, "ledgerflow_schema_takeover")
    assert contents(legacy_db) == before


@pytest.mark.parametrize(("edit", "kind", "name", "description"), BEHAVIOUR_EDITS)
def test_behaviour_changing_edit_is_refused_by_dry_run_and_takeover(
    legacy_db, edit, kind, name, description
):
    execute(legacy_db, edit)
    before = contents(legacy_db)

    dry_run = adopt(legacy_db, "--dry-run")
    result = adopt(legacy_db, "--apply-safe-fixes")  # there is no safe fix: nothing is applied

    named = f"{kind} {name}: {description}"
    assert (dry_run.returncode, result.returncode) == (1, 1)
    assert named in dry_run.stderr
    assert named in result.stderr
    assert recorded(legacy_db) == []
    assert not has_table(legacy_db, "ledgerflow_schema_takeover")
    assert contents(legacy_db) == before


def test_missing_index_is_reported_with_its_safe_fix(legacy_db):
    execute(legacy_db, "DROP INDEX idx_orders_status")

    result = adopt(legacy_db, "--json")

    report = json.loads(result.stdout)
    assert (result.returncode, report["status"]) == (1, "differs")
    assert report["differences"] == [
        {
            "kind": "index",
            "name": "idx_orders_status",
            "description": "is missing",
            "expected": {
                "definition": (
                    "CREATE INDEX idx_orders_status ON public.orders USING btree (status)"
                ),
                "valid": True,
            },
            "actual": None,
            "fix_sql": (
                "CREATE INDEX CONCURRENTLY idx_orders_status ON public.orders USING btree (status);"
            ),
        }
    ]


def test_apply_safe_fixes_repairs_then_adopts(legacy_db):
    execute(
        legacy_db,
        "DROP INDEX idx_orders_status; DROP TRIGGER update_users_updated_at ON users;"
        "ALTER TABLE orders DISABLE TRIGGER update_orders_updated_at;",
    )
    before = contents(legacy_db)

    result = adopt(legacy_db, "--apply-safe-fixes", "--json", check=True)

    report = json.loads(result.stdout)
    assert report["status"] == "adopted"
    assert len(report["fixes_applied"]) == 3
    assert fetch(
        legacy_db, "SELECT jsonb_array_length(applied_fixes) FROM ledgerflow_schema_takeover"
    ) == [(3,)]
    assert contents(legacy_db) == before
    drift = manage("schema_drift", database_url_value=database_url(legacy_db), check=False)
    assert drift.returncode == 0


def test_apply_safe_fixes_applies_nothing_when_one_difference_has_no_fix(legacy_db):
    execute(legacy_db, "DROP INDEX idx_orders_status; ALTER TYPE order_status ADD VALUE 'refunded'")

    result = adopt(legacy_db, "--apply-safe-fixes")

    assert result.returncode == 1
    assert "no safe fix" in result.stderr
    assert fetch(legacy_db, "SELECT to_regclass('idx_orders_status') IS NULL") == [(True,)]
    assert recorded(legacy_db) == []


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (((SQLX_VERSION, "initial schema", False),), "success = false"),
        (
            ((SQLX_VERSION, "initial schema", True), (20250801000000, "add refunds", True)),
            "does not know: 20250801000000",
        ),
        (((20240101000000, "older", True),), "lacks migration 20250709000001"),
    ],
)
def test_bad_sqlx_history_is_refused(history, message):
    with scratch_database("lf_adopt") as name:
        build_legacy_database(name, history=history)

        result = adopt(name)

        assert result.returncode == 2
        assert message in result.stderr
        assert recorded(name) == []


def test_a_null_sqlx_description_adopts_as_the_dry_run_said(legacy_db):
    execute(
        legacy_db,
        "ALTER TABLE _sqlx_migrations ALTER description DROP NOT NULL;"
        "UPDATE _sqlx_migrations SET description = NULL",
    )

    dry = adopt(legacy_db, "--dry-run")
    real = adopt(legacy_db)

    assert dry.returncode == 0, dry.stderr
    assert "the database can be adopted" in dry.stdout
    assert real.returncode == 0, real.stderr
    assert "adopted: recorded" in real.stdout
    assert fetch(legacy_db, "SELECT sqlx_description FROM ledgerflow_schema_takeover") == [("",)]


def test_a_null_sqlx_installed_on_is_refused_by_dry_and_real_run_alike(legacy_db):
    execute(
        legacy_db,
        "ALTER TABLE _sqlx_migrations ALTER installed_on DROP NOT NULL;"
        "UPDATE _sqlx_migrations SET installed_on = NULL",
    )

    dry = adopt(legacy_db, "--dry-run")
    real = adopt(legacy_db)

    for result in (dry, real):
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith(
            f"error: sqlx migration {SQLX_VERSION} is recorded with no installed_on (NULL)"
        )
        assert "Traceback" not in result.stderr
    assert recorded(legacy_db) == []


def test_database_without_sqlx_history_is_refused():
    with scratch_database("lf_adopt") as name:
        result = adopt(name)

        assert result.returncode == 2
        assert "no sqlx history" in result.stderr
        assert not has_table(name, "django_migrations")


@pytest.mark.parametrize("extra", [[], ["--no-preflight"]])
def test_migrate_before_the_takeover_is_refused_and_changes_nothing(legacy_db, extra):
    before = contents(legacy_db)

    result = manage(
        "migrate", "--no-input", *extra, database_url_value=database_url(legacy_db), check=False
    )

    assert result.returncode == 1
    assert "nothing was applied" in result.stderr
    assert "accounts (accounts.0001_create_accounts)" in result.stderr
    assert "python manage.py adopt_sqlx --dry-run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not has_table(legacy_db, "django_migrations")
    assert contents(legacy_db) == before


def test_migrate_fake_initial_is_refused(legacy_db):
    result = manage(
        "migrate",
        "--no-input",
        "--fake-initial",
        database_url_value=database_url(legacy_db),
        check=False,
    )

    assert result.returncode == 1
    assert "--fake-initial is refused" in result.stderr
    assert "adopt_sqlx" in result.stderr
    assert not has_table(legacy_db, "django_migrations")


def test_tables_built_by_other_means_are_named_by_migrate_and_preflight():
    with scratch_database("lf_adopt") as name:
        load_legacy_schema(name)  # the contract's tables, no sqlx history

        migrated = manage(
            "migrate", "--no-input", database_url_value=database_url(name), check=False
        )
        checked = manage("preflight", "--json", database_url_value=database_url(name), check=False)

        assert migrated.returncode == 1
        assert "orders (orders.0001_create_order_status_and_orders)" in migrated.stderr
        assert "built by other means" in migrated.stderr
        assert not has_table(name, "django_migrations")
        assert checked.returncode == 1
        problems = json.loads(checked.stdout)["problems"]
        assert [p["check"] for p in problems] == ["existing"]
        assert "users (users.0001_create_users)" in problems[0]["message"]


def test_second_run_reports_already_adopted(legacy_db):
    adopt(legacy_db, check=True)

    second = adopt(legacy_db, "--json", check=True)

    report = json.loads(second.stdout)
    assert report["status"] == "already_adopted"
    assert fetch(legacy_db, "SELECT count(*) FROM ledgerflow_schema_takeover") == [(1,)]
    assert len(recorded(legacy_db)) == len(set(recorded(legacy_db)))


def test_dry_run_changes_nothing(legacy_db):
    before = contents(legacy_db)

    result = adopt(legacy_db, "--dry-run", check=True)

    assert "dry run: the database can be adopted" in result.stdout
    assert not has_table(legacy_db, "django_migrations")
    assert not has_table(legacy_db, "ledgerflow_schema_takeover")
    assert contents(legacy_db) == before


@pytest.mark.parametrize(
    ("table", "sql"),
    [
        ("ledgerflow_migrate_runs", "CREATE TABLE ledgerflow_migrate_runs (id bigint)"),
        ("ledgerflow_schema_takeover", "CREATE TABLE ledgerflow_schema_takeover (id bigint)"),
        ("django_migrations", "CREATE TABLE django_migrations (version text)"),
    ],
)
def test_tables_in_the_takeovers_way_are_refused_by_dry_and_real_run_alike(legacy_db, table, sql):
    execute(legacy_db, sql)

    dry = adopt(legacy_db, "--dry-run")
    real = adopt(legacy_db)

    for result in (dry, real):
        assert result.returncode == 2, result.stdout + result.stderr
        assert table in result.stderr
        assert "Traceback" not in result.stderr
    assert not has_table(legacy_db, "ledgerflow_migration_checksums")


def test_database_migrated_by_this_project_is_not_adopted():
    with migrated_database("lf_adopt") as name:
        execute(
            name,
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT,"
            " installed_on TIMESTAMPTZ DEFAULT now(), success BOOLEAN, checksum BYTEA,"
            " execution_time BIGINT);"
            f"INSERT INTO _sqlx_migrations VALUES ({SQLX_VERSION}, 'initial schema', now(), "
            "true, '', 1)",
        )

        result = adopt(name)

        assert result.returncode == 2
        assert "holds no takeover record" in result.stderr


def test_interactive_run_without_a_terminal_asks_for_no_input(legacy_db):
    result = manage("adopt_sqlx", database_url_value=database_url(legacy_db), check=False)

    assert result.returncode == 2
    assert "--no-input" in result.stderr
    assert recorded(legacy_db) == []


def test_concurrent_takeovers_record_once(legacy_db):
    env = {**os.environ, "LEDGERFLOW_ENV": "test", "DATABASE_URL": database_url(legacy_db)}
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "adopt_sqlx", "--no-input", "--json"]

    runs = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = sorted(json.loads(run.communicate(timeout=120)[0])["status"] for run in runs)

    assert outcomes == ["adopted", "already_adopted"]
    assert fetch(legacy_db, "SELECT count(*) FROM ledgerflow_schema_takeover") == [(1,)]
    assert fetch(
        legacy_db, "SELECT count(*) = count(DISTINCT (app, name)) FROM django_migrations"
    ) == [(True,)]
