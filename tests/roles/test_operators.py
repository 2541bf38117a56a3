"""The service roles as operators meet them: ``migrate`` grants, ``service_grants`` shows, checks
and applies, and the monitor role runs readiness, ``schema_version --check`` and
``schema_drift``; a role that may read nothing still starts ``runserver``."""

import os
import subprocess
import sys
import time

import pytest

from ledgerflow.roles.services import SERVICES
from tests.roles.conftest import url_as
from tests.support.databases import (
    REPO_ROOT,
    connect,
    database_url,
    manage,
    scratch_database,
)
from tests.support.servers import get, get_json, running_server

pytestmark = pytest.mark.process


def role_env(role_names):
    return {service.setting: role_names[service.name] for service in SERVICES}


@pytest.fixture(scope="module")
def migrated(role_names):
    """A database migrated with the four role settings set: ``(name, migrate's result)``."""
    with scratch_database("lf_roles") as name:
        result = manage(
            "migrate", "--no-input", database_url_value=database_url(name), env=role_env(role_names)
        )
        yield name, result


def test_migrate_grants_each_named_role_what_its_service_needs(migrated, role_names):
    name, result = migrated

    check = manage(
        "service_grants",
        "--check",
        database_url_value=database_url(name),
        env=role_env(role_names),
    )

    bot = role_names["bot"]
    assert f'Service grants: GRANT INSERT, SELECT, UPDATE ON TABLE "users" TO "{bot}"' in (
        result.stdout
    )
    assert check.stdout.splitlines()[-1] == "Every service role holds exactly what it needs."


def test_readiness_and_metrics_work_for_the_monitor_role_at_head(migrated, role_names):
    name, _ = migrated

    with running_server(
        url_as(role_names["monitor"], name), env={"HEALTH_ALLOWED_NETWORKS": "127.0.0.1"}
    ) as server:
        status, body = get_json(server.url("/health/ready"))
        metrics_status, metrics = get(server.url("/metrics"))

    assert (status, body["status"]) == (200, "ok"), body
    assert all(check["details"] == [] for check in body["checks"].values()), body
    assert metrics_status == 200
    assert "ledgerflow_schema_at_head 1.0" in metrics.splitlines()


def test_schema_version_check_and_drift_pass_under_the_monitor_role(migrated, role_names):
    name, _ = migrated
    monitor = url_as(role_names["monitor"], name)

    version = manage(
        "schema_version", "--check", database_url_value=monitor, env=role_env(role_names)
    )
    drift = manage("schema_drift", database_url_value=monitor, env=role_env(role_names))

    assert version.returncode == 0
    # The grants migrate made to the service roles are expected: no drift and no note, in v1
    # and in schema v2 (the monitor may use ledgerflow_v2 and read its sequences).
    [line, v2_line] = drift.stdout.splitlines()
    assert line.startswith(f'no drift: database "{name}"')
    assert f'as user "{role_names["monitor"]}"' in line
    assert v2_line == (
        "ledgerflow_v2 (schema v2): no drift: matches the schema of its applied v2 migrations"
    )


def test_a_read_only_command_without_the_privilege_ends_in_one_paragraph(migrated, role_names):
    name, _ = migrated

    result = manage(
        "schema_version",
        "--check",
        database_url_value=url_as(role_names["nobody"], name),
        check=False,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [paragraph] = result.stderr.splitlines()
    assert paragraph.startswith("error: permission denied for table django_migrations on database")
    assert "LEDGERFLOW_MONITOR_ROLE" in paragraph


def test_runserver_starts_under_a_role_that_may_not_read_django_migrations(migrated, role_names):
    name, _ = migrated
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:0", "--noreload"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "LEDGERFLOW_ENV": "test",
            "DATABASE_URL": url_as(role_names["nobody"], name),
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            output.append(line)
            if line.startswith("Starting development server"):
                break
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=15)
        output.append(rest)
    text = "".join(output)

    assert "Starting development server" in text, text
    assert "Traceback" not in text
    assert "Could not check for unapplied migrations" in text


def test_service_grants_check_names_a_difference_and_apply_fixes_it(migrated, role_names):
    name, _ = migrated
    bot, env = role_names["bot"], role_env(role_names)
    with connect(name, autocommit=True) as conn:
        conn.execute(f'GRANT DELETE ON orders TO "{bot}"')

    before = manage(
        "service_grants", "--check", database_url_value=database_url(name), env=env, check=False
    )
    applied = manage("service_grants", "--apply", database_url_value=database_url(name), env=env)
    after = manage(
        "service_grants", "--check", database_url_value=database_url(name), env=env, check=False
    )

    assert before.returncode == 1
    assert (
        f"difference: {bot} holds DELETE on orders, which the bot's statements do not need"
        in before.stdout.splitlines()
    )
    assert f'applied: REVOKE DELETE ON TABLE "orders" FROM "{bot}"' in applied.stdout
    assert after.returncode == 0


def test_a_later_migrate_with_nothing_to_apply_revokes_what_a_role_should_not_hold(
    migrated, role_names
):
    name, _ = migrated
    indexer = role_names["indexer"]
    with connect(name, autocommit=True) as conn:
        conn.execute(f'GRANT SELECT ON orders TO "{indexer}"')

    result = manage(
        "migrate", "--no-input", database_url_value=database_url(name), env=role_env(role_names)
    )

    assert "No migrations to apply." in result.stdout
    assert f'Service grants: REVOKE SELECT ON TABLE "orders" FROM "{indexer}"' in result.stdout
    with connect(name) as conn:
        [(holds,)] = conn.execute("SELECT has_table_privilege(%s, 'orders', 'SELECT')", [indexer])
    assert holds is False


def test_a_missing_role_stops_migrate_before_anything_is_applied(role_names):
    env = {**role_env(role_names), "LEDGERFLOW_BOT_ROLE": "lf_test_no_such_role"}
    with scratch_database("lf_roles") as name:
        result = manage(
            "migrate", "--no-input", database_url_value=database_url(name), env=env, check=False
        )
        grants = manage(
            "service_grants", database_url_value=database_url(name), env=env, check=False
        )
        with connect(name) as conn:
            [(orders_exists,)] = conn.execute("SELECT to_regclass('orders') IS NOT NULL")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "Refusing to migrate; nothing was applied. LEDGERFLOW_BOT_ROLE names the role "
        "'lf_test_no_such_role', which does not exist on this PostgreSQL server."
    ) in result.stderr
    assert orders_exists is False
    assert grants.returncode == 2
    assert "Traceback" not in grants.stderr
    assert "LEDGERFLOW_BOT_ROLE names the role 'lf_test_no_such_role'" in grants.stderr
