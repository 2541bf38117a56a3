"""Schema v2 in the admin, after a cutover of deliberately dirty v1 data: the v2 tables read-only,
the rejects and notes filterable, each reject whole with the way to repair it and re-run."""

import json
import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Account as V1Account
from ledgerflow.console.large_tables import table_row_estimate
from ledgerflow_v2.browse import models as v2
from ledgerflow_v2.browse.admin import REPAIR_HINTS
from ledgerflow_v2.cutover import REASONS, run_cutover
from tests.factories import DepositEventFactory, OrderFactory, StaffUserFactory, UserFactory
from tests.ledgerflow_v2.dirty_v1 import EXPECTED_REJECTS, make_dirty_v1

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("v2")</script>'
SERVICE_MODELS = (v2.Account, v2.Order, v2.Balance, v2.DepositEvent)
RECORD_MODELS = (v2.CutoverReject, v2.CutoverNote, v2.CutoverRun)


@pytest.fixture
def cut_over():
    labels = make_dirty_v1()
    # A person and an order whose texts are markup: carried (the user) and rejected (the order).
    UserFactory(telegram_id=2001, username=HOSTILE)
    OrderFactory(order_id=HOSTILE, account_id="2001", amount=HOSTILE)
    report = run_cutover(connection, accept_rejects=True)
    return labels, report


def url(model, view="changelist", *args):
    return reverse(f"admin:schema_v2_{model._meta.model_name}_{view}", args=args)


def test_the_unmanaged_models_read_the_ledgerflow_v2_tables_not_v1(cut_over):
    orders = set(v2.Order.objects.values_list("order_id", flat=True))
    assert orders == {"o-good", "o-by-account-id", "o-pending", "o-other-token"}
    assert v2.CutoverReject.objects.count() == len(EXPECTED_REJECTS) + 1
    assert v2.ChainState.objects.get().chain_id == 8453
    # v1's orders table has the same name in public; the v2 model never reads it.
    assert not v2.Order.objects.filter(order_id="o-decimal").exists()


def test_every_v2_list_and_detail_page_opens_with_the_carried_data(staff_client, cut_over):
    order = v2.Order.objects.get(order_id="o-good")
    state = v2.ChainState.objects.get()
    pages = [
        url(v2.Account),
        url(v2.Account, "change", v2.Account.objects.get(telegram_id=1001).pk),
        url(v2.Order),
        url(v2.Order, "change", order.pk),
        url(v2.Order) + "?status__exact=completed&chain_id=1",
        url(v2.Balance),
        url(v2.Balance, "change", v2.Balance.objects.first().pk),
        url(v2.DepositEvent),
        url(v2.DepositEvent) + "?q=o-good&processed__exact=0",
        url(v2.DepositEvent, "change", v2.DepositEvent.objects.get().pk),
        url(v2.ChainState),
        url(v2.ChainState, "detail", state.chain_id, state.contract_address),
        url(v2.CutoverReject),
        url(v2.CutoverReject, "change", v2.CutoverReject.objects.first().pk),
        url(v2.CutoverNote),
        url(v2.CutoverNote, "change", v2.CutoverNote.objects.first().pk),
        url(v2.CutoverRun),
        url(v2.CutoverRun, "change", v2.CutoverRun.objects.get().pk),
        reverse("admin:app_list", args=["schema_v2"]),
    ]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
    assert "o-good" in staff_client.get(url(v2.Order)).text


def test_the_index_names_every_v2_table_apart_from_v1(staff_client, cut_over):
    page = staff_client.get(reverse("admin:index")).text

    for name in ("orders", "accounts", "balances", "deposit events", "chain states"):
        assert f"Schema v2 — {name}" in page
    for name in ("cutover rejects", "cutover notes", "cutover runs"):
        assert f"Schema v2 — {name}" in page


