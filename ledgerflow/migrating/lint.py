"""Lint rules for pending migrations: operations that break or block the running Rust services.

The services run the old code while a deploy migrates, so a pending migration must not remove or
rename what they read, must not make their INSERTs fail, and must not hold ACCESS EXCLUSIVE locks
on live tables for long. A table is *live* when it exists in the database now; tables created by
the same pending plan are new and exempt.

A migration may acknowledge a finding with a reason, which turns it into a note::

    class Migration(migrations.Migration):
        preflight_ignore = {"LF003": "orders is empty in every environment at this release"}
"""

import re
from dataclasses import asdict, dataclass

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.options import normalize_together

from ledgerflow.migrating import checksums

RULES = {
    "LF001": "drops or renames a table or column the services use",
    "LF002": "adds a NOT NULL column without a database default",
    "LF003": "builds an index on a live table without CONCURRENTLY",
    "LF004": "ALTER TYPE ... ADD VALUE is not alone in a non-atomic migration",
    "LF005": "changes a column's type in place",
    "LF006": "a non-atomic statement a rerun cannot resume (no IF [NOT] EXISTS)",
}

# A table name, optionally schema-qualified, each part plain or "quoted".
_NAME = r'(?:"[^"]+"|\w+)(?:\s*\.\s*(?:"[^"]+"|\w+))?'
# Comments and string literals do not run, so the rules must not read them. A dollar-quoted body
# (a function or DO block) is code that runs: it is kept, with its own comments and literals
# stripped.
_NOT_CODE = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?\*/)"
    r"|(?P<string>\b[eE]'(?:[^'\\]|\\.|'')*'|'[^']*')"
    r'|"[^"]*"'
    r"|(?P<tag>\$(?:[A-Za-z_]\w*)?\$)(?P<body>.*?)(?P=tag)",
    re.S,
)
# Outside a transaction a killed migration stops half-way; its rerun must skip what is done.
_UNRESUMABLE = re.compile(
    r"\b(?:CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?!IF\s+NOT\s+EXISTS\b)"
    r"|DROP\s+INDEX\s+CONCURRENTLY\s+(?!IF\s+EXISTS\b)"
    r"|ALTER\s+TYPE\s+\S+\s+ADD\s+VALUE\s+(?!IF\s+NOT\s+EXISTS\b))",
    re.I,
)
_ADD_VALUE = re.compile(r"\bALTER\s+TYPE\s+\S+\s+ADD\s+VALUE\b", re.I)
_DROP_TABLE = re.compile(
    rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<tables>{_NAME}(?:\s*,\s*{_NAME})*)", re.I
)
_CREATE_INDEX = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)"
    rf"(?:.*?\bON\s+(?:ONLY\s+)?(?P<table>{_NAME}))?",
    re.I | re.S,
)
_ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<table>{_NAME})\s*\*?(?P<actions>.*)",
    re.I | re.S,
)
# Each matches at the start of one ALTER TABLE action. The COLUMN keyword is optional in
# PostgreSQL; what may stand in its place (DROP CONSTRAINT, RENAME TO, ADD CHECK ...) is not a
# column. DROP DEFAULT / DROP NOT NULL follow ALTER [COLUMN] x, so they never start an action.
_COLUMN = rf"(?:COLUMN\s+)?{_NAME}"
_ACTION_RULES = [
    ("LF001", re.compile(r"DROP\s+(?!CONSTRAINT\b)", re.I), "drops a column"),
    ("LF001", re.compile(r"RENAME\s+TO\b", re.I), "renames the table"),
    ("LF001", re.compile(r"RENAME\s+(?!CONSTRAINT\b|TO\b)", re.I), "renames a column"),
    ("LF002", re.compile(rf"ALTER\s+{_COLUMN}\s+SET\s+NOT\s+NULL\b", re.I), "sets NOT NULL"),
    (
        "LF002",
        # Serial and generated columns have a default of their own.
        re.compile(
            r"ADD\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)"
            r"(?!.*\b(?:DEFAULT|GENERATED|(?:small|big)?serial[248]?)\b).*\bNOT\s+NULL\b",
            re.I | re.S,
        ),
        "adds a NOT NULL column without a DEFAULT",
    ),
    (
        "LF005",
        re.compile(rf"ALTER\s+{_COLUMN}\s+(?:SET\s+DATA\s+)?TYPE\b", re.I),
        "changes a column's type",
    ),
]


@dataclass
class Finding:
    rule: str
    app: str
    migration: str
    message: str
    acknowledged: str = ""

    @property
    def is_error(self):
        return not self.acknowledged

    def as_dict(self):
        return {**asdict(self), "summary": RULES[self.rule], "error": self.is_error}

    def __str__(self):
        text = f"{self.rule} {self.app}.{self.migration}: {self.message}"
        if self.acknowledged:
            text += f" (acknowledged: {self.acknowledged})"
        return text


