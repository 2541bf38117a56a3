"""``preflight`` end to end: it catches hazards, prints the SQL, and changes nothing."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from tests.migrating.support import MigrationsCopy, applied, query, run_manage
from tests.support.databases import migrated_database, scratch_database

pytestmark = pytest.mark.process

ADD_INDEX = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        migrations.AddIndex(
            "order", models.Index(fields=["broker_id"], name="idx_orders_broker_id")
        ),
    ]
"""


def test_preflight_passes_at_head_and_reports_json():
    with migrated_database() as db:
        human = run_manage(db, "preflight")
        machine = run_manage(db, "preflight", "--json")

        assert human.returncode == 0, human.stderr
        assert "Pre-flight checks passed." in human.stdout
        report = json.loads(machine.stdout)
        assert (report["ok"], report["plan"], report["problems"]) == (True, [], [])


def test_preflight_prints_the_plan_sql_and_changes_nothing_on_an_empty_database():
    with scratch_database() as db:
        result = run_manage(db, "preflight")

        assert result.returncode == 0, result.stderr
        assert "-- orders.0001_create_order_status_and_orders" in result.stdout
        assert "CREATE TYPE order_status AS ENUM" in result.stdout
        assert 'CREATE TABLE "orders"' in result.stdout
        assert query(
            db, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ) == [(0,)]


def test_preflight_and_migrate_stop_on_a_blocking_index(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    with migrated_database() as db:
        orders.write("0002_add_broker_index.py", ADD_INDEX)

        result = run_manage(db, "preflight", "--json", env=orders.env())
        migrate = run_manage(db, "migrate", env=orders.env())

        assert result.returncode == 1
        report = json.loads(result.stdout)
        assert [f["rule"] for f in report["lint"]] == ["LF003"]
        assert [s for s in report["sql"][0]["sql"] if not s.startswith("--")] == [
            'CREATE INDEX "idx_orders_broker_id" ON "orders" ("broker_id");'
        ]
        assert migrate.returncode == 1
        assert "Pre-flight checks failed; nothing was applied" in migrate.stderr
        assert "LF003 orders.0002_add_broker_index" in migrate.stderr
        assert "0002_add_broker_index" not in applied(db, "orders")
        assert query(db, "SELECT to_regclass('idx_orders_broker_id')") == [(None,)]


def test_preflight_reports_models_out_of_step_with_migrations(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    orders.edit(
        "0001_create_order_status_and_orders.py",
        '("broker_id", models.CharField(max_length=255))',
        '("broker_id", models.CharField(max_length=200))',
    )
    with scratch_database() as db:
        result = run_manage(db, "preflight", "--no-sql", env=orders.env())

        assert result.returncode == 1
        assert "[models] models have changes without a migration" in result.stderr


NOOP_0002 = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)]
"""


def test_preflight_reports_conflicting_leaves_and_a_stale_max_migration(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    orders.write("0002_from_branch_a.py", NOOP_0002)
    orders.write("0002_from_branch_b.py", NOOP_0002)
    (orders.path / "max_migration.txt").write_text("0002_from_branch_a\n")
    with scratch_database() as db:
        result = run_manage(db, "preflight", "--no-sql", env=orders.env())

        assert result.returncode == 1
        assert (
            "[history] app orders has conflicting leaf migrations 0002_from_branch_a, "
            "0002_from_branch_b" in result.stderr
        )


def test_preflight_reports_drift_that_already_exists_without_failing(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX idx_orders_status")
        cursor.execute("ALTER TABLE orders DISABLE TRIGGER update_orders_updated_at")
    human, machine = io.StringIO(), io.StringIO()

    call_command("preflight", "--no-sql", stdout=human, stderr=human)
    call_command("preflight", "--no-sql", "--json", stdout=machine)

    assert "drift already present before this deploy: index idx_orders_status" in human.getvalue()
    assert "Pre-flight checks passed." in human.getvalue()
    drift = json.loads(machine.getvalue())["drift"]
    assert len(drift) == 2
    assert "update_orders_updated_at" in drift[1]
