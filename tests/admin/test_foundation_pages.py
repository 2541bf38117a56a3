"""Every model has an admin page staff can open; chain_states has its read-only pages."""

import pytest
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    ("accounts", "account", AccountFactory, "account_id"),
    ("users", "user", UserFactory, "telegram_id"),
    ("orders", "order", OrderFactory, "order_id"),
    ("indexer", "depositevent", DepositEventFactory, "transaction_hash"),
]


@pytest.mark.parametrize(("app", "model", "factory", "shown_field"), CHANGELISTS)
def test_changelist_and_change_page_open_for_staff(admin_client, app, model, factory, shown_field):
    obj = factory()

    listing = admin_client.get(reverse(f"admin:{app}_{model}_changelist"))
    detail = admin_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))

    assert listing.status_code == 200
    assert str(getattr(obj, shown_field)) in listing.text
    assert detail.status_code == 200


def test_chain_states_list_and_detail_open_inside_the_admin(admin_client):
    ChainStateFactory(chain_id=8453, contract_address="0xfeed", last_scanned_block=123456)

    listing = admin_client.get(reverse("admin:indexer_chainstate_changelist"))
    detail = admin_client.get(reverse("admin:indexer_chainstate_detail", args=[8453, "0xfeed"]))

    assert listing.status_code == 200
    assert "0xfeed" in listing.text
    assert 'id="site-name"' in listing.text  # the admin's own header and navigation
    assert detail.status_code == 200
    assert "123456" in detail.text


def test_chain_states_appear_on_the_admin_index(admin_client):
    index = admin_client.get(reverse("admin:index"))

    assert reverse("admin:indexer_chainstate_changelist") in index.text


def test_an_unknown_chain_state_is_a_404(admin_client):
    response = admin_client.get(reverse("admin:indexer_chainstate_detail", args=["1", "0xnone"]))

    assert response.status_code == 404


def test_indexer_rows_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:indexer_depositevent_add")).status_code == 403


@pytest.mark.parametrize(
    "url_name",
    ["admin:indexer_chainstate_changelist", "admin:orders_order_changelist", "admin:index"],
)
def test_anonymous_users_are_sent_to_the_login_page(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
