"""factory-boy factories for the five tables, with sequences for every unique column."""

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account
from indexer.models import ChainState, DepositEvent
from orders.models import Order
from users.models import User

STAFF_PASSWORD = "correct horse battery"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_id = factory.Sequence(lambda n: f"acct-{n:06d}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    telegram_id = factory.Sequence(lambda n: str(7_000_000 + n))
    evm_address = factory.Sequence(lambda n: f"0x{n:040x}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    telegram_id = factory.Sequence(lambda n: 7_000_000 + n)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Ada"
    last_name = "Lovelace"
    evm_address = factory.Sequence(lambda n: f"0x{n:040x}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    order_id = factory.Sequence(lambda n: f"ord-{n:08d}")
    account_id = factory.Sequence(lambda n: str(7_000_000 + n))
    broker_id = "broker-1"
    amount = "1000000000000000000"
    token_address = "0x" + "ab" * 20
    status = "pending"


class DepositEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DepositEvent

    chain_id = 8453
    contract_address = "0x" + "cd" * 20
    order_id = factory.Sequence(lambda n: f"ord-{n:08d}")
    sender = "0x" + "ef" * 20
    amount = "1000000000000000000"
    transaction_hash = factory.Sequence(lambda n: f"0x{n:064x}")
    block_number = factory.Sequence(lambda n: 1_000_000 + n)
    log_index = 0


class ChainStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChainState

    chain_id = factory.Sequence(lambda n: 8453 + n)
    contract_address = "0x" + "cd" * 20
    last_scanned_block = 123_456


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password(STAFF_PASSWORD)
