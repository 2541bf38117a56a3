"""Lint rules for pending migrations: operations that break or block the running Rust services.

The services run the old code while a deploy migrates, so a pending migration must not remove or
rename what they read, must not make their INSERTs fail, and must not hold ACCESS EXCLUSIVE locks
on live tables for long. A table is *live* when it exists in the database now; tables created by
the same pending plan are new and exempt.

A migration may acknowledge a finding with a reason, which turns it into a note::

    class Migration(migrations.Migration):
        preflight_ignore = {"LF003": "orders is empty in every environment at this release"}
"""

from dataclasses import asdict, dataclass

from ledgerflow.migrating import checksums
from ledgerflow.migrating import effects as fx
from ledgerflow.migrating.effects.operations import database_operations, forwards

RULES = {
    "LF001": "drops or renames a table or column the services use",
    "LF002": "adds a NOT NULL column without a database default",
    "LF003": "builds an index on a live table without CONCURRENTLY",
    "LF004": "ALTER TYPE ... ADD VALUE is not alone in a non-atomic migration",
    "LF005": "changes a column's type in place",
    "LF006": "a non-atomic statement a rerun cannot resume (no IF [NOT] EXISTS)",
}


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


def _read_from_sql(effect):
    """What an effect read from SQL does, and the statement (the lint cannot name more)."""
    what = {
        fx.DROP_TABLE: "drops a table",
        fx.DROP_COLUMN: "drops a column",
        fx.RENAME_TABLE: "renames the table",
        fx.RENAME_COLUMN: "renames a column",
        fx.SET_NOT_NULL: "sets NOT NULL",
        fx.ADD_COLUMN: "adds a NOT NULL column without a DEFAULT",
        fx.CHANGE_TYPE: "changes a column's type",
        fx.BUILD_INDEX: "builds an index without CONCURRENTLY",
        fx.ADD_CONSTRAINT: "adds a unique constraint",
    }[effect.kind]
    return f"{what}: {' '.join(effect.sql.split())[:120]}"


def _message(effect):
    """What a structural effect does, named."""
    table, column = fx.display(effect.table), effect.column
    if effect.kind == fx.DROP_TABLE:
        return f"drops table {table}"
    if effect.kind == fx.RENAME_TABLE and effect.new_name == effect.table:
        return f"renames the model of table {table}, and so its many-to-many tables"
    if effect.kind == fx.RENAME_TABLE:
        return f"renames table {table} to {fx.display(effect.new_name)}"
    if effect.kind == fx.DROP_COLUMN:
        return f"drops column {table}.{column}"
    if effect.kind == fx.RENAME_COLUMN:
        return f"renames column {table}.{column} to {effect.new_name}"
    if effect.kind == fx.ADD_COLUMN:
        return (
            f"adds NOT NULL column {table}.{column} without db_default; the services' INSERTs "
            "do not set it and will fail"
        )
    if effect.kind == fx.SET_NOT_NULL:
        return f"sets {table}.{column} NOT NULL"
    if effect.kind == fx.CHANGE_TYPE:
        return (
            f"changes {table}.{column} from {effect.old_type} to {effect.new_type} in place "
            "(rewrites the table under ACCESS EXCLUSIVE)"
        )
    if effect.kind == fx.ADD_CONSTRAINT:
        return f"adds unique constraint {effect.name} on {table}"
    unique = "a unique index" if effect.unique else "an index"
    name = f" {effect.name}" if effect.name and not effect.unique else ""
    on = f" ({effect.name})" if effect.unique else f".{column}" if column else ""
    return f"adds {unique}{name} on {table}{on} without CONCURRENTLY; it blocks writes while built"


def _rule(effect, live):
    """The rule an effect on a live table (or an index build on a table unnamed) breaks."""
    if effect.kind in (fx.DROP_TABLE, fx.RENAME_TABLE, fx.DROP_COLUMN, fx.RENAME_COLUMN):
        return "LF001" if live else None
    if effect.kind in (fx.ADD_COLUMN, fx.SET_NOT_NULL):
        return "LF002" if live and (effect.not_null or effect.kind == fx.SET_NOT_NULL) else None
    if effect.kind == fx.BUILD_INDEX and not effect.concurrently:
        # A raw CREATE INDEX whose table could not be read counts as on a live table.
        return "LF003" if live or (effect.sql and effect.table is None) else None
    if effect.kind == fx.ADD_CONSTRAINT:
        return "LF003" if live and effect.unique else None
    if effect.kind == fx.CHANGE_TYPE:
        return "LF005" if live and effect.rewrites else None
    return None


def _unresumable(effect):
    """A statement outside a transaction that a rerun after a kill would fail on."""
    if effect.sql is None or effect.resumable:
        return False
    if effect.kind in (fx.BUILD_INDEX, fx.DROP_INDEX):
        return effect.concurrently
    return effect.kind == fx.ADD_ENUM_VALUE


def lint_migration(migration, state, live_tables, connection):
    """Findings for ``migration`` given the project ``state`` before it and the ``live_tables``
    that exist in the database now."""
    found = []
    app = migration.app_label

    def add(rule, message):
        finding = Finding(rule, app, migration.name, message)
        if finding not in found:  # e.g. one ALTER TABLE dropping two columns
            found.append(finding)

    operations = [op for operation in migration.operations for op in database_operations(operation)]
    for operation in operations:
        for effect in forwards(operation, app, state, connection) or []:
            live = effect.table is not None and effect.table.rsplit(".", 1)[-1] in live_tables
            rule = _rule(effect, live)
            if rule:
                add(rule, _read_from_sql(effect) if effect.sql else _message(effect))
            if effect.kind == fx.ADD_ENUM_VALUE and (migration.atomic or len(operations) > 1):
                add(
                    "LF004",
                    "ALTER TYPE ... ADD VALUE must be the only operation of a migration "
                    "with atomic = False",
                )
            if not migration.atomic and _unresumable(effect):
                add(
                    "LF006",
                    "a rerun after an interruption fails on what this statement already "
                    "did; write CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX "
                    "CONCURRENTLY IF EXISTS, ADD VALUE IF NOT EXISTS: "
                    f"{' '.join(effect.sql.split())[:120]}",
                )
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
