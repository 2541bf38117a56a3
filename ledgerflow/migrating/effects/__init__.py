"""What a migration operation does to the database, as data: its *effects*.

An effect says that an operation drops a table or a column, renames one, changes a column's type,
builds an index (concurrently or not), adds a constraint, writes rows, creates or changes an enum
type, or runs Python. Effects are computed from an operation's structure (``operations``); only
SQL given as text (``RunSQL``, and operations this model does not know) is read, through the
project's lexer (``sql``).

The lint (``migrating.lint``) judges the effects of applying pending migrations; rollback planning
(``recovery.planning``) measures the effects of reversing applied ones against the live data.

Tables are named ``schema.table`` (unqualified names are in ``public``); columns by their name.
"""

from dataclasses import dataclass

CREATE_TABLE = "create table"
DROP_TABLE = "drop table"
RENAME_TABLE = "rename table"  # ``name`` is the table's new ``schema.table``
TRUNCATE = "truncate"
ALTER_TABLE = "alter table"  # any other change of a table's definition (constraints, defaults)
ADD_COLUMN = "add column"  # ``not_null``: NOT NULL without a default the services' INSERTs get
DROP_COLUMN = "drop column"
RENAME_COLUMN = "rename column"  # ``name`` is the column's new name
SET_NOT_NULL = "set not null"
CHANGE_TYPE = "change type"  # ``old_type`` when known, ``new_type``, ``using``; ``rewrites``
BUILD_INDEX = "build index"  # ``concurrently``, ``unique``, ``resumable`` (IF NOT EXISTS)
DROP_INDEX = "drop index"  # ``concurrently``, ``resumable`` (IF EXISTS)
ADD_CONSTRAINT = "add constraint"  # ``unique``: builds an index
WRITE_ROWS = "write rows"  # DELETE or UPDATE read precisely enough to count the rows it matches
WRITES = "writes"  # a statement that may write rows of ``table``; not measured by itself
CREATE_TYPE = "create type"  # ``labels`` when it is an enum
RENAME_TYPE = "rename type"  # ``name`` renamed to ``new_name``
DROP_TYPE = "drop type"
ADD_ENUM_VALUE = "add enum value"  # ``resumable`` (IF NOT EXISTS)
RUN_PYTHON = "run python"  # ``name``: the function; ``noop`` for RunPython.noop
UNMEASURED = "unmeasured"  # SQL that may delete or change rows in a way not understood

# Effects that lock their table when a rollback runs them (an index build or drop does not).
_TOUCHES = {
    DROP_TABLE,
    RENAME_TABLE,
    TRUNCATE,
    ALTER_TABLE,
    ADD_COLUMN,
    DROP_COLUMN,
    RENAME_COLUMN,
    SET_NOT_NULL,
    CHANGE_TYPE,
    ADD_CONSTRAINT,
    WRITE_ROWS,
    WRITES,
}


@dataclass
class Effect:
    kind: str
    table: str | None = None
    column: str | None = None
    name: str | None = None
    new_name: str | None = None
    old_type: str | None = None
    new_type: str | None = None
    using: str | None = None
    labels: tuple | None = None
    not_null: bool = False
    rewrites: bool = True
    concurrently: bool = False
    unique: bool = False
    resumable: bool = True
    noop: bool = False
    # WRITE_ROWS: the statement's own text for the target, alias, USING/FROM list and WHERE
    verb: str | None = None
    target: str | None = None
    alias: str | None = None
    join: str | None = None
    where: str | None = None
    # UNMEASURED: the risky word; every effect read from SQL: the statement it was read from
    word: str | None = None
    excerpt: str | None = None
    sql: str | None = None

    @property
    def touches_table(self):
        """Whether running this locks ``table`` (so a rollback locks it first)."""
        return self.kind in _TOUCHES and self.table is not None


def display(table):
    """A table as people write it: without ``public.``."""
    return table.removeprefix("public.")
