"""The admin site as a whole: its names, links, counts and refusals."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ChainStateFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_no_page_links_to_a_public_site_the_project_does_not_serve(staff_client):
    content = staff_client.get(reverse("admin:index")).content.decode()

    assert "View site" not in content


def test_the_index_names_staff_users_and_telegram_users_apart(staff_client):
    content = staff_client.get(reverse("admin:index")).content.decode()

    staff = reverse("admin:auth_user_changelist")
    telegram = reverse("admin:users_user_changelist")
    assert f'<a href="{staff}">Staff users</a>' in content
    assert f'<a href="{telegram}">Telegram users</a>' in content
    assert ">Users</a>" not in content


def test_each_users_list_says_which_users_it_lists(staff_client):
    staff = staff_client.get(reverse("admin:auth_user_changelist")).content.decode()
    telegram = staff_client.get(reverse("admin:users_user_changelist")).content.decode()

    assert "<h1>Select staff user to change</h1>" in staff
    assert "<h1>Select Telegram user to change</h1>" in telegram


@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_filter_is_a_400_page_with_a_sentence(staff_client, debug):
    with override_settings(DEBUG=debug), CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("admin:orders_order_changelist") + "?amount=5")

    content = response.content.decode()
    assert response.status_code == 400
    assert "This list does not filter by “amount”" in content
    assert "Nothing was read." in content
    assert f'<a href="{reverse("admin:orders_order_changelist")}">Open the list</a>' in content
    assert "Traceback" not in content
    assert "DisallowedModelAdminLookup" not in content
    assert not [q for q in queries if 'FROM "orders"' in q["sql"]]


def test_a_filtered_large_list_offers_no_counts_of_the_whole_table(staff_client):
    OrderFactory.create_batch(3, status="pending")
    url = reverse("admin:orders_order_changelist") + "?status__exact=pending"

    with CaptureQueriesContext(connection) as queries:
        content = staff_client.get(url + "&_facets=True").content.decode()

    assert "Show counts" not in content
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT" in sql for sql in counts), counts


def test_a_chain_state_page_is_styled_as_an_admin_detail_page(staff_client):
    state = ChainStateFactory(chain_id=8453, last_scanned_block=999_001)
    url = reverse("admin:indexer_chainstate_detail", args=[8453, state.contract_address])

    content = staff_client.get(url).content.decode()

    assert "admin/css/forms.css" in content
    assert 'class="form-row field-last_scanned_block"' in content
    assert '<div class="readonly">999001</div>' in content


def test_the_chain_states_list_is_styled_as_an_admin_list(staff_client):
    ChainStateFactory()

    content = staff_client.get(reverse("admin:indexer_chainstate_changelist")).content.decode()

    assert "admin/css/changelists.css" in content


def test_staff_users_keep_djangos_user_admin(staff_client):
    user = get_user_model().objects.get()

    response = staff_client.get(reverse("admin:auth_user_change", args=[user.pk]))

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
