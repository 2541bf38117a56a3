"""Squashed migrations behave under ``migrate`` (and ``rollback``) as under stock Django."""

import pytest

from tests.migrating.support import MigrationsCopy, applied, query, run_manage
from tests.support.databases import scratch_database

pytestmark = pytest.mark.process

STEP = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("users", "{previous}")]
    operations = [
        migrations.RunSQL("CREATE TABLE users_{name} (id int)", "DROP TABLE users_{name}"),
    ]
"""

SQUASH = """from django.db import migrations


class Migration(migrations.Migration):
    replaces = [("users", "0002_step_a"), ("users", "0003_step_b")]
    dependencies = [("users", "0001_create_users")]
    operations = [
        migrations.RunSQL("CREATE TABLE users_a (id int)", "DROP TABLE users_a"),
        migrations.RunSQL("CREATE TABLE users_b (id int)", "DROP TABLE users_b"),
    ]
"""


@pytest.fixture
def users(tmp_path):
    copy = MigrationsCopy(tmp_path, "users")
    copy.write("0002_step_a.py", STEP.format(previous="0001_create_users", name="a"))
    copy.write("0003_step_b.py", STEP.format(previous="0002_step_a", name="b"))
    return copy


def _squash(users):
    users.write("0002_squashed_0003.py", SQUASH)
    (users.path / "max_migration.txt").write_text("0002_squashed_0003\n")


def test_migrating_to_a_partially_applied_squash_applies_the_rest(users):
    with scratch_database() as db:
        assert run_manage(db, "migrate", "users", "0002", env=users.env()).returncode == 0
        _squash(users)

        result = run_manage(db, "migrate", "users", "0002_squashed_0003", env=users.env())

        assert result.returncode == 0, result.stdout + result.stderr
        # The rest of the squash applied; Django then records the squash itself as well.
        assert applied(db, "users")[1:] == ["0002_step_a", "0003_step_b", "0002_squashed_0003"]
        assert query(db, "SELECT to_regclass('users_b') IS NOT NULL") == [(True,)]


def test_a_replaced_target_after_a_squash_is_no_conflict(users):
    with scratch_database() as db:
        assert run_manage(db, "migrate", env=users.env()).returncode == 0
        _squash(users)

        result = run_manage(db, "migrate", "users", "0003_step_b", env=users.env())

        assert result.returncode == 0, result.stdout + result.stderr
        assert "Conflicting migrations" not in result.stderr


def test_a_squash_records_and_forgets_the_checksums_of_what_it_replaces(users):
    _squash(users)
    with scratch_database() as db:
        assert run_manage(db, "migrate", env=users.env()).returncode == 0
        recorded = query(
            db,
            "SELECT name FROM ledgerflow_migration_checksums WHERE app = 'users' ORDER BY name",
        )
        assert recorded == [("0001_create_users",), ("0002_step_a",), ("0003_step_b",)]

        back = run_manage(db, "rollback", "users", "0001", "--allow-data-loss", env=users.env())
        assert back.returncode == 0, back.stdout + back.stderr
        recorded = query(db, "SELECT name FROM ledgerflow_migration_checksums WHERE app = 'users'")
        assert recorded == [("0001_create_users",)]
        # The next deploy finds nothing edited.
        again = run_manage(db, "migrate", env=users.env())
        assert again.returncode == 0, again.stdout + again.stderr
