"""What each reverse operation would cost, measured on the live database from its effects.

Probes read the database as it is now, before any reverse step runs, so each effect is judged
against what the earlier ones change (``_Changes``). Fails closed: a probe that errors, an object
an earlier step creates or renames, and SQL the effects model could not read
(``UNMEASURED``) are losses of unknown size.
"""

import re
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from ledgerflow.migrating import effects as fx
from ledgerflow.migrating.effects.sql import read_sql
from ledgerflow.recovery.planning.steps import Loss
from ledgerflow.sql import qualified_name, quote_ident, quote_qualified
from ledgerflow.sql.quoting import IDENT

_TYPE_NAME = re.compile(rf"{IDENT}(?:\s*\.\s*{IDENT})?")
_EARLIER = "an earlier step creates or renames it"
_display = fx.display


def _scalar(connection, sql, params=None):
    """The value of a probe query, or the error text when PostgreSQL rejects it.

    Always rolled back: a probe built from reverse SQL may call a function with side effects.
    """
    try:
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                value = cursor.fetchone()[0]
            transaction.set_rollback(True, using=connection.alias)
        return value, None
    except DatabaseError as exc:
        return None, str(exc).strip().splitlines()[0]


def _exists(connection, table):
    value, _ = _scalar(connection, "SELECT to_regclass(%s) IS NOT NULL", [quote_qualified(table)])
    return bool(value)


def _count(connection, table, where=""):
    return _scalar(connection, f"SELECT count(*) FROM {quote_qualified(table)}{where}")


@dataclass
class _Changes:
    """What the effects already assessed create, rename or retype.

    A later effect on one of these objects would be measured on the wrong (or a missing) object,
    so it counts as lossy with rows unknown.
    """

    tables: set = field(default_factory=set)
    columns: set = field(default_factory=set)  # (table, column)
    types: set = field(default_factory=set)
    enum_labels: dict = field(default_factory=dict)  # enum created by the plan: its labels
    renamed_types: dict = field(default_factory=dict)  # new name: the existing type it names
    retyped: set = field(default_factory=set)  # (table, column) moved to another type

    def note(self, effect):
        kind = effect.kind
        if kind == fx.RENAME_TABLE:
            self.tables |= {effect.table, effect.new_name}
        elif kind == fx.CREATE_TABLE:
            self.tables.add(effect.table)
        elif kind == fx.RENAME_COLUMN:
            self.columns |= {(effect.table, effect.column), (effect.table, effect.new_name)}
        elif kind == fx.ADD_COLUMN:
            self.columns.add((effect.table, effect.column))
        elif kind == fx.CHANGE_TYPE:
            self.retyped.add((effect.table, effect.column))
        elif kind == fx.RENAME_TYPE:
            if effect.name not in self.types:
                self.renamed_types[effect.new_name] = effect.name
            self.types |= {effect.name, effect.new_name}
        elif kind == fx.CREATE_TYPE:
            self.types.add(effect.name)
            if effect.labels is not None:
                self.enum_labels[effect.name] = list(effect.labels)

    def table_unknown(self, connection, table):
        """Why rows of ``table`` cannot be counted on the database as it is now, or None."""
        if table in self.tables:
            return f"the table is created or renamed by an earlier step ({_display(table)})"
        if not _exists(connection, table):
            return f"{_display(table)} does not exist yet: {_EARLIER}"
        return None

    def column_unknown(self, connection, table, column):
        why = self.table_unknown(connection, table)
        if why is None and (table, column) in self.columns:
            return f"the column is added or renamed by an earlier step ({column})"
        return why


def _measured(table, rows, why, counted, what):
    """The loss of one probe: ``counted`` (formatted with ``rows``), none, or rows unknown."""
    if why is not None:
        return [Loss(table, None, f"{what}; rows unknown: {why}")]
    return [Loss(table, rows, counted.format(rows))] if rows else []


def _dropped_rows(connection, effect, changes):
    verb, counted = {
        fx.DROP_TABLE: ("drops table", " holding {} rows"),
        fx.TRUNCATE: ("empties", " ({} rows)"),
    }[effect.kind]
    table = effect.table
    what = f"{verb} {_display(table)}"
    why, rows = changes.table_unknown(connection, table), None
    if why is None:
        rows, why = _count(connection, table)
    return _measured(table, rows, why, what + counted, what)


def _dropped_column(connection, effect, changes):
    table, column = effect.table, effect.column
    what = f"drops column {_display(table)}.{column}"
    why, rows = changes.column_unknown(connection, table, column), None
    if why is None:
        rows, why = _count(connection, table, f" WHERE {quote_ident(column)} IS NOT NULL")
    return _measured(table, rows, why, f"{what} holding {{}} values", what)


