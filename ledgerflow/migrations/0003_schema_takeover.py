from django.db import migrations, models

import ledgerflow.db.expressions


class Migration(migrations.Migration):
    """The record ``adopt_sqlx`` leaves of each takeover (a bookkeeping table)."""

    dependencies = [
        ("ledgerflow", "0002_create_migration_ledger"),
    ]

    operations = [
        migrations.CreateModel(
            name="SchemaTakeover",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "adopted_at",
                    models.DateTimeField(
                        db_default=ledgerflow.db.expressions.Now(), editable=False
                    ),
                ),
                (
                    "os_user",
                    models.CharField(
                        help_text="Who ran adopt_sqlx (operating system).", max_length=255
                    ),
                ),
                (
                    "database_user",
                    models.CharField(help_text="The PostgreSQL role it ran as.", max_length=255),
                ),
                (
                    "client_host",
                    models.CharField(help_text="The machine it ran on.", max_length=255),
                ),
                (
                    "sqlx_version",
                    models.BigIntegerField(help_text="The sqlx migration the database was at."),
                ),
                ("sqlx_description", models.TextField()),
                ("sqlx_installed_on", models.DateTimeField()),
                (
                    "sqlx_checksum",
                    models.CharField(help_text="SHA-384, hexadecimal, from sqlx.", max_length=96),
                ),
                (
                    "recorded_migrations",
                    models.JSONField(
                        help_text="The Django migrations recorded as applied without running, app.name."
                    ),
                ),
                (
                    "applied_fixes",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="SQL of the safe fixes applied before recording.",
                    ),
                ),
                (
                    "schema_fingerprint",
                    models.CharField(
                        help_text="SHA-256 of the live schema snapshot that matched.", max_length=64
                    ),
                ),
            ],
            options={
                "db_table": "ledgerflow_schema_takeover",
                "ordering": ["-adopted_at"],
            },
        ),
    ]
