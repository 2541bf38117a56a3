"""Large lists page by keyset: "next" and "previous" links carry the key of a row, every row
appears exactly once and in the list's order, whatever the sort column, ties and NULLs."""

import datetime
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indexer.models import DepositEvent
from orders.models import Order
from tests.factories import DepositEventFactory, OrderFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 4
BASE = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)


@pytest.fixture
def small_pages(monkeypatch):
    for model in (Order, DepositEvent):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", PER_PAGE)


@pytest.fixture
def orders():
    """15 orders: distinct times, three ties at one time (the id decides) and one NULL time."""
    made = OrderFactory.create_batch(15)
    for index, order in enumerate(made):
        if index < 11:
            created_at = BASE + datetime.timedelta(seconds=index, microseconds=123)
        elif index < 14:
            created_at = BASE + datetime.timedelta(seconds=5, microseconds=123)  # ties with #5
        else:
            created_at = None
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
    return made


def link(content, css_class):
    """The href of the pagination link with ``css_class``, or ``None``."""
    found = re.search(rf'<a href="([^"]*)" class="{css_class}">', content)
    return unescape(found.group(1)) if found else None


def page_order_ids(content):
    return re.findall(r'<th class="field-order_id"><a href="[^"]*">([^<]*)</a></th>', content)


def walk(client, url, css_class):
    """Every page from ``url`` following ``css_class`` links: ``[(ids, content)]``."""
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        pages.append((page_order_ids(content), content))
        next_query = link(content, css_class)
        url = None if next_query is None else urlsplit(url).path + next_query
        assert len(pages) < 20, "the links go round in circles"
    return pages


def expected_ids(*ordering):
    return list(Order.objects.order_by(*ordering).values_list("order_id", flat=True))


def test_next_links_show_every_order_once_in_the_lists_order(staff_client, small_pages, orders):
    pages = walk(staff_client, reverse("admin:orders_order_changelist"), "next-page")

    # PostgreSQL orders NULLs first when descending, as the page's own ORDER BY does.
    expected = expected_ids("-created_at", "-pk")
    assert [ids for ids, _ in pages] == [
        expected[i : i + PER_PAGE] for i in range(0, len(expected), PER_PAGE)
    ]
    assert expected[0] == orders[14].order_id  # the NULL time first


def test_previous_links_lead_back_through_the_same_pages(staff_client, small_pages, orders):
    forward = walk(staff_client, reverse("admin:orders_order_changelist"), "next-page")
    last_page_content = forward[-1][1]
    last_url = reverse("admin:orders_order_changelist") + link(forward[-2][1], "next-page")

    backward = walk(staff_client, last_url, "previous-page")

    assert [ids for ids, _ in backward] == [ids for ids, _ in reversed(forward)]
    assert link(last_page_content, "next-page") is None
    assert link(backward[-1][1], "previous-page") is None  # back at the first page


def test_a_cursor_names_the_page_after_its_row(staff_client, small_pages, orders):
    expected = expected_ids("-created_at", "-pk")
    first = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    query = parse_qs(urlsplit(link(first, "next-page")).query)

    assert list(query) == ["after"]
    response = staff_client.get(reverse("admin:orders_order_changelist"), query)
    assert page_order_ids(response.content.decode()) == expected[PER_PAGE : 2 * PER_PAGE]


def test_a_keyset_page_costs_one_bounded_query_without_offset(staff_client, small_pages, orders):
    first = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    url = reverse("admin:orders_order_changelist") + link(first, "next-page")

    with CaptureQueriesContext(connection) as queries:
        staff_client.get(url)

    pages = [q["sql"] for q in queries if 'FROM "orders"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert len(pages) == 1
    assert "OFFSET" not in pages[0]
    assert f"LIMIT {PER_PAGE + 1}" in pages[0]


def test_sorting_by_an_allowed_column_pages_in_that_order(staff_client, small_pages, orders):
    # Column 0 is order_id, one of the orders list's sortable columns; ascending.
    pages = walk(staff_client, reverse("admin:orders_order_changelist") + "?o=0", "next-page")

    assert [order_id for ids, _ in pages for order_id in ids] == expected_ids("order_id", "-pk")
    assert all('class="sortable column-order_id sorted ascending"' in c for _, c in pages)


def test_sorting_by_a_nullable_time_ascending_pages_through_its_nulls(
    staff_client, small_pages, orders
):
    pages = walk(staff_client, reverse("admin:orders_order_changelist") + "?o=5", "next-page")

    ids = [order_id for ids, _ in pages for order_id in ids]
    assert ids == expected_ids("created_at", "-pk")
    assert ids[-1] == orders[14].order_id  # NULLs last when ascending


def test_a_filtered_list_pages_within_the_filter(staff_client, small_pages):
    OrderFactory.create_batch(6, status="failed")
    OrderFactory.create_batch(5, status="pending")
    url = reverse("admin:orders_order_changelist") + "?status__exact=failed"

    pages = walk(staff_client, url, "next-page")

    ids = [order_id for ids, _ in pages for order_id in ids]
    assert sorted(ids) == sorted(
        Order.objects.filter(status="failed").values_list("order_id", flat=True)
    )
    assert len(ids) == 6
    assert "status__exact=failed" in link(pages[0][1], "next-page")


def test_deposit_events_page_by_id(staff_client, small_pages):
    events = DepositEventFactory.create_batch(10)
    url = reverse("admin:indexer_depositevent_changelist")
    ids = []
    while url:
        content = staff_client.get(url).content.decode()
        ids += [int(i) for i in re.findall(r'<th class="field-id"><a [^>]*>(\d+)</a>', content)]
        query = link(content, "next-page")
        url = query and reverse("admin:indexer_depositevent_changelist") + query

    assert ids == sorted((event.pk for event in events), reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[1]",  # one value for a two-column key
        '["yesterday", "7"]',
        '["2026-11-01T00:00:00+00:00", "not-a-uuid"]',
        '["2026-11-01T00:00:00+00:00\\u0000", "00000000-0000-0000-0000-000000000000"]',
    ],
)
def test_a_cursor_that_is_not_a_key_is_refused_without_a_query_of_orders(
    staff_client, orders, cursor
):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("admin:orders_order_changelist"), {"after": cursor})

    assert response.status_code == 302
    assert response.url.endswith("?e=1")
    assert not [q for q in queries if 'FROM "orders"' in q["sql"] and "ORDER BY" in q["sql"]]


def test_links_of_a_keyset_page_start_again_from_the_first_page(staff_client, small_pages, orders):
    first = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    second = staff_client.get(
        reverse("admin:orders_order_changelist") + link(first, "next-page")
    ).content.decode()

    filter_links = re.findall(r'href="(\?[^"]*status__exact[^"]*)"', second)
    assert filter_links
    assert not [href for href in filter_links if "after" in href or "before" in href]
    assert 'name="after"' not in second  # the search form does not carry the cursor


def test_an_old_page_number_link_still_opens_that_page(staff_client, small_pages, orders):
    response = staff_client.get(reverse("admin:orders_order_changelist") + "?p=2")

    assert page_order_ids(response.content.decode()) == expected_ids("-created_at", "-pk")[4:8]
