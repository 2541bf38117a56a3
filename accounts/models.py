"""``accounts``: written by the balancer over HTTP."""

from django.db import models

from ledgerflow.db.expressions import GenRandomUUID, Now


class Account(models.Model):
    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    account_id = models.CharField(max_length=255)
    email = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  (contract: nullable)
    telegram_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    evm_address = models.CharField(max_length=42, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(null=True, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(null=True, db_default=Now(), editable=False)

    class Meta:
        db_table = "accounts"
        constraints = [
            models.UniqueConstraint(fields=["account_id"], name="accounts_account_id_key"),
        ]
        indexes = [
            models.Index(fields=["account_id"], name="idx_accounts_account_id"),
            models.Index(fields=["telegram_id"], name="idx_accounts_telegram_id"),
            models.Index(fields=["evm_address"], name="idx_accounts_evm_address"),
        ]

    def __str__(self):
        return self.account_id
