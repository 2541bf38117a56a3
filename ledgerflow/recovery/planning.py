"""Reverse plans: which migrations a rollback unapplies, the exact SQL of each reverse operation,
and whether it is lossless, lossy or irreversible.

The classification reads the SQL that will run (``DROP TABLE``, ``DROP COLUMN``, a column type
change, ``DROP TYPE``, ``DELETE``, ``UPDATE``, ``TRUNCATE``) and asks the live database what it
would cost: rows in a dropped table, values in a dropped column or of a dropped enum type, values
a type change would alter. A reverse data migration in Python cannot be previewed and counts as
lossy unless it is ``RunPython.noop``.
"""

import re
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.db.migrations import RunPython

from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.state import applied_migrations, quote_ident, quote_qualified

LOSSLESS = "lossless"
LOSSY = "lossy"
IRREVERSIBLE = "irreversible"

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QNAME = rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)"
_FLAGS = re.IGNORECASE | re.DOTALL
_DROP_TABLE = re.compile(rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_TRUNCATE = re.compile(rf"\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QNAME}\s+(.*?)(?:;|$)", _FLAGS
)
_DROP_COLUMN = re.compile(rf"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_IDENT})", _FLAGS)
_ALTER_TYPE = re.compile(
    rf"\bALTER\s+(?:COLUMN\s+)?({_IDENT})\s+(?:SET\s+DATA\s+)?TYPE\s+(.+?)"
    r"(?:\s+USING\s+(.+?))?\s*(?:,\s*(?:ALTER|ADD|DROP)\b|$)",
    _FLAGS,
)
_DROP_TYPE = re.compile(rf"\bDROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?{_QNAME}", _FLAGS)
_DELETE = re.compile(
    rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?{_QNAME}(?:\s+WHERE\s+(.+?))?\s*(?:;|$)", _FLAGS
)
_UPDATE = re.compile(
    rf"\bUPDATE\s+(?:ONLY\s+)?{_QNAME}\s+SET\s+.+?(?:\s+WHERE\s+(.+?))?\s*(?:;|$)", _FLAGS
)
_NAME_IN_LIST = re.compile(_QNAME)


def _unquote(name):
    """``schema.table`` from a quoted or bare SQL name; unqualified names are in ``public``."""
    parts = [
        p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
        for p in re.findall(_IDENT, name)
    ]
    return ".".join(parts if len(parts) > 1 else ["public", *parts])


_LIST_KEYWORDS = {"cascade", "restrict", "restart", "continue", "identity"}


def _names_in_list(text):
    """Table names in a ``DROP TABLE``/``TRUNCATE`` list, without its trailing keywords."""
    for match in _NAME_IN_LIST.finditer(text):
        if match.group(1).lower() not in _LIST_KEYWORDS:
            yield _unquote(match.group(1))


def _unquote_column(name):
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


@dataclass
class Loss:
    """Data a reverse operation would destroy: ``rows`` of ``table`` (None when uncountable)."""

    table: str
    rows: int | None
    what: str


@dataclass
class ReverseOperation:
    description: str
    sql: list[str]
    python: str | None = None  # the reverse code of a RunPython, which has no SQL
    irreversible_reason: str | None = None
    losses: list[Loss] = field(default_factory=list)

    @property
    def classification(self):
        if self.irreversible_reason:
            return IRREVERSIBLE
        return LOSSY if self.losses else LOSSLESS

    def tables_touched(self):
        """Tables the SQL drops, alters or writes: locked before the rollback runs."""
        names = set()
        for statement in self.sql:
            for pattern in (_DROP_TABLE, _TRUNCATE):
                for match in pattern.finditer(statement):
                    names.update(_names_in_list(match.group(1)))
            for pattern in (_ALTER_TABLE, _DELETE, _UPDATE):
                names.update(_unquote(m.group(1)) for m in pattern.finditer(statement))
        return names


@dataclass
class ReverseStep:
    app_label: str
    name: str
    atomic: bool
    operations: list[ReverseOperation]

    @property
    def key(self):
        return (self.app_label, self.name)

    @property
    def classification(self):
        kinds = {op.classification for op in self.operations}
        for kind in (IRREVERSIBLE, LOSSY):
            if kind in kinds:
                return kind
        return LOSSLESS


@dataclass
class RollbackPlan:
    target: str
    steps: list[ReverseStep]
    migrations: list  # Migration objects, in the order they are unapplied

    @property
    def atomic(self):
        return all(step.atomic for step in self.steps)

    @property
    def irreversible_steps(self):
        return [step for step in self.steps if step.classification == IRREVERSIBLE]

    @property
    def lossy_steps(self):
        return [step for step in self.steps if step.classification == LOSSY]

    def losses(self):
        return [loss for step in self.steps for op in step.operations for loss in op.losses]

    def tables_at_stake(self):
        """``{table: rows}``; a table dropped whole counts once, with its row count."""
        stake = {}
        for loss in self.losses():
            previous = stake.get(loss.table, 0)
            stake[loss.table] = (
                None if loss.rows is None or previous is None else max(previous, loss.rows)
            )
        return stake

    def tables_touched(self):
        return sorted(
            {name for step in self.steps for op in step.operations for name in op.tables_touched()}
        )


# Choosing the migrations ---------------------------------------------------------------------


def _known(loader, key):
    if key not in loader.graph.nodes:
        raise RecoveryError(
            f"{key[0]}.{key[1]} is recorded as applied but its migration file is not in this "
            "project, so it cannot be reversed. Restore the file (or record its removal) first. "
            "Nothing was changed."
        )
    return loader.graph.nodes[key]


def _ordered_unapply(loader, applied, keys):
    """``keys`` in reverse applied order, after checking nothing outside them depends on them."""
    chosen = set(keys)
    applied_set = set(applied)
    for key in chosen:
        _known(loader, key)
        dependants = {d for d in loader.graph.backwards_plan(key) if d in applied_set} - chosen
        if dependants:
            names = ", ".join(sorted(f"{a}.{n}" for a, n in dependants))
            raise RecoveryError(
                f"{key[0]}.{key[1]} cannot be unapplied alone: the applied {names} depend on it. "
                "Roll back further (more steps or an earlier target). Nothing was changed."
            )
    return [loader.graph.nodes[key] for key in reversed(applied) if key in chosen]


def migrations_to_target(executor, app_label, name):
    """Migrations unapplied by ``rollback APP NAME`` (NAME may be a prefix, or ``zero``)."""
    loader = executor.loader
    if app_label not in loader.migrated_apps:
        raise RecoveryError(
            f"no app {app_label!r} with migrations; apps: "
            f"{', '.join(sorted(loader.migrated_apps))}."
        )
    if name == "zero":
        target = (app_label, None)
    else:
        try:
            migration = loader.get_migration_by_prefix(app_label, name)
        except KeyError:
            raise RecoveryError(f"no migration {app_label}.{name}* in the project.") from None
        except Exception as exc:  # AmbiguityError names the candidates
            raise RecoveryError(str(exc)) from None
        target = (app_label, migration.name)
        if target not in loader.applied_migrations:
            raise RecoveryError(
                f"{app_label}.{migration.name} is not applied; rollback only goes backward. "
                "Use migrate to apply migrations."
            )
    plan = executor.migration_plan([target])
    forwards = [m for m, backwards in plan if not backwards]
    if forwards:
        raise RecoveryError("rollback only goes backward; use migrate to apply migrations.")
    return [migration for migration, _ in plan]


def migrations_for_steps(loader, cursor, steps):
    """The ``steps`` most recently applied migrations, newest first."""
    applied = applied_migrations(cursor)
    if steps < 1:
        raise RecoveryError("--steps must be 1 or more.")
    if steps > len(applied):
        raise RecoveryError(f"--steps {steps} but only {len(applied)} migrations are applied.")
    return _ordered_unapply(loader, applied, applied[-steps:])


def migrations_to_state(loader, cursor, state, label):
    """Migrations to unapply so that exactly ``state`` (``[[app, name], ...]``) stays applied."""
    applied = applied_migrations(cursor)
    wanted = {tuple(key) for key in state}
    ahead = sorted(wanted - set(applied))
    if ahead:
        names = ", ".join(f"{a}.{n}" for a, n in ahead)
        raise RecoveryError(
            f"{label} includes migrations not applied here ({names}); rollback only goes "
            "backward. Use migrate to apply them."
        )
    return _ordered_unapply(loader, applied, [key for key in applied if key not in wanted])


# The SQL of each reverse operation ------------------------------------------------------------


def _describe(operation):
    try:
        return operation.describe()
    except Exception:  # a third-party operation with a broken describe() still gets planned
        return type(operation).__name__


def reverse_operations(loader, connection, migration):
    """Each operation of ``migration`` in reverse order, with the SQL its reversal runs."""
    state = loader.project_state((migration.app_label, migration.name), at_end=False)
    to_run = []
    for operation in migration.operations:
        before = state.clone()
        state = state.clone()
        operation.state_forwards(migration.app_label, state)
        to_run.insert(0, (operation, before, state))

    reversed_ops = []
    for operation, to_state, from_state in to_run:
        description = _describe(operation)
        if not operation.reversible:
            reversed_ops.append(
                ReverseOperation(
                    description,
                    [],
                    irreversible_reason=f"{type(operation).__name__} has no reverse "
                    "(reverse_code/reverse_sql not given)",
                )
            )
            continue
        if not operation.reduces_to_sql:
            code = getattr(operation, "reverse_code", None)
            name = getattr(code, "__qualname__", repr(code))
            if code is RunPython.noop:
                reversed_ops.append(ReverseOperation(description, [], python="RunPython.noop"))
            else:
                reversed_ops.append(
                    ReverseOperation(
                        description,
                        [],
                        python=name,
                        losses=[
                            Loss(
                                "(unknown)",
                                None,
                                f"reverse data migration {name}() runs Python that can change "
                                "or delete rows; its effect cannot be previewed",
                            )
                        ],
                    )
                )
            continue
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            operation.database_backwards(migration.app_label, editor, from_state, to_state)
        reversed_ops.append(ReverseOperation(description, list(editor.collected_sql)))
    return reversed_ops


def build_plan(loader, connection, migrations, target):
    steps = [
        ReverseStep(m.app_label, m.name, m.atomic, reverse_operations(loader, connection, m))
        for m in migrations
    ]
    return RollbackPlan(target=target, steps=steps, migrations=list(migrations))


# What each reverse operation would cost ----------------------------------------------------


def _scalar(connection, sql, params=None):
    """The value of a probe query, or the error text when PostgreSQL rejects it."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0], None
    except DatabaseError as exc:
        return None, str(exc).strip().splitlines()[0]


def _exists(connection, table):
    value, _ = _scalar(connection, "SELECT to_regclass(%s) IS NOT NULL", [quote_qualified(table)])
    return bool(value)


def _display(table):
    return table.removeprefix("public.")


def _losses_of(connection, statement):
    losses = []
    for match in _DROP_TABLE.finditer(statement):
        for name in _names_in_list(match.group(1)):
            if not _exists(connection, name):
                continue
            rows, _ = _scalar(connection, f"SELECT count(*) FROM {quote_qualified(name)}")
            if rows:
                losses.append(Loss(name, rows, f"drops table {_display(name)} holding {rows} rows"))
    for match in _TRUNCATE.finditer(statement):
        for name in _names_in_list(match.group(1)):
            if _exists(connection, name):
                rows, _ = _scalar(connection, f"SELECT count(*) FROM {quote_qualified(name)}")
                if rows:
                    losses.append(Loss(name, rows, f"empties {_display(name)} ({rows} rows)"))
    for match in _ALTER_TABLE.finditer(statement):
        table, actions = _unquote(match.group(1)), match.group(2)
        if not _exists(connection, table):
            continue
        for column in (_unquote_column(c.group(1)) for c in _DROP_COLUMN.finditer(actions)):
            if column.lower() in ("constraint", "default", "not", "identity", "expression"):
                continue
            rows, _ = _scalar(
                connection,
                f"SELECT count(*) FROM {quote_qualified(table)} "
                f"WHERE {quote_ident(column)} IS NOT NULL",
            )
            if rows:
                losses.append(
                    Loss(
                        table,
                        rows,
                        f"drops column {_display(table)}.{column} holding {rows} values",
                    )
                )
        for change in _ALTER_TYPE.finditer(actions):
            column, new_type = _unquote_column(change.group(1)), change.group(2)
            using = change.group(3)
            new_value = f"({using})::{new_type}" if using else f"{quote_ident(column)}::{new_type}"
            rows, error = _scalar(
                connection,
                f"SELECT count(*) FROM {quote_qualified(table)} WHERE {quote_ident(column)} "
                f"IS NOT NULL AND {quote_ident(column)}::text IS DISTINCT FROM ({new_value})::text",
            )
            if error:
                losses.append(
                    Loss(
                        table,
                        None,
                        f"changes {_display(table)}.{column} to {new_type}, which "
                        f"existing values do not survive ({error})",
                    )
                )
            elif rows:
                losses.append(
                    Loss(
                        table,
                        rows,
                        f"changes {_display(table)}.{column} to {new_type}, altering {rows} values",
                    )
                )
    for match in _DROP_TYPE.finditer(statement):
        type_name = _unquote(match.group(1))
        columns, _ = _scalar(
            connection,
            """
            SELECT coalesce(json_agg(json_build_array(n.nspname || '.' || c.relname, a.attname)),
                            '[]'::json)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE a.atttypid = to_regtype(%s) AND a.attnum > 0 AND NOT a.attisdropped
            """,
            [type_name],
        )
        for table, column in columns or []:
            rows, _ = _scalar(
                connection,
                f"SELECT count(*) FROM {quote_qualified(table)} "
                f"WHERE {quote_ident(column)} IS NOT NULL",
            )
            if rows:
                losses.append(
                    Loss(
                        table,
                        rows,
                        f"drops enum type {_display(type_name)}, used by {rows} values in "
                        f"{_display(table)}.{column}",
                    )
                )
    for pattern, verb in ((_DELETE, "deletes"), (_UPDATE, "rewrites")):
        for match in pattern.finditer(statement):
            table, condition = _unquote(match.group(1)), match.group(2)
            if not _exists(connection, table):
                continue
            where = f" WHERE {condition}" if condition else ""
            rows, error = _scalar(
                connection, f"SELECT count(*) FROM {quote_qualified(table)}{where}"
            )
            if error or rows:
                losses.append(
                    Loss(
                        table,
                        rows,
                        f"{verb} {'an unknown number of' if error else rows} rows of "
                        f"{_display(table)}",
                    )
                )
    return losses


def assess(plan, connection):
    """Fill in the losses of every reverse operation from the database as it is now."""
    for step in plan.steps:
        for operation in step.operations:
            if operation.python is not None or operation.irreversible_reason:
                continue
            operation.losses = [
                loss for statement in operation.sql for loss in _losses_of(connection, statement)
            ]
    return plan


def render(plan, describe_target):
    """The plan as printed before anything runs: summary first, then every step's exact SQL."""
    lines = [
        f"Rollback plan ({plan.target}) for {describe_target}: unapply {len(plan.steps)} "
        "migration(s) in this order.",
        "Atomic: yes, the whole rollback runs in one transaction."
        if plan.atomic
        else "Atomic: NO. Non-atomic migrations ("
        + ", ".join(f"{s.app_label}.{s.name}" for s in plan.steps if not s.atomic)
        + ") cannot run in a transaction; a failure can leave earlier steps done.",
    ]
    irreversible = plan.irreversible_steps
    if irreversible:
        lines.append(
            "Irreversible steps: "
            + ", ".join(f"{s.app_label}.{s.name}" for s in irreversible)
            + " (this rollback cannot run)"
        )
    else:
        lines.append("Irreversible steps: none")
    stake = plan.tables_at_stake()
    if stake:
        lines.append(
            "Lossy steps: "
            + ", ".join(f"{s.app_label}.{s.name}" for s in plan.lossy_steps)
            + "; data at stake: "
            + ", ".join(f"{_display(t)} ({'?' if r is None else r} rows)" for t, r in stake.items())
        )
    else:
        lines.append("Lossy steps: none")
    for number, step in enumerate(plan.steps, 1):
        lines.append("")
        lines.append(f"[{number}] unapply {step.app_label}.{step.name}: {step.classification}")
        for operation in step.operations:
            lines.append(f"    - reverse of: {operation.description} [{operation.classification}]")
            if operation.irreversible_reason:
                lines.append(f"      IRREVERSIBLE: {operation.irreversible_reason}")
            for loss in operation.losses:
                lines.append(f"      LOSSY: {loss.what}")
            if operation.python is not None:
                lines.append(f"      (Python: {operation.python}; no SQL to show)")
            for statement in operation.sql:
                for text in statement.splitlines():
                    lines.append(f"      {text}")
            if not operation.sql and operation.python is None and not operation.irreversible_reason:
                lines.append("      (no SQL: state-only change)")
    return "\n".join(lines)
