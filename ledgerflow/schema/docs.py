"""Generated schema documentation: ``docs/schema.md``, ``schema/ledgerflow.sql`` and
``docs/CONTRACT.md`` (the last from the contract's data alone).

Both come from a freshly migrated database (the head state of ``expected``), so every schema
change shows up in review as readable docs and SQL; the tests regenerate them and fail when the
committed copies are stale.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ledgerflow.contract import document as contract_document
from ledgerflow.db import clienttools
from ledgerflow.db.errors import ClientToolError
from ledgerflow.db.introspection import TRIGGER_STATES
from ledgerflow.migrating import checksums
from ledgerflow.schema import descriptions, expected, head_snapshot
from ledgerflow.schema.states import SQLX_VERSION

DOCS_PATH = Path("docs") / "schema.md"
# Every migration's checksum as computed on Python 3.11; the tests compare each Python's with it.
CHECKSUMS_PATH = Path("tests") / "migrating" / "migration_checksums.json"
HEAD_SNAPSHOT_PATH = Path("ledgerflow") / "migrating" / "head_schema.sql"
SQL_PATH = Path("schema") / "ledgerflow.sql"
GENERATED_BY = "python manage.py schema_docs"
_CONSTRAINT_KINDS = {
    "p": "PRIMARY KEY",
    "u": "UNIQUE",
    "f": "FOREIGN KEY",
    "c": "CHECK",
    "x": "EXCLUDE",
}
# pg_dump lines that vary with the server, the client version or the run, not with the schema.
_VOLATILE_DUMP_LINES = re.compile(
    r"^(SET |SELECT pg_catalog\.set_config|\\restrict |\\unrestrict |-- Dumped (from|by) "
    r"|-- PostgreSQL database dump)"
)
# What pg_dump 15 and later write for the public schema of a PostgreSQL 14 server (whose public
# schema has the old default privileges): a comment, no statement.
_PUBLIC_SCHEMA_NOTE = (
    "--\n-- Name: public; Type: SCHEMA; Schema: -; Owner: -\n--\n\n"
    "-- *not* creating schema, since initdb creates it\n"
)


# A column of a CREATE TABLE in pg_dump's output that names its NOT NULL constraint.
_NAMED_NOT_NULL = re.compile(r"^    (\w+) (.*) CONSTRAINT (\w+) NOT NULL")
_CREATE_TABLE = re.compile(r"^CREATE TABLE public\.(\w+) \($")


class SchemaDocsError(Exception):
    pass


def _default_not_null_name(table, column):
    """The name PostgreSQL 18 gives a column's NOT NULL constraint, ``<table>_<column>_not_null``
    cut to 63 bytes the way its ``makeObjectName`` cuts: the longer of the two names first."""
    available = 63 - len("not_null") - 2
    table_chars, column_chars = len(table), len(column)
    while table_chars + column_chars > available:
        if table_chars > column_chars:
            table_chars -= 1
        else:
            column_chars -= 1
    return f"{table[:table_chars]}_{column[:column_chars]}_not_null"


def _drop_default_not_null_names(lines):
    """pg_dump 18 writes ``CONSTRAINT <name> NOT NULL`` when the name differs from the uncut
    ``<table>_<column>_not_null``, so a long table's default name reads as a chosen one; older
    servers have no such names. Drop the default names, keep chosen ones."""
    table = None
    for line in lines:
        created = _CREATE_TABLE.match(line)
        if created:
            table = created.group(1)
        named = _NAMED_NOT_NULL.match(line)
        if table and named and named.group(3) == _default_not_null_name(table, named.group(1)):
            line = line.replace(f" CONSTRAINT {named.group(3)} NOT NULL", " NOT NULL", 1)
        yield line


@dataclass
class GeneratedFiles:
    """The generated files, by path relative to the repository root."""

    files: dict

    def stale(self, root):
        """Paths whose committed content differs from the generated one."""
        return [
            path
            for path, content in self.files.items()
            if not (root / path).exists() or (root / path).read_text() != content
        ]

    def write(self, root):
        for path, content in self.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(content)


def generate_all(using="default"):
    """Regenerate the expected states, the docs and the SQL snapshot (scratch databases), and the
    table of every migration's checksum (from the code alone)."""
    dumps = {}
    states = expected.generate(using=using, on_head=lambda conn: dumps.update(sql=dump(conn)))
    head = states.snapshot_for(states.state_with_role("head"))
    root_relative_expected = expected.EXPECTED_STATES_PATH.relative_to(settings.BASE_DIR)
    return GeneratedFiles(
        {
            root_relative_expected: states.to_text(),
            DOCS_PATH: render_markdown(head, states.state_with_role("head")),
            SQL_PATH: dumps["sql"],
            Path(contract_document.PATH): contract_document.render_contract(SQLX_VERSION),
            CHECKSUMS_PATH: json.dumps(checksums.every_checksum(), indent=1) + "\n",
            HEAD_SNAPSHOT_PATH: head_snapshot.generate_head_snapshot(using),
        }
    )


