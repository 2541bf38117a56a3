"""``manage.py``'s entry point: Django's command line, with errors an operator can act on.

Configuration mistakes and database errors end in one paragraph (what happened, what was and
was not changed, what to do) and a non-zero exit instead of a traceback; ``--traceback`` still
shows one. The embedded database is started when no ``DATABASE_URL`` is set.
"""

import sys

EXIT_CONFIGURATION = 2
EXIT_DATABASE = 1
INSUFFICIENT_PRIVILEGE = "42501"
_NO_DATABASE_COMMANDS = {"help", "--help", "-h", "version", "--version"}
# SQLSTATEs of a session the server ended besides class 08 (connection exception):
# admin_shutdown (pg_terminate_backend), crash_shutdown, idle_session_timeout.
_SESSION_ENDED = ("57P01", "57P02", "57P05")
# SQLSTATEs of SQL meeting a table of another shape than the code expects: undefined_column,
# datatype_mismatch, not_null_violation.
_SHAPE_MISMATCH = ("42703", "42804", "23502")
_UNDEFINED_TABLE = "42P01"
# migrate changes nothing with these (or prints machine-readable output): no closing summary.
_READ_ONLY_MIGRATE_FLAGS = {"--plan", "--check", "--json", "--help", "-h"}


def _fail(message, code):
    print(f"error: {message}", file=sys.stderr)
    return code


def execute(argv):
    import psycopg
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import Error, connections
    from django.db.backends.signals import connection_created

    from ledgerflow.db import embedded
    from ledgerflow.db.server_versions import refusal_of_connection

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

    connected = set()  # aliases that had a session: an error after that is not a connect error
    connection_created.connect(
        lambda sender, connection, **kwargs: connected.add(connection.alias), weak=False
    )
    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        # Found only when a command reads it (MIGRATION_DATABASE_URL): the message is written for
        # operators and masks the URL; exit 1 as when that database cannot be reached.
        return _fail(str(exc), EXIT_DATABASE)
    except (Error, psycopg.Error) as exc:
        if "--traceback" in argv:
            raise
        connection = connections["default"]
        too_old = refusal_of_connection(exc, connection)
        if too_old:
            return _fail(too_old, EXIT_DATABASE)
        if _missing_privilege(exc):
            # A wrong role is configuration; 1 stays "different" for the --check commands.
            return _fail(describe_missing_privilege(exc, connection), EXIT_CONFIGURATION)
        return _fail(
            describe_failure(exc, connection, command, "default" in connected), EXIT_DATABASE
        )
    if (
        command == "migrate"
        and not _READ_ONLY_MIGRATE_FLAGS.intersection(argv)
        and not _quiet(argv)
    ):
        print(
            where_migrated(connections["default"].settings_dict, uses_embedded, settings.BASE_DIR)
        )
    return 0


def _quiet(argv):
    """Whether the command line asks for ``--verbosity 0``, in any of argparse's spellings."""
    for index, arg in enumerate(argv):
        if arg in ("-v0", "--verbosity=0"):
            return True
        if arg in ("-v", "--verbosity") and argv[index + 1 : index + 2] == ["0"]:
            return True
    return False


def where_migrated(settings_dict, uses_embedded, base_dir):
    """The closing lines of ``migrate``: which database it was, and for the embedded one where
    it lives, how to open it and how to stop it."""
    from ledgerflow.db import embedded
    from ledgerflow.db.urls import describe_target

    lines = [f"Migrated {describe_target(settings_dict)}."]
    if uses_embedded:
        run = embedded.socket_dir(base_dir)
        lines += [
            f"It is the embedded PostgreSQL: data in {embedded.root_dir(base_dir) / 'data'}, "
            f"socket in {run}.",
            f"  open it:  psql -h {run} -U {embedded.SUPERUSER} {embedded.DATABASE_NAME}",
            "  stop it:  make embedded-stop",
        ]
    return "\n".join(lines)


