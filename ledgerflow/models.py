"""Bookkeeping tables of the schema project itself (no Rust service reads them)."""

from django.db import models

from ledgerflow.db.expressions import Now


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
