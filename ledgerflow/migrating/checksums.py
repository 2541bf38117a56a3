"""Checksums of applied migrations: what a migration does, recorded when it runs.

The checksum is SHA-256 over a canonical form of the migration's operations (each operation's
deconstruction: class, arguments, fields, indexes) and its ``atomic`` flag. SQL given to
``RunSQL`` is normalised (comments outside literals dropped, whitespace collapsed) and Python given
to ``RunPython`` is reduced to its syntax tree, so comment and formatting edits do not count while
any change in what runs does. The rows are kept by ``ledgerflow.migrating.ledger``.
"""

import ast
import hashlib
import inspect
import json
import textwrap
from functools import cache
from pathlib import Path

from django.db import migrations, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ledgerflow.migrating import ledger
from ledgerflow.migrating.history import code_loader
from ledgerflow.sql import normalise

# Bump when the canonical form below changes, so recorded rows are re-baselined, not refused.
ALGORITHM = "v1"


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


# Fields Python added to existing nodes after 3.11; left out while empty, as 3.11 has no such field.
_FIELDS_AFTER_311 = frozenset({"type_params"})


def dump_tree(node):
    """``ast.dump(node)`` exactly as Python 3.11 writes it, on every Python version.

    The checksums recorded in databases were computed with 3.11's ``ast.dump``; 3.12 added fields
    (``type_params``) and 3.13 stopped writing empty lists and ``None``, so ``ast.dump`` itself
    would make every migration that runs Python read as edited after an interpreter upgrade.
    Constants are written with ``repr``: a string holding a character Unicode assigned after
    14.0 (3.11's tables) still reads differently on a newer Python."""
    if isinstance(node, ast.AST):
        cls = type(node)
        args = []
        for name in node._fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value is None and getattr(cls, name, ...) is None:
                continue  # an optional field left unset: 3.11 writes nothing for it
            if name in _FIELDS_AFTER_311 and not value:
                continue
            args.append(f"{name}={dump_tree(value)}")
        return f"{cls.__name__}({', '.join(args)})"
    if isinstance(node, list):
        return f"[{', '.join(dump_tree(item) for item in node)}]"
    return repr(node)


def _qualified_name(obj):
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _callable_form(func):
    """A function by name plus its syntax tree (comments, docstrings, layout dropped)."""
    form = {"callable": _qualified_name(func)}
    try:
        source = textwrap.dedent(inspect.getsource(func))
        form["ast"] = dump_tree(_strip_docstrings(ast.parse(source)))
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
        return normalise(value) if sql else value
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


def every_checksum(loader=None):
    """``{"app.name": checksum}`` of every migration on disk, sorted: the table the tests keep
    (``tests/migrating/migration_checksums.json``) to catch a checksum that depends on the
    Python version."""
    loader = loader or code_loader()
    return {
        f"{app}.{name}": migration_checksum(migration)
        for (app, name), migration in sorted(loader.disk_migrations.items())
    }


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
    if not ledger.exists(connection):
        return None
    if checksum is None:
        if migration is None:
            migration = MigrationLoader(connection, load=True).disk_migrations[(app_label, name)]
        checksum = migration_checksum(migration)
    ledger.record_checksum(
        connection,
        app_label,
        name,
        checksum,
        ALGORITHM,
        applied_by=applied_by,
        duration_ms=duration_ms,
        lock_wait_ms=lock_wait_ms,
        baselined=baselined,
    )
    return checksum


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
    ``recorded`` is ``ledger.recorded_checksums(connection)`` when the caller read it already."""
    recorded = ledger.recorded_checksums(connection) if recorded is None else recorded
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


def baseline(connection, loader=None, skip=(), recorded=None):
    """Record a checksum for every applied migration that has none (applied before this feature
    existed, or before the ledger tables were created) or whose checksum was computed by an older
    ``ALGORITHM``; ``skip`` are keys the caller records itself. ``recorded``: the rows as
    ``ledger.read_checksums`` read them, from a caller that knows the ledger tables exist.
    Returns the keys."""
    if recorded is None:
        if not ledger.exists(connection):
            return []
        recorded = ledger.read_checksums(connection)
    loader = loader or MigrationLoader(connection, ignore_no_migrations=True)
    applied = MigrationRecorder(connection).applied_migrations()
    added = []
    for key in sorted(set(applied) - set(skip)):
        migration = loader.disk_migrations.get(key)
        row = recorded.get(key)
        if migration is None or (row is not None and row["algorithm"] == ALGORITHM):
            continue
        if row is not None:
            # Recorded under an older algorithm: re-baseline, keeping when and who applied it.
            ledger.rebaseline_checksum(connection, *key, migration_checksum(migration), ALGORITHM)
        else:
            record_applied(connection, *key, migration=migration, baselined=True)
        added.append(key)
    return added


def accept(connection, app_label, name, *, reason, accepted_by=None, loader=None):
    """Accept the code's current checksum for an applied migration, with an audit row, in one
    transaction. Returns ``(previous, accepted)``; raises ``ValueError`` with the reason when the
    migration is unknown, unapplied, unrecorded or unchanged."""
    if not reason or not reason.strip():
        raise ValueError("a reason is required; it is kept in the audit table")
    loader = loader or MigrationLoader(connection, ignore_no_migrations=True)
    migration = loader.disk_migrations.get((app_label, name))
    if migration is None:
        raise ValueError(f"no migration {app_label}.{name} in the code")
    recorded = ledger.recorded_checksums(connection).get((app_label, name))
    if recorded is None:
        raise ValueError(
            f"{app_label}.{name} has no recorded checksum (not applied, or applied before "
            "checksums existed: run migrate to baseline it)"
        )
    current = migration_checksum(migration)
    if current == recorded["checksum"]:
        raise ValueError(f"{app_label}.{name} is unchanged; there is nothing to accept")
    with transaction.atomic(using=connection.alias):
        ledger.accept_checksum(
            connection,
            app_label,
            name,
            previous=recorded["checksum"],
            accepted=current,
            accepted_by=accepted_by or ledger.run_by(),
            reason=reason.strip(),
        )
    return recorded["checksum"], current
