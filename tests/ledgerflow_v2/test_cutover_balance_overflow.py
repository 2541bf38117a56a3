"""A balance v2 cannot hold is refused by name, with nothing changed."""

import pytest
from django.db import connection

from ledgerflow_v2.cutover import CutoverError, run_cutover, v2_row_counts
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

LARGEST = "9" * 78  # NUMERIC(78,0)'s largest value: two of them make 79 digits


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_balance_past_78_digits_is_refused_naming_the_person(dry_run):
    UserFactory(telegram_id=4242)
    for n in range(2):
        OrderFactory(order_id=f"big-{n}", account_id="4242", amount=LARGEST, status="completed")

    with pytest.raises(CutoverError) as refused:
        run_cutover(connection, dry_run=dry_run)

    message = str(refused.value)
    assert "Telegram id 4242 (2 completed orders, " + str(2 * int(LARGEST)) in message
    assert "nothing was changed" in message
    with connection.cursor() as cursor:
        assert not any(v2_row_counts(cursor).values())
