"""Rollback that never loses data, backups, restores and release tags.

``planning`` turns a rollback target into reverse steps with their exact SQL and classifies each as
lossless, lossy or irreversible; ``rollback`` runs a plan atomically; ``backup`` and ``restore``
wrap ``pg_dump``/``pg_restore`` with a checksum and a manifest; ``tags`` records release states.
"""

import math

from ledgerflow.db.errors import OperatorError


class RecoveryError(OperatorError):
    """A refusal or failure of a rollback, backup, restore or release tag; the message says what
    to do. The client tools these run raise their own ``ClientToolError``: catch ``OperatorError``
    for both."""


def lock_timeout_ms(seconds):
    """``--lock-timeout`` in whole milliseconds, at least 1: PostgreSQL reads 0 as wait forever."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise RecoveryError(
            f"--lock-timeout must be a number of seconds greater than 0, not {seconds!r}. "
            "Nothing was changed."
        )
    return max(1, math.ceil(seconds * 1000))
