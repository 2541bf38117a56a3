"""Every admin page opens for staff, is refused to anonymous users, and allows what it should."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import Account
from indexer.models import DepositEvent
from orders.models import Order
from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    StaffUserFactory,
    UserFactory,
)
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    order = OrderFactory(order_id="ord-find-me", account_id="424242")
    user = UserFactory(telegram_id=424242)
    event = DepositEventFactory(order_id="ord-find-me")
    state = ChainStateFactory(chain_id=8453)
    account = AccountFactory(telegram_id="424242")
    return {"order": order, "user": user, "event": event, "state": state, "account": account}


def every_page(rows):
    """(name, url) of every admin page this project serves."""
    state = rows["state"]
    return [
        ("index", reverse("admin:index")),
        ("migrations console", reverse("admin:migrations_console")),
        ("project app index", reverse("admin:app_list", kwargs={"app_label": "ledgerflow"})),
        ("chain states", reverse("admin:indexer_chainstate_changelist")),
        (
            "chain state",
            reverse(
                "admin:indexer_chainstate_detail", args=[state.chain_id, state.contract_address]
            ),
        ),
        ("orders", reverse("admin:orders_order_changelist") + "?q=ord-find-me"),
        ("order", reverse("admin:orders_order_change", args=[rows["order"].pk])),
        ("deposit events", reverse("admin:indexer_depositevent_changelist") + "?q=ord-find-me"),
        ("deposit event", reverse("admin:indexer_depositevent_change", args=[rows["event"].pk])),
        ("users", reverse("admin:users_user_changelist") + "?q=424242"),
        ("user", reverse("admin:users_user_change", args=[rows["user"].pk])),
        ("accounts", reverse("admin:accounts_account_changelist") + "?q=424242"),
        ("account", reverse("admin:accounts_account_change", args=[rows["account"].pk])),
    ]


def test_every_page_opens_for_staff(staff_client, rows):
    for name, url in every_page(rows):
        response = staff_client.get(url)
        assert response.status_code == 200, f"{name} ({url}) answered {response.status_code}"


def test_every_page_sends_anonymous_users_to_the_login(client, rows):
    login = reverse("admin:login")
    for name, url in every_page(rows):
        response = client.get(url)
        assert response.status_code == 302, f"{name} ({url}) answered {response.status_code}"
        assert response["Location"].startswith(login), name


def test_non_staff_users_are_sent_to_the_login(client, rows):
    client.force_login(StaffUserFactory(is_staff=False, is_superuser=True))
    response = client.get(reverse("admin:migrations_console"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_view_permission_cannot_open_chain_states(client, rows):
    client.force_login(StaffUserFactory())
    response = client.get(reverse("admin:indexer_chainstate_changelist"))
    assert response.status_code == 403


def test_searches_find_exactly_the_row(staff_client, rows):
    OrderFactory(order_id="ord-find-me-too")
    response = staff_client.get(reverse("admin:orders_order_changelist") + "?q=ord-find-me")
    assert list(response.context["cl"].result_list) == [rows["order"]]
    response = staff_client.get(
        reverse("admin:indexer_depositevent_changelist") + f"?q={rows['event'].transaction_hash}"
    )
    assert list(response.context["cl"].result_list) == [rows["event"]]
    response = staff_client.get(reverse("admin:users_user_changelist") + "?q=not-a-number")
    assert list(response.context["cl"].result_list) == []
    response = staff_client.get(
        reverse("admin:users_user_changelist") + f"?q={rows['user'].evm_address}"
    )
    assert list(response.context["cl"].result_list) == [rows["user"]]


def test_searches_compare_with_equality_so_an_index_can_serve_them(staff_client, rows):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        staff_client.get(reverse("admin:orders_order_changelist") + "?q=ord-find-me")
    searched = [q["sql"] for q in queries if '"orders"."order_id" = ' in q["sql"]]
    assert searched, "the search did not filter by order_id"
    assert not any("UPPER(" in sql or "LIKE" in sql for sql in searched)


def test_permissions_are_as_designed(rows, superuser):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = superuser
    expected = {
        Order: {"add": False, "change": True, "delete": False, "view": True},
        DepositEvent: {"add": False, "change": False, "delete": False, "view": True},
        User: {"add": True, "change": True, "delete": False, "view": True},
        Account: {"add": True, "change": True, "delete": False, "view": True},
    }
    for model, perms in expected.items():
        assert admin.site._registry[model].get_model_perms(request) == perms, model


def test_indexer_rows_cannot_be_changed_through_a_post(staff_client, rows):
    event = rows["event"]
    url = reverse("admin:indexer_depositevent_change", args=[event.pk])
    response = staff_client.post(url, {"processed": "on", "amount": "1"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.processed, event.amount) == (False, "1000000000000000000")


def test_an_order_links_to_its_deposit_event_and_back(staff_client, rows):
    order_page = staff_client.get(reverse("admin:orders_order_change", args=[rows["order"].pk]))
    event_url = reverse("admin:indexer_depositevent_change", args=[rows["event"].pk])
    assert event_url in order_page.content.decode()
    event_page = staff_client.get(event_url)
    assert reverse("admin:orders_order_change", args=[rows["order"].pk]) in (
        event_page.content.decode()
    )


def test_an_order_links_to_its_user_by_telegram_id(staff_client, rows):
    page = staff_client.get(reverse("admin:orders_order_change", args=[rows["order"].pk]))
    assert reverse("admin:users_user_change", args=[rows["user"].pk]) in page.content.decode()


def test_chain_states_list_filters_and_detail(staff_client, rows):
    ChainStateFactory(chain_id=10)
    url = reverse("admin:indexer_chainstate_changelist")
    assert staff_client.get(url).context["page_obj"].paginator.count == 2
    filtered = staff_client.get(url + "?chain_id=8453")
    assert [values[0] for _, values in filtered.context["rows"]] == [8453]
    assert staff_client.get(url + "?chain_id=abc").context["page_obj"].paginator.count == 0
    detail = staff_client.get(
        reverse("admin:indexer_chainstate_detail", args=[8453, rows["state"].contract_address])
    )
    assert b"123456" in detail.content
    assert b"deposit events of this contract" in detail.content


def test_chain_state_detail_is_404_for_an_unknown_or_malformed_key(staff_client, rows):
    missing = reverse("admin:indexer_chainstate_detail", args=[1, "0xnothing"])
    malformed = reverse("admin:indexer_chainstate_detail", args=["abc", "0xnothing"])
    assert staff_client.get(missing).status_code == 404
    assert staff_client.get(malformed).status_code == 404


def test_the_index_lists_chain_states_and_the_console(staff_client):
    content = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:indexer_chainstate_changelist") in content
    assert reverse("admin:migrations_console") in content


def test_the_chain_filter_lists_the_chains_present(staff_client):
    DepositEventFactory(chain_id=1)
    DepositEventFactory(chain_id=8453)
    DepositEventFactory(chain_id=8453)
    response = staff_client.get(reverse("admin:indexer_depositevent_changelist"))
    chain_filter = next(f for f in response.context["cl"].filter_specs if f.title == "chain")
    assert chain_filter.lookup_choices == [("1", "1"), ("8453", "8453")]


@pytest.mark.parametrize("account_id", ["²", "99999999999999999999999", "not-a-telegram-id"])
def test_an_order_whose_account_is_not_a_telegram_id_still_opens(staff_client, account_id):
    order = OrderFactory(account_id=account_id)
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    listing = staff_client.get(reverse("admin:orders_order_changelist"))
    assert listing.status_code == 200
    assert "?telegram_id=" not in listing.content.decode()


def test_a_user_page_links_to_their_orders(staff_client, rows):
    page = staff_client.get(reverse("admin:users_user_change", args=[rows["user"].pk]))
    assert reverse("admin:orders_order_changelist") + "?account_id=424242" in page.content.decode()
    orders = staff_client.get(reverse("admin:orders_order_changelist") + "?account_id=424242")
    assert list(orders.context["cl"].result_list) == [rows["order"]]


@pytest.mark.parametrize("address", ["0xab/cd", "a/b/c", "under_score", "50%:?#"])
def test_chain_states_whose_address_needs_quoting_link_to_their_page(staff_client, address):
    state = ChainStateFactory(chain_id=8453, contract_address=address)
    event = DepositEventFactory(chain_id=8453, contract_address=address)
    listing = staff_client.get(reverse("admin:indexer_chainstate_changelist"))
    assert listing.status_code == 200
    (detail_url,) = [url for url, values in listing.context["rows"] if values[1] == address]
    detail = staff_client.get(detail_url)
    assert detail.status_code == 200
    assert detail.context["object"] == state
    event_page = staff_client.get(reverse("admin:indexer_depositevent_change", args=[event.pk]))
    assert event_page.status_code == 200
    assert detail_url in event_page.content.decode()


def test_an_empty_contract_address_is_shown_without_a_link(staff_client):
    ChainStateFactory(chain_id=8453, contract_address="")
    event = DepositEventFactory(chain_id=8453, contract_address="")
    listing = staff_client.get(reverse("admin:indexer_chainstate_changelist"))
    assert listing.status_code == 200
    assert [url for url, _ in listing.context["rows"]] == [None]
    event_page = staff_client.get(reverse("admin:indexer_depositevent_change", args=[event.pk]))
    assert event_page.status_code == 200
    assert "chain 8453 / " in event_page.content.decode()
