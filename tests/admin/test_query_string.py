"""What the query string may do to a changelist: tampered values are no 500, and only the list
filters' parameters and the indexed keys other pages link by can filter (no sequential scans)."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ORDERS = "admin:orders_order_changelist"
EVENTS = "admin:indexer_depositevent_changelist"
USERS = "admin:users_user_changelist"
ACCOUNTS = "admin:accounts_account_changelist"
SINCE_2000 = "created_at__gte=2000-01-01T00:00:00%2B00:00"  # what the date filter's links carry


@pytest.fixture
def rows():
    order = OrderFactory(order_id="ord-linked", account_id="424242", status="pending")
    OrderFactory(status="failed")
    user = UserFactory(telegram_id=424242)
    event = DepositEventFactory(order_id="ord-linked", chain_id=8453)
    DepositEventFactory(chain_id=1)
    state = ChainStateFactory(chain_id=8453, contract_address=event.contract_address)
    account = AccountFactory(telegram_id="424242")
    return {"order": order, "user": user, "event": event, "state": state, "account": account}


def results(client, url_name, query):
    response = client.get(reverse(url_name) + query)
    assert response.status_code == 200, f"{query} answered {response.status_code}"
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "query", ["?status__exact=bogus", "?status__exact=", "?status__exact=PENDING"]
)
def test_an_unknown_status_lists_nothing_instead_of_a_500(staff_client, rows, query):
    # Without the check PostgreSQL rejects the value: invalid input value for enum order_status.
    assert results(staff_client, ORDERS, query) == []


def test_known_statuses_still_filter(staff_client, rows):
    assert results(staff_client, ORDERS, "?status__exact=pending") == [rows["order"]]
    both = results(staff_client, ORDERS, "?status__exact=pending&status__exact=bogus")
    assert both == [rows["order"]]


@pytest.mark.parametrize("value", ["--1", "%C2%B2", "abc", "", "1.5", "99999999999999999999", "-5"])
def test_a_malformed_chain_id_lists_nothing_instead_of_a_500(staff_client, rows, value):
    assert results(staff_client, EVENTS, f"?chain_id={value}") == []


def test_the_chain_filter_still_filters(staff_client, rows):
    assert results(staff_client, EVENTS, "?chain_id=8453") == [rows["event"]]


@pytest.mark.parametrize(
    ("url_name", "query"),
    [
        (ORDERS, "?status=bogus"),  # a bare column; the status filter reads status__exact
        (ORDERS, "?amount=5"),
        (ORDERS, "?token_address__icontains=ab"),
        (ORDERS, "?order_id__icontains=linked"),
        (ORDERS, "?status__in=pending,failed"),
        (EVENTS, "?created_at__gte=2099-01-01T00:00:00Z"),
        (EVENTS, "?sender=0x"),
        (EVENTS, "?contract_address=0x"),  # no index of its own: only beside chain_id
        (USERS, "?first_name=Ada"),
        (ACCOUNTS, "?email__icontains=example"),
    ],
)
def test_lookups_on_other_columns_are_refused_without_querying_the_table(
    staff_client, rows, url_name, query
):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse(url_name) + query)
    assert response.status_code == 400
    table = reverse(url_name).strip("/").split("/")[-2]
    tables = {"order": "orders", "depositevent": "deposit_events", "user": "users"}
    table = tables.get(table, "accounts")
    assert not [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"]]


def test_the_list_filters_and_linked_keys_are_accepted(staff_client, rows):
    event, order = rows["event"], rows["order"]
    assert results(staff_client, ORDERS, "?order_id=ord-linked") == [order]
    assert results(staff_client, ORDERS, "?account_id=424242") == [order]
    assert results(staff_client, ORDERS, f"?{SINCE_2000}&status__isnull=False") != []
    assert results(staff_client, EVENTS, "?order_id=ord-linked") == [event]
    assert results(staff_client, EVENTS, "?processed__exact=0&chain_id=8453") == [event]
    query = f"?chain_id=8453&contract_address={event.contract_address}"
    assert results(staff_client, EVENTS, query) == [event]
    assert results(staff_client, USERS, "?telegram_id=424242") == [rows["user"]]
    assert results(staff_client, ACCOUNTS, f"?{SINCE_2000}") == [rows["account"]]


def links_with_a_query(content):
    for href in re.findall(r'href="([^"]*\?[^"]*)"', content):
        href = html.unescape(href)
        if href.startswith("?") or href.startswith("/admin/"):
            yield href


def test_every_link_with_a_query_on_the_pages_opens(staff_client, rows):
    """The links between pages, the filter choices, sorting and pagination all pass
    ``lookup_allowed``."""
    pages = [
        reverse(ORDERS),
        reverse("admin:orders_order_change", args=[rows["order"].pk]),
        reverse(EVENTS),
        reverse("admin:indexer_depositevent_change", args=[rows["event"].pk]),
        reverse(USERS),
        reverse("admin:users_user_change", args=[rows["user"].pk]),
        reverse(ACCOUNTS),
        reverse("admin:accounts_account_change", args=[rows["account"].pk]),
        reverse("admin:indexer_chainstate_detail", args=[8453, rows["state"].contract_address]),
    ]
    checked = set()
    for page in pages:
        content = staff_client.get(page).content.decode()
        for href in links_with_a_query(content):
            url = page.split("?")[0] + href if href.startswith("?") else href
            if url in checked or "/logout/" in url:
                continue
            checked.add(url)
            status = staff_client.get(url).status_code
            assert status == 200, f"{url} (linked from {page}) answered {status}"
    # The cross-page links are among them.
    linked = {url.split("/admin/", 1)[1] for url in checked}
    assert "orders/order/?account_id=424242" in linked
    assert "orders/order/?order_id=ord-linked" in linked
    assert "indexer/depositevent/?order_id=ord-linked" in linked
    assert "users/user/?telegram_id=424242" in linked
    assert any(
        url.startswith("indexer/depositevent/?chain_id=8453&contract_address=") for url in linked
    )


@pytest.mark.parametrize(
    ("url_name", "query"),
    [
        (ORDERS, "?order_id=%00"),
        (ORDERS, "?account_id=42%0042"),
        (EVENTS, "?order_id=%00"),
        (EVENTS, "?chain_id=8453&contract_address=%00"),
        (ORDERS, "?order_id=ord-linked&status__exact=pending%00"),
    ],
)
def test_a_nul_byte_in_a_linked_key_lists_nothing_instead_of_a_500(
    staff_client, rows, url_name, query
):
    # PostgreSQL refuses NUL in a text parameter: the page's query failed with a DataError.
    assert results(staff_client, url_name, query) == []


OVERLONG = "2." * 500_000  # a megabyte


@pytest.mark.parametrize(
    "url_name", [ORDERS, EVENTS, USERS, ACCOUNTS, "admin:auth_user_changelist"]
)
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("o", OVERLONG, "The sort order in the address (o=) is 1,000,000 characters long"),
        ("q", "0" * 1_000_000, "The search term is 1,000,000 characters long"),
        ("q", "0" * 301, "The search term is 301 characters long"),
    ],
)
def test_an_overlong_search_or_sort_order_is_dropped_before_any_query(
    staff_client, rows, url_name, name, value, message
):
    url = reverse(url_name)
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url, {name: value, "p": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?p=1"
    # Only the session and the staff user were read: nothing of the listed table.
    assert len(queries) == 2, [q["sql"][:80] for q in queries]
    shown = [str(m) for m in staff_client.get(response["Location"]).context["messages"]]
    assert len(shown) == 1
    assert shown[0].startswith(message)


def test_the_longest_search_term_still_searches(staff_client, rows):
    term = "x" * 300
    OrderFactory(order_id=term[:255])
    assert results(staff_client, ORDERS, f"?q={term}") == []
    assert results(staff_client, ORDERS, f"?q={term[:255]}&o=-1.2.3.4.5.6") != []
