"""What PostgreSQL errors mean to the project: SQLSTATEs, lock timeouts, operator-facing errors.

Django wraps psycopg's errors (``__cause__``) and some errors are raised while handling others
(``__context__``): ``sqlstate`` looks through both, so every caller asks the same question the
same way.
"""

import psycopg

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired (also NOWAIT)
QUERY_CANCELED = "57014"  # statement_timeout expired, or pg_cancel_backend


class OperatorError(Exception):
    """A refusal or failure an operator can act on; the message says what to do. Feature packages
    raise their own subclasses (``RecoveryError``); commands turn them into one paragraph."""


class ClientToolError(OperatorError):
    """A PostgreSQL client program (``pg_dump``, ``pg_restore``) is missing, too old or failed, or
    the client tools' own connection was refused."""


def sqlstate(exc):
    """The SQLSTATE of a database error, looking through Django's wrapping."""
    while exc is not None:
        if isinstance(exc, psycopg.Error) and exc.sqlstate:
            return exc.sqlstate
        exc = exc.__cause__ or exc.__context__
    return None


def is_lock_timeout(exc):
    """Whether ``exc`` is PostgreSQL giving up on a lock (``lock_timeout``)."""
    return sqlstate(exc) == LOCK_NOT_AVAILABLE
