"""Checksums of applied migrations: what a migration does, recorded when it runs.

The checksum is SHA-256 over a canonical form of the migration's operations (each operation's
deconstruction: class, arguments, fields, indexes) and its ``atomic`` flag. SQL given to
``RunSQL`` is normalised (comments outside literals dropped, whitespace collapsed) and Python given
to ``RunPython`` is reduced to its syntax tree, so comment and formatting edits do not count while
any change in what runs does. Recorded rows live in ``ledgerflow_migration_checksums``.
"""

import ast
import getpass
import hashlib
import inspect
import json
import re
import socket
import textwrap
from functools import cache, lru_cache
from pathlib import Path

from django.db import migrations
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ledgerflow.migrating.history import code_loader

CHECKSUM_TABLE = "ledgerflow_migration_checksums"
# Bump when the canonical form below changes, so recorded rows are re-baselined, not refused.
ALGORITHM = "v1"
ACCEPTANCE_TABLE = "ledgerflow_migration_checksum_acceptances"


# String literals, quoted identifiers and dollar-quoted bodies are kept verbatim (a function body
# is stored in the database as written, comments included); comments outside them are dropped
# and whitespace runs collapse to one space.
_SQL_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\w*)\$.*?\$\1\$|--[^\n]*|/\*.*?\*/|\s+|[^'"$\-/\s]+|.""",
    re.DOTALL,
)


def _normalise_sql(sql):
    parts = []
    for match in _SQL_TOKEN.finditer(str(sql)):
        token = match.group(0)
        if token.startswith("--") or token.startswith("/*") or token.isspace():
            if parts and parts[-1] != " ":
                parts.append(" ")
        else:
            parts.append(token)
    return "".join(parts).strip()


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _qualified_name(obj):
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _callable_form(func):
    """A function by name plus its syntax tree (comments, docstrings, layout dropped)."""
    form = {"callable": _qualified_name(func)}
    try:
        source = textwrap.dedent(inspect.getsource(func))
        form["ast"] = ast.dump(_strip_docstrings(ast.parse(source)), include_attributes=False)
    except (OSError, TypeError, SyntaxError):
        pass  # builtins and inline lambdas: their name is all we can pin
    return form