def _code(sql):
    """``sql`` without comments and with every string literal emptied."""

    def replace(match):
        if match["tag"]:
            return match["tag"] + _code(match["body"]) + match["tag"]
        return " " if match["comment"] else "''" if match["string"] else match[0]

    return _NOT_CODE.sub(replace, sql)


def _sql_statements(operation):
    sql = operation.sql
    items = sql if isinstance(sql, list | tuple) else [sql]
    text = ";".join(str(item[0] if isinstance(item, list | tuple) else item) for item in items)
    return [statement for statement in _code(text).split(";") if statement.strip()]


def _table_name(name):
    """The table of a (possibly schema-qualified, quoted) name as the catalog spells it."""
    last = re.findall(r'"[^"]+"|\w+', name)[-1]
    return last.strip('"') if last.startswith('"') else last.lower()


def _split_actions(actions):
    """An ALTER TABLE's actions: split at commas outside parentheses (``numeric(12, 2)``)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(actions):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(actions[start:i])
            start = i + 1
    return [*parts, actions[start:]]


def _sql_findings(statement):
    """``(rule, what it does, table or None when unknown)`` for one SQL statement."""
    for match in _DROP_TABLE.finditer(statement):
        for name in re.findall(_NAME, match["tables"]):
            yield "LF001", "drops a table", _table_name(name)
    for match in _CREATE_INDEX.finditer(statement):
        table = _table_name(match["table"]) if match["table"] else None
        yield "LF003", "builds an index without CONCURRENTLY", table
    match = _ALTER_TABLE.search(statement)
    if match:
        table = _table_name(match["table"])
        for action in _split_actions(match["actions"]):
            for rule, pattern, text in _ACTION_RULES:
                if pattern.match(action.strip()):
                    yield rule, text, table


def _model_state(state, app_label, model_name):
    return state.models.get((app_label, model_name.lower()))


def _table(state, app_label, model_name):
    model = _model_state(state, app_label, model_name)
    if model is None:
        return None
    return model.options.get("db_table") or f"{app_label}_{model.name_lower}"


def _column(field, name):
    return field.db_column or (f"{name}_id" if field.is_relation and field.many_to_one else name)


def _database_operations(operations):
    """The operations that run SQL. SeparateDatabaseAndState runs its database_operations; its
    state_operations only change Django's idea of the models."""
    for operation in operations:
        if isinstance(operation, migrations.SeparateDatabaseAndState):
            yield from _database_operations(operation.database_operations)
        else:
            yield operation


def _column_types(operation, state, app_label, connection):
    """An AlterField's column type before and after. The fields of a ModelState are unbound, and a
    relation's type is its target's, which only a rendered model resolves."""
    scratch = state.clone()  # rendered and altered here; the caller's state stays as it was

    def column_type():
        model = scratch.apps.get_model(app_label, operation.model_name)
        return model._meta.get_field(operation.name).db_type(connection)

    old_type = column_type()
    operation.state_forwards(app_label, scratch)
    return old_type, column_type()


_VARCHAR = re.compile(r"varchar(?:\((\d+)\))?")
_NUMERIC = re.compile(r"numeric\((\d+), ?(\d+)\)")


def _widens_in_catalogue(old_type, new_type):
    """Whether PostgreSQL changes ``old_type`` to ``new_type`` without rewriting the table: a
    varchar made longer, unbounded or text, a numeric given more digits at the same scale."""
    old_varchar = _VARCHAR.fullmatch(old_type)
    if old_varchar:
        if new_type == "text":
            return True
        new_varchar = _VARCHAR.fullmatch(new_type)
        if new_varchar is None:
            return False
        old_length, new_length = old_varchar[1], new_varchar[1]
        return new_length is None or (old_length is not None and int(new_length) >= int(old_length))
    old_numeric, new_numeric = _NUMERIC.fullmatch(old_type), _NUMERIC.fullmatch(new_type)
    return bool(
        old_numeric
        and new_numeric
        and old_numeric[2] == new_numeric[2]
        and int(new_numeric[1]) >= int(old_numeric[1])
    )


def _builds_index(old, new):
    """Whether AlterField from ``old`` to ``new`` creates an index (as Django's schema editor
    decides): a unique one when the field becomes unique, a plain one when it becomes db_index."""
    plain = new.db_index and not new.unique and (old.unique or not old.db_index)
    return plain or (new.unique and not old.unique)


