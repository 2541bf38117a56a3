"""Large lists render their rows as Django's admin would: the same cells, links and escaping."""

import datetime
import re
import zoneinfo

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from indexer.models import DepositEvent
from ledgerflow.console.large_tables import LargeTableChangeList
from ledgerflow.console.list_rows import LIST_DATETIME_FORMAT, rendered_rows
from orders.models import Order
from tests.factories import DepositEventFactory, OrderFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("owned")</script>'
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'


def changelist(model, user, query=None):
    request = RequestFactory().get("/", query or {})
    request.user = user
    return admin.site._registry[model].get_changelist_instance(request)


def cells(row_html):
    return re.findall(r"<t[hd][^>]*>.*?</t[hd]>", row_html)


@pytest.mark.parametrize("model", [Order, DepositEvent])
def test_every_cell_but_the_time_is_the_one_djangos_admin_renders(superuser, model):
    # Amounts short enough to show in full (longer ones are compacted, see compact_columns).
    OrderFactory(order_id="ord-1", account_id="7000001", amount="5")
    OrderFactory(
        order_id="ord-2", account_id="not-a-telegram-id", token_address="0xabc", amount="6"
    )
    DepositEventFactory(order_id="ord-1", processed=True, amount="5")
    DepositEventFactory(order_id="ord-2", processed=False, transaction_hash="0x12", amount="6")
    cl = changelist(model, superuser, {"status__exact": "pending"} if model is Order else {})

    ours = [cells(row) for row in rendered_rows(cl).split("\n")]
    djangos = [[str(cell) for cell in items_for_result(cl, obj, None)] for obj in cl.result_list]

    assert len(ours) == len(djangos) == 2
    time_column = cl.list_display.index("created_at")
    for our_row, django_row in zip(ours, djangos, strict=True):
        del our_row[time_column], django_row[time_column]
        assert our_row == django_row


def test_times_are_compact_and_may_wrap_between_date_and_time(superuser):
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(
        created_at=datetime.datetime(2026, 11, 1, 9, 5, 7, 123, tzinfo=datetime.UTC)
    )

    row = rendered_rows(changelist(Order, superuser))

    cell = '<td class="field-created_at"><span class="nowrap">2026-11-01</span> 09:05:07</td>'
    assert cell in row


def test_a_long_amount_shows_its_ends_and_the_full_value_on_hover(superuser):
    OrderFactory(amount="123456789012345678901234567890")

    row = rendered_rows(changelist(Order, superuser))

    full = 'title="123456789012345678901234567890"'
    assert f'<td class="field-amount"><span class="nowrap" {full}>12345…67890</span></td>' in row


def test_hostile_values_are_escaped_once_and_links_survive(staff_client):
    order = OrderFactory(
        order_id=SCRIPT,
        account_id=ATTRIBUTE_BREAK,
        amount="<b>5</b>",
        token_address="0x" + "&" * 40,
    )
    DepositEventFactory(order_id=SCRIPT, transaction_hash="0x" + SCRIPT * 3)

    orders = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    events = staff_client.get(reverse("admin:indexer_depositevent_changelist")).content.decode()

    for content in (orders, events):
        assert SCRIPT not in content
        assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in content
        assert "&amp;lt;" not in content  # escaped once, not twice
    assert ATTRIBUTE_BREAK not in orders
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in orders
    assert "&lt;b&gt;5&lt;/b&gt;" in orders
    assert 'title="0x&amp;&amp;&amp;' in orders  # the shortened token keeps its full value
    change = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<th class="field-order_id"><a href="{change}">&lt;script&gt;' in orders
    # The deposits link filters deposit events by the order's id, encoded in the query string.
    assert "?order_id=%3Cscript%3Ealert%28%22owned%22%29%3C%2Fscript%3E" in orders
    assert "?order_id=%3Cscript%3Ealert%28%22owned%22%29%3C%2Fscript%3E" in events


def test_a_filtered_lists_links_bring_the_filter_back(staff_client):
    order = OrderFactory(status="failed")

    content = staff_client.get(
        reverse("admin:orders_order_changelist") + "?status__exact=failed"
    ).content.decode()

    change = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{change}?_changelist_filters=status__exact%3Dfailed">' in content


def test_a_true_boolean_shows_djangos_icon(staff_client):
    DepositEventFactory(processed=True)

    content = staff_client.get(reverse("admin:indexer_depositevent_changelist")).content.decode()

    assert re.search(
        r'<td class="field-processed"><img src="[^"]*icon-yes.svg" alt="True">', content
    )


@pytest.mark.parametrize("year", [2026, 999])
def test_times_show_in_the_current_time_zone_as_the_list_format_says(superuser, year):
    order = OrderFactory()
    created = datetime.datetime(year, 11, 1, 23, 5, 7, 123, tzinfo=datetime.UTC)
    Order.objects.filter(pk=order.pk).update(created_at=created)
    zone = zoneinfo.ZoneInfo("Asia/Kolkata")  # UTC+05:30: the day changes

    with timezone.override(zone):
        row = rendered_rows(changelist(Order, superuser))

    shown = created.astimezone(zone).strftime(LIST_DATETIME_FORMAT)
    assert f'<td class="field-created_at">{shown}</td>' in row


def test_a_link_keeps_a_preserved_filter_holding_the_url_placeholders_text(staff_client):
    placeholder = LargeTableChangeList._placeholder
    order = OrderFactory(order_id=placeholder, status="failed")

    content = staff_client.get(
        reverse("admin:orders_order_changelist"), {"q": placeholder}
    ).content.decode()

    change = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{change}?_changelist_filters=q%3D{placeholder}">' in content


def test_the_sidebar_follows_the_staff_members_permissions(client, superuser):
    staff = StaffUserFactory()
    staff.user_permissions.set(
        Permission.objects.filter(codename="view_order", content_type__app_label="orders")
    )
    client.force_login(staff)
    url = reverse("admin:orders_order_changelist")

    only_orders = client.get(url).content.decode()
    staff.user_permissions.add(
        Permission.objects.get(codename="view_depositevent", content_type__app_label="indexer")
    )
    with_events = client.get(url).content.decode()
    client.force_login(superuser)
    everything = client.get(url).content.decode()

    deposit_events = reverse("admin:indexer_depositevent_changelist")
    sidebar = re.compile(r'<nav class="sticky" id="nav-sidebar".*?</nav>', re.S)
    for content in (only_orders, with_events, everything):
        assert f'<a href="{url}" aria-current="page">' in sidebar.search(content).group()
    assert deposit_events not in sidebar.search(only_orders).group()
    assert deposit_events in sidebar.search(with_events).group()
    assert reverse("admin:migrations_console") in sidebar.search(everything).group()
    assert reverse("admin:migrations_console") in sidebar.search(only_orders).group()