def dump(connection):
    """``pg_dump --schema-only`` of the connection's database, normalised to be stable; run by
    the client tools, so it is the same pg_dump that backups use for a server of that version."""
    args = [
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-tablespaces",
        "--exclude-table=django_migrations",
    ]
    try:
        result = clienttools.run_client(
            "pg_dump",
            args,
            connection.settings_dict,
            check_against_server_version=connection.pg_version,
        )
    except ClientToolError as exc:
        raise SchemaDocsError(str(exc)) from None
    return normalise_dump(result.stdout)


def normalise_dump(text):
    text = text.replace(_PUBLIC_SCHEMA_NOTE, "")
    lines = [line for line in text.splitlines() if not _VOLATILE_DUMP_LINES.match(line)]
    lines = list(_drop_default_not_null_names(lines))
    kept = []
    for line in lines:
        if line.strip() == "" and (not kept or kept[-1].strip() == ""):
            continue  # runs of blank lines left by the removed SET lines
        kept.append(line)
    while kept and kept[-1].strip() in ("", "--"):
        kept.pop()
    header = [
        "-- The LedgerFlow schema as this project's migrations build it: pg_dump --schema-only of",
        f"-- a freshly migrated database, normalised. Generated by `{GENERATED_BY}`; do not edit.",
        "",
    ]
    # The dump's own banner leaves lone "--" lines; keep the "--" that opens the first object.
    while len(kept) > 1 and kept[0].strip() in ("", "--") and not kept[1].startswith("-- Name"):
        kept.pop(0)
    body = kept
    return "\n".join(header + body) + "\n"


def _cell(value):
    return "" if value is None else f"`{value}`".replace("|", "\\|")


def _mermaid_type(type_):
    short = {
        "timestamp with time zone": "timestamptz",
        "character varying": "varchar",
        "order_status": "order_status",
    }
    for long, replacement in short.items():
        type_ = type_.replace(long, replacement)
    # Older Mermaid grammars take only letters, digits, "-" and "_" in a type: varchar_255.
    return re.sub(r"[^A-Za-z0-9_-]+", "_", type_).strip("_")


