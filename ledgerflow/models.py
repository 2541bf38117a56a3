"""Bookkeeping tables of the project itself (not read by the Rust services).

The migration ledger lives beside ``django_migrations``: Django records *that* a migration ran,
these tables record *what* it did (a checksum), who ran it, how long it took and how long it
waited for locks, and every deliberate acceptance of a changed migration.
"""

from django.db import models

from ledgerflow.db.expressions import Now


class SchemaTakeover(models.Model):
    """One row per database taken over from sqlx by ``manage.py adopt_sqlx``: when, by whom,
    from which sqlx history, and what was recorded. Written once, never updated."""

    adopted_at = models.DateTimeField(db_default=Now(), editable=False)
    os_user = models.CharField(max_length=255, help_text="Who ran adopt_sqlx (operating system).")
    database_user = models.CharField(max_length=255, help_text="The PostgreSQL role it ran as.")
    client_host = models.CharField(max_length=255, help_text="The machine it ran on.")
    sqlx_version = models.BigIntegerField(help_text="The sqlx migration the database was at.")
    sqlx_description = models.TextField()
    sqlx_installed_on = models.DateTimeField()
    sqlx_checksum = models.CharField(max_length=96, help_text="SHA-384, hexadecimal, from sqlx.")
    recorded_migrations = models.JSONField(
        help_text="The Django migrations recorded as applied without running, app.name."
    )
    applied_fixes = models.JSONField(
        default=list, blank=True, help_text="SQL of the safe fixes applied before recording."
    )
    schema_fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the live schema snapshot that matched."
    )

    class Meta:
        db_table = "ledgerflow_schema_takeover"
        ordering = ["-adopted_at"]

    def __str__(self):
        return f"takeover of sqlx {self.sqlx_version} at {self.adopted_at:%Y-%m-%d %H:%M:%S}"


class ReleaseTag(models.Model):
    """A named migration state (``tag_release``), the target of ``rollback --to-tag``."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    created_by = models.CharField(max_length=150)
    # Every applied migration when the tag was made: [[app_label, migration_name], ...].
    migration_state = models.JSONField()

    class Meta:
        db_table = "ledgerflow_release_tags"
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.name


class AppliedMigrationChecksum(models.Model):
    """One row per applied migration: written in the migration's own transaction when atomic."""

    app = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64)
    # How the checksum was computed (ledgerflow.migrating.checksums.ALGORITHM): a row from an
    # older algorithm is re-baselined instead of being read as an edited migration.
    algorithm = models.CharField(max_length=16, db_default="v1")
    applied_at = models.DateTimeField(db_default=Now())
    applied_by = models.CharField(max_length=255)
    duration_ms = models.FloatField(null=True)
    lock_wait_ms = models.FloatField(null=True)
    # True when the row was written for a migration applied before checksums were recorded.
    baselined = models.BooleanField(db_default=False)

    class Meta:
        db_table = "ledgerflow_migration_checksums"
        constraints = [
            models.UniqueConstraint(
                fields=("app", "name"), name="ledgerflow_migration_checksum_uniq"
            )
        ]

    def __str__(self):
        return f"{self.app}.{self.name} {self.checksum[:12]}"


class MigrationChecksumAcceptance(models.Model):
    """Audit trail of ``accept_migration_checksum``: who accepted which change, when and why."""

    app = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    previous_checksum = models.CharField(max_length=64)
    accepted_checksum = models.CharField(max_length=64)
    accepted_by = models.CharField(max_length=255)
    accepted_at = models.DateTimeField(db_default=Now())
    reason = models.TextField()

    class Meta:
        db_table = "ledgerflow_migration_checksum_acceptances"

    def __str__(self):
        return f"{self.app}.{self.name} accepted by {self.accepted_by}"


class MigrateRun(models.Model):
    """One row per ``migrate`` run that took the migration lock."""

    started_at = models.DateTimeField(db_default=Now())
    finished_at = models.DateTimeField(null=True)
    run_by = models.CharField(max_length=255)
    lock_wait_ms = models.FloatField()
    duration_ms = models.FloatField(null=True)
    applied_count = models.IntegerField(db_default=0)
    # running, succeeded, failed
    outcome = models.CharField(max_length=16, db_default="running")
    error = models.TextField(db_default="")

    class Meta:
        db_table = "ledgerflow_migrate_runs"
        indexes = [models.Index(fields=["started_at"], name="ledgerflow_migrate_run_started")]

    def __str__(self):
        return f"migrate run {self.pk} {self.outcome}"
