"""Bookkeeping tables of the project itself (not read by the Rust services).

The migration ledger lives beside ``django_migrations``: Django records *that* a migration ran,
these tables record *what* it did (a checksum), who ran it, how long it took and how long it
waited for locks, and every deliberate acceptance of a changed migration.
"""

from django.db import models

from ledgerflow.db.expressions import Now


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
