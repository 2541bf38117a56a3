"""Staff edits: invalid input is a form error, never a 500; orders change only two columns."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Account
from ledgerflow.console.validators import validate_amount
from orders.models import Order
from tests.factories import AccountFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_HASH = "0x" + "a1" * 32
GOOD_ADDRESS = "0x" + "Be" * 20


def change_order(client, order, **data):
    # What the change page sends: the edited values and, hidden, the values it showed.
    shown = {
        "initial-status": order.status,
        "initial-transaction_hash": order.transaction_hash or "",
    }
    return client.post(reverse("admin:orders_order_change", args=[order.pk]), {**shown, **data})


def test_an_order_changes_status_and_hash_and_the_change_is_logged(staff_client, superuser):
    order = OrderFactory()
    response = change_order(staff_client, order, status="completed", transaction_hash=GOOD_HASH)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.transaction_hash) == ("completed", GOOD_HASH)
    entry = LogEntry.objects.get(object_id=str(order.pk))
    assert (entry.action_flag, entry.user_id) == (CHANGE, superuser.pk)
    assert entry.get_change_message() == "Changed Status and Transaction hash."


def test_other_order_columns_cannot_be_changed(staff_client):
    order = OrderFactory(amount="5")
    change_order(
        staff_client, order, status="pending", amount="999", order_id="other", broker_id="x"
    )
    order.refresh_from_db()
    assert (order.amount, order.order_id, order.broker_id) == ("5", order.order_id, "broker-1")
    assert order.order_id != "other"


@pytest.mark.parametrize(
    "bad_hash",
    ["0x1234", "a1" * 33, "0x" + "g1" * 32, "0x" + "a1" * 32 + "00", " 0x" + "a1" * 31],
)
def test_a_malformed_transaction_hash_is_a_form_error(staff_client, bad_hash):
    order = OrderFactory()
    response = change_order(staff_client, order, status="failed", transaction_hash=bad_hash)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["transaction_hash"]
    order.refresh_from_db()
    assert (order.status, order.transaction_hash) == ("pending", None)


def test_an_unknown_status_is_a_form_error(staff_client):
    order = OrderFactory()
    response = change_order(staff_client, order, status="refunded", transaction_hash="")
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["status"]


def test_an_empty_transaction_hash_is_stored_as_null(staff_client):
    order = OrderFactory(transaction_hash=GOOD_HASH)
    change_order(staff_client, order, status="pending", transaction_hash="")
    order.refresh_from_db()
    assert order.transaction_hash is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"evm_address": "0x123"}, "evm_address"),
        ({"evm_address": "0x" + "zz" * 20}, "evm_address"),
        ({"telegram_id": "12a"}, "telegram_id"),
        ({"email": "not-an-email"}, "email"),
        ({"account_id": ""}, "account_id"),
    ],
)
def test_invalid_account_input_is_a_form_error(staff_client, data, field):
    account = AccountFactory()
    before = Account.objects.values().get(pk=account.pk)
    form = {"account_id": account.account_id, "email": "", "telegram_id": "", "evm_address": ""}
    response = staff_client.post(
        reverse("admin:accounts_account_change", args=[account.pk]), {**form, **data}
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert Account.objects.values().get(pk=account.pk) == before


def test_a_duplicate_account_id_is_a_form_error(staff_client):
    AccountFactory(account_id="taken")
    response = staff_client.post(reverse("admin:accounts_account_add"), {"account_id": "taken"})
    assert response.status_code == 200
    assert "account_id" in response.context["adminform"].form.errors
    assert Account.objects.filter(account_id="taken").count() == 1


def test_a_valid_account_is_added_with_database_defaults(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_account_add"),
        {"account_id": "acct-new", "telegram_id": "77", "evm_address": GOOD_ADDRESS},
    )
    assert response.status_code == 302
    account = Account.objects.get(account_id="acct-new")
    assert (account.telegram_id, account.evm_address, account.email) == ("77", GOOD_ADDRESS, None)
    assert account.created_at is not None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"telegram_id": "abc"}, "telegram_id"),
        ({"telegram_id": "0"}, "telegram_id"),
        ({"telegram_id": str(2**63)}, "telegram_id"),
        ({"evm_address": "0x" + "ab" * 21}, "evm_address"),
    ],
)
def test_invalid_user_input_is_a_form_error(staff_client, data, field):
    user = UserFactory()
    form = {"telegram_id": str(user.telegram_id), "username": "u", "evm_address": ""}
    response = staff_client.post(
        reverse("admin:users_user_change", args=[user.pk]), {**form, **data}
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]


def test_an_order_edit_keeps_a_concurrent_write_to_other_columns(staff_client):
    order = OrderFactory(amount="5")
    Order.objects.filter(pk=order.pk).update(amount="6")
    change_order(staff_client, order, status="failed", transaction_hash="")
    order.refresh_from_db()
    assert (order.status, order.amount) == ("failed", "6")


def test_an_order_edit_keeps_a_status_the_service_wrote_after_the_page_was_shown(staff_client):
    order = OrderFactory()  # the page shows status pending
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert 'name="initial-status" value="pending"' in page.content.decode()
    Order.objects.filter(pk=order.pk).update(status="completed")  # the balancer, meanwhile

    change_order(
        staff_client,
        order,
        status="pending",
        transaction_hash=GOOD_HASH,
    )

    order.refresh_from_db()
    assert (order.status, order.transaction_hash) == ("completed", GOOD_HASH)
    entry = LogEntry.objects.get(object_id=str(order.pk))
    assert entry.get_change_message() == "Changed Transaction hash."


@pytest.mark.parametrize("good", ["0", "1", "9" * 78])
def test_amount_accepts_non_negative_integer_strings(good):
    validate_amount(good)


@pytest.mark.parametrize("bad", ["", "-1", "1.5", "1e18", " 1", "9" * 79, "0x10"])
def test_amount_rejects_anything_else(bad):
    with pytest.raises(ValidationError):
        validate_amount(bad)
