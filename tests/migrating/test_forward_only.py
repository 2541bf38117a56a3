"""``migrate`` only moves forward; the stock options keep working."""

import pytest

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.migrating.support import (
    applied,
    migrate_has_connected,
    query,
    run_manage,
    start_manage,
)
from tests.support.databases import connect, migrated_database, scratch_database

pytestmark = pytest.mark.process


def test_migrating_an_app_to_zero_is_refused_and_changes_nothing():
    with migrated_database() as db:
        result = run_manage(db, "migrate", "orders", "zero")

        assert result.returncode == 1
        assert "migrate only moves forward" in result.stderr
        assert "python manage.py rollback" in result.stderr
        assert query(db, "SELECT to_regclass('orders')::text") == [("orders",)]
        assert applied(db, "orders") == ["0001_create_order_status_and_orders"]


def test_migrating_backwards_within_an_app_is_refused():
    with migrated_database() as db:
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


def test_a_named_target_is_checked_again_after_waiting_for_the_lock():
    with scratch_database() as db:
        assert run_manage(db, "migrate", "ledgerflow", "0002").returncode == 0
        with connect(db, autocommit=True, application_name="other-deploy") as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
            child = start_manage(db, "migrate", "ledgerflow", "0002")
            assert migrate_has_connected(db)
            # Meanwhile the other deploy records two later migrations of the same app.
            holder.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES "
                "('ledgerflow', '0003_schema_takeover', now()), "
                "('ledgerflow', '0004_create_release_tags', now())"
            )
        out, err = child.communicate(timeout=120)

        assert child.returncode == 1, out + err
        assert "migrate only moves forward" in err
        assert "ledgerflow.0004_create_release_tags" in err
        assert applied(db, "ledgerflow")[-1] == "0004_create_release_tags"


def test_bad_targets_are_refused_before_any_backup(tmp_path):
    backups = tmp_path / "backups"
    with scratch_database() as db:
        env = {"LEDGERFLOW_BACKUP_DIR": str(backups)}
        no_app = run_manage(db, "migrate", "nosuchapp", "--backup", env=env)
        no_name = run_manage(db, "migrate", "orders", "9999", "--backup", env=env)
        bad_wait = run_manage(db, "migrate", "--lock-wait-timeout", "nan")

        assert no_app.returncode == 1
        assert "No installed app with label 'nosuchapp'" in no_app.stderr
        assert no_name.returncode == 1
        assert "Cannot find a migration matching '9999' from app 'orders'" in no_name.stderr
        assert bad_wait.returncode == 1
        assert "--lock-wait-timeout must be a number of seconds" in bad_wait.stderr
        assert not backups.exists() or not any(backups.iterdir())
        assert query(db, "SELECT to_regclass('django_migrations')") == [(None,)]


def test_migrating_one_app_checks_only_what_it_will_apply():
    with scratch_database() as db:
        with connect(db, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (telegram_id bigint)")  # built by hand

        result = run_manage(db, "migrate", "accounts")

        assert result.returncode == 0, result.stderr
        assert applied(db, "accounts") == ["0001_create_accounts"]
        assert applied(db, "users") == []


def test_plan_of_a_backward_target_is_shown_not_refused():
    with migrated_database() as db:
        result = run_manage(db, "migrate", "users", "zero", "--plan")

        assert result.returncode == 0, result.stderr
        assert (
            "Undo Create model User" in result.stdout or "users.0001_create_users" in result.stdout
        )
        assert applied(db, "users") == ["0001_create_users"]


def test_fake_backwards_edits_only_the_history():
    with migrated_database() as db:
        result = run_manage(db, "migrate", "users", "zero", "--fake")

        assert result.returncode == 0, result.stderr
        assert applied(db, "users") == []
        assert query(db, "SELECT to_regclass('users')::text") == [("users",)]
        assert query(
            db, "SELECT count(*) FROM ledgerflow_migration_checksums WHERE app = 'users'"
        ) == [(0,)]


def test_an_unknown_app_is_refused_before_waiting_for_the_lock():
    with scratch_database() as db, connect(db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        # Were the app checked after the lock, this would wait, then time out on the lock.
        result = run_manage(db, "migrate", "nosuchapp", "--lock-wait-timeout", "0")

        assert result.returncode == 1
        assert "No installed app with label 'nosuchapp'" in result.stderr
        assert "migration lock" not in result.stderr + result.stdout
