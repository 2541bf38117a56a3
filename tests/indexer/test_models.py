"""Chain states and deposit events as the indexer reads and writes them."""

import pytest

from indexer.models import ChainState, DepositEvent
from tests.factories import ChainStateFactory, DepositEventFactory

pytestmark = pytest.mark.django_db


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
    assert str(ChainStateFactory(chain_id=1, contract_address="0xc")) == "chain 1 / 0xc"
    assert str(DepositEventFactory(transaction_hash="0xt", log_index=2)) == "0xt#2"
