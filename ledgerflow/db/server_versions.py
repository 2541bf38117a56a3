"""The PostgreSQL versions LedgerFlow supports, and the refusal of a server outside them.

14 is the oldest Django 5.2 connects to; 18 is the newest the version matrix (``.ci/pg-matrix``)
proves. Django refuses an older server with ``NotSupportedError`` as it connects; the command line
turns that into one paragraph with ``unsupported_server_message``.
"""

MINIMUM_MAJOR = 14
NEWEST_TESTED_MAJOR = 18


def version_text(server_version_num):
    """``130022`` → ``"13.22"`` (PostgreSQL 10 and later number versions major * 10000 + minor)."""
    major, minor = divmod(int(server_version_num), 10000)
    return f"{major}.{minor}"


def unsupported_server_message(server_version_num, target):
    """The paragraph refusing ``target``'s server when it is older than the minimum, else None."""
    if int(server_version_num) // 10000 >= MINIMUM_MAJOR:
        return None
    return (
        f"the server of {target} runs PostgreSQL {version_text(server_version_num)}; LedgerFlow "
        f"needs PostgreSQL {MINIMUM_MAJOR} or newer (versions {MINIMUM_MAJOR} to "
        f"{NEWEST_TESTED_MAJOR} are tested). Nothing was changed. Upgrade the server, or point "
        f"DATABASE_URL at a PostgreSQL {MINIMUM_MAJOR} or newer database."
    )


def refusal_of_connection(exc, connection):
    """The paragraph for ``exc`` when it is Django refusing ``connection``'s server as too old."""
    from django.db import NotSupportedError

    from ledgerflow.db.urls import describe_target

    # Django reads (and caches) the server's version to refuse it; by the time the error reaches
    # the command line the connection may be closed, so read the cached number, never connect.
    server_version_num = vars(connection).get("pg_version")
    if not isinstance(exc, NotSupportedError) or server_version_num is None:
        return None
    return unsupported_server_message(server_version_num, describe_target(connection.settings_dict))
