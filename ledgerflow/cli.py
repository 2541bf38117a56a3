"""``manage.py``'s entry point: Django's command line, with errors an operator can act on.

Configuration mistakes and unreachable databases end in one paragraph and a non-zero exit
instead of a traceback; the embedded database is started when no ``DATABASE_URL`` is set.
"""

import sys

EXIT_CONFIGURATION = 2
EXIT_DATABASE = 1
_NO_DATABASE_COMMANDS = {"help", "--help", "-h", "version", "--version"}


def _fail(message, code):
    print(f"error: {message}", file=sys.stderr)
    return code


def _raised_while_connecting(exc):
    """Whether ``exc`` came out of the backend's ``get_new_connection``: psycopg raises
    ProgrammingError there for a bad connection option (``?connect_timeout=abc``)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "get_new_connection":
            return True
        tb = tb.tb_next
    return False


def run(argv):
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import Error, OperationalError, connections

    from ledgerflow.db import embedded
    from ledgerflow.db.server_versions import refusal_of_connection
    from ledgerflow.db.urls import describe_target
    from ledgerflow.health.masking import mask_secrets

    try:
        uses_embedded = settings.USES_EMBEDDED_DATABASE
    except ImproperlyConfigured as exc:
        return _fail(str(exc), EXIT_CONFIGURATION)

    command = argv[1] if len(argv) > 1 else "help"
    if uses_embedded and command not in _NO_DATABASE_COMMANDS:
        try:
            embedded.ensure_running(settings.BASE_DIR)
        except (embedded.EmbeddedDatabaseError, OSError) as exc:
            return _fail(f"the embedded PostgreSQL could not be started: {exc}", EXIT_CONFIGURATION)

    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        # Found only when a command reads it (MIGRATION_DATABASE_URL): the message is written for
        # operators and masks the URL; exit 1 as when that database cannot be reached.
        return _fail(str(exc), EXIT_DATABASE)
    except Error as exc:
        connection = connections["default"]
        too_old = refusal_of_connection(exc, connection)
        if too_old:
            return _fail(too_old, EXIT_DATABASE)
        if connection.connection is not None:
            raise  # connected fine: a failure inside the work, keep its traceback
        if not isinstance(exc, OperationalError) and not _raised_while_connecting(exc):
            raise  # e.g. a ProgrammingError after the connection was closed: not a connect error
        text = str(exc).strip()
        reason = mask_secrets(text.splitlines()[0]) if text else type(exc).__name__
        return _fail(
            f"cannot connect to {describe_target(connection.settings_dict)}: {reason}. "
            "Check that the server is running and reachable, and that DATABASE_URL has the "
            "right host, port, database name, user and password.",
            EXIT_DATABASE,
        )
    return 0
