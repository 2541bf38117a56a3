"""``users``: written by the bot (Telegram users)."""

from django.db import models

from ledgerflow.db.expressions import GenRandomUUID, Now


class User(models.Model):
    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    telegram_id = models.BigIntegerField()
    username = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  (contract: nullable)
    first_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    last_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    evm_address = models.CharField(max_length=42, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(null=True, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(null=True, db_default=Now(), editable=False)

    class Meta:
        db_table = "users"
        constraints = [
            models.UniqueConstraint(fields=["telegram_id"], name="users_telegram_id_key"),
        ]
        indexes = [
            models.Index(fields=["telegram_id"], name="idx_users_telegram_id"),
            models.Index(fields=["evm_address"], name="idx_users_evm_address"),
        ]

    def __str__(self):
        return self.username or str(self.telegram_id)