@pytest.mark.parametrize("model", SERVICE_MODELS + RECORD_MODELS)
def test_staff_cannot_add_change_or_delete_v2_rows(rf, superuser, model, cut_over):
    request = rf.get("/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    obj = model.objects.first()

    assert model_admin.has_view_permission(request, obj)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)


def test_a_v2_order_page_is_read_only_and_a_post_changes_nothing(staff_client, cut_over):
    order = v2.Order.objects.get(order_id="o-pending")
    page = url(v2.Order, "change", order.pk)

    assert 'name="_save"' not in staff_client.get(page).text
    response = staff_client.post(page, {"status": "completed", "amount": "1"})
    assert response.status_code == 403
    assert staff_client.get(url(v2.Order, "add")).status_code == 403
    assert staff_client.post(url(v2.Order, "delete", order.pk), {"post": "yes"}).status_code == 403
    order.refresh_from_db()
    assert (order.status, order.amount) == ("pending", 300)


def test_staff_with_view_permissions_only_see_v2_read_only(client, cut_over):
    staff = StaffUserFactory()
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="schema_v2"))
    client.force_login(staff)

    assert client.get(url(v2.Order)).status_code == 200
    assert client.get(url(v2.ChainState)).status_code == 200
    order = v2.Order.objects.first()
    assert client.post(url(v2.Order, "change", order.pk), {"status": "failed"}).status_code == 403


def test_rejects_filter_by_reason_and_table(staff_client, cut_over):
    by_reason = staff_client.get(url(v2.CutoverReject) + "?reason=two_accounts_for_one_telegram_id")
    by_table = staff_client.get(url(v2.CutoverReject) + "?source_table=deposit_events")

    assert {r.reason for r in by_reason.context["cl"].result_list} == {
        "two_accounts_for_one_telegram_id"
    }
    assert len(by_reason.context["cl"].result_list) == 2
    assert {r.source_table for r in by_table.context["cl"].result_list} == {"deposit_events"}
    assert len(by_table.context["cl"].result_list) == 3
    # The reason filter counts each reason from the last cutover's report.
    assert "order_amount_not_a_positive_integer (4)" in by_table.text


def test_notes_filter_by_kind(staff_client, cut_over):
    response = staff_client.get(url(v2.CutoverNote) + "?kind=merged_identity")

    notes = response.context["cl"].result_list
    assert [note.subject for note in notes] == ["telegram_id 1001"]
    assert "merged_identity (1)" in response.text
    related = staff_client.get(url(v2.CutoverNote, "change", notes[0].pk)).text
    assert reverse("admin:users_user_changelist") + "?telegram_id=1001" in related


def test_a_reject_shows_the_whole_v1_row_the_repair_and_the_rerun(staff_client, cut_over):
    labels, _ = cut_over
    reject = v2.CutoverReject.objects.get(source_key=labels["no-tg"])

    page = staff_client.get(url(v2.CutoverReject, "change", reject.pk)).text

    v1_page = reverse("admin:accounts_account_change", args=[labels["no-tg"]])
    assert f'href="{v1_page}"' in page
    assert escape(REPAIR_HINTS["account_without_telegram_id"]) in page
    assert "cutover_v2 --redo" in page
    shown = re.search(r'<pre class="json">(.*?)</pre>', page, re.S).group(1)
    assert json.loads(shown.replace("&quot;", '"')) == reject.row_data
    assert reject.row_data["account_id"] == "no-tg"
    # The v1 page it links to is the account's, where staff give it a Telegram id.
    assert staff_client.get(v1_page).status_code == 200
    assert "cutover_v2 --redo" in staff_client.get(url(v2.CutoverReject)).text


def test_a_repair_in_v1_and_a_redo_carry_the_row(staff_client, cut_over):
    labels, _ = cut_over
    V1Account.objects.filter(pk=labels["no-tg"]).update(telegram_id="3001")

    run_cutover(connection, redo=True, accept_rejects=True)

    assert v2.Account.objects.filter(telegram_id=3001, username="no-tg").exists()
    assert not v2.CutoverReject.objects.filter(source_key=labels["no-tg"]).exists()
    response = staff_client.get(url(v2.CutoverReject) + "?reason=account_without_telegram_id")
    assert len(response.context["cl"].result_list) == 0


