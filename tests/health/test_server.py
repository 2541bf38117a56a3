"""Readiness and metrics followed end to end against a real server process (gunicorn) while
migrations are applied, rolled back and recorded by a newer release."""

import json
import re
from urllib.parse import urlsplit, urlunsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledgerflow.migrating.history import SCHEMA_VERSION_SQL, code_loader, code_schema_version
from tests.support.databases import (
    REPO_ROOT,
    connect,
    database_url,
    manage,
    scratch_database,
)
from tests.support.servers import free_port, get, get_json, running_server

PASSWORD = "Pr0be-s3cret-pw"


def with_password(url, password=PASSWORD):
    """The URL with a password; the test server trusts local connections, so any works."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host_and_port = parts.netloc.rsplit("@", 1)[-1]  # as given: a socket directory has no port
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host_and_port}"))


def scrape(server):
    status, text = get(server.url("/metrics"))
    assert status == 200, text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }, text


def failures(body):
    return {name: entry for name, entry in body["checks"].items() if not entry["ok"]}


def table_count(dbname):
    with connect(dbname) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()[0]


@pytest.mark.process
def test_readiness_follows_the_migration_state_of_a_real_server():
    total = len(code_loader().graph.nodes)
    with scratch_database("lf_health") as dbname:
        url = with_password(database_url(dbname))
        env = {"HEALTH_CACHE_SECONDS": "0", "DATABASE_POOL": "true"}
        env |= {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "3"}
        with running_server(url, env=env) as server:
            responses = []

            def ready():
                status, body = get_json(server.url("/health/ready"))
                responses.append(json.dumps(body))
                return status, body

            # An empty database: not ready, and probing it created nothing.
            status, body = ready()
            assert status == 503
            # Drift has no expected schema for a database at no migration: it says so too.
            assert set(failures(body)) == {"migrations_applied", "drift"}
            assert failures(body)["migrations_applied"]["reason"].startswith(
                "no migration is applied: django_migrations does not exist"
            )
            metrics, text = scrape(server)
            responses.append(text)
            assert metrics["ledgerflow_schema_pending_migrations"] == total
            assert metrics["ledgerflow_schema_at_head"] == 0
            assert metrics["ledgerflow_db_pool_enabled"] == 1
            assert metrics["ledgerflow_db_pool_max"] == 3
            assert table_count(dbname) == 0
            refused = manage("schema_version", "--check", database_url_value=url, check=False)
            assert refused.returncode == 1
            assert "the database is at no recorded migration, this code expects" in refused.stderr

            # Part of the way: still behind, by exactly what is left.
            manage("migrate", "ledgerflow", database_url_value=url)
            status, body = ready()
            assert status == 503
            pending = failures(body)["migrations_applied"]
            ledgerflow_migrations = [n for n in code_loader().graph.nodes if n[0] == "ledgerflow"]
            assert len(pending["details"]) == total - len(ledgerflow_migrations)
            assert "ledgerflow.0001_install_update_updated_at_column" not in pending["details"]

            # At head: ready, and the services' start-up query agrees with the code.
            manage("migrate", database_url_value=url)
            status, body = ready()
            assert (status, body["status"]) == (200, "ok")
            assert scrape(server)[0]["ledgerflow_schema_at_head"] == 1
            with connect(dbname) as conn:
                assert conn.execute(SCHEMA_VERSION_SQL).fetchone()[0] == code_schema_version()
            accepted = manage("schema_version", "--check", database_url_value=url)
            assert accepted.stdout.strip() == code_schema_version()

            # Rolled back one app: behind again, naming the migration.
            manage("rollback", "orders", "zero", database_url_value=url)
            status, body = ready()
            assert status == 503
            assert failures(body)["migrations_applied"]["details"] == [
                "orders.0001_create_order_status_and_orders"
            ]
            manage("migrate", database_url_value=url)
            assert ready()[0] == 200

            # A newer release recorded a migration this code does not have: the database is ahead.
            with connect(dbname, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO django_migrations (app, name, applied) "
                    "VALUES ('users', '0002_from_the_next_release', now())"
                )
            status, body = ready()
            assert status == 503
            assert set(failures(body)) == {"no_unknown_migrations", "drift"}
            assert scrape(server)[0]["ledgerflow_schema_unknown_migrations"] == 1
            with connect(dbname, autocommit=True) as conn:
                conn.execute(
                    "DELETE FROM django_migrations WHERE name = '0002_from_the_next_release'"
                )
            assert ready()[0] == 200

            log = server.log()
        assert PASSWORD not in log
        assert all(PASSWORD not in response for response in responses)
        events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        failed = [e for e in events if e["logger"] == "ledgerflow.health" and "check" in e]
        assert {e["check"] for e in failed} == {
            "migrations_applied",
            "no_unknown_migrations",
            "drift",
        }
        assert all(e["level"] == "WARNING" for e in failed)


@pytest.mark.process
def test_live_stays_200_and_ready_is_503_when_the_database_port_is_closed():
    port = free_port()  # nothing listens there
    url = with_password(f"postgres://ledgerflow@127.0.0.1:{port}/ledgerflow")
    with running_server(url) as server:
        live = get_json(server.url("/health/live"))
        ready_status, ready_text = get(server.url("/health/ready"))
        metrics_status, metrics_text = get(server.url("/metrics"))
        log = server.log()

    assert live == (200, {"status": "ok"})
    assert ready_status == 503
    database = json.loads(ready_text)["checks"]["database"]
    assert (database["ok"], database["reason"]) == (
        False,
        "the database is unreachable (OperationalError)",
    )
    assert (
        database["details"][0] == f'database "ledgerflow" on 127.0.0.1:{port} as user "ledgerflow"'
    )
    assert "Connection refused" in database["details"][1]
    assert metrics_status == 200
    assert re.search(r"^ledgerflow_database_up 0\.0$", metrics_text, re.MULTILINE)
    for text in (ready_text, metrics_text, log):
        assert PASSWORD not in text
    assert '"check": "database"' in log


def test_the_documented_start_up_query_is_the_one_the_code_runs():
    integration = (REPO_ROOT / "docs" / "INTEGRATION.md").read_text()

    assert SCHEMA_VERSION_SQL in integration
    assert "python manage.py schema_version" in integration
