"""``orders``: written by the balancer, read by the bot."""

from django.db import models

from ledgerflow.db.expressions import GenRandomUUID, Now
from ledgerflow.db.fields import PostgresEnumField


class OrderStatus(models.TextChoices):
    """Labels of the ``order_status`` enum, in order; the balancer's Rust enum mirrors them."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    order_id = models.CharField(max_length=255)
    # A Telegram id as decimal text, not a reference: the contract has no foreign keys.
    account_id = models.CharField(max_length=255)
    broker_id = models.CharField(max_length=255)
    # Token base units, up to 78 digits: text, because no integer type holds them.
    amount = models.CharField(max_length=255)
    token_address = models.CharField(max_length=42)
    status = PostgresEnumField(
        enum_type="order_status",
        max_length=32,
        choices=OrderStatus.choices,
        db_default=OrderStatus.PENDING.value,
    )
    created_at = models.DateTimeField(null=True, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(null=True, db_default=Now(), editable=False)
    transaction_hash = models.CharField(max_length=66, null=True, blank=True)  # noqa: DJ001  (contract: nullable)

    class Meta:
        db_table = "orders"
        constraints = [
            models.UniqueConstraint(fields=["order_id"], name="orders_order_id_key"),
        ]
        indexes = [
            models.Index(fields=["order_id"], name="idx_orders_order_id"),
            models.Index(fields=["account_id"], name="idx_orders_account_id"),
            models.Index(fields=["status"], name="idx_orders_status"),
            models.Index(fields=["created_at"], name="idx_orders_created_at"),
        ]

    def __str__(self):
        return self.order_id