def test_every_reject_reason_has_a_repair_hint():
    assert set(REPAIR_HINTS) == set(REASONS)


def test_hostile_values_are_escaped_on_every_v2_page(staff_client, cut_over):
    account = v2.Account.objects.get(telegram_id=2001)
    reject = v2.CutoverReject.objects.get(source_key=HOSTILE)
    pages = [
        url(v2.Account),
        url(v2.Account, "change", account.pk),
        url(v2.CutoverReject),
        url(v2.CutoverReject, "change", reject.pk),
        url(v2.CutoverReject) + "?q=" + HOSTILE,
    ]
    for page in pages:
        text = staff_client.get(page).text
        assert HOSTILE not in text, page
        assert "&lt;script&gt;" in text, page


@pytest.mark.parametrize(
    ("model", "query"),
    [
        (v2.Order, "amount=5"),
        (v2.Order, "token_address__icontains=ab"),
        (v2.Account, "email__contains=x"),
        (v2.DepositEvent, "sender=0x"),
        (v2.CutoverReject, "detail__icontains=v2"),
        (v2.CutoverReject, "row_data__amount=1.5"),
        (v2.CutoverNote, "data__username=x"),
    ],
)
def test_lookups_the_lists_do_not_declare_are_refused(staff_client, model, query, cut_over):
    response = staff_client.get(f"{url(model)}?{query}")

    assert response.status_code == 400
    assert "Filter refused" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "status__exact=bogus",
        "chain_id=abc",
        "chain_id=99999999999999999999",
        "order_id=%00",
        "after=not-json",
        "o=3",
        "q=%00",
    ],
)
def test_tampered_query_strings_never_fail_the_v2_orders_list(staff_client, query, cut_over):
    response = staff_client.get(f"{url(v2.Order)}?{query}")

    assert response.status_code in (200, 302), query


def test_impossible_keys_are_404s(staff_client, cut_over):
    assert staff_client.get(url(v2.Order, "change", "abc")).status_code == 404
    assert (
        staff_client.get(url(v2.CutoverReject, "change", "99999999999999999999")).status_code == 404
    )
    assert staff_client.get(url(v2.ChainState, "detail", "x", "y")).status_code == 404


def test_v2_lists_page_by_keyset(staff_client, cut_over):
    model_admin = admin.site._registry[v2.CutoverReject]
    model_admin.list_per_page, per_page = 5, model_admin.list_per_page
    try:
        first = staff_client.get(url(v2.CutoverReject)).context["cl"]
        second = staff_client.get(url(v2.CutoverReject) + first.next_url).context["cl"]
    finally:
        model_admin.list_per_page = per_page

    assert first.keyset is not None
    seen = [r.id for r in first.result_list] + [r.id for r in second.result_list]
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 10


def test_row_estimates_read_the_v2_tables(cut_over):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledgerflow_v2.orders")
    assert table_row_estimate(v2.Order) == 4


INDEX_COLUMNS = """
SELECT array_agg(a.attname ORDER BY k.position)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass
GROUP BY i.indexrelid
"""


@pytest.mark.parametrize("model", [*SERVICE_MODELS, v2.ChainState, *RECORD_MODELS])
def test_the_indexes_the_models_declare_are_in_ledgerflow_v2(model):
    opts = model._meta
    declared = {tuple(field.column for field in opts.pk_fields)}
    declared |= {(field.column,) for field in opts.fields if field.unique and field.column}
    declared |= {
        tuple(opts.get_field(name).column for name in index.fields) for index in opts.indexes
    }
    declared |= {
        tuple(opts.get_field(name).column for name in constraint.fields)
        for constraint in opts.constraints
    }
    with connection.cursor() as cursor:
        cursor.execute(INDEX_COLUMNS, [opts.db_table])
        in_database = {tuple(columns) for (columns,) in cursor.fetchall()}

    assert declared <= in_database


