"""Large changelists sort only by the columns their admin declares sortable, each one an index
gives in order: ``?o=`` naming any other column never reaches the SQL."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import UniqueConstraint
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledgerflow.console.large_tables import LargeTableAdmin
from tests.factories import AccountFactory, DepositEventFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

LARGE_ADMINS = sorted(
    (m for m in admin.site._registry.values() if isinstance(m, LargeTableAdmin)),
    key=lambda model_admin: model_admin.opts.label,
)


def indexed_columns(model):
    """Columns that lead a btree index of ``model``'s table (primary key, unique, indexes)."""
    opts = model._meta
    names = [opts.pk.name, *(field.name for field in opts.fields if field.unique)]
    names += [index.fields[0] for index in opts.indexes]
    names += [c.fields[0] for c in opts.constraints if isinstance(c, UniqueConstraint)]
    return {opts.get_field(name).column for name in names}


def sort_column(model_admin, name):
    """The column ``list_display`` entry ``name`` sorts by."""
    attribute = getattr(model_admin, name, None)
    field_name = getattr(attribute, "admin_order_field", name)
    return model_admin.opts.get_field(field_name.lstrip("-")).column


@pytest.fixture
def rows():
    OrderFactory.create_batch(3)
    DepositEventFactory.create_batch(3)
    UserFactory.create_batch(3)
    AccountFactory.create_batch(3)


def page_order_by(client, model_admin, query):
    """The columns in the ORDER BY of the query that reads the page's rows."""
    opts = model_admin.opts
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + query
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    # "orders", or "ledgerflow_v2"."orders" for the schema v2 models.
    quoted = connection.ops.quote_name(opts.db_table)
    table = f"FROM {quoted}"
    pages = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and table in q["sql"] and "ORDER BY" in q["sql"]
    ]
    assert len(pages) == 1, pages
    order_by = pages[0].split("ORDER BY", 1)[1].split("LIMIT", 1)[0]
    return re.findall(rf'{re.escape(quoted)}\."(\w+)" (ASC|DESC)', order_by), response


@pytest.mark.parametrize("model_admin", LARGE_ADMINS, ids=lambda m: m.opts.label)
def test_every_sortable_column_leads_an_index(model_admin):
    assert model_admin.sortable_by, "a large table sorts by at least its default ordering"
    indexed = indexed_columns(model_admin.model)
    for name in model_admin.sortable_by:
        assert sort_column(model_admin, name) in indexed, name


@pytest.mark.parametrize("model_admin", LARGE_ADMINS, ids=lambda m: m.opts.label)
def test_sorting_by_any_other_column_keeps_the_default_order(staff_client, rows, model_admin):
    default, _ = page_order_by(staff_client, model_admin, "")
    assert {column for column, _ in default} <= indexed_columns(model_admin.model)
    unsortable = [
        index
        for index, name in enumerate(model_admin.list_display)
        if name not in model_admin.sortable_by
    ]
    assert unsortable
    for index in unsortable:
        for query in (f"?o={index}", f"?o=-{index}", f"?o={index}.{index}"):
            columns, _ = page_order_by(staff_client, model_admin, query)
            assert columns == default, query


@pytest.mark.parametrize("model_admin", LARGE_ADMINS, ids=lambda m: m.opts.label)
def test_the_sortable_columns_still_sort(staff_client, rows, model_admin):
    for name in model_admin.sortable_by:
        index = model_admin.list_display.index(name)
        column = sort_column(model_admin, name)
        columns, response = page_order_by(staff_client, model_admin, f"?o=-{index}")
        assert columns[0] == (column, "DESC")
        assert response.context["cl"].get_ordering_field_columns() == {index: "desc"}


def test_an_unsortable_entry_beside_a_sortable_one_is_dropped(staff_client, rows):
    orders = admin.site._registry[OrderFactory._meta.model]
    amount = orders.list_display.index("amount")
    order_id = orders.list_display.index("order_id")
    columns, response = page_order_by(staff_client, orders, f"?o={amount}.-{order_id}")
    assert columns[0] == ("order_id", "DESC")
    assert "amount" not in dict(columns)
    # The headers show order_id as the only (first) sort key, not the second after amount.
    assert response.context["cl"].get_ordering_field_columns() == {order_id: "desc"}


@pytest.mark.parametrize(
    "query", ["?o=x", "?o=-", "?o=.", "?o=99", "?o=%C2%B2", "?o=1-1", "?o=--1"]
)
def test_a_malformed_sort_order_keeps_the_default_order(staff_client, rows, query):
    orders = admin.site._registry[OrderFactory._meta.model]
    default, _ = page_order_by(staff_client, orders, "")
    columns, _ = page_order_by(staff_client, orders, query)
    assert columns == default == [("created_at", "DESC"), ("id", "DESC")]
