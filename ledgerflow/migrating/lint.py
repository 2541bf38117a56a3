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

RULES = {
    "LF001": "drops or renames a table or column the services use",
    "LF002": "adds a NOT NULL column without a database default",
    "LF003": "builds an index on a live table without CONCURRENTLY",
    "LF004": "ALTER TYPE ... ADD VALUE is not alone in a non-atomic migration",
    "LF005": "changes a column's type in place",
}

_SQL_RULES = [
    ("LF001", re.compile(r"\bDROP\s+(TABLE|COLUMN)\b", re.I), "runs DROP TABLE/COLUMN"),
    ("LF001", re.compile(r"\bRENAME\s+(COLUMN\s+|TO\s+)", re.I), "runs a RENAME"),
    (
        "LF003",
        re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)", re.I),
        "runs CREATE INDEX without CONCURRENTLY",
    ),
    (
        "LF005",
        re.compile(r"\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b", re.I),
        "runs ALTER COLUMN ... TYPE",
    ),
]
_ADD_VALUE = re.compile(r"\bALTER\s+TYPE\s+\S+\s+ADD\s+VALUE\b", re.I)


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


def _sql_statements(operation):
    sql = operation.sql
    items = sql if isinstance(sql, list | tuple) else [sql]
    return [str(item[0] if isinstance(item, list | tuple) else item) for item in items]


def _model_state(state, app_label, model_name):
    return state.models.get((app_label, model_name.lower()))


def _table(state, app_label, model_name):
    model = _model_state(state, app_label, model_name)
    if model is None:
        return None
    return model.options.get("db_table") or f"{app_label}_{model.name_lower}"


def _column(field, name):
    return field.db_column or (f"{name}_id" if field.is_relation and field.many_to_one else name)


def lint_migration(migration, state, live_tables, connection):
    """Findings for ``migration`` given the project ``state`` before it and the ``live_tables``
    that exist in the database now."""
    found = []
    app = migration.app_label

    def add(rule, message):
        found.append(Finding(rule, app, migration.name, message))

    for operation in migration.operations:
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
                old_type, new_type = old.db_type(connection), new.db_type(connection)
                if old_type != new_type:
                    add(
                        "LF005",
                        f"changes {table}.{_column(new, operation.name)} from {old_type} to "
                        f"{new_type} in place (rewrites the table under ACCESS EXCLUSIVE)",
                    )
                if old.null and not new.null:
                    add("LF002", f"sets {table}.{_column(new, operation.name)} NOT NULL")
                if (new.db_index or new.unique) and not (old.db_index or old.unique):
                    add("LF003", f"adds an index on {table}.{operation.name} without CONCURRENTLY")
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
                if _ADD_VALUE.search(statement) and (
                    migration.atomic or len(migration.operations) > 1
                ):
                    add(
                        "LF004",
                        "ALTER TYPE ... ADD VALUE must be the only operation of a migration "
                        "with atomic = False",
                    )
                for rule, pattern, text in _SQL_RULES:
                    if pattern.search(statement):
                        add(rule, f"{text}: {' '.join(statement.split())[:120]}")
    acknowledged = getattr(migration, "preflight_ignore", {}) or {}
    for finding in found:
        finding.acknowledged = str(acknowledged.get(finding.rule, ""))
    return found


def lint_plan(plan, executor, connection):
    """Findings for every forward migration of ``plan`` (``[(migration, backwards)]``)."""
    live_tables = set(connection.introspection.table_names())
    forward = [migration for migration, backwards in plan if not backwards]
    if not forward:
        return []
    state = executor._create_project_state(with_applied_migrations=True)
    findings = []
    for migration in forward:
        findings.extend(lint_migration(migration, state, live_tables, connection))
        state = migration.mutate_state(state, preserve=True)
    return findings
