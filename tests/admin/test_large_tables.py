"""Changelists stay cheap on big tables: bounded queries, no full count, estimated pagination."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from indexer.models import ChainState, DepositEvent
from ledgerflow.console.large_tables import EstimatedCountPaginator
from orders.models import Order
from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)
from users.models import User

pytestmark = pytest.mark.django_db

ROWS = 30


@pytest.fixture
def full_tables():
    OrderFactory.create_batch(ROWS, status="pending")
    UserFactory.create_batch(ROWS)
    AccountFactory.create_batch(ROWS)
    for chain in (1, 10, 8453):
        DepositEventFactory.create_batch(ROWS // 3, chain_id=chain)
    ChainStateFactory.create_batch(ROWS)


CHANGELISTS = [
    (Order, "admin:orders_order_changelist"),
    (DepositEvent, "admin:indexer_depositevent_changelist"),
    (User, "admin:users_user_changelist"),
    (Account, "admin:accounts_account_changelist"),
]
# Session, user, pg_class estimate, capped count (small tables only), the page of rows, and the
# chain filter's choices on the deposit events page.
MAX_QUERIES = 6


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return queries


@pytest.mark.parametrize(("model", "url_name"), CHANGELISTS)
def test_changelist_queries_are_few_and_independent_of_page_size(
    staff_client, full_tables, monkeypatch, model, url_name
):
    model_admin = admin.site._registry[model]
    counts = {}
    for per_page in (5, 25):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        counts[per_page] = len(count_queries(staff_client, reverse(url_name)))
    assert counts[5] == counts[25]
    assert counts[5] <= MAX_QUERIES


def test_chain_states_list_queries_are_independent_of_page_size(
    staff_client, full_tables, monkeypatch
):
    pages = admin.site.readonly_pages_for(ChainState)
    counts = {}
    for per_page in (5, 25):
        monkeypatch.setattr(pages, "list_per_page", per_page)
        url = reverse("admin:indexer_chainstate_changelist")
        counts[per_page] = len(count_queries(staff_client, url))
    assert counts[5] == counts[25] <= MAX_QUERIES


@pytest.mark.parametrize(("model", "url_name"), CHANGELISTS)
def test_changelists_never_count_without_a_limit(staff_client, full_tables, model, url_name):
    queries = count_queries(staff_client, reverse(url_name))
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts, "expected the capped count"
    assert all("LIMIT" in sql for sql in counts), counts


class TinyLimitPaginator(EstimatedCountPaginator):
    exact_count_limit = 5


def analyze(model):
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def test_an_unfiltered_big_table_is_counted_from_pg_class(full_tables):
    analyze(Order)
    paginator = TinyLimitPaginator(Order.objects.order_by("pk"), 10)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == ROWS
    assert paginator.is_estimate is True
    assert len(queries) == 1
    assert "pg_class" in queries[0]["sql"]


def test_a_filtered_list_under_the_limit_is_counted_exactly(full_tables):
    OrderFactory.create_batch(3, status="failed")
    paginator = TinyLimitPaginator(Order.objects.filter(status="failed").order_by("pk"), 10)
    assert paginator.count == 3
    assert paginator.is_estimate is False


def test_a_filtered_list_over_the_limit_takes_the_planner_estimate(full_tables):
    analyze(Order)
    paginator = TinyLimitPaginator(Order.objects.filter(status="pending").order_by("pk"), 10)
    assert paginator.count >= 6
    assert paginator.is_estimate is True


def test_a_never_analyzed_table_is_counted(db):
    # reltuples is -1 before the first ANALYZE: fall back to a (capped) count.
    OrderFactory.create_batch(3)
    paginator = EstimatedCountPaginator(Order.objects.order_by("pk"), 10)
    assert paginator.count == 3
    assert paginator.is_estimate is False


def test_the_changelist_says_when_a_count_is_estimated(staff_client, full_tables, monkeypatch):
    analyze(Order)
    monkeypatch.setattr(admin.site._registry[Order], "paginator", TinyLimitPaginator)
    content = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert f"about {ROWS}" in content


def test_a_deep_page_opens(staff_client, full_tables, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Order], "list_per_page", 7)
    response = staff_client.get(reverse("admin:orders_order_changelist") + "?p=5")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == ROWS - 4 * 7
