"""Orders as the services read and write them, with database-side defaults."""

import uuid

import pytest

from orders.models import Order, OrderStatus
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_uuid_key_and_timestamps_come_from_the_database():
    order = OrderFactory()

    assert isinstance(order.id, uuid.UUID)
    assert order.created_at is not None
    assert order.updated_at is not None


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


def test_str_is_the_order_id():
    assert str(OrderFactory(order_id="ord-x")) == "ord-x"
