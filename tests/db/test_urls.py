"""Database URLs: parsed by one function, shown by one function, the password never in a message.

A URL that cannot be split for sure is never echoed (not even masked); it is described by its
scheme and host. The same shapes are run through the real commands, every input path, in
``tests/db/test_url_secrets.py``.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ledgerflow.db.urls import database_config, describe_url, psycopg_params
from tests.db.test_url_secrets import MALFORMED, SECRET

HIDDEN = "not shown, as it may hold the password"


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("postgres://u:pw@h:5432/d", "postgres://u:***@h:5432/d"),
        ("postgres://u@h/d", "postgres://u@h/d"),
        ("postgres://h/d", "postgres://h/d"),
        ("postgres:///d", "postgres:///d"),
        ("postgres://u:@h/d", "postgres://u:***@h/d"),
        # A raw "@" or ":" belongs to the password, which runs to the last "@".
        ("postgres://u:Pa@ss@db/d", "postgres://u:***@db/d"),
        ("postgres://u:pa:ss@db/d", "postgres://u:***@db/d"),
        ("postgres://u:p%2Fw@[::1]:5432/d", "postgres://u:***@[::1]:5432/d"),
        ("postgres://u:pw@h1:5432,h2:5433/d", "postgres://u:***@h1:5432,h2:5433/d"),
        (
            "postgres://u@h/d?sslmode=require&password=pw&sslpassword=pw",
            "postgres://u@h/d?sslmode=require&password=***&sslpassword=***",
        ),
        # Not well formed: never echoed; the scheme and host only when they are certain.
        ("postgres:/u:pw@db/d", f'({HIDDEN}; scheme "postgres", host "db")'),
        ("postgres:u:pw@db/d", f'({HIDDEN}; scheme "postgres", host "db")'),
        ("postgres://u:pw@db:54x2/d", f'({HIDDEN}; scheme "postgres", host "db")'),
        ("postgres://u:pw@db:99999/d", f'({HIDDEN}; scheme "postgres", host "db")'),
        ("postgres://u:pw@db/d#x", f'({HIDDEN}; scheme "postgres", host "db")'),
        # After a "/" "?" or "#" before the last "@", even the host is uncertain.
        ("postgres://u:hunter2/x@db:5432/d", f'({HIDDEN}; scheme "postgres")'),
        ("postgres://db/d?password=se@cret", f'({HIDDEN}; scheme "postgres")'),
        ("postgres://u:s3cr3t@[::1/d", f'({HIDDEN}; scheme "postgres")'),
        ("notaurl", f"({HIDDEN})"),
        ("//u:pw@db/d", f"({HIDDEN})"),
    ],
)
def test_describe_url(url, described):
    assert describe_url(url) == described


@pytest.mark.parametrize(("shape", "url", "secrets"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_url_is_refused_without_any_part_of_the_password(shape, url, secrets):
    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(url, variable="--against")

    message = str(refused.value)
    assert message.startswith("--against ")
    assert "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE" in message or (
        "names no database" in message
    )
    for secret in secrets:
        assert secret not in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres:/u:hunter2@db/x", f'({HIDDEN}; scheme "postgres", host "db") is not a well'),
        ("notaurl", f"({HIDDEN}) is not a well-formed URL: it does not start with a scheme"),
        ("mysql://u:hunter2@h/db", "mysql://u:***@h/db is not a PostgreSQL URL"),
        ("postgres://u:hunter2/x@h/db", f'({HIDDEN}; scheme "postgres") is not a well-formed'),
        ("postgres://u:hunter2@h:5432", "postgres://u:***@h:5432 names no database"),
    ],
)
def test_messages_name_the_variable_given(url, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(url, variable="MIGRATION_DATABASE_URL")

    assert str(refused.value).startswith(f"MIGRATION_DATABASE_URL {message}")
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgres://u:Pa@ss@db/d", "Pa@ss"),
        ("postgres://u:pa:ss@db/d", "pa:ss"),
        ("postgres://u:p%2Fw%3F%23%25@db/d", "p/w?#%"),
        ("postgres://u:pa ss@db/d", "pa ss"),
        ("postgres://u:pässwörd@db/d", "pässwörd"),
        ("  postgres://u:pw@db/d  ", "pw"),
    ],
)
def test_an_odd_but_well_formed_password_reaches_the_connection_whole(url, password):
    config = database_config(url)

    assert (config["PASSWORD"], config["HOST"], config["NAME"]) == (password, "db", "d")


def test_psycopg_params_carry_the_query_options_but_not_djangos_own():
    config = database_config("postgres://u:pw@db:6432/d?sslmode=require", pool=True)

    assert psycopg_params(config) == {
        "sslmode": "require",
        "connect_timeout": 10,
        "application_name": "ledgerflow-schema",
        "dbname": "d",
        "user": "u",
        "password": "pw",
        "host": "db",
        "port": 6432,
    }
