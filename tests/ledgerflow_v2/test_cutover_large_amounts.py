"""Money reconciles exactly at the v2 maximum: amounts of 78 digits, totals beyond them."""

import pytest
from django.db import connection

from ledgerflow_v2.cutover import run_cutover
from tests.factories import DepositEventFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

LARGEST = "9" * 78  # NUMERIC(78,0)'s largest value


def test_totals_of_78_digit_amounts_reconcile_carried_and_rejected():
    for n in range(3):
        # One completed order per person: a balance holds at most one such amount.
        UserFactory(telegram_id=1001 + n)
        OrderFactory(
            order_id=f"o-{n}", account_id=str(1001 + n), amount=LARGEST, status="completed"
        )
        DepositEventFactory(order_id=f"o-{n}", amount=LARGEST)
    OrderFactory(order_id="o-rejected", account_id="1001", amount="1" * 77 + ".5")

    report = run_cutover(connection, accept_rejects=True)

    assert report["reconciled"] is True
    [orders] = report["money"]["orders"]
    assert orders["carried_total"] == str(3 * int(LARGEST))
    assert orders["rejected_total"] == "1" * 77 + ".5"
    [deposits] = report["money"]["deposit_events"]
    assert deposits["carried_total"] == str(3 * int(LARGEST))
