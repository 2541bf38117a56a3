"""Settings load from the chosen environment file, real variables win, and mistakes are refused
with one clear paragraph. Each case loads the settings in a fresh process, as a deploy would."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.support.databases import REPO_ROOT, manage

pytestmark = pytest.mark.process

SECRET = "s3cr3t-pa55"
PROBE = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "env": settings.LEDGERFLOW_ENV, "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT, "name": db["NAME"], "host": db["HOST"],
    "port": db["PORT"], "conn_max_age": db["CONN_MAX_AGE"], "options": db["OPTIONS"],
}))
"""


def clean_env(**overrides):
    # Built from nothing: the test process itself has read config/test.env into os.environ.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["DJANGO_SETTINGS_MODULE"] = "ledgerflow.settings"
    env.update(overrides)
    return env


def load_settings(**env):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    return result


def loaded(**env):
    result = load_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


URL = "postgres://ledger:pw@db.internal:6543/ledgerflow"
PRODUCTION = {
    "LEDGERFLOW_ENV": "production",
    "SECRET_KEY": "k7#Qz9!vR2mW8pL4xT6nB1cY5hJ3gF0dS-a_e+uI" * 2,
    "ALLOWED_HOSTS": "admin.example.com",
    "DATABASE_URL": URL,
}


def test_development_file_turns_debug_on_and_https_redirects_off():
    settings = loaded(LEDGERFLOW_ENV="development", DATABASE_URL=URL)

    assert (settings["env"], settings["debug"], settings["ssl_redirect"]) == (
        "development",
        True,
        False,
    )


def test_test_file_keeps_debug_off():
    settings = loaded(LEDGERFLOW_ENV="test", DATABASE_URL=URL)

    assert (settings["env"], settings["debug"]) == ("test", False)
    assert "testserver" in settings["hosts"]


def test_real_environment_variables_win_over_the_file():
    settings = loaded(LEDGERFLOW_ENV="development", DATABASE_URL=URL, DEBUG="false")

    assert settings["debug"] is False


def test_database_url_selects_the_database():
    settings = loaded(LEDGERFLOW_ENV="test", DATABASE_URL=URL)

    assert (settings["host"], settings["port"], settings["name"]) == (
        "db.internal",
        6543,
        "ledgerflow",
    )


def test_without_database_url_the_embedded_socket_is_used():
    settings = loaded(LEDGERFLOW_ENV="test")

    assert settings["host"].endswith("run") or "ledgerflow-pg-" in settings["host"]
    assert settings["name"] == "ledgerflow"


@pytest.mark.parametrize("blank", ["", " "])
def test_a_set_but_empty_database_url_is_refused_instead_of_meaning_the_embedded_database(blank):
    result = run_manage("help", LEDGERFLOW_ENV="development", DATABASE_URL=blank)

    assert result.returncode == 2
    assert result.stderr == (
        f"error: DATABASE_URL is set but empty ({blank!r}). Set it to "
        "postgres://USER:PASSWORD@HOST:PORT/DATABASE, or unset it (`unset DATABASE_URL`) to use "
        "the embedded PostgreSQL in development and test.\n"
    )


def test_production_loads_secure_defaults():
    settings = loaded(**PRODUCTION)

    assert (settings["debug"], settings["ssl_redirect"], settings["hosts"]) == (
        False,
        True,
        ["admin.example.com"],
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}

    result = run_manage("check", **env)

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: Production settings need {missing} set")
    assert "Traceback" not in result.stderr


def test_production_passes_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_unknown_environment_is_refused():
    result = run_manage("check", LEDGERFLOW_ENV="staging", DATABASE_URL=URL)

    assert result.returncode == 2
    assert "LEDGERFLOW_ENV is 'staging'" in result.stderr


def test_pool_settings_reach_django_options():
    settings = loaded(
        LEDGERFLOW_ENV="test",
        DATABASE_URL=URL,
        DATABASE_POOL="true",
        DATABASE_POOL_MIN_SIZE="3",
        DATABASE_POOL_MAX_SIZE="7",
        DATABASE_POOL_TIMEOUT="2.5",
    )

    assert settings["options"]["pool"] == {"min_size": 3, "max_size": 7, "timeout": 2.5}
    assert settings["conn_max_age"] == 0


def test_persistent_connections_without_a_pool():
    settings = loaded(LEDGERFLOW_ENV="test", DATABASE_URL=URL, DATABASE_CONN_MAX_AGE="60")

    assert settings["conn_max_age"] == 60
    assert "pool" not in settings["options"]


def test_pool_and_persistent_connections_together_are_refused():
    result = run_manage(
        "check",
        LEDGERFLOW_ENV="test",
        DATABASE_URL=URL,
        DATABASE_POOL="true",
        DATABASE_CONN_MAX_AGE="60",
    )

    assert result.returncode == 2
    assert "DATABASE_POOL and DATABASE_CONN_MAX_AGE are both set: choose one" in result.stderr


