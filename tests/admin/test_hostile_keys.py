"""Object keys in admin URLs that cannot be a row's key (NUL bytes, wrong types, out of range,
over-long) find no row: never a 500, for every model the admin serves."""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indexer.models import ChainState
from ledgerflow.admin_site import column_value
from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ADDRESS = "0x" + "cd" * 20
HOSTILE_KEYS = [
    "\x00",
    "ab\x00cd",
    "abc",
    "-1",
    "1.5",
    "²",
    "9" * 20,  # past bigint
    "7" * 5000,
    "%",
    "_00",
    "1/../2",
]
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def rows():
    OrderFactory()
    DepositEventFactory()
    UserFactory()
    AccountFactory()
    ChainStateFactory(chain_id=8453, contract_address=ADDRESS)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_hostile_keys_in_change_delete_and_history_urls_find_nothing(staff_client, rows, model):
    opts = model._meta
    index = reverse("admin:index")
    for view in ("change", "delete", "history"):
        for key in HOSTILE_KEYS:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(key)])
            response = staff_client.get(url)
            # A key that cannot be a key of the model is a 404 (or a refusal where the page
            # is not allowed at all); one that could be but matches no row gets the admin's own
            # answer: back to the index with "… doesn't exist".
            try:
                column_value(opts.pk, key)
            except ValidationError:
                assert response.status_code in (403, 404), (view, key[:20], response.status_code)
            else:
                assert response.status_code in (302, 403, 404), (view, key[:20])
                if response.status_code == 302:
                    assert response["Location"] == index, (view, key[:20])


def chain_state_url(chain_id, contract_address):
    return reverse("admin:indexer_chainstate_detail", args=[chain_id, quote(contract_address)])


@pytest.mark.parametrize(
    ("chain_id", "contract_address"),
    [
        ("8453", "\x00"),
        ("8453", ADDRESS + "\x00"),
        ("\x00", ADDRESS),
        ("abc", ADDRESS),
        ("²", ADDRESS),
        ("1.5", ADDRESS),
        ("9" * 11, ADDRESS),  # past the integer column
        ("8453", "c" * 5000),
        ("8453", ADDRESS.upper()),
    ],
)
def test_a_chain_state_key_that_cannot_exist_is_a_404(
    staff_client, rows, chain_id, contract_address
):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(chain_state_url(chain_id, contract_address))
    assert response.status_code == 404
    # Refused on sight, except a well-formed key of a row that is not there.
    reads = [q["sql"] for q in queries if 'FROM "chain_states"' in q["sql"]]
    assert len(reads) == (1 if contract_address == ADDRESS.upper() else 0)


def test_the_chain_state_detail_still_opens(staff_client, rows):
    response = staff_client.get(chain_state_url(8453, ADDRESS))
    assert response.status_code == 200
    assert response.context["object"] == ChainState.objects.get(chain_id=8453)


@pytest.mark.parametrize(
    "query",
    [
        "?contract_address=%00",
        "?chain_id=8453&contract_address=%00",
        "?chain_id=%00",
        "?chain_id=9" + "9" * 10,
    ],
)
def test_a_chain_states_filter_that_cannot_match_lists_nothing(staff_client, rows, query):
    response = staff_client.get(reverse("admin:indexer_chainstate_changelist") + query)
    assert response.status_code == 200
    assert response.context["rows"] == []
