"""Unmanaged models of the ``ledgerflow_v2`` tables, for the admin to read.

The tables are ``ledgerflow_v2``'s (its SQL migrations build them, exactly the v2 contract), so
``managed = False``: Django never creates, alters or flushes them. Django has no option for a
PostgreSQL schema; a ``db_table`` already in double quotes is used as written (the backend quotes
a name only when it is not quoted yet), so ``"ledgerflow_v2"."orders"`` names the v2 table
whatever the connection's ``search_path``, never ``public.orders`` (v1), and reads as a
``regclass`` too (the admin's row estimates).

The indexes and unique keys are declared as the v2 contract has them (nothing creates them
here): the admin sorts and searches only by columns an index leads, and a test checks each
declaration's columns against the database. Their names carry a ``v2_`` prefix: Django wants
index names unique across all models, and v1's in ``public`` have the same names.

The v2 service tables are written by the newest services (CONTRACT-V2.md): the balancer creates
accounts, orders and balances, the indexer chain states and deposit events and moves orders to
``deposited``, the bot marks orders ``notified``. The cutover tables are ``cutover_v2``'s record
of what it did. Staff only read all of them (``ledgerflow_v2.browse.admin``).
"""

from django.db import models

SCHEMA = "ledgerflow_v2"


def v2_table(name):
    return f'"{SCHEMA}"."{name}"'


class OrderStatus(models.TextChoices):
    """v2's own ``order_status`` enum, with ``deposited`` second (v1 has no such value)."""

    PENDING = "pending"
    DEPOSITED = "deposited"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Account(models.Model):
    id = models.BigAutoField(primary_key=True)
    username = models.CharField(max_length=255, unique=True)
    telegram_id = models.BigIntegerField("Telegram id", unique=True)
    email = models.CharField(max_length=320, null=True)  # noqa: DJ001  (contract: nullable)
    evm_address = models.CharField("EVM address", max_length=42, null=True)  # noqa: DJ001
    encrypted_pk = models.TextField("encrypted private key", null=True)  # noqa: DJ001
    is_admin = models.BooleanField()
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)
    api_token_hash = models.CharField("API token hash", max_length=64, null=True)  # noqa: DJ001

    class Meta:
        managed = False
        db_table = v2_table("accounts")
        verbose_name = "Schema v2 — account"
        verbose_name_plural = "Schema v2 — accounts"

    def __str__(self):
        return f"{self.username} (Telegram id {self.telegram_id})"


class Order(models.Model):
    id = models.BigAutoField(primary_key=True)
    order_id = models.CharField(max_length=255, unique=True)
    account_id = models.BigIntegerField("account")
    broker_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=78, decimal_places=0)
    token_address = models.CharField(max_length=42)
    chain_id = models.BigIntegerField("chain id")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)
    transaction_hash = models.CharField(max_length=66, null=True)  # noqa: DJ001
    notified = models.BooleanField()

    class Meta:
        managed = False
        db_table = v2_table("orders")
        indexes = [
            models.Index(fields=["account_id"], name="v2_idx_orders_account_id"),
            models.Index(fields=["chain_id"], name="v2_idx_orders_chain_id"),
            models.Index(fields=["status"], name="v2_idx_orders_status"),
            models.Index(fields=["account_id", "status"], name="v2_idx_orders_account_status"),
        ]
        verbose_name = "Schema v2 — order"
        verbose_name_plural = "Schema v2 — orders"

    def __str__(self):
        return self.order_id


class Balance(models.Model):
    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField("account", unique=True)
    balance = models.DecimalField(max_digits=78, decimal_places=0)
    created_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = v2_table("balances")
        verbose_name = "Schema v2 — balance"
        verbose_name_plural = "Schema v2 — balances"

    def __str__(self):
        return f"balance of account {self.account_id}"


class ChainState(models.Model):
    pk = models.CompositePrimaryKey("chain_id", "contract_address")
    chain_id = models.BigIntegerField("chain id")
    contract_address = models.CharField(max_length=255)
    last_scanned_block = models.BigIntegerField()
    updated_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = v2_table("chain_states")
        verbose_name = "Schema v2 — chain state"
        verbose_name_plural = "Schema v2 — chain states"

    def __str__(self):
        return f"chain {self.chain_id} / {self.contract_address}"


class DepositEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    chain_id = models.BigIntegerField("chain id")
    contract_address = models.CharField(max_length=255)
    order_id = models.CharField(max_length=255)
    sender = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=78, decimal_places=0)
    transaction_hash = models.CharField(max_length=255)
    block_number = models.BigIntegerField()
    log_index = models.BigIntegerField()
    created_at = models.DateTimeField(null=True)
    processed = models.BooleanField()

    class Meta:
        managed = False
        db_table = v2_table("deposit_events")
        indexes = [
            models.Index(fields=["chain_id"], name="v2_idx_deposit_events_chain_id"),
            models.Index(fields=["order_id"], name="v2_idx_deposit_events_order_id"),
            models.Index(fields=["processed"], name="v2_idx_deposit_events_processed"),
            models.Index(fields=["block_number"], name="v2_idx_deposit_events_block_number"),
            models.Index(
                fields=["chain_id", "processed"], name="v2_idx_deposit_events_chain_processed"
            ),
            models.Index(
                fields=["order_id", "processed"], name="v2_idx_deposit_events_order_processed"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "transaction_hash", "log_index"],
                name="v2_deposit_events_chain_id_transaction_hash_log_index_key",
            )
        ]
        verbose_name = "Schema v2 — deposit event"
        verbose_name_plural = "Schema v2 — deposit events"

    def __str__(self):
        return f"deposit {self.id} of order {self.order_id}"


class CutoverRun(models.Model):
    id = models.BigAutoField(primary_key=True)
    action = models.CharField(max_length=20)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    report = models.JSONField()
    fingerprint = models.JSONField(null=True)

    class Meta:
        managed = False
        db_table = v2_table("cutover_runs")
        verbose_name = "Schema v2 — cutover run"
        verbose_name_plural = "Schema v2 — cutover runs"

    def __str__(self):
        return f"{self.action} {self.id}"


class CutoverReject(models.Model):
    """A v1 row v2 cannot hold, whole (``row_data`` is ``to_jsonb`` of it), with its reason."""

    id = models.BigAutoField(primary_key=True)
    source_table = models.CharField("v1 table", max_length=63)
    source_key = models.TextField("v1 key", null=True)  # noqa: DJ001
    reason = models.CharField(max_length=100)
    detail = models.TextField()
    row_data = models.JSONField("v1 row")
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = v2_table("cutover_rejects")
        verbose_name = "Schema v2 — cutover reject"
        verbose_name_plural = "Schema v2 — cutover rejects"

    def __str__(self):
        return f"{self.source_table} {self.source_key}"


class CutoverNote(models.Model):
    """A decision the cutover took without asking (a merged identity, a defaulted chain id...)."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=100)
    subject = models.TextField(null=True)  # noqa: DJ001
    detail = models.TextField()
    data = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = v2_table("cutover_notes")
        verbose_name = "Schema v2 — cutover note"
        verbose_name_plural = "Schema v2 — cutover notes"

    def __str__(self):
        return f"{self.kind}: {self.subject}" if self.subject else self.kind