def test_staff_without_permissions_and_anonymous_users_see_no_v2_page(client, cut_over):
    pages = [url(v2.Order), url(v2.CutoverReject), url(v2.ChainState)]
    for page in pages:
        assert client.get(page).status_code == 302, page  # to the login page

    client.force_login(StaffUserFactory())
    for page in pages:
        assert client.get(page).status_code == 403, page
    assert "Schema v2" not in client.get(reverse("admin:index")).text


@pytest.mark.parametrize(
    ("model", "query"),
    [
        (v2.CutoverReject, "reason=%00"),
        (v2.CutoverReject, "source_table=bogus"),
        (v2.CutoverReject, "source_key=%00"),
        (v2.CutoverReject, 'after=["x"]'),
        (v2.CutoverReject, "after=[99999999999999999999]"),
        (v2.CutoverNote, "kind=%00"),
        (v2.CutoverNote, "q=%00"),
        (v2.Account, "telegram_id=abc"),
        (v2.Account, "id=99999999999999999999"),
        (v2.Account, "q=99999999999999999999"),
        (v2.Balance, "account_id=-1"),
        (v2.DepositEvent, "q=%00"),
        (v2.DepositEvent, "processed__exact=maybe"),
    ],
)
def test_tampered_query_strings_never_fail_the_v2_lists(staff_client, model, query, cut_over):
    response = staff_client.get(f"{url(model)}?{query}")

    assert response.status_code in (200, 302), query
    # Django's search form refuses a NUL byte with a message and lists unfiltered.
    if response.status_code == 200 and query != "q=%00":
        assert len(response.context["cl"].result_list) == 0, query


@pytest.mark.parametrize("model", SERVICE_MODELS + RECORD_MODELS, ids=lambda m: m.__name__)
def test_no_v2_list_queries_per_row(staff_client, monkeypatch, model, cut_over):
    # A second carried deposit and a second run: every list holds more than one row.
    DepositEventFactory(order_id="o-good", amount="5")
    run_cutover(connection, redo=True, accept_rejects=True)

    def queries(per_page):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", per_page)
        with CaptureQueriesContext(connection) as captured:
            response = staff_client.get(url(model))
        return len(captured), len(response.context["cl"].result_list)

    one, shown_one = queries(1)
    many, shown_many = queries(100)

    assert shown_one == 1
    assert shown_many == model.objects.count() > 1
    assert many == one


def test_an_account_page_says_whether_secrets_are_set_never_their_values(staff_client, cut_over):
    account = v2.Account.objects.get(telegram_id=1001)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledgerflow_v2.accounts SET encrypted_pk = 'SECRET-KEY-TEXT', "
            "api_token_hash = %s WHERE id = %s",
            ["f" * 64, account.pk],
        )

    page = staff_client.get(url(v2.Account, "change", account.pk)).text

    assert "encrypted private key set; API token set" in page
    assert "SECRET-KEY-TEXT" not in page
    assert "f" * 64 not in page


def test_every_link_on_a_reject_page_opens(staff_client, cut_over):
    OrderFactory(order_id="o-named", account_id="nobody", amount="3")
    run_cutover(connection, redo=True, accept_rejects=True)

    for reject in v2.CutoverReject.objects.all():
        page = staff_client.get(url(v2.CutoverReject, "change", reject.pk)).text
        field = re.search(r'class="form-row field-repair".*?</fieldset>', page, re.S).group(0)
        for link in re.findall(r'href="([^"]+)"', field):
            link = link.replace("&amp;", "&")
            response = staff_client.get(link)
            assert response.status_code == 200, (reject.source_key, link)
            assert "e=1" not in response.request["QUERY_STRING"], link
