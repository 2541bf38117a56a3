"""``migrate`` and ``rollback`` called in-process leave the caller's connection as they found it."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

SETTINGS = "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"


@pytest.mark.django_db(transaction=True)
def test_call_command_migrate_restores_the_session_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '7s'; SET statement_timeout = '0'")

    call_command("migrate", verbosity=0)

    with connection.cursor() as cursor:
        cursor.execute(SETTINGS)
        assert cursor.fetchone() == ("7s", "0")


@pytest.mark.django_db(transaction=True)
def test_call_command_rollback_restores_the_session_timeouts():
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '7s'; SET statement_timeout = '0'")

    call_command("rollback", "--steps", "1", "--dry-run", stdout=io.StringIO())

    with connection.cursor() as cursor:
        cursor.execute(SETTINGS)
        assert cursor.fetchone() == ("7s", "0")
