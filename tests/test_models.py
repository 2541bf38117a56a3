"""The models read and write the tables as the services do, with database-side defaults."""

import uuid

import pytest

from indexer.models import ChainState, DepositEvent
from orders.models import Order, OrderStatus
from tests.factories import (
    AccountFactory,
    ChainStateFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("factory", [AccountFactory, UserFactory, OrderFactory])
def test_uuid_key_and_timestamps_come_from_the_database(factory):
    obj = factory()

    assert isinstance(obj.id, uuid.UUID)
    assert obj.created_at is not None
    assert obj.updated_at is not None


def test_order_status_defaults_to_pending_in_the_database():
    order = Order.objects.create(
        order_id="o-default", account_id="1", broker_id="b", amount="1", token_address="0x1"
    )
    order.refresh_from_db()

    assert order.status == OrderStatus.PENDING


def test_order_status_round_trips_every_enum_label():
    for label in OrderStatus.values:
        OrderFactory(status=label)

    assert sorted(Order.objects.values_list("status", flat=True)) == sorted(OrderStatus.values)
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 1


def test_deposit_event_gets_its_id_from_the_sequence():
    first, second = DepositEventFactory(), DepositEventFactory()

    assert isinstance(first.id, int)
    assert second.id == first.id + 1
    assert DepositEvent.objects.get(pk=first.id).processed is False


def test_chain_state_is_addressed_by_its_composite_key():
    state = ChainStateFactory(chain_id=8453, contract_address="0xabc")

    found = ChainState.objects.get(pk=(8453, "0xabc"))

    assert found.pk == (8453, "0xabc")
    assert found.last_scanned_block == state.last_scanned_block


def test_str_names_each_row():
    assert str(AccountFactory(account_id="acc-x")) == "acc-x"
    assert str(UserFactory(username="bob")) == "bob"
    assert str(OrderFactory(order_id="ord-x")) == "ord-x"
    assert str(ChainStateFactory(chain_id=1, contract_address="0xc")) == "chain 1 / 0xc"
    assert str(DepositEventFactory(transaction_hash="0xt", log_index=2)) == "0xt#2"
