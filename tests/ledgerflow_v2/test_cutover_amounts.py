"""The per-row checks of cutover_v2 at their edges: amounts and Telegram ids are read without a
regex (digits only, ltrim), and deposits of unknown orders are looked for only when the counts
say there are some. Each edge is carried or rejected exactly as the contract says."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from ledgerflow_v2.cutover import run_cutover
from tests.factories import DepositEventFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

CARRIED = {
    "o-leading-zeros": "007",
    "o-78-digits": "9" * 78,
}
REJECTED = {
    "o-79-digits": "9" * 79,
    "o-zeros": "000",
    "o-empty": "",
    "o-space": " 5",
    "o-plus": "+5",
    "o-minus": "-5",
    "o-exponent": "1e3",
    "o-arabic-digit": "\u0663",
    "o-fullwidth-digit": "\uff15",
}


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def edges():
    UserFactory(telegram_id=2001, username="edge")
    for order_id, amount in {**CARRIED, **REJECTED}.items():
        OrderFactory(order_id=order_id, account_id="2001", amount=amount)
    # A Telegram id with leading zeros still names the person; 19 digits never does.
    OrderFactory(order_id="o-zero-padded-tg", account_id="0002001", amount="1")
    OrderFactory(order_id="o-19-digit-tg", account_id="1" * 19, amount="1")
    DepositEventFactory(order_id="o-leading-zeros", amount="7")
    DepositEventFactory(order_id="o-leading-zeros", amount="0")
    # Unknown order and a bad amount: the order's reason comes first.
    DepositEventFactory(order_id="ghost", amount="x")
    DepositEventFactory(order_id="ghost", amount="3")


def test_amount_and_telegram_id_edges(edges):
    report = run_cutover(connection, accept_rejects=True)

    carried = dict(rows("SELECT order_id, amount::text FROM ledgerflow_v2.orders"))
    assert carried == {
        "o-leading-zeros": "7",
        "o-78-digits": "9" * 78,
        "o-zero-padded-tg": "1",
    }
    rejected = dict(
        rows(
            "SELECT source_key, reason FROM ledgerflow_v2.cutover_rejects "
            "WHERE source_table = 'orders'"
        )
    )
    assert rejected == {
        **{order_id: "order_amount_not_a_positive_integer" for order_id in REJECTED},
        "o-19-digit-tg": "order_account_unresolved",
    }
    assert report["reconciled"] is True


def test_deposits_of_unknown_orders_are_found_with_their_reason(edges):
    run_cutover(connection, accept_rejects=True)

    assert sorted(
        rows(
            "SELECT row_data->>'order_id', row_data->>'amount', reason "
            "FROM ledgerflow_v2.cutover_rejects WHERE source_table = 'deposit_events'"
        )
    ) == [
        ("ghost", "3", "deposit_order_unknown"),
        ("ghost", "x", "deposit_order_unknown"),
        ("o-leading-zeros", "0", "deposit_amount_not_a_positive_integer"),
    ]
    assert rows("SELECT amount::text FROM ledgerflow_v2.deposit_events") == [("7",)]


def test_a_dry_run_reports_the_same_as_the_cutover(edges):
    dry = run_cutover(connection, accept_rejects=True, dry_run=True)
    real = run_cutover(connection, accept_rejects=True)

    for key in ("v1_rows", "carried", "rejected", "notes", "money", "reconciled"):
        assert dry[key] == real[key], key


def test_verbosity_2_prints_the_time_of_each_step(edges):
    out = io.StringIO()
    call_command("cutover_v2", "--dry-run", "--no-backup", "--verbosity", "2", stdout=out)

    printed = out.getvalue()
    assert "time per step (seconds, in order):" in printed
    for step in ("orders: insert", "deposits: insert", "rebuild orders_order_id_key", "notes"):
        assert step in printed
