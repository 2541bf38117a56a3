from django.db import migrations, models

import ledgerflow.db.expressions
from ledgerflow.db.operations import CreateUpdatedAtTrigger


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ledgerflow", "0001_install_update_updated_at_column"),
    ]

    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        db_default=ledgerflow.db.expressions.GenRandomUUID(),
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("account_id", models.CharField(max_length=255)),
                ("email", models.CharField(blank=True, max_length=255, null=True)),
                ("telegram_id", models.CharField(blank=True, max_length=255, null=True)),
                ("evm_address", models.CharField(blank=True, max_length=42, null=True)),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False, null=True
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False, null=True
                    ),
                ),
            ],
            options={
                "db_table": "accounts",
                "indexes": [
                    models.Index(fields=["account_id"], name="idx_accounts_account_id"),
                    models.Index(fields=["telegram_id"], name="idx_accounts_telegram_id"),
                    models.Index(fields=["evm_address"], name="idx_accounts_evm_address"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("account_id",), name="accounts_account_id_key")
                ],
            },
        ),
        CreateUpdatedAtTrigger("accounts"),
    ]
