"""The deploy path as managed PostgreSQL (RDS, Cloud SQL) runs it: as the database's owner, a
login role with NOSUPERUSER NOCREATEDB NOCREATEROLE, the public schema owned by
``pg_database_owner``. Every step a deploy takes works; ``schema_docs``, which needs more, says
so in one paragraph and names the way around it."""

import uuid

import pytest

from tests.roles.conftest import url_as
from tests.support.databases import connect, database_url, manage
from tests.support.servers import get_json, running_server

pytestmark = pytest.mark.process  # they start servers or manage.py, or create databases


@pytest.fixture(scope="module")
def owner():
    """``(role, database)``: an empty database owned by a role with no other privilege."""
    suffix = uuid.uuid4().hex[:8]
    role, database = f"lf_test_{suffix}_owner", f"lf_owner_{suffix}"
    with connect("postgres", autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        admin.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
    with connect(database, autocommit=True) as conn:
        # PostgreSQL 15 and later create public like this; 14 gave it to the bootstrap superuser
        # with CREATE for everyone, which managed services take away.
        conn.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        yield role, database
    finally:
        with connect("postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture(scope="module")
def backups(tmp_path_factory):
    return tmp_path_factory.mktemp("owner-backups")


@pytest.fixture(scope="module")
def deployed(owner, backups):
    """``migrate --backup`` as the owner, as the README tells production to run it."""
    role, database = owner
    result = as_owner(owner, backups, "migrate", "--no-input", "--backup")
    return role, database, result


def as_owner(owner, backups, *args, check=False):
    role, database = owner
    return manage(
        *args,
        database_url_value=url_as(role, database),
        env={"LEDGERFLOW_BACKUP_DIR": str(backups)},
        check=check,
    )


def test_migrate_with_a_backup_creates_the_schema_owned_by_the_owner(deployed):
    role, database, result = deployed

    with connect(database) as conn:
        owners = conn.execute(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename IN ('accounts', 'users', 'orders', 'chain_states', 'deposit_events') "
            "ORDER BY 1"
        ).fetchall()
        [(superuser,)] = conn.execute(
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = %s",
            [role],
        ).fetchall()

    assert result.returncode == 0, result.stderr
    # The database was empty: the head schema was loaded, and there was nothing to back up.
    assert "The database is empty: there is nothing to back up." in result.stdout
    assert "Loaded the head schema" in result.stdout
    assert superuser is False
    assert owners == [
        ("accounts", role),
        ("chain_states", role),
        ("deposit_events", role),
        ("orders", role),
        ("users", role),
    ]


def test_status_preflight_drift_and_version_pass_as_the_owner(deployed, owner, backups):
    status = as_owner(owner, backups, "migration_status", "--exit-code")
    preflight = as_owner(owner, backups, "preflight")
    drift = as_owner(owner, backups, "schema_drift")
    version = as_owner(owner, backups, "schema_version", "--check")
    again = as_owner(owner, backups, "migrate", "--no-input")

    for result in (status, preflight, drift, version, again):
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert drift.stdout.startswith(f'no drift: database "{owner[1]}"')
    assert "No migrations to apply." in again.stdout


def test_rollback_dry_run_and_backup_work_as_the_owner(deployed, owner, backups):
    dry_run = as_owner(owner, backups, "rollback", "--steps", "1", "--dry-run")
    backup = as_owner(owner, backups, "backup")
    with connect(owner[1]) as conn:
        [(applied,)] = conn.execute("SELECT count(*) FROM django_migrations").fetchall()
    still = as_owner(owner, backups, "migration_status", "--exit-code")

    assert dry_run.returncode == 0, dry_run.stderr
    assert backup.returncode == 0, backup.stderr
    assert "Backup verified:" in backup.stdout
    assert len(list(backups.glob("*.manifest.json"))) == 1  # migrate --backup found it empty
    assert applied > 0
    assert still.returncode == 0  # the dry run changed nothing


def test_readiness_is_ready_as_the_owner(deployed, owner):
    role, database = owner

    with running_server(
        url_as(role, database), env={"HEALTH_ALLOWED_NETWORKS": "127.0.0.1"}
    ) as server:
        status, body = get_json(server.url("/health/ready"))

    assert (status, body["status"]) == (200, "ok"), body


def test_schema_docs_as_the_owner_says_what_it_needs_and_the_way_around(deployed, owner, backups):
    result = as_owner(owner, backups, "schema_docs", "--check")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [paragraph] = result.stderr.strip().splitlines()
    assert "CREATE DATABASE" in paragraph
    assert "LEDGERFLOW_SCRATCH_DATABASE_URL" in paragraph
    assert "Nothing was changed" in paragraph


def test_schema_docs_as_the_owner_runs_with_a_scratch_server_that_allows_it(owner, backups):
    result = manage(
        "schema_docs",
        "--check",
        database_url_value=url_as(*owner),
        env={"LEDGERFLOW_SCRATCH_DATABASE_URL": database_url("postgres")},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "generated schema files are up to date"
