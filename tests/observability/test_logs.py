"""JSON lines and plain text logs, with passwords masked wherever they appear."""

import json
import logging
import sys

import pytest

from ledgerflow.observability.logs import JsonFormatter, TextFormatter
from ledgerflow.observability.masking import mask_secrets
from tests.support.databases import manage

SECRET = "Sup3r-s3cret"
CONFIGURED = "C0nfigured-pw"


def emit(formatter, logger_name, message, *args, exc_info=None, **extra):
    logger = logging.getLogger(logger_name)
    record = logger.makeRecord(
        logger_name, logging.INFO, __file__, 1, message, args, exc_info, extra=extra
    )
    return formatter.format(record)


def test_a_migration_event_becomes_one_json_line_with_its_extra_fields():
    line = emit(
        JsonFormatter(),
        "ledgerflow.migrations",
        "applied %s.%s",
        "orders",
        "0002_add_deposited_status",
        app="orders",
        migration="0002_add_deposited_status",
        duration=0.125,
        lock_wait=0.0,
        outcome="applied",
    )

    assert "\n" not in line
    event = json.loads(line)
    assert event["logger"] == "ledgerflow.migrations"
    assert event["level"] == "INFO"
    assert event["message"] == "applied orders.0002_add_deposited_status"
    assert (event["app"], event["migration"], event["duration"]) == (
        "orders",
        "0002_add_deposited_status",
        0.125,
    )
    assert (event["lock_wait"], event["outcome"]) == (0.0, "applied")
    assert event["time"].endswith("+00:00")


def test_passwords_are_masked_in_message_extra_fields_and_tracebacks():
    url = f"postgres://ledgerflow:{SECRET}@db.internal:5432/ledgerflow"
    try:
        raise RuntimeError(f"cannot use {url}")
    except RuntimeError:
        exc_info = sys.exc_info()

    line = emit(
        JsonFormatter(),
        "ledgerflow.health",
        "DATABASE_URL=%s",
        url,
        exc_info=exc_info,
        settings_dump={"DATABASES": {"default": {"PASSWORD": SECRET, "HOST": "db"}}},
        conninfo=f"host=db password={SECRET} dbname=x",
    )

    assert SECRET not in line
    event = json.loads(line)
    assert event["message"] == "DATABASE_URL=postgres://ledgerflow:***@db.internal:5432/ledgerflow"
    assert event["conninfo"] == "host=db password=*** dbname=x"
    assert event["settings_dump"] == {"DATABASES": {"default": {"PASSWORD": "***", "HOST": "db"}}}
    assert "postgres://ledgerflow:***@db.internal" in event["exception"]


def test_text_lines_are_masked_too():
    line = emit(TextFormatter(), "ledgerflow", "'PASSWORD': '%s', url %s", SECRET, "x://u:p@h")

    assert SECRET not in line
    assert "'PASSWORD': '***'" in line
    assert "x://u:***@h" in line
    assert " INFO ledgerflow: " in line


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://u:pw@h:5432/d", "postgres://u:***@h:5432/d"),
        ("postgresql://u@h/d", "postgresql://u@h/d"),
        ("user=u password='a b' host=h", "user=u password='***' host=h"),
        ('{"password": "x"}', '{"password": "***"}'),
        ("PGPASSWORD=abc", "PGPASSWORD=***"),
        # A raw "@", "/" or "?" in the password: masked up to the "@" before the host.
        ("postgres://u:Pa@ss@h:5432/d", "postgres://u:***@h:5432/d"),
        ("'postgres://u:hunter2/x@h/d'", "'postgres://u:***@h/d'"),
        (
            "postgres://u:a?b@h/d, see admin@example.com",
            "postgres://u:***@h/d, see admin@example.com",
        ),
        ("no secrets here", "no secrets here"),
    ],
)
def test_mask_secrets(text, masked):
    assert mask_secrets(text) == masked


