"""Bot users as the services read and write them, with database-side defaults."""

import uuid

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_uuid_key_and_timestamps_come_from_the_database():
    user = UserFactory()

    assert isinstance(user.id, uuid.UUID)
    assert user.created_at is not None
    assert user.updated_at is not None


def test_str_is_the_username():
    assert str(UserFactory(username="bob")) == "bob"
