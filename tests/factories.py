"""factory-boy factories for the five LedgerFlow tables; sequences keep unique columns unique."""

import factory

from accounts.models import Account
from indexer.models import ChainState, DepositEvent
from orders.models import Order, OrderStatus
from users.models import User


def hex_string(length, n):
    return "0x" + format(n, "x").rjust(length, "0")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_id = factory.Sequence(lambda n: f"acc-{n:06d}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    telegram_id = factory.Sequence(lambda n: str(700000 + n))
    evm_address = factory.Sequence(lambda n: hex_string(40, n))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    telegram_id = factory.Sequence(lambda n: 700000 + n)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Ada"
    last_name = "Lovelace"
    evm_address = factory.Sequence(lambda n: hex_string(40, n))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    order_id = factory.Sequence(lambda n: f"ord-{n:08d}")
    account_id = factory.Sequence(lambda n: str(700000 + n))
    broker_id = "broker-1"
    amount = "1000000000000000000"
    token_address = hex_string(40, 0xA0B8)
    status = OrderStatus.PENDING


class ChainStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChainState

    chain_id = 8453
    contract_address = factory.Sequence(lambda n: hex_string(40, n))
    last_scanned_block = 1_000_000


class DepositEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepositEvent

    chain_id = 8453
    contract_address = hex_string(40, 0xC0FFEE)
    order_id = factory.Sequence(lambda n: f"ord-{n:08d}")
    sender = factory.Sequence(lambda n: hex_string(40, n))
    amount = "1000000000000000000"
    transaction_hash = factory.Sequence(lambda n: hex_string(64, n))
    block_number = factory.Sequence(lambda n: 1_000_000 + n)
    log_index = 0
