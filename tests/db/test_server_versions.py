import pytest
from django.db import connection

from ledgerflow.db.server_versions import (
    MINIMUM_MAJOR,
    NEWEST_TESTED_MAJOR,
    unsupported_server_message,
)

TARGET = 'database "payments" on db:5432 as user "ledger"'


def test_server_older_than_the_minimum_is_refused_in_one_paragraph():
    message = unsupported_server_message(130023, TARGET)

    assert message == (
        f"the server of {TARGET} runs PostgreSQL 13.23; LedgerFlow needs PostgreSQL 14 or newer "
        "(versions 14 to 18 are tested). Nothing was changed. Upgrade the server, or point "
        "DATABASE_URL at a PostgreSQL 14 or newer database."
    )


@pytest.mark.parametrize("version_num", [140000, 150020, 180004, 190000])
def test_server_of_the_minimum_or_newer_is_not_refused(version_num):
    assert unsupported_server_message(version_num, TARGET) is None


def test_the_test_server_is_a_tested_version(db):
    # The version matrix runs this file on every major: it proves which server it ran on.
    major = connection.pg_version // 10000

    assert MINIMUM_MAJOR <= major <= NEWEST_TESTED_MAJOR
