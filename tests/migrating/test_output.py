"""What ``migrate`` prints: each migration once in text logs, a structured event in JSON logs."""

import json

import pytest

from tests.migrating.support import run_manage
from tests.support.databases import scratch_database

pytestmark = pytest.mark.process  # they start servers or manage.py, or create databases

ACCOUNTS_0001 = "accounts.0001_create_accounts"


def test_text_logs_print_each_applied_migration_once():
    with scratch_database() as db:
        result = run_manage(db, "migrate", "accounts", env={"LOG_FORMAT": "text"})

        assert result.returncode == 0, result.stderr
        assert f"Applying {ACCOUNTS_0001}... OK" in result.stdout
        assert (result.stdout + result.stderr).count(ACCOUNTS_0001) == 1


def test_json_logs_keep_one_event_per_applied_migration():
    with scratch_database() as db:
        result = run_manage(db, "migrate", "accounts", env={"LOG_FORMAT": "json"})

        assert result.returncode == 0, result.stderr
        assert f"Applying {ACCOUNTS_0001}... OK" in result.stdout
        events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        applied = [
            (event["app"], event["migration"])
            for event in events
            if event.get("outcome") == "applied" and event.get("app") == "accounts"
        ]
        assert applied == [("accounts", "0001_create_accounts")]
        assert all("_printed" not in event for event in events)
