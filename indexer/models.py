"""``chain_states`` and ``deposit_events``: written by the indexer from on-chain logs."""

from django.db import models

from ledgerflow.db.expressions import Now
from ledgerflow.db.fields import BigSerialField


class ChainState(models.Model):
    """How far the indexer has scanned one contract on one chain."""

    pk = models.CompositePrimaryKey("chain_id", "contract_address")
    chain_id = models.IntegerField()
    contract_address = models.CharField(max_length=255)
    last_scanned_block = models.BigIntegerField(db_default=0)
    updated_at = models.DateTimeField(null=True, db_default=Now(), editable=False)

    class Meta:
        db_table = "chain_states"
        indexes = [
            models.Index(
                fields=["chain_id", "contract_address"], name="idx_chain_states_chain_contract"
            ),
        ]

    def __str__(self):
        return f"chain {self.chain_id} / {self.contract_address}"


class DepositEvent(models.Model):
    """One deposit log seen on chain; ``processed`` flips once the balancer credited it."""

    id = BigSerialField(primary_key=True)
    chain_id = models.IntegerField()
    contract_address = models.CharField(max_length=255)
    order_id = models.CharField(max_length=255)
    sender = models.CharField(max_length=255)
    amount = models.CharField(max_length=255)
    transaction_hash = models.CharField(max_length=255)
    block_number = models.BigIntegerField()
    log_index = models.BigIntegerField()
    created_at = models.DateTimeField(null=True, db_default=Now(), editable=False)
    processed = models.BooleanField(db_default=False)

    class Meta:
        db_table = "deposit_events"
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "transaction_hash", "log_index"],
                name="deposit_events_chain_id_transaction_hash_log_index_key",
            ),
        ]
        indexes = [
            models.Index(fields=["chain_id"], name="idx_deposit_events_chain_id"),
            models.Index(fields=["order_id"], name="idx_deposit_events_order_id"),
            models.Index(fields=["processed"], name="idx_deposit_events_processed"),
            models.Index(fields=["block_number"], name="idx_deposit_events_block_number"),
        ]

    def __str__(self):
        return f"{self.transaction_hash}#{self.log_index}"
