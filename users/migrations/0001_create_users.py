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
            name="User",
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
                ("telegram_id", models.BigIntegerField()),
                ("username", models.CharField(blank=True, max_length=255, null=True)),
                ("first_name", models.CharField(blank=True, max_length=255, null=True)),
                ("last_name", models.CharField(blank=True, max_length=255, null=True)),
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
                "db_table": "users",
                "indexes": [
                    models.Index(fields=["telegram_id"], name="idx_users_telegram_id"),
                    models.Index(fields=["evm_address"], name="idx_users_evm_address"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("telegram_id",), name="users_telegram_id_key")
                ],
            },
        ),
        CreateUpdatedAtTrigger("users"),
    ]
