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

from ledgerflow.migrating.history import read_history
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.state import quote_ident, quote_qualified

LOSSLESS = "lossless"
LOSSY = "lossy"
IRREVERSIBLE = "irreversible"

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QNAME = rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)"
_FLAGS = re.IGNORECASE | re.DOTALL
_DROP_TABLE = re.compile(rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_TRUNCATE = re.compile(rf"\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QNAME}(?:\s*\*)?\s+(.*?)(?:;|$)", _FLAGS
)
_DROP_COLUMN = re.compile(rf"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({_IDENT})", _FLAGS)
# Lookahead, not consumption, so that a second ", ALTER ... TYPE" in the same statement is seen.
_ALTER_TYPE = re.compile(
    rf"\bALTER\s+(?:COLUMN\s+)?({_IDENT})\s+(?:SET\s+DATA\s+)?(TYPE)\s+(.+?)"
    r"(?:\s+USING\s+(.+?))?\s*(?=,\s*(?:ALTER|ADD|DROP)\b|$)",
    _FLAGS,
)
_DROP_TYPE = re.compile(rf"\bDROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?{_QNAME}", _FLAGS)
# DELETE ... [[AS] alias] [USING ...] [WHERE ...] [RETURNING ...]: the parts a count needs.
_DELETE = re.compile(
    rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?(?P<table>{_IDENT}(?:\s*\.\s*{_IDENT})?)(?:\s*\*)?"
    rf"(?:\s+(?:AS\s+)?(?!(?:USING|WHERE|RETURNING)\b)(?P<alias>{_IDENT}))?"
    r"(?:\s+USING\s+(?P<join>.+?))?(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+RETURNING\s+.+?)?\s*(?:;|$)",
    _FLAGS,
)
_UPDATE = re.compile(
    rf"\bUPDATE\s+(?:ONLY\s+)?(?P<table>{_IDENT}(?:\s*\.\s*{_IDENT})?)(?:\s*\*)?"
    rf"(?:\s+(?:AS\s+)?(?!SET\b)(?P<alias>{_IDENT}))?\s+SET\s+.+?"
    r"(?:\s+FROM\s+(?P<join>.+?))?(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+RETURNING\s+.+?)?\s*(?:;|$)",
    _FLAGS,
)
# Loose: any table a statement may write, so that it is locked even when it cannot be counted.
_WRITES = re.compile(rf"\b(?:DELETE\s+FROM|UPDATE|MERGE\s+INTO)\s+(?:ONLY\s+)?{_QNAME}", _FLAGS)
# What earlier reverse statements create or rename, which later ones cannot be probed against.
_CREATE_TABLE = re.compile(
    rf"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QNAME}",
    _FLAGS,
)
_RENAME_TABLE = re.compile(rf"\b(RENAME)\s+TO\s+({_IDENT})|\bSET\s+SCHEMA\s+({_IDENT})", _FLAGS)
_RENAME_COLUMN = re.compile(
    rf"\b(RENAME)\s+(?:COLUMN\s+)?(?!(?:CONSTRAINT|TO)\b)({_IDENT})\s+TO\s+({_IDENT})", _FLAGS
)
_ADD_COLUMN = re.compile(
    rf"\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?!(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b)({_IDENT})",
    _FLAGS,
)
_ALTER_ENUM = re.compile(
    rf"\bALTER\s+(TYPE)\s+{_QNAME}\s+(?:(RENAME)\s+TO\s+({_IDENT})|ADD\s+VALUE|OWNER\s+TO)", _FLAGS
)
_CREATE_TYPE = re.compile(rf"\bCREATE\s+TYPE\s+{_QNAME}(?:\s+AS\s+ENUM\s*\(([^)]*)\))?", _FLAGS)
_RENAME_OTHER = re.compile(
    r"\bALTER\s+(?:INDEX|SEQUENCE|VIEW|MATERIALIZED\s+VIEW|TRIGGER|FUNCTION|PROCEDURE|STATISTICS"
    r"|POLICY)\b[^;]*?\b(RENAME)\b",
    _FLAGS,
)
# Every word that can destroy or change rows; each occurrence must be claimed by a pattern above
# that measured it, or be one of the harmless uses below, else the statement is lossy (unknown).
_RISKY = re.compile(
    rf"\b(DELETE|UPDATE|TRUNCATE|DROP|RENAME|MERGE)\b"
    rf"|\bALTER\s+(?:COLUMN\s+)?(?:{_IDENT}\s+)?(?:SET\s+DATA\s+)?(TYPE)\b",
    _FLAGS,
)
# Trigger events, FK actions, FOR UPDATE, GRANT/REVOKE lists.
_HARMLESS_BEFORE = re.compile(
    r"(?:\b(?:ON|BEFORE|AFTER|OR|OF|FOR|KEY|GRANT|REVOKE)|,)\s*$", re.IGNORECASE
)
_HARMLESS_DROP = re.compile(
    r"\s+(?:INDEX|TRIGGER|FUNCTION|PROCEDURE|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|RULE|POLICY"
    r"|STATISTICS|CONSTRAINT|DEFAULT|NOT\s+NULL|IDENTITY|EXPRESSION)\b",
    re.IGNORECASE,
)
# Comments, string literals and quoted names are blanked (same length, so positions in the blanked
# text index the original) before matching: words inside them are not SQL. Dollar-quoted bodies
# stay visible: a DO block's body runs, so a DELETE in it must count.
_LEXEME = re.compile(
    r"--[^\n]*|/\*.*?\*/|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$"
    r"""|(?<![\w$])[Ee]'(?:''|\\.|[^'\\])*'|'(?:''|[^'])*'|"(?:""|[^"])*\"""",
    re.DOTALL,
)


def _blank(sql):
    def blank(match):
        text = match.group(0)
        if text.startswith("$"):
            return text
        if text.startswith(("--", "/*")):
            return " " * len(text)
        head = text.index(text[-1])  # keep the quotes (and an E prefix): the shape stays valid
        return text[: head + 1] + "x" * (len(text) - head - 2) + text[-1]

    return _LEXEME.sub(blank, sql)


_DOLLAR_BODY = re.compile(r"\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$", re.DOTALL)


def _statements(sql):
    """``sql`` cut after each top-level semicolon: a later statement may depend on an earlier."""
    text = _blank(sql)
    bodies = [match.span() for match in _DOLLAR_BODY.finditer(text)]
    pieces, start = [], 0
    for semicolon in re.finditer(";", text):
        if not any(a <= semicolon.start() < b for a, b in bodies):
            pieces.append(sql[start : semicolon.end()])
            start = semicolon.end()
    pieces.append(sql[start:])
    return [piece for piece in pieces if piece.strip()]


def _orig(statement, match, group):
    """The original text of a group matched in the blanked statement."""
    return None if match.group(group) is None else statement[match.start(group) : match.end(group)]


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
            text = _blank(statement)
            for pattern in (_DROP_TABLE, _TRUNCATE):
                for match in pattern.finditer(text):
                    names.update(_names_in_list(_orig(statement, match, 1)))
            for pattern in (_ALTER_TABLE, _WRITES):
                names.update(_unquote(_orig(statement, m, 1)) for m in pattern.finditer(text))
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
    applied = list(read_history(cursor).applied_keys)
    if steps < 1:
        raise RecoveryError("--steps must be 1 or more.")
    if steps > len(applied):
        raise RecoveryError(f"--steps {steps} but only {len(applied)} migrations are applied.")
    return _ordered_unapply(loader, applied, applied[-steps:])


def migrations_to_state(loader, cursor, state, label):
    """Migrations to unapply so that exactly ``state`` (``[[app, name], ...]``) stays applied."""
    applied = list(read_history(cursor).applied_keys)
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


def _display(table):
    return table.removeprefix("public.")


def _in_schema_of(name, new):
    """``schema.new``: what ``ALTER ... name RENAME TO new`` is called afterwards."""
    return f"{name.rsplit('.', 1)[0]}.{_unquote_column(new)}"


@dataclass
class _Changes:
    """What the reverse statements already assessed create, rename or retype.

    Probes read the database as it is now; a later statement about one of these objects would be
    measured on the wrong (or a missing) object, so it counts as lossy with rows unknown.
    """

    tables: set = field(default_factory=set)
    columns: set = field(default_factory=set)  # (table, column)
    types: set = field(default_factory=set)
    enum_labels: dict = field(default_factory=dict)  # enum created by the plan: its labels
    renamed_types: dict = field(default_factory=dict)  # new name: the existing type it names
    retyped: set = field(default_factory=set)  # (table, column) moved to another type

    def note(self, statement, text):
        """Record what ``statement`` changes; returns the positions of the words it explains."""
        claimed = set()
        for match in _ALTER_TABLE.finditer(text):
            table = _unquote(_orig(statement, match, 1))
            start, end = match.span(2)
            for m in _RENAME_TABLE.finditer(text, start, end):
                if m.group(1):
                    claimed.add(m.start(1))
                    new = _in_schema_of(table, _orig(statement, m, 2))
                else:  # SET SCHEMA
                    new = f"{_unquote_column(_orig(statement, m, 3))}.{table.rsplit('.', 1)[1]}"
                self.tables |= {table, new}
            for m in _RENAME_COLUMN.finditer(text, start, end):
                claimed.add(m.start(1))
                self.columns |= {(table, _unquote_column(_orig(statement, m, g))) for g in (2, 3)}
            for m in _ADD_COLUMN.finditer(text, start, end):
                self.columns.add((table, _unquote_column(_orig(statement, m, 1))))
            for m in _ALTER_TYPE.finditer(text, start, end):
                self.retyped.add((table, _unquote_column(_orig(statement, m, 1))))
        for m in _CREATE_TABLE.finditer(text):
            self.tables.add(_unquote(_orig(statement, m, 1)))
        for m in _ALTER_ENUM.finditer(text):
            claimed.add(m.start(1))
            if m.group(3):
                claimed.add(m.start(3))
                old = _unquote(_orig(statement, m, 2))
                new = _in_schema_of(old, _orig(statement, m, 4))
                if old not in self.types:
                    self.renamed_types[new] = old
                self.types |= {old, new}
        for m in _CREATE_TYPE.finditer(text):
            name = _unquote(_orig(statement, m, 1))
            self.types.add(name)
            if m.group(2) is not None:
                labels = re.findall(r"'((?:[^']|'')*)'", _orig(statement, m, 2))
                self.enum_labels[name] = [label.replace("''", "'") for label in labels]
        claimed.update(m.start(1) for m in _RENAME_OTHER.finditer(text))
        return claimed


_EARLIER = "an earlier step creates or renames it"


def _table_unknown(connection, changes, table):
    """Why rows of ``table`` cannot be counted on the database as it is now, or None."""
    if table in changes.tables:
        return f"the table is created or renamed by an earlier step ({_display(table)})"
    if not _exists(connection, table):
        return f"{_display(table)} does not exist yet: {_EARLIER}"
    return None


def _measured(table, rows, why, counted, what):
    """The loss of one probe: ``counted`` (formatted with ``rows``), none, or rows unknown."""
    if why is not None:
        return [Loss(table, None, f"{what}; rows unknown: {why}")]
    return [Loss(table, rows, counted.format(rows))] if rows else []


def _harmless(text, at, word):
    """A risky word used as a trigger event, FK action, privilege, or in a harmless DROP."""
    if word in ("DELETE", "UPDATE", "TRUNCATE"):
        return bool(_HARMLESS_BEFORE.search(text, 0, at))
    if word == "DROP":
        return bool(_HARMLESS_DROP.match(text, at + 4))
    if word == "RENAME":
        return bool(re.match(r"\s+CONSTRAINT\b", text[at + 6 :], re.IGNORECASE))
    return False


def _losses_of(connection, statement, changes=None):
    """What ``statement`` would destroy, given what earlier statements in the plan change.

    Fails closed: a probe that errors, an object an earlier step creates or renames, and any
    DELETE/UPDATE/TRUNCATE/DROP/ALTER ... TYPE not precisely understood is a loss of unknown size.
    """
    changes = _Changes() if changes is None else changes
    text = _blank(statement)
    losses, claimed = [], set()

    def count(table, where=""):
        return _scalar(connection, f"SELECT count(*) FROM {quote_qualified(table)}{where}")

    for pattern, verb, counted in (
        (_DROP_TABLE, "drops table", " holding {} rows"),
        (_TRUNCATE, "empties", " ({} rows)"),
    ):
        for match in pattern.finditer(text):
            claimed.add(match.start())
            for name in _names_in_list(_orig(statement, match, 1)):
                what = f"{verb} {_display(name)}"
                why, rows = _table_unknown(connection, changes, name), None
                if why is None:
                    rows, why = count(name)
                losses += _measured(name, rows, why, what + counted, what)
    for match in _ALTER_TABLE.finditer(text):
        table = _unquote(_orig(statement, match, 1))
        table_why = _table_unknown(connection, changes, table)
        start, end = match.span(2)

        def column_why(column, table=table, table_why=table_why):
            if table_why is None and (table, column) in changes.columns:
                return f"the column is added or renamed by an earlier step ({column})"
            return table_why

        for drop in _DROP_COLUMN.finditer(text, start, end):
            claimed.add(drop.start())
            raw = _orig(statement, drop, 1)
            if raw.lower() in ("constraint", "default", "not", "identity", "expression"):
                continue
            column = _unquote_column(raw)
            what = f"drops column {_display(table)}.{column}"
            why, rows = column_why(column), None
            if why is None:
                rows, why = count(table, f" WHERE {quote_ident(column)} IS NOT NULL")
            losses += _measured(table, rows, why, f"{what} holding {{}} values", what)
        for change in _ALTER_TYPE.finditer(text, start, end):
            claimed.add(change.start(2))
            column = _unquote_column(_orig(statement, change, 1))
            new_type, using = _orig(statement, change, 3), _orig(statement, change, 4)
            what = f"changes {_display(table)}.{column} to {new_type}"
            why, rows = column_why(column), None
            new_name = _unquote(new_type) if re.fullmatch(_QNAME, new_type.strip()) else None
            if why is None and new_name in changes.types and new_name not in changes.enum_labels:
                # The cast below would be checked against the type as it is now, not this one.
                why = f"the type {new_type} is created or renamed by an earlier step"
            if why is None and new_name in changes.enum_labels:
                # An enum the plan recreates: values whose label it lacks cannot be cast to it.
                labels = changes.enum_labels[new_name]
                rows, why = _scalar(
                    connection,
                    f"SELECT count(*) FROM {quote_qualified(table)} WHERE {quote_ident(column)} "
                    f"IS NOT NULL AND NOT ({quote_ident(column)}::text = ANY(%s))",
                    [labels],
                )
                if rows:
                    losses.append(
                        Loss(
                            table,
                            rows,
                            f"{what}, whose labels ({', '.join(labels)}) lack the values of "
                            f"{rows} rows",
                        )
                    )
                    continue
            if why is None:
                new_value = (
                    f"({using})::{new_type}" if using else f"{quote_ident(column)}::{new_type}"
                )
                rows, error = count(
                    table,
                    f" WHERE {quote_ident(column)} IS NOT NULL AND {quote_ident(column)}::text "
                    f"IS DISTINCT FROM ({new_value})::text",
                )
                why = error and f"existing values do not survive the cast ({error})"
            losses += _measured(table, rows, why, f"{what}, altering {{}} values", what)
    for match in _DROP_TYPE.finditer(text):
        claimed.add(match.start())
        type_name = _unquote(_orig(statement, match, 1))
        what = f"drops enum type {_display(type_name)}"
        if type_name not in changes.renamed_types and type_name in changes.types:
            losses.append(Loss("(unknown)", None, f"{what}; rows unknown: {_EARLIER}"))
            continue
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
        if error:
            losses.append(Loss("(unknown)", None, f"{what}; rows unknown: {error}"))
        for table, column in columns or []:
            if (table, column) in changes.retyped:
                continue  # an earlier statement moved the column to another type
            rows, why = count(table, f" WHERE {quote_ident(column)} IS NOT NULL")
            counted = f"{what}, used by {{}} values in {_display(table)}.{column}"
            losses += _measured(table, rows, why, counted, f"{what} (used by {table}.{column})")
    for pattern, verb in ((_DELETE, "deletes"), (_UPDATE, "rewrites")):
        for match in pattern.finditer(text):
            claimed.add(match.start())
            table = _unquote(_orig(statement, match, "table"))
            what = f"{verb} rows of {_display(table)}"
            why, rows = _table_unknown(connection, changes, table), None
            for name in changes.tables:
                if why is None and re.search(
                    rf"\b{re.escape(name.split('.')[-1])}\b", statement, re.I
                ):
                    why = f"it reads {_display(name)}, which {_EARLIER}"
            if why is None:
                alias, join, where = (
                    _orig(statement, match, g) for g in ("alias", "join", "where")
                )
                if join:  # rows of the target that some row of USING/FROM joins (and WHERE keeps)
                    where = f"EXISTS (SELECT FROM {join}{f' WHERE {where}' if where else ''})"
                rows, why = _scalar(
                    connection,
                    f"SELECT count(*) FROM {_orig(statement, match, 'table')}"
                    f"{f' AS {alias}' if alias else ''}{f' WHERE {where}' if where else ''}",
                )
            losses += _measured(table, rows, why, f"{verb} {{}} rows of {_display(table)}", what)
    claimed |= changes.note(statement, text)
    for risky in _RISKY.finditer(text):
        group = 1 if risky.group(1) else 2
        word, at = risky.group(group).upper(), risky.start(group)
        if at not in claimed and not _harmless(text, at, word):
            excerpt = " ".join(statement[max(0, at - 30) : at + 50].split())
            losses.append(
                Loss(
                    "(unknown)",
                    None,
                    f"runs {word} in SQL this plan cannot measure (…{excerpt}…); it may delete "
                    "or change rows, how many is unknown",
                )
            )
            break
    return losses


def assess(plan, connection):
    """Fill in the losses of every reverse operation, in the order they will run."""
    changes = _Changes()
    for step in plan.steps:
        for operation in step.operations:
            if operation.python is not None or operation.irreversible_reason:
                continue
            operation.losses = [
                loss
                for sql in operation.sql
                for statement in _statements(sql)
                for loss in _losses_of(connection, statement, changes)
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
