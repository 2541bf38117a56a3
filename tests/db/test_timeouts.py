"""Bounded lock waits: set_lock_timeout and behind_lock_timeout, and how a timeout is recognised."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from ledgerflow.db.errors import LOCK_NOT_AVAILABLE, is_lock_timeout, sqlstate
from ledgerflow.db.timeouts import behind_lock_timeout, set_lock_timeout
from tests.support.databases import connect

SHOW = "SELECT current_setting('lock_timeout')"


def _lock_timeout():
    with connection.cursor() as cursor:
        cursor.execute(SHOW)
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_local_lock_timeout_ends_with_its_transaction():
    before = _lock_timeout()

    with transaction.atomic(), connection.cursor() as cursor:
        set_lock_timeout(cursor, 1.5)
        cursor.execute(SHOW)
        inside = cursor.fetchone()[0]

    assert inside == "1500ms"
    assert _lock_timeout() == before


@pytest.mark.django_db(transaction=True)
def test_a_session_lock_timeout_stays_and_positive_fractions_round_up_never_to_zero():
    try:
        with connection.cursor() as cursor:
            set_lock_timeout(cursor, 0.0001, local=False)
        assert _lock_timeout() == "1ms"
        with connection.cursor() as cursor:
            set_lock_timeout(cursor, 0, local=False)
        assert _lock_timeout() == "0"
    finally:
        connection.close()  # the next test gets a session with the server's defaults


@pytest.mark.django_db(transaction=True)
def test_a_reading_behind_a_held_lock_gives_up_as_a_lock_timeout():
    name = connection.settings_dict["NAME"]
    locked = threading.Event()
    release = threading.Event()

    def hold_the_table():
        with connect(name) as other:
            other.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    try:
        assert locked.wait(30)

        def read(conn):
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM django_migrations")

        with pytest.raises(DatabaseError) as error:
            behind_lock_timeout(read, connection, seconds=0.05)
    finally:
        release.set()
        holder.join()

    # Django's OperationalError wraps psycopg's LockNotAvailable: both are looked through.
    assert sqlstate(error.value) == LOCK_NOT_AVAILABLE
    assert is_lock_timeout(error.value)


def test_other_errors_are_not_lock_timeouts():
    assert sqlstate(ValueError("no database here")) is None
    assert not is_lock_timeout(ValueError("no database here"))
