"""Bookkeeping tables of this project (not read by the Rust services)."""

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
