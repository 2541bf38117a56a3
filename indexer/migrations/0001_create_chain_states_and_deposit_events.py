from django.db import migrations, models

import ledgerflow.db.expressions
import ledgerflow.db.fields
from ledgerflow.db.operations import CreateUpdatedAtTrigger


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ledgerflow", "0001_install_update_updated_at_column"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChainState",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "chain_id",
                        "contract_address",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("chain_id", models.IntegerField()),
                ("contract_address", models.CharField(max_length=255)),
                ("last_scanned_block", models.BigIntegerField(db_default=0)),
                (
                    "updated_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False, null=True
                    ),
                ),
            ],
            options={
                "db_table": "chain_states",
                "indexes": [
                    models.Index(
                        fields=["chain_id", "contract_address"],
                        name="idx_chain_states_chain_contract",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DepositEvent",
            fields=[
                ("id", ledgerflow.db.fields.BigSerialField(primary_key=True, serialize=False)),
                ("chain_id", models.IntegerField()),
                ("contract_address", models.CharField(max_length=255)),
                ("order_id", models.CharField(max_length=255)),
                ("sender", models.CharField(max_length=255)),
                ("amount", models.CharField(max_length=255)),
                ("transaction_hash", models.CharField(max_length=255)),
                ("block_number", models.BigIntegerField()),
                ("log_index", models.BigIntegerField()),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False, null=True
                    ),
                ),
                ("processed", models.BooleanField(db_default=False)),
            ],
            options={
                "db_table": "deposit_events",
                "indexes": [
                    models.Index(fields=["chain_id"], name="idx_deposit_events_chain_id"),
                    models.Index(fields=["order_id"], name="idx_deposit_events_order_id"),
                    models.Index(fields=["processed"], name="idx_deposit_events_processed"),
                    models.Index(fields=["block_number"], name="idx_deposit_events_block_number"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("chain_id", "transaction_hash", "log_index"),
                        name="deposit_events_chain_id_transaction_hash_log_index_key",
                    )
                ],
            },
        ),
        CreateUpdatedAtTrigger("chain_states"),
    ]