def lint_migration(migration, state, live_tables, connection):
    """Findings for ``migration`` given the project ``state`` before it and the ``live_tables``
    that exist in the database now."""
    found = []
    app = migration.app_label

    def add(rule, message):
        finding = Finding(rule, app, migration.name, message)
        if finding not in found:  # e.g. one ALTER TABLE dropping two columns
            found.append(finding)

    operations = list(_database_operations(migration.operations))
    for operation in operations:
        model_name = (
            getattr(operation, "model_name", None)
            or getattr(operation, "name", None)
            or getattr(operation, "old_name", None)
        )
        table = _table(state, app, model_name) if isinstance(model_name, str) else None
        live = table in live_tables
        if isinstance(operation, migrations.DeleteModel) and live:
            add("LF001", f"drops table {table}")
        elif isinstance(operation, migrations.RenameModel) and live:
            # With an explicit db_table the table keeps its name; only the columns of an
            # auto-created many-to-many table are named after the model.
            model = _model_state(state, app, model_name)
            if not model.options.get("db_table") or any(
                field.many_to_many for field in model.fields.values()
            ):
                add("LF001", f"renames model {operation.old_name} (table {table})")
        elif isinstance(operation, migrations.AlterModelTable) and live:
            add("LF001", f"renames table {table} to {operation.table}")
        elif isinstance(operation, migrations.RemoveField) and live:
            field = _model_state(state, app, model_name).fields.get(operation.name)
            column = _column(field, operation.name) if field else operation.name
            add("LF001", f"drops column {table}.{column}")
        elif isinstance(operation, migrations.RenameField) and live:
            field = _model_state(state, app, model_name).fields.get(operation.old_name)
            if field is not None and not field.db_column:
                add("LF001", f"renames column {table}.{operation.old_name} to {operation.new_name}")
        elif isinstance(operation, migrations.AddField) and live:
            field = operation.field
            if not field.null and not field.has_db_default() and not field.many_to_many:
                add(
                    "LF002",
                    f"adds NOT NULL column {table}.{_column(field, operation.name)} without "
                    "db_default; the services' INSERTs do not set it and will fail",
                )
            if (field.db_index or field.unique) and not field.primary_key:
                add("LF003", f"adds an indexed column to {table}; its index is built with a lock")
        elif isinstance(operation, migrations.AlterField) and live:
            old = _model_state(state, app, model_name).fields.get(operation.name)
            new = operation.field
            if old is not None:
                old_type, new_type = _column_types(operation, state, app, connection)
                if old_type != new_type and not _widens_in_catalogue(old_type, new_type):
                    add(
                        "LF005",
                        f"changes {table}.{_column(new, operation.name)} from {old_type} to "
                        f"{new_type} in place (rewrites the table under ACCESS EXCLUSIVE)",
                    )
                if old.null and not new.null:
                    add("LF002", f"sets {table}.{_column(new, operation.name)} NOT NULL")
                if _builds_index(old, new):
                    add("LF003", f"adds an index on {table}.{operation.name} without CONCURRENTLY")
        elif isinstance(operation, migrations.AlterUniqueTogether) and live:
            old = _model_state(state, app, model_name).options.get("unique_together")
            added = set(normalize_together(operation.unique_together)) - set(
                normalize_together(old or ())
            )
            for fields in sorted(added):
                add("LF003", f"adds a unique index on {table} ({', '.join(fields)})")
        elif isinstance(operation, migrations.AddIndex) and not isinstance(
            operation, AddIndexConcurrently
        ):
            if live:
                add("LF003", f"adds index {operation.index.name} on live table {table}")
        elif isinstance(operation, migrations.AddConstraint) and live:
            if isinstance(operation.constraint, models.UniqueConstraint):
                add("LF003", f"adds unique constraint {operation.constraint.name} on {table}")
        elif isinstance(operation, migrations.RunSQL):
            for statement in _sql_statements(operation):
                if _ADD_VALUE.search(statement) and (migration.atomic or len(operations) > 1):
                    add(
                        "LF004",
                        "ALTER TYPE ... ADD VALUE must be the only operation of a migration "
                        "with atomic = False",
                    )
                if not migration.atomic and _UNRESUMABLE.search(statement):
                    add(
                        "LF006",
                        "a rerun after an interruption fails on what this statement already "
                        "did; write CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX "
                        "CONCURRENTLY IF EXISTS, ADD VALUE IF NOT EXISTS: "
                        f"{' '.join(statement.split())[:120]}",
                    )
                for rule, text, sql_table in _sql_findings(statement):
                    # A table the plan creates is new, as for the operations above.
                    if sql_table is None or sql_table in live_tables:
                        add(rule, f"{text}: {' '.join(statement.split())[:120]}")
    acknowledged = getattr(migration, "preflight_ignore", {}) or {}
    for finding in found:
        finding.acknowledged = str(acknowledged.get(finding.rule, ""))
    return found


def lint_plan(plan, executor, connection):
    """Findings for every forward migration of ``plan`` (``[(migration, backwards)]``) of this
    project's apps. Django's and installed packages' migrations are trusted: they are written for
    any database and cannot carry ``preflight_ignore``, and judging them would refuse to resume
    a first deploy interrupted after ``contenttypes`` or ``auth`` had started."""
    live_tables = set(connection.introspection.table_names())
    forward = [migration for migration, backwards in plan if not backwards]
    if not any(checksums.is_verified_app(migration.app_label) for migration in forward):
        return []
    state = executor._create_project_state(with_applied_migrations=True)
    findings = []
    for migration in forward:
        if checksums.is_verified_app(migration.app_label):
            findings.extend(lint_migration(migration, state, live_tables, connection))
        state = migration.mutate_state(state, preserve=True)
    return findings
