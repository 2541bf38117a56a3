from django.db import migrations, models

import ledgerflow.db.expressions
import ledgerflow.db.fields
from ledgerflow.db.operations import CreateEnumType, CreateUpdatedAtTrigger


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ledgerflow", "0001_install_update_updated_at_column"),
    ]

    operations = [
        CreateEnumType("order_status", ["pending", "completed", "failed", "cancelled"]),
        migrations.CreateModel(
            name="Order",
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
                ("order_id", models.CharField(max_length=255)),
                ("account_id", models.CharField(max_length=255)),
                ("broker_id", models.CharField(max_length=255)),
                ("amount", models.CharField(max_length=255)),
                ("token_address", models.CharField(max_length=42)),
                (
                    "status",
                    ledgerflow.db.fields.PostgresEnumField(
                        choices=[
                            ("pending", "Pending"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        db_default="pending",
                        enum_type="order_status",
                        max_length=32,
                    ),
                ),
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
                ("transaction_hash", models.CharField(blank=True, max_length=66, null=True)),
            ],
            options={
                "db_table": "orders",
                "indexes": [
                    models.Index(fields=["order_id"], name="idx_orders_order_id"),
                    models.Index(fields=["account_id"], name="idx_orders_account_id"),
                    models.Index(fields=["status"], name="idx_orders_status"),
                    models.Index(fields=["created_at"], name="idx_orders_created_at"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("order_id",), name="orders_order_id_key")
                ],
            },
        ),
        CreateUpdatedAtTrigger("orders"),
    ]
