"""A database fault that ends a command is one paragraph on stderr, never a traceback: a lost
connection, a django_migrations table that cannot be created, a table of someone else's."""

import os
import subprocess
import sys
import uuid

import pytest

from ledgerflow.migrating.lock import MIGRATION_LOCK_KEY
from tests.migrating.support import (
    MigrationsCopy,
    migrate_has_connected,
    query,
    start_manage,
    wait_until,
)
from tests.support.databases import (
    REPO_ROOT,
    connect,
    database_url,
    manage,
    migrated_database,
    scratch_database,
)

pytestmark = pytest.mark.process


def one_paragraph(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # Log lines may come before it (a failed migration is logged); the paragraph is one line.
    (paragraph,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.stderr.endswith(paragraph + "\n")
    return paragraph


def test_a_connection_lost_mid_run_is_not_reported_as_a_connect_failure():
    with (
        scratch_database() as db,
        connect(db, autocommit=True, application_name="holder-under-test") as holder,
    ):
        # Given a migrate that has connected and polls for the lock another session holds,
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        child = start_manage(db, "migrate", "--no-input")
        assert migrate_has_connected(db)

        # when the server ends its session,
        query(
            db,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'ledgerflow-schema'",
            [db],
        )
        stdout, stderr = child.communicate(timeout=120)

    # then it says so, and what to do, instead of blaming the password.
    result = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    paragraph = one_paragraph(result)
    assert paragraph.startswith(f'error: the server closed the connection to database "{db}" on ')
    assert "in the middle of `manage.py migrate` (terminating connection due to administrator" in (
        paragraph
    )
    assert "PostgreSQL rolled back the transaction in progress" in paragraph
    assert "then run `python manage.py migrate` again." in paragraph
    assert "cannot connect" not in paragraph
    assert "password" not in paragraph


def _migrate_as_a_role_that_cannot_create(*args):
    role = f"lf_cannot_create_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per run
    with scratch_database() as db, connect("postgres", autocommit=True) as admin:
        # PostgreSQL 15: only the database owner may create in schema public.
        admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            url = database_url(db).replace("://postgres@", f"://{role}@")
            result = manage("migrate", "--no-input", *args, database_url_value=url, check=False)
        finally:
            admin.execute(f"DROP ROLE {role}")
        with connect(db) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            ).fetchone()[0]
    assert tables == 0  # nothing was created
    return db, result


def test_a_django_migrations_table_that_cannot_be_created_is_one_paragraph():
    db, result = _migrate_as_a_role_that_cannot_create("--replay")

    paragraph = one_paragraph(result)
    assert paragraph.startswith(
        f'error: `manage.py migrate` found no django_migrations table on database "{db}" on '
    )
    assert "could not create it (permission denied for schema public)" in paragraph
    assert "If a restore or another tool was replacing this database's schema" in paragraph


def test_a_head_schema_load_without_the_privilege_to_create_is_one_paragraph():
    db, result = _migrate_as_a_role_that_cannot_create()

    # A missing privilege is configuration (exit 2), as for every command.
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (paragraph,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert paragraph.startswith(f'error: permission denied for database {db} on database "{db}"')
    assert "Run it as a role that holds what it needs: the tables' owner for migrate" in paragraph


def test_django_migrations_dropped_under_a_running_migrate_is_one_paragraph(tmp_path):
    orders = MigrationsCopy(tmp_path, "orders")
    orders.write(
        "0002_slow_step.py",
        """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_create_order_status_and_orders")]
    operations = [
        migrations.RunSQL("CREATE TABLE half_applied (id int)", "DROP TABLE half_applied"),
        migrations.RunSQL("SELECT pg_sleep(5)", migrations.RunSQL.noop),
    ]
""",
    )
    with migrated_database() as db:
        # Given a migrate in the middle of a migration,
        child = start_manage(db, "migrate", "--no-input", "--no-preflight", env=orders.env())
        assert wait_until(
            lambda: query(
                db, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%%'"
            ),
            timeout=60,
        )
        # when another process (a restore) drops django_migrations under it,
        with connect(db, autocommit=True) as restore:
            restore.execute("DROP TABLE django_migrations")
        stdout, stderr = child.communicate(timeout=120)

        assert query(db, "SELECT to_regclass('half_applied')") == [(None,)]
    # then it says what happened, what stays and what to do, without a traceback.
    paragraph = one_paragraph(
        subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    )
    assert paragraph.startswith(f'error: the table django_migrations on database "{db}" on ')
    assert "disappeared while `manage.py migrate` ran" in paragraph
    assert "another process, such as a restore, changed this database's schema" in paragraph
    assert "then run `python manage.py migrate` again." in paragraph


@pytest.mark.parametrize(
    ("table", "migrated_first", "missing"),
    [
        ("django_migrations", False, "app, name, applied"),
        ("ledgerflow_migration_checksums", False, "app, name, checksum"),
        ("ledgerflow_migrate_runs", True, "started_at, finished_at, run_by"),
    ],
)
def test_a_foreign_bookkeeping_table_is_named_in_one_paragraph(table, migrated_first, missing):
    with (migrated_database if migrated_first else scratch_database)() as db:
        with connect(db, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, version text)")
            conn.execute(f"INSERT INTO {table} (version) VALUES ('theirs')")

        result = manage("migrate", "--no-input", database_url_value=database_url(db), check=False)

        assert query(db, f"SELECT id, version FROM {table}") == [(1, "theirs")]
    paragraph = one_paragraph(result)
    assert paragraph.startswith(f'error: the table {table} on database "{db}" on ')
    assert f"is not the one this project uses: it lacks the columns {missing}" in paragraph
    assert "(it has id, version), so something else made it" in paragraph
    assert f"nothing was written to {table}" in paragraph
    assert f"ALTER TABLE {table} RENAME TO {table}_foreign" in paragraph


def test_traceback_option_still_shows_where_it_failed():
    with scratch_database() as db:
        with connect(db, autocommit=True) as conn:
            conn.execute("CREATE TABLE django_migrations (id serial PRIMARY KEY, version text)")

        result = manage("migrate", "--traceback", database_url_value=database_url(db), check=False)

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "column django_migrations.app does not exist" in result.stderr


def test_any_other_database_error_is_one_paragraph_with_its_sqlstate(live_database_url):
    result = manage(
        "shell",
        "-c",
        "from django.db import connection; connection.cursor().execute('SELECT 1 / 0')",
        database_url_value=live_database_url,
        check=False,
    )

    paragraph = one_paragraph(result)
    assert paragraph.startswith("error: `manage.py shell` stopped on a database error on database ")
    assert "division by zero (SQLSTATE 22012)" in paragraph
    assert "what the command had committed before stays" in paragraph


def test_migrate_ends_by_naming_the_database_it_migrated():
    with scratch_database() as name:
        result = manage("migrate", database_url_value=database_url(name))
        again = manage("migrate", "--plan", database_url_value=database_url(name))

    assert result.stdout.rstrip().splitlines()[-1].startswith(f'Migrated database "{name}"')
    assert "Migrated database" not in again.stdout  # --plan changes nothing


def test_the_embedded_database_summary_says_where_it_lives_and_how_to_open_and_stop_it(tmp_path):
    from ledgerflow.cli import where_migrated
    from ledgerflow.db import embedded

    summary = where_migrated({"NAME": "ledgerflow", "USER": "postgres"}, True, tmp_path)

    assert str(tmp_path / ".pgembedded" / "data") in summary
    assert f"psql -h {embedded.socket_dir(tmp_path)} -U postgres ledgerflow" in summary
    assert "make embedded-stop" in summary


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_stops_reading_ends_the_command_without_a_traceback(unbuffered):
    # `manage.py help --commands | head -1`: the reader closes the pipe before the output ends.
    env = {**os.environ, "LEDGERFLOW_ENV": "test", "PYTHONUNBUFFERED": unbuffered}
    child = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "help", "--commands"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child.stdout.close()
    stderr = child.stderr.read()
    child.stderr.close()

    assert child.wait(timeout=60) == 1
    assert "Traceback" not in stderr
    assert stderr == (
        "error: the output was closed before the command finished (its reader, such as "
        "`head`, stopped reading); run it again with the output in a file to see all of it.\n"
    )
