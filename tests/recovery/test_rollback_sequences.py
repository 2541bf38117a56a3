"""``rollback`` through real migrations whose reverse steps depend on each other.

Each reverse statement is judged against the database as the earlier reverse steps leave it: a
table renamed back, an enum type recreated, SQL that fails halfway.
"""

import pytest

from ledgerflow.recovery import RecoveryError, lock_timeout_ms
from tests.migrating.support import MigrationsCopy, query
from tests.recovery.conftest import applied, contents, existing_tables
from tests.support.databases import connect

RENAMES = {
    "0002_foo.py": """from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_create_accounts")]
    operations = [migrations.CreateModel("Foo", [
        ("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=50))])]
""",
    "0003_note.py": """from django.db import migrations, models
class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_foo")]
    operations = [migrations.AddField("foo", "note", models.CharField(max_length=50, null=True))]
""",
    "0004_rename_note.py": """from django.db import migrations
class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_note")]
    operations = [migrations.RenameField("foo", "note", "memo")]
""",
    "0005_rename_foo.py": """from django.db import migrations
class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_rename_note")]
    operations = [migrations.RenameModel("Foo", "Bar")]
""",
}

# Adds an enum label outside a transaction; the reverse recreates the type without it.
ENUM_LABEL = """from django.db import migrations
class Migration(migrations.Migration):
    atomic = False
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [migrations.RunSQL(
        "ALTER TYPE order_status ADD VALUE 'refunded';",
        reverse_sql=(
            "ALTER TYPE order_status RENAME TO order_status_old; "
            "CREATE TYPE order_status AS ENUM ('pending', 'completed', 'failed', 'cancelled'); "
            "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT; "
            "ALTER TABLE orders ALTER COLUMN status TYPE order_status "
            "USING status::text::order_status; "
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending'; "
            "DROP TYPE order_status_old;"
        ))]
"""


def _run_sql(name, depends_on, reverse_sql, atomic=True):
    return f"""from django.db import migrations
class Migration(migrations.Migration):
    atomic = {atomic}
    dependencies = [("orders", "{depends_on}")]
    operations = [migrations.RunSQL("SELECT 1", reverse_sql={reverse_sql!r})]
"""


def _migrate(run, db, copy, files):
    for filename, text in files.items():
        copy.write(filename, text)
    result = run(db, "migrate", "--no-preflight", env=copy.env())
    assert result.returncode == 0, result.stderr


def _execute(db, sql):
    with connect(db, autocommit=True) as conn:
        conn.execute(sql)


def _order_statuses(db):
    return sorted(row[0] for row in query(db, "SELECT status::text FROM orders"))


@pytest.mark.process
def test_drop_of_a_table_renamed_back_by_an_earlier_step_is_refused_as_rows_unknown(
    migrated_db, run, tmp_path, backup_dir
):
    accounts = MigrationsCopy(tmp_path, "accounts")
    _migrate(run, migrated_db, accounts, RENAMES)
    _execute(migrated_db, "INSERT INTO accounts_bar (name, memo) VALUES ('a', 'x'), ('b', NULL)")
    _execute(migrated_db, "INSERT INTO accounts_bar (name, memo) VALUES ('c', 'y')")
    state = applied(migrated_db)

    result = run(migrated_db, "rollback", "accounts", "0001", env=accounts.env())

    assert result.returncode == 1
    assert "Lossy steps: accounts.0003_note, accounts.0002_foo" in result.stdout
    assert "Refused: this rollback would lose data. Nothing was changed." in result.stderr
    assert "accounts_foo: an unknown number of rows" in result.stderr
    assert (
        "drops table accounts_foo; rows unknown: the table is created or renamed by an earlier "
        "step" in result.stderr
    )
    assert "drops column accounts_foo.note; rows unknown" in result.stderr
    assert contents(migrated_db, ["accounts_bar"])["accounts_bar"] == sorted(
        [
            '{"id":1,"name":"a","memo":"x"}',
            '{"id":2,"name":"b","memo":null}',
            '{"id":3,"name":"c","memo":"y"}',
        ]
    )
    assert applied(migrated_db) == state

    allowed = run(
        migrated_db, "rollback", "accounts", "0001", "--allow-data-loss", env=accounts.env()
    )

    assert allowed.returncode == 0, allowed.stderr
    assert len(list(backup_dir.glob("*.dump"))) == 1
    assert not {"accounts_bar", "accounts_foo"} & set(existing_tables(migrated_db))


