import pytest

from tests.factories import StaffUserFactory


@pytest.fixture
def superuser(db):
    return StaffUserFactory(is_superuser=True)


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client