def _canonical(value, *, sql=False):
    """A JSON-able, order-stable form of ``value`` that ignores how the source is written."""
    if isinstance(value, migrations.RunSQL):
        return {
            "operation": "RunSQL",
            "class": f"{type(value).__module__}.{type(value).__qualname__}",
            "sql": _canonical(value.sql, sql=True),
            "reverse_sql": _canonical(value.reverse_sql, sql=True),
            "state_operations": _canonical(value.state_operations),
            "hints": _canonical(value.hints),
            "elidable": value.elidable,
        }
    if isinstance(value, migrations.RunPython):
        return {
            "operation": "RunPython",
            "code": _callable_form(value.code),
            "reverse_code": _callable_form(value.reverse_code) if value.reverse_code else None,
            "atomic": value.atomic,
            "hints": _canonical(value.hints),
            "elidable": value.elidable,
        }
    if isinstance(value, str):
        return _normalise_sql(value) if sql else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _canonical(v, sql=sql) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, list | tuple):
        return [_canonical(item, sql=sql) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((_canonical(item, sql=sql) for item in value), key=json.dumps)
    if isinstance(value, type):
        return {"type": _qualified_name(value)}
    if hasattr(value, "deconstruct"):
        deconstructed = value.deconstruct()
        # Fields deconstruct to (name, path, args, kwargs); operations and others to 3 items.
        path, args, kwargs = deconstructed[-3:]
        if isinstance(path, str) and "." not in path:
            path = f"{type(value).__module__}.{path}"
        return {"class": path, "args": _canonical(args, sql=sql), "kwargs": _canonical(kwargs)}
    if callable(value):
        return _callable_form(value)
    return repr(value)


def migration_checksum(migration):
    """SHA-256 hex digest of what ``migration`` does to the database (see the module doc)."""
    form = {"atomic": migration.atomic, "operations": _canonical(migration.operations)}
    payload = json.dumps(form, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def run_by():
    """``os-user@host``: who ran the command, for the audit columns."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:255]


def ledger_exists(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [CHECKSUM_TABLE])
        return cursor.fetchone()[0]


def record_applied(
    connection,
    app_label,
    name,
    checksum=None,
    *,
    migration=None,
    duration_ms=None,
    lock_wait_ms=None,
    baselined=False,
    applied_by=None,
):
    """Record ``app_label.name`` as applied with its checksum, on ``connection`` and so inside the
    caller's transaction. Give ``checksum`` or the ``migration`` object (or neither: the migration
    is then loaded from the code). Re-recording replaces the row. Returns the checksum recorded,
    or ``None`` when the ledger table does not exist yet (the next ``migrate`` baselines it).

    This records the checksum only; the caller records ``django_migrations`` itself
    (``MigrationRecorder(connection).record_applied(app_label, name)``)."""
    if not ledger_exists(connection):
        return None
    if checksum is None:
        if migration is None:
            migration = MigrationLoader(connection, load=True).disk_migrations[(app_label, name)]
        checksum = migration_checksum(migration)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CHECKSUM_TABLE} "
            "(app, name, checksum, algorithm, applied_at, applied_by, duration_ms, "
            "lock_wait_ms, baselined) VALUES (%s, %s, %s, %s, now(), %s, %s, %s, %s) "
            "ON CONFLICT (app, name) DO UPDATE SET checksum = EXCLUDED.checksum, "
            "algorithm = EXCLUDED.algorithm, "
            "applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by, "
            "duration_ms = EXCLUDED.duration_ms, lock_wait_ms = EXCLUDED.lock_wait_ms, "
            "baselined = EXCLUDED.baselined",
            [
                app_label,
                name,
                checksum,
                ALGORITHM,
                applied_by or run_by(),
                duration_ms,
                lock_wait_ms,
                baselined,
            ],
        )
    return checksum


def forget_applied(connection, app_label, name):
    """Drop the checksum row of an unapplied migration (for the rollback command)."""
    if ledger_exists(connection):
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {CHECKSUM_TABLE} WHERE app = %s AND name = %s", [app_label, name]
            )


def recorded_checksums(connection):
    """``{(app, name): row dict}`` of every recorded checksum; empty without the ledger table."""
    if not ledger_exists(connection):
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT app, name, checksum, algorithm, applied_at, applied_by, duration_ms, "
            f"lock_wait_ms, baselined FROM {CHECKSUM_TABLE}"
        )
        columns = [col.name for col in cursor.description]
        return {(row[0], row[1]): dict(zip(columns, row, strict=True)) for row in cursor}


@cache
def is_verified_app(app_label):
    """Whether ``app_label``'s migrations are verified against their checksums: this project's
    apps, not installed packages (Django's own migrations change with Django releases, and an
    upgrade must not read as an edited migration)."""
    from django.apps import apps

    try:
        path = Path(apps.get_app_config(app_label).path)
    except LookupError:
        return False
    return "site-packages" not in path.parts and "dist-packages" not in path.parts


def checksum_mismatches(connection, loader=None, recorded=None):
    """Each applied migration whose recorded checksum differs from the code's now, as dicts with
    ``app``, ``name``, ``recorded`` and ``current``; sorted. Empty when everything matches or
    nothing is recorded yet. Migrations recorded but gone from the code are not mismatches (the
    status report lists them as unknown). Only this project's apps are verified
    (``is_verified_app``); installed packages' migrations are recorded for the audit only.
    ``recorded`` is ``recorded_checksums(connection)`` when the caller has read it already."""
    recorded = recorded_checksums(connection) if recorded is None else recorded
    if not recorded:
        return []
    loader = loader or code_loader()
    mismatches = []
    for key, row in sorted(recorded.items()):
        migration = loader.disk_migrations.get(key)
        if migration is None or not is_verified_app(key[0]) or row["algorithm"] != ALGORITHM:
            continue
        current = migration_checksum(migration)
        if current != row["checksum"]:
            mismatches.append(
                {"app": key[0], "name": key[1], "recorded": row["checksum"], "current": current}
            )
    return mismatches


def describe_mismatch(mismatch):
    return (
        f"{mismatch['app']}.{mismatch['name']} was edited after it was applied (recorded "
        f"checksum {mismatch['recorded'][:12]}, code now {mismatch['current'][:12]}). Restore "
        "the original, or accept the change deliberately: python manage.py "
        f"accept_migration_checksum {mismatch['app']} {mismatch['name']} --reason '...'"
    )


def baseline(connection, loader=None, skip=()):
    """Record a checksum for every applied migration that has none (applied before this feature
    existed, or before the ledger tables were created) or whose checksum was computed by an older
    ``ALGORITHM``; ``skip`` are keys the caller records itself. Returns the keys."""
    if not ledger_exists(connection):
        return []
    loader = loader or MigrationLoader(connection, ignore_no_migrations=True)
    recorded = recorded_checksums(connection)
    applied = MigrationRecorder(connection).applied_migrations()
    added = []
    for key in sorted(set(applied) - set(skip)):
        migration = loader.disk_migrations.get(key)
        row = recorded.get(key)
        if migration is None or (row is not None and row["algorithm"] == ALGORITHM):
            continue
        if row is not None:
            # Recorded under an older algorithm: re-baseline, keeping when and who applied it.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {CHECKSUM_TABLE} SET checksum = %s, algorithm = %s, baselined = true "
                    "WHERE app = %s AND name = %s",
                    [migration_checksum(migration), ALGORITHM, *key],
                )
        else:
            record_applied(connection, *key, migration=migration, baselined=True)
        added.append(key)
    return added


def accept(connection, app_label, name, *, reason, accepted_by=None, loader=None):
    """Accept the code's current checksum for an applied migration, with an audit row, in one
    transaction. Returns ``(previous, accepted)``; raises ``ValueError`` with the reason when the
    migration is unknown, unapplied, unrecorded or unchanged."""
    from django.db import transaction

    if not reason or not reason.strip():
        raise ValueError("a reason is required; it is kept in the audit table")
    loader = loader or MigrationLoader(connection, ignore_no_migrations=True)
    migration = loader.disk_migrations.get((app_label, name))
    if migration is None:
        raise ValueError(f"no migration {app_label}.{name} in the code")
    recorded = recorded_checksums(connection).get((app_label, name))
    if recorded is None:
        raise ValueError(
            f"{app_label}.{name} has no recorded checksum (not applied, or applied before "
            "checksums existed: run migrate to baseline it)"
        )
    current = migration_checksum(migration)
    if current == recorded["checksum"]:
        raise ValueError(f"{app_label}.{name} is unchanged; there is nothing to accept")
    who = accepted_by or run_by()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ACCEPTANCE_TABLE} (app, name, previous_checksum, "
            "accepted_checksum, accepted_by, accepted_at, reason) "
            "VALUES (%s, %s, %s, %s, %s, now(), %s)",
            [app_label, name, recorded["checksum"], current, who, reason.strip()],
        )
        cursor.execute(
            f"UPDATE {CHECKSUM_TABLE} SET checksum = %s WHERE app = %s AND name = %s",
            [current, app_label, name],
        )
    return recorded["checksum"], current
