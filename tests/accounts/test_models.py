"""Balancer accounts as the services read and write them, with database-side defaults."""

import uuid

import pytest

from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_uuid_key_and_timestamps_come_from_the_database():
    account = AccountFactory()

    assert isinstance(account.id, uuid.UUID)
    assert account.created_at is not None
    assert account.updated_at is not None


def test_str_is_the_account_id():
    assert str(AccountFactory(account_id="acc-x")) == "acc-x"