def test_a_pool_serves_real_connections(live_database_url):
    result = run_manage(
        "shell",
        "-c",
        "from django.db import connection; print(connection.cursor().connection.execute('select 41 + 1').fetchone()[0])",
        LEDGERFLOW_ENV="test",
        DATABASE_URL=live_database_url,
        DATABASE_POOL="true",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="2",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:" + SECRET + "@localhost/ledgerflow", "is not a PostgreSQL URL"),
        ("not a url", "is not a well-formed URL: it does not start with a scheme"),
        ("postgres://ledger:" + SECRET + "@localhost:5432", "names no database"),
        # An unencoded "/" or "?" hides the password from urlsplit, which reads part of it as
        # the port; a stray "[" made urlsplit raise outside any handler.
        ("postgres://ledger:" + SECRET + "/x@db.internal:5432/ledgerflow", "not a well-formed"),
        ("postgres://ledger:" + SECRET + "?x@db.internal:5432/ledgerflow", "not a well-formed"),
        ("postgres://ledger:" + SECRET + "@[::1/ledgerflow", "not a well-formed URL"),
    ],
)
def test_an_invalid_database_url_is_refused_without_the_password(url, message):
    result = run_manage("migrate", LEDGERFLOW_ENV="test", DATABASE_URL=url)

    assert result.returncode == 2
    assert message in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_an_unreachable_server_gives_one_paragraph_naming_host_and_database():
    url = f"postgres://ledger:{SECRET}@127.0.0.1:1/payments"

    result = run_manage("migrate", LEDGERFLOW_ENV="test", DATABASE_URL=url)

    assert result.returncode == 1
    assert result.stderr.startswith(
        'error: cannot connect to database "payments" on 127.0.0.1:1 as user "ledger":'
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stderr + result.stdout


def test_a_bad_connection_option_gives_the_one_paragraph_error():
    url = f"postgres://ledger:{SECRET}@127.0.0.1:1/payments?connect_timeout=abc"

    result = run_manage("migrate", LEDGERFLOW_ENV="test", DATABASE_URL=url)

    assert result.returncode == 1
    assert result.stderr.startswith(
        'error: cannot connect to database "payments" on 127.0.0.1:1 as user "ledger": '
        "bad value for connect_timeout: 'abc'."
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "mysql://root:" + SECRET + "@localhost/ledgerflow",
        "postgres://ledger:" + SECRET + "/x@localhost:5432/ledgerflow",
    ],
)
def test_an_invalid_migration_database_url_is_named_in_one_paragraph(url, live_database_url):
    result = run_manage(
        "migrate",
        LEDGERFLOW_ENV="test",
        DATABASE_URL=live_database_url,
        MIGRATION_DATABASE_URL=url,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: MIGRATION_DATABASE_URL ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_CONN_MAX_AGE", "abc", "a whole number, 0 or more"),
        ("HEALTH_CACHE_SECONDS", "x", "a number, 0 or more"),
        ("LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("MIGRATION_LOCK_TIMEOUT", "abc", "a number, 0 or more"),
        ("MIGRATION_LOCK_TIMEOUT", "-1", "a number, 0 or more"),
        ("MIGRATION_LOCK_WAIT_TIMEOUT", "x", "a number, 0 or more"),
        ("MIGRATION_STATEMENT_TIMEOUT", "-5", "a number, 0 or more"),
        ("MIGRATION_RETRIES", "-1", "a whole number, 0 or more"),
        ("DATABASE_POOL", "yes-please", "true or false"),
    ],
)
def test_a_malformed_value_is_refused_naming_variable_value_and_expectation(
    variable, value, expected
):
    result = run_manage("check", LEDGERFLOW_ENV="test", DATABASE_URL=URL, **{variable: value})

    assert result.returncode == 2
    assert result.stderr == f"error: {variable} is {value!r}; it must be {expected}.\n"


@pytest.mark.parametrize(("variable", "blank"), [("SECRET_KEY", " "), ("ALLOWED_HOSTS", ",")])
def test_production_counts_a_blank_required_variable_as_missing(variable, blank):
    result = run_manage("check", **{**PRODUCTION, variable: blank})

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: Production settings need {variable} set")


def test_a_missing_database_is_named(live_database_url):
    url = live_database_url.rsplit("/", 1)[0] + "/lf_no_such_database"

    result = manage("migrate", database_url_value=url, check=False)

    assert result.returncode == 1
    assert 'cannot connect to database "lf_no_such_database"' in result.stderr
    assert 'database "lf_no_such_database" does not exist' in result.stderr


def test_a_refused_login_is_named_without_the_password(live_database_url):
    from tests.support.databases import connect

    role = f"lf_locked_out_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per run
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} NOLOGIN PASSWORD 'irrelevant'")
    try:
        host_part = live_database_url.split("@", 1)[1]
        url = f"postgres://{role}:{SECRET}@{host_part}"

        result = manage("migrate", database_url_value=url, check=False)
    finally:
        with connect("postgres", autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")

    assert result.returncode == 1
    assert f'as user "{role}"' in result.stderr
    assert f'role "{role}" is not permitted to log in' in result.stderr
    assert SECRET not in result.stderr + result.stdout