@pytest.mark.process
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT is 'xml'; it must be json or text."),
        (
            "HEALTH_ALLOWED_NETWORKS",
            "10.0.0.0/8,intranet",
            "HEALTH_ALLOWED_NETWORKS has 'intranet'",
        ),
        ("HEALTH_CACHE_SECONDS", "-1", "HEALTH_CACHE_SECONDS is '-1'; it must be a number, 0"),
    ],
)
def test_bad_health_settings_stop_start_up_with_a_clear_error(variable, value, message):
    result = manage("check", env={variable: value}, check=False)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.process
def test_diffsettings_masks_the_database_password():
    url = f"postgres://ledgerflow:{SECRET}@127.0.0.1:5432/ledgerflow"

    result = manage("diffsettings", "--all", database_url_value=url)

    assert SECRET not in result.stdout
    assert "DATABASE_URL = 'postgres://ledgerflow:***@127.0.0.1:5432/ledgerflow'" in result.stdout
    assert "'PASSWORD': '***'" in result.stdout


@pytest.mark.process
def test_diffsettings_masks_a_password_with_a_raw_at_sign_whole():
    url = "postgres://ledgerflow:Pa@ss@127.0.0.1:5432/ledgerflow"

    result = manage("diffsettings", "--all", database_url_value=url)

    assert "Pa@ss" not in result.stdout
    assert "ss@127" not in result.stdout
    assert "DATABASE_URL = 'postgres://ledgerflow:***@127.0.0.1:5432/ledgerflow'" in result.stdout


def test_configured_passwords_are_masked_whole_in_plain_and_encoded_forms(monkeypatch):
    from django.conf import settings

    password = "it's p@ss w/rd"
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", password)
    text = (
        f"password='{password}' "
        "url postgres://u:it%27s%20p%40ss%20w%2Frd@h/d "
        f"conninfo password={password} host=h"
    )

    masked = mask_secrets(text)

    assert masked == "password='***' url postgres://u:***@h/d conninfo password=*** host=h"


def test_error_reports_mask_passwords_in_settings_and_local_variables(settings):
    from django.views.debug import get_exception_reporter_class, get_exception_reporter_filter

    settings.DATABASE_URL = f"postgres://ledgerflow:{SECRET}@db:5432/ledgerflow"
    database_url = settings.DATABASE_URL
    try:
        raise RuntimeError(f"cannot reach {database_url}")
    except RuntimeError:
        reporter = get_exception_reporter_class(None)(None, *sys.exc_info())
        text = reporter.get_traceback_text()
        frame_variables = dict(reporter.get_traceback_data()["frames"][-1]["vars"])

    assert SECRET not in text
    assert "cannot reach postgres://ledgerflow:***@db:5432/ledgerflow" in text
    assert frame_variables["database_url"] == "'postgres://ledgerflow:***@db:5432/ledgerflow'"
    safe = get_exception_reporter_filter(None).get_safe_settings()
    assert safe["DATABASE_URL"] == "postgres://ledgerflow:***@db:5432/ledgerflow"


def test_a_debug_error_page_masks_passwords_in_dicts_lists_and_exceptions(
    rf, settings, monkeypatch
):
    from django.views.debug import technical_500_response

    from ledgerflow.observability import masking

    settings.DEBUG = True
    monkeypatch.setattr(masking, "configured_passwords", lambda: [CONFIGURED])

    def connect():
        # What psycopg's connect frame holds: a dict of connection parameters, and more.
        conn_params = {"host": "db", "password": SECRET, "dbname": "ledgerflow"}
        urls = [f"postgres://ledgerflow:{SECRET}@db:5432/ledgerflow"]
        error = RuntimeError(f"authentication failed with {CONFIGURED}")
        raise RuntimeError(f"cannot connect to {conn_params['host']}", len(urls)) from error

    try:
        connect()
    except RuntimeError:
        response = technical_500_response(rf.get("/"), *sys.exc_info())

    page = response.content.decode()
    assert response.status_code == 500
    assert "conn_params" in page
    assert SECRET not in page
    assert CONFIGURED not in page