@pytest.mark.process
@pytest.mark.parametrize(
    ("reverse_sql", "loss"),
    [
        ("DELETE FROM orders o WHERE o.status = 'pending';", "deletes 1 rows of orders"),
        (
            "DELETE FROM orders AS o USING accounts a "
            "WHERE a.account_id = o.account_id AND a.email IS NOT NULL;",
            "deletes 2 rows of orders",
        ),
        ("UPDATE orders o SET amount = '0' WHERE o.status <> 'failed';", "rewrites 2 rows"),
        (
            "WITH gone AS (DELETE FROM orders) SELECT 1;",
            "runs DELETE in SQL this plan cannot measure",
        ),
    ],
)
def test_reverse_sql_with_alias_using_or_cte_is_refused(
    seeded_db, run, tmp_path, reverse_sql, loss
):
    orders = MigrationsCopy(tmp_path, "orders")
    migration = _run_sql("0002_reverse_sql", "0001_create_order_status_and_orders", reverse_sql)
    _migrate(run, seeded_db, orders, {"0002_reverse_sql.py": migration})
    rows_before = contents(seeded_db)

    result = run(seeded_db, "rollback", "orders", "0001", env=orders.env())

    assert result.returncode == 1
    assert "Lossy steps: orders.0002_reverse_sql" in result.stdout
    assert loss in result.stderr
    assert contents(seeded_db) == rows_before


@pytest.mark.process
def test_reverse_recreating_an_enum_without_a_label_in_use_is_lossy(seeded_db, run, tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    _migrate(run, seeded_db, orders, {"0002_refunded.py": ENUM_LABEL})
    _execute(seeded_db, "UPDATE orders SET status = 'refunded' WHERE order_id = 'ord-3'")

    refused = run(seeded_db, "rollback", "orders", "0001", env=orders.env())

    assert refused.returncode == 1
    assert (
        "changes orders.status to order_status, whose labels (pending, completed, failed, "
        "cancelled) lack the values of 1 rows" in refused.stderr
    )
    assert _order_statuses(seeded_db) == ["completed", "pending", "refunded"]

    _execute(seeded_db, "UPDATE orders SET status = 'failed' WHERE order_id = 'ord-3'")
    lossless = run(seeded_db, "rollback", "orders", "0001", env=orders.env())

    assert lossless.returncode == 0, lossless.stderr
    assert "Lossy steps: none" in lossless.stdout
    assert query(seeded_db, "SELECT enum_range(NULL::order_status)::text") == [
        ("{pending,completed,failed,cancelled}",)
    ]
    assert _order_statuses(seeded_db) == ["completed", "failed", "pending"]


@pytest.mark.process
def test_database_error_in_an_atomic_rollback_is_one_paragraph_and_changes_nothing(
    seeded_db, run, tmp_path
):
    orders = MigrationsCopy(tmp_path, "orders")
    files = {
        "0002_fails.py": _run_sql(
            "0002_fails", "0001_create_order_status_and_orders", "SELECT 1/0"
        ),
        "0003_fine.py": _run_sql("0003_fine", "0002_fails", "SELECT 1"),
    }
    _migrate(run, seeded_db, orders, files)
    state = applied(seeded_db)

    result = run(seeded_db, "rollback", "orders", "0001", env=orders.env())

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "CommandError: the rollback failed: division by zero. The transaction was rolled back: "
        "nothing was changed." in result.stderr
    )
    assert applied(seeded_db) == state


@pytest.mark.process
def test_database_error_in_a_non_atomic_rollback_names_the_steps_already_done(
    seeded_db, run, tmp_path, backup_dir
):
    orders = MigrationsCopy(tmp_path, "orders")
    files = {
        "0002_refunded.py": ENUM_LABEL,
        "0003_fine.py": _run_sql("0003_fine", "0002_refunded", "SELECT 1"),
    }
    _migrate(run, seeded_db, orders, files)
    _execute(seeded_db, "UPDATE orders SET status = 'refunded' WHERE order_id = 'ord-3'")

    result = run(seeded_db, "rollback", "orders", "0001", "--allow-data-loss", env=orders.env())

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert 'the rollback failed: invalid input value for enum order_status: "refunded".' in (
        result.stderr
    )
    assert (
        "The plan is not atomic: steps already unapplied: orders.0003_fine; the others are "
        "still applied." in result.stderr
    )
    (archive,) = backup_dir.glob("*.dump")
    assert f"The backup taken before it: {archive}." in result.stderr
    assert ("orders", "0002_refunded") in applied(seeded_db)
    assert ("orders", "0003_fine") not in applied(seeded_db)
    assert _order_statuses(seeded_db) == ["completed", "pending", "refunded"]


@pytest.mark.parametrize("seconds", [-1.0, 0.0, float("inf"), float("nan")])
def test_lock_timeout_must_be_finite_and_positive(seconds):
    with pytest.raises(RecoveryError, match="--lock-timeout must be a number of seconds greater"):
        lock_timeout_ms(seconds)


def test_lock_timeout_rounds_up_to_a_whole_millisecond():
    assert lock_timeout_ms(0.0001) == 1
    assert lock_timeout_ms(0.5) == 500
    assert lock_timeout_ms(10) == 10000


@pytest.mark.process
def test_bad_lock_timeout_is_a_clear_error_not_a_traceback(migrated_db, run):
    for value in ("-1", "nan"):
        result = run(migrated_db, "rollback", "orders", "zero", f"--lock-timeout={value}")

        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "--lock-timeout must be a number of seconds greater than 0" in result.stderr
    assert ("orders", "0001_create_order_status_and_orders") in applied(migrated_db)
