"""``migrate`` only moves forward; the stock options keep working."""

from tests.migrating.support import applied, query, run_manage
from tests.support.databases import scratch_database


def test_migrating_an_app_to_zero_is_refused_and_changes_nothing():
    with scratch_database() as db:
        assert run_manage(db, "migrate").returncode == 0

        result = run_manage(db, "migrate", "orders", "zero")

        assert result.returncode == 1
        assert "migrate only moves forward" in result.stderr
        assert "python manage.py rollback" in result.stderr
        assert query(db, "SELECT to_regclass('orders')::text") == [("orders",)]
        assert applied(db, "orders") == ["0001_create_order_status_and_orders"]


def test_migrating_backwards_within_an_app_is_refused():
    with scratch_database() as db:
        assert run_manage(db, "migrate").returncode == 0

        result = run_manage(db, "migrate", "auth", "0001")

        assert result.returncode == 1
        assert "would unapply auth.0012_alter_user_first_name_max_length" in result.stderr


def test_plan_check_and_fake_still_work():
    with scratch_database() as db:
        plan = run_manage(db, "migrate", "--plan")
        check = run_manage(db, "migrate", "--check")
        assert plan.returncode == 0
        assert "orders.0001_create_order_status_and_orders" in plan.stdout
        assert check.returncode == 1
        assert query(db, "SELECT to_regclass('django_migrations')") == [(None,)]

        fake = run_manage(db, "migrate", "ledgerflow", "0001", "--fake")
        assert fake.returncode == 0, fake.stderr
        assert applied(db, "ledgerflow") == ["0001_install_update_updated_at_column"]
        assert query(db, "SELECT to_regproc('update_updated_at_column')") == [(None,)]
        assert applied(db, "users") == []


def test_allow_backwards_unapplies_and_forgets_the_checksum():
    with scratch_database() as db:
        assert run_manage(db, "migrate").returncode == 0

        result = run_manage(db, "migrate", "users", "zero", "--allow-backwards")

        assert result.returncode == 0, result.stderr
        assert applied(db, "users") == []
        assert query(db, "SELECT to_regclass('users')") == [(None,)]
        assert query(
            db, "SELECT count(*) FROM ledgerflow_migration_checksums WHERE app = 'users'"
        ) == [(0,)]