def _changed_type(connection, effect, changes):
    table, column, new_type = effect.table, effect.column, effect.new_type
    what = f"changes {_display(table)}.{column} to {new_type}"
    why, rows = changes.column_unknown(connection, table, column), None
    name = qualified_name(new_type) if _TYPE_NAME.fullmatch(new_type.strip()) else None
    if why is None and name in changes.types and name not in changes.enum_labels:
        # The cast below would be checked against the type as it is now, not this one.
        why = f"the type {new_type} is created or renamed by an earlier step"
    quoted = quote_ident(column)
    if why is None and name in changes.enum_labels:
        # An enum the plan recreates: values whose label it lacks cannot be cast to it.
        labels = changes.enum_labels[name]
        rows, why = _scalar(
            connection,
            f"SELECT count(*) FROM {quote_qualified(table)} WHERE {quoted} IS NOT NULL "
            f"AND NOT ({quoted}::text = ANY(%s))",
            [labels],
        )
        if rows:
            lacking = f"whose labels ({', '.join(labels)}) lack the values of {rows} rows"
            return [Loss(table, rows, f"{what}, {lacking}")]
    if why is None:
        new_value = f"({effect.using})::{new_type}" if effect.using else f"{quoted}::{new_type}"
        rows, error = _count(
            connection,
            table,
            f" WHERE {quoted} IS NOT NULL AND {quoted}::text IS DISTINCT FROM ({new_value})::text",
        )
        why = error and f"existing values do not survive the cast ({error})"
    return _measured(table, rows, why, f"{what}, altering {{}} values", what)


def _dropped_type(connection, effect, changes):
    type_name = effect.name
    what = f"drops enum type {_display(type_name)}"
    if type_name not in changes.renamed_types and type_name in changes.types:
        return [Loss("(unknown)", None, f"{what}; rows unknown: {_EARLIER}")]
    columns, error = _scalar(
        connection,
        """
        SELECT coalesce(json_agg(json_build_array(n.nspname || '.' || c.relname, a.attname)),
                        '[]'::json)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE a.atttypid = to_regtype(%s) AND a.attnum > 0 AND NOT a.attisdropped
        """,
        [changes.renamed_types.get(type_name, type_name)],
    )
    losses = [Loss("(unknown)", None, f"{what}; rows unknown: {error}")] if error else []
    for table, column in columns or []:
        if (table, column) in changes.retyped:
            continue  # an earlier effect moved the column to another type
        rows, why = _count(connection, table, f" WHERE {quote_ident(column)} IS NOT NULL")
        counted = f"{what}, used by {{}} values in {_display(table)}.{column}"
        losses += _measured(table, rows, why, counted, f"{what} (used by {table}.{column})")
    return losses


def _written_rows(connection, effect, changes):
    table, verb = effect.table, effect.verb
    what = f"{verb} rows of {_display(table)}"
    why, rows = changes.table_unknown(connection, table), None
    for name in changes.tables:
        if why is None and re.search(rf"\b{re.escape(name.split('.')[-1])}\b", effect.sql, re.I):
            why = f"it reads {_display(name)}, which {_EARLIER}"
    if why is None:
        where = effect.where
        if effect.join:  # rows of the target that some row of USING/FROM joins (and WHERE keeps)
            where = f"EXISTS (SELECT FROM {effect.join}{f' WHERE {where}' if where else ''})"
        rows, why = _scalar(
            connection,
            f"SELECT count(*) FROM {effect.target}"
            f"{f' AS {effect.alias}' if effect.alias else ''}{f' WHERE {where}' if where else ''}",
        )
    return _measured(table, rows, why, f"{verb} {{}} rows of {_display(table)}", what)


def _unmeasured(connection, effect, changes):
    return [
        Loss(
            "(unknown)",
            None,
            f"runs {effect.word} in SQL this plan cannot measure (…{effect.excerpt}…); it may "
            "delete or change rows, how many is unknown",
        )
    ]


_MEASURES = {
    fx.DROP_TABLE: _dropped_rows,
    fx.TRUNCATE: _dropped_rows,
    fx.DROP_COLUMN: _dropped_column,
    fx.CHANGE_TYPE: _changed_type,
    fx.DROP_TYPE: _dropped_type,
    fx.WRITE_ROWS: _written_rows,
    fx.UNMEASURED: _unmeasured,
}


def losses_of(connection, effects, changes=None):
    """What ``effects`` (in the order they run) would destroy, given what earlier effects in the
    plan change (``changes``, updated as they are read)."""
    changes = _Changes() if changes is None else changes
    losses = []
    for effect in effects:
        measure = _MEASURES.get(effect.kind)
        if measure is not None:
            losses += measure(connection, effect, changes)
        changes.note(effect)
    return losses


def losses_of_sql(connection, sql, changes=None):
    """What SQL text would destroy: its effects read, then measured."""
    return losses_of(connection, read_sql(sql), changes)


def assess(plan, connection):
    """Fill in the losses of every reverse operation, in the order they will run."""
    changes = _Changes()
    for step in plan.steps:
        for operation in step.operations:
            if operation.python is not None or operation.irreversible_reason:
                continue
            operation.losses = losses_of(connection, operation.effects, changes)
    return plan
