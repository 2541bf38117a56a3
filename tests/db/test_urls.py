"""DATABASE_URL parsing and masking: the password never appears in a message, however odd it is."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ledgerflow.db.urls import database_config, mask_url

SECRET = "hunter2"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgres://u:pw@h:5432/d", "postgres://u:***@h:5432/d"),
        ("postgres://u@h/d", "postgres://u@h/d"),
        ("postgres://h/d", "postgres://h/d"),
        # urlsplit sees no password in these: the "/" or "?" ends its netloc early.
        ("postgres://u:hunter2/x@db:5432/d", "postgres://u:***@db:5432/d"),
        ("postgres://u:hunter2?x@db/d", "postgres://u:***@db/d"),
        # A raw "@" belongs to the password up to the last one.
        ("postgres://u:Pa@ss@db/d", "postgres://u:***@db/d"),
        ("postgres://u:s3cr3t@[::1/d", "postgres://u:***@[::1/d"),
        ("notaurl", "notaurl"),
    ],
)
def test_mask_url(url, masked):
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://ledgerflow:{SECRET}/x@db.internal:5432/ledgerflow",
        f"postgres://ledgerflow:{SECRET}?x@db.internal:5432/ledgerflow",
        f"postgres://ledgerflow:x/{SECRET}@db.internal:5432/ledgerflow",
        f"postgres://u:{SECRET}@[::1/db",
    ],
)
def test_an_unparseable_url_is_refused_without_any_part_of_the_password(url):
    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(url)

    message = str(refused.value)
    assert message.startswith("DATABASE_URL 'postgres://")
    assert "cannot be parsed" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "MIGRATION_DATABASE_URL 'notaurl' is not a PostgreSQL URL"),
        (f"mysql://u:{SECRET}@h/db", "MIGRATION_DATABASE_URL 'mysql://u:***@h/db' is not a"),
        (f"postgres://u:{SECRET}/x@h/db", "MIGRATION_DATABASE_URL 'postgres://u:***@h/db' cannot"),
        (f"postgres://u:{SECRET}@h:5432", "MIGRATION_DATABASE_URL 'postgres://u:***@h:5432' names"),
    ],
)
def test_messages_name_the_variable_given(url, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(url, variable="MIGRATION_DATABASE_URL")

    assert str(refused.value).startswith(message)
    assert SECRET not in str(refused.value)
