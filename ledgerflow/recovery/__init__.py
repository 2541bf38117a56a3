"""Rollback that never loses data, backups, restores and release tags.

``planning`` turns a rollback target into reverse steps with their exact SQL and classifies each as
lossless, lossy or irreversible; ``rollback`` runs a plan atomically; ``backup`` and ``restore``
wrap ``pg_dump``/``pg_restore`` with a checksum and a manifest; ``tags`` records release states.
"""


class RecoveryError(Exception):
    """A refusal or failure an operator can act on; the message says what to do."""