def render_markdown(snapshot, state):
    """``docs/schema.md`` for a snapshot."""
    missing = [
        f"{table}.{column['name']}"
        for table, shape in snapshot["tables"].items()
        for column in shape["columns"]
        if column["name"] not in descriptions.TABLES.get(table, {}).get("columns", {})
    ]
    if missing:
        raise SchemaDocsError(
            "columns without a meaning in ledgerflow/schema/descriptions.py: " + ", ".join(missing)
        )
    out = [
        "# The LedgerFlow schema",
        "",
        f"Generated by `{GENERATED_BY}` from a freshly migrated database; do not edit by hand.",
        "The tests fail when this file is stale. The full DDL is `schema/ledgerflow.sql` at "
        "the top of the repository.",
        "",
        f"Migration state: {', '.join(f'`{item}`' for item in state)}.",
        "",
        "## Diagram",
        "",
        "The tables have no foreign keys; dotted lines are the logical links the services join on.",
        "",
        "```mermaid",
        "erDiagram",
    ]
    for table, shape in snapshot["tables"].items():
        keys = _key_columns(shape)
        comments = _key_comments(shape)
        out.append(f"    {table} {{")
        for column in shape["columns"]:
            marks = ", ".join(keys.get(column["name"], []))
            out.append(
                f"        {_mermaid_type(column['type'])} {column['name']}"
                + (f" {marks}" if marks else "")
                + (
                    f' "{"; ".join(comments[column["name"]])}"'
                    if column["name"] in comments
                    else ""
                )
            )
        out.append("    }")
    for left, _left_cols, right, _right_cols, label in descriptions.LOGICAL_LINKS:
        out.append(f'    {left} |o..o{{ {right} : "{label}"')
    out.extend(["```", ""])

    for table, shape in snapshot["tables"].items():
        meta = descriptions.TABLES[table]
        out.extend(
            [f"## `{table}`", "", f"{meta['purpose']} Written by the **{meta['writer']}**.", ""]
        )
        out.extend(["| column | type | not null | default | meaning |", "|---|---|---|---|---|"])
        for column in shape["columns"]:
            out.append(
                f"| `{column['name']}` | {_cell(column['type'])} | "
                f"{'yes' if column['not_null'] else 'no'} | {_cell(column['default'])} | "
                f"{meta['columns'][column['name']]} |"
            )
        out.append("")
        out.append("Constraints:")
        out.append("")
        for name, constraint in shape["constraints"].items():
            kind = _CONSTRAINT_KINDS.get(constraint["type"], constraint["type"])
            out.append(f"- `{name}` ({kind}): `{constraint['definition']}`")
        out.extend(["", "Indexes:", ""])
        for name, index in shape["indexes"].items():
            validity = "" if index["valid"] else " (invalid)"
            out.append(f"- `{name}`{validity}: `{index['definition']}`")
        if shape["triggers"]:
            out.extend(["", "Triggers:", ""])
            for name, trigger in shape["triggers"].items():
                state_word = TRIGGER_STATES.get(trigger["enabled"], trigger["enabled"])
                out.append(f"- `{name}` ({state_word}): `{trigger['definition']}`")
        out.append("")

    out.extend(["## Enum types", ""])
    for name, labels in snapshot["enums"].items():
        out.append(f"`{name}`: {descriptions.ENUMS.get(name, '')}")
        out.append("")
        out.append("Labels, in order: " + ", ".join(f"`{label}`" for label in labels) + ".")
        out.append("")
    out.extend(["## Functions", ""])
    for signature, function in snapshot["functions"].items():
        name = signature.partition("(")[0]
        out.append(
            f"`{signature}` returns `{function['returns']}`, language "
            f"`{function['language']}`. {descriptions.FUNCTIONS.get(name, '')}"
        )
        out.append("")
        out.extend(["```sql", function["body"], "```", ""])
    out.extend(["## Sequences", ""])
    for name, sequence in snapshot["sequences"].items():
        out.append(
            f"- `{name}`: `{sequence['type']}`, owned by `{sequence['owned_by']}`, starts at "
            f"{sequence['start']}, step {sequence['increment']}."
        )
    return "\n".join(out).rstrip() + "\n"


def _key_columns(shape):
    """Mermaid key marks (PK, UK) per column, from the table's constraints."""
    marks = {}
    for constraint in shape["constraints"].values():
        mark = {"p": "PK", "u": "UK"}.get(constraint["type"])
        if not mark:
            continue
        inside = constraint["definition"].split("(", 1)[1].rsplit(")", 1)[0]
        columns = [part.strip().strip('"') for part in inside.split(",")]
        for column in columns:
            if mark not in marks.setdefault(column, []):
                marks[column].append(mark)
    return marks


def _key_comments(shape):
    """A Mermaid comment naming each composite key a column belongs to."""
    comments = {}
    for constraint in shape["constraints"].values():
        if constraint["type"] not in ("p", "u"):
            continue
        inside = constraint["definition"].split("(", 1)[1].rsplit(")", 1)[0]
        columns = [part.strip().strip('"') for part in inside.split(",")]
        if len(columns) > 1:
            kind = "PK" if constraint["type"] == "p" else "UK"
            for column in columns:
                comments.setdefault(column, []).append(f"{kind} ({', '.join(columns)})")
    return comments
