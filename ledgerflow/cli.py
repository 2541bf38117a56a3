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


def run(argv):
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError, connections

    from ledgerflow.db import embedded
    from ledgerflow.db.urls import describe_target

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
    except OperationalError as exc:
        connection = connections["default"]
        if connection.connection is not None:
            raise  # connected fine: a failure inside the work, keep its traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _fail(
            f"cannot connect to {describe_target(connection.settings_dict)}: {reason}. "
            "Check that the server is running and reachable, and that DATABASE_URL has the "
            "right host, port, database name, user and password.",
            EXIT_DATABASE,
        )
    return 0
