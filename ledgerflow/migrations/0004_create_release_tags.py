from django.db import migrations, models

import ledgerflow.db.expressions


class Migration(migrations.Migration):
    dependencies = [
        ("ledgerflow", "0003_schema_takeover"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReleaseTag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "created_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False
                    ),
                ),
                ("created_by", models.CharField(max_length=150)),
                ("migration_state", models.JSONField()),
            ],
            options={
                "db_table": "ledgerflow_release_tags",
                "ordering": ["created_at", "id"],
            },
        ),
    ]