def describe_failure(exc, connection, command, had_session):
    """The paragraph for the database error ``exc`` (Django's or psycopg's) that ended
    ``manage.py command`` on ``connection``; ``had_session``: whether it ever connected."""
    import psycopg
    from django.db import InterfaceError, OperationalError
    from django.db.migrations.exceptions import MigrationSchemaMissing

    from ledgerflow.db.urls import describe_target

    target = describe_target(connection.settings_dict)
    exc = _first_failure(exc)
    cause = _driver_error(exc)
    reason = _first_line(cause)
    state = getattr(cause, "sqlstate", None) or ""
    operational = isinstance(exc, OperationalError | psycopg.OperationalError)
    if _raised_while_connecting(exc) or (operational and not had_session):
        return (
            f"cannot connect to {target}: {reason}. Check that the server is running and "
            "reachable, and that DATABASE_URL has the right host, port, database name, user "
            "and password."
        )
    # "server closed the connection unexpectedly" carries no SQLSTATE; "connection already
    # closed" (InterfaceError) is a later use of the connection the server dropped.
    raw = connection.connection
    if (
        state.startswith("08")
        or state in _SESSION_ENDED
        or isinstance(exc, InterfaceError | psycopg.InterfaceError)
        or (operational and not state and (raw is None or raw.closed or raw.broken))
    ):
        return (
            f"the server closed the connection to {target} in the middle of `manage.py "
            f"{command}` ({reason}). PostgreSQL rolled back the transaction in progress; what "
            "the command had committed before stays (for migrate: each migration it reported "
            "as applied; a non-atomic one that was running, such as a concurrent index build, "
            "may be left half done). See the state with `python manage.py migration_status`, "
            f"then run `python manage.py {command}` again."
        )
    if isinstance(exc, MigrationSchemaMissing):
        return (
            f"`manage.py {command}` found no django_migrations table on {target} and could not "
            f"create it ({reason}). Migrations it reported as applied before this stay applied; "
            "nothing more was recorded. If a restore or another tool was replacing this "
            "database's schema at the same time, let it finish, check with `python manage.py "
            "migration_status`, then run the command again; if the reason is a missing "
            "privilege, grant the role CREATE on the schema or run as the database's owner."
        )
    vanished = (
        [table for table in _bookkeeping_tables() if f'"{table}"' in reason]
        if state == _UNDEFINED_TABLE
        else []
    )
    if vanished:
        return (
            f"the table {vanished[0]} on {target} disappeared while `manage.py {command}` ran "
            f"({reason}): another process, such as a restore, changed this database's schema "
            "at the same time. PostgreSQL rolled back the transaction in progress; what the "
            "command had committed before stays. Let the other process finish, check the state "
            f"with `python manage.py migration_status`, then run `python manage.py {command}` "
            "again."
        )
    foreign = _foreign_table(connection) if state in _SHAPE_MISMATCH else None
    if foreign:
        table, missing, present = foreign
        return (
            f"the table {table} on {target} is not the one this project uses: it lacks the "
            f"columns {', '.join(missing)} (it has {', '.join(present) or 'none'}), so something "
            f"else made it. `manage.py {command}` stopped at its first use of it ({reason}); "
            f"nothing was written to {table}, and what the command had committed before "
            f"stays. Rename {table} out of the way (ALTER TABLE {table} RENAME TO "
            f"{table}_foreign) or drop it if it holds nothing you need, then run the command "
            "again."
        )
    sqlstate = f" (SQLSTATE {state})" if state else ""
    return (
        f"`manage.py {command}` stopped on a database error on {target}: {reason}{sqlstate}. "
        "PostgreSQL rolled back the statement and its transaction; what the command had "
        "committed before stays. Fix the cause and run the command again; add --traceback "
        "to see where it failed."
    )


def _missing_privilege(exc):
    """Whether a role lacked a privilege; a django_migrations table it could not create has its
    own paragraph."""
    from django.db.migrations.exceptions import MigrationSchemaMissing

    missing = getattr(_driver_error(exc), "sqlstate", None) == INSUFFICIENT_PRIVILEGE
    return missing and not isinstance(exc, MigrationSchemaMissing)


def describe_missing_privilege(exc, connection):
    """The paragraph for a service or read-only role running a command that needs more."""
    from ledgerflow.db.urls import describe_target

    return (
        f"{_first_line(_driver_error(exc))} on {describe_target(connection.settings_dict)}; the "
        "command stopped there. Run it as a role that holds what it needs: the tables' owner for "
        "migrate and the commands that change things, the role named in LEDGERFLOW_MONITOR_ROLE "
        "for schema_version --check and schema_drift (`python manage.py service_grants` lists "
        "what each service role holds)."
    )


def _driver_error(exc):
    """psycopg's own error behind Django's wrapper (``__cause__``) or behind an error raised
    while handling it (``__context__``, as MigrationSchemaMissing is); else ``exc``."""
    import psycopg

    seen = exc
    while seen is not None and not isinstance(seen, psycopg.Error):
        seen = seen.__cause__ or seen.__context__
    return seen or exc


def _first_line(exc):
    from ledgerflow.observability.masking import mask_secrets

    text = str(exc).strip()
    return mask_secrets(text.splitlines()[0]) if text else type(exc).__name__


def _first_failure(exc):
    """The error that started it: Django reconnects after a transaction whose connection died (to
    restore autocommit), and the failed reconnect replaces the error that told what happened."""
    import psycopg
    from django.db import Error

    while _raised_while_connecting(exc) and isinstance(exc.__context__, Error | psycopg.Error):
        exc = exc.__context__
    return exc


def _raised_while_connecting(exc):
    """Whether ``exc`` came out of the backend's ``get_new_connection``: psycopg raises
    ProgrammingError there for a bad connection option (``?connect_timeout=abc``)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "get_new_connection":
            return True
        tb = tb.tb_next
    return False


def _bookkeeping_tables():
    """Each table the project keeps its own records in, with the columns its code uses."""
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder

    models = [MigrationRecorder.Migration, *apps.get_app_config("ledgerflow").get_models()]
    return {
        model._meta.db_table: [field.column for field in model._meta.local_concrete_fields]
        for model in models
    }


def _foreign_table(connection):
    """``(table, missing columns, its columns)`` for the first bookkeeping table that exists
    without columns the code uses, or ``None``. Asked on a new session: the failed one may be
    inside an aborted transaction."""
    try:
        connection.close()
        with connection.cursor() as cursor:
            existing = set(connection.introspection.table_names(cursor))
            for table, expected in _bookkeeping_tables().items():
                if table not in existing:
                    continue
                description = connection.introspection.get_table_description(cursor, table)
                present = [column.name for column in description]
                missing = [column for column in expected if column not in present]
                if missing:
                    return table, missing, present
    except Exception:  # a diagnosis that fails must not replace the error it explains
        return None
    return None
