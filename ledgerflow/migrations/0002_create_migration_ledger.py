from django.db import migrations, models

import ledgerflow.db.expressions


class Migration(migrations.Migration):
    dependencies = [
        ("ledgerflow", "0001_install_update_updated_at_column"),
    ]

    operations = [
        migrations.CreateModel(
            name="MigrationChecksumAcceptance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("app", models.CharField(max_length=255)),
                ("name", models.CharField(max_length=255)),
                ("previous_checksum", models.CharField(max_length=64)),
                ("accepted_checksum", models.CharField(max_length=64)),
                ("accepted_by", models.CharField(max_length=255)),
                ("accepted_at", models.DateTimeField(db_default=ledgerflow.db.expressions.Now())),
                ("reason", models.TextField()),
            ],
            options={
                "db_table": "ledgerflow_migration_checksum_acceptances",
            },
        ),
        migrations.CreateModel(
            name="AppliedMigrationChecksum",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("app", models.CharField(max_length=255)),
                ("name", models.CharField(max_length=255)),
                ("checksum", models.CharField(max_length=64)),
                ("algorithm", models.CharField(db_default="v1", max_length=16)),
                ("applied_at", models.DateTimeField(db_default=ledgerflow.db.expressions.Now())),
                ("applied_by", models.CharField(max_length=255)),
                ("duration_ms", models.FloatField(null=True)),
                ("lock_wait_ms", models.FloatField(null=True)),
                ("baselined", models.BooleanField(db_default=False)),
            ],
            options={
                "db_table": "ledgerflow_migration_checksums",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("app", "name"), name="ledgerflow_migration_checksum_uniq"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="MigrateRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField(db_default=ledgerflow.db.expressions.Now())),
                ("finished_at", models.DateTimeField(null=True)),
                ("run_by", models.CharField(max_length=255)),
                ("lock_wait_ms", models.FloatField()),
                ("duration_ms", models.FloatField(null=True)),
                ("applied_count", models.IntegerField(db_default=0)),
                ("outcome", models.CharField(db_default="running", max_length=16)),
                ("error", models.TextField(db_default="")),
            ],
            options={
                "db_table": "ledgerflow_migrate_runs",
                "indexes": [
                    models.Index(fields=["started_at"], name="ledgerflow_migrate_run_started")
                ],
            },
        ),
    ]
