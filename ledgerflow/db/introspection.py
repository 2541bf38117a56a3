"""A normalised picture of the LedgerFlow objects in a live database, read from ``pg_catalog``.

Two databases hold the same schema exactly when their snapshots are equal; ``diff_snapshots``
names every difference. Used by the parity tests and, later, by drift detection and takeover.
"""

LEDGERFLOW_TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")
LEDGERFLOW_ENUMS = ("order_status",)
LEDGERFLOW_FUNCTIONS = ("update_updated_at_column",)

_COLUMNS = """
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

_CONSTRAINTS = """
SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s)
ORDER BY c.relname, con.conname
"""

_INDEXES = """
SELECT t.relname, i.relname, pg_get_indexdef(ix.indexrelid), ix.indisvalid
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND t.relname = ANY(%(tables)s)
ORDER BY t.relname, i.relname
"""

_ENUMS = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() AND t.typname = ANY(%(enums)s)
GROUP BY t.typname
ORDER BY t.typname
"""

_FUNCTIONS = """
SELECT p.proname, pg_get_function_identity_arguments(p.oid), format_type(p.prorettype, NULL),
       l.lanname, p.prosrc
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema() AND p.proname = ANY(%(functions)s)
ORDER BY p.proname
"""

_TRIGGERS = """
SELECT c.relname, tg.tgname, pg_get_triggerdef(tg.oid), tg.tgenabled
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s) AND NOT tg.tgisinternal
ORDER BY c.relname, tg.tgname
"""

_SEQUENCES = """
SELECT s.relname, format_type(seq.seqtypid, NULL), dep_table.relname, dep_col.attname
FROM pg_class s
JOIN pg_sequence seq ON seq.seqrelid = s.oid
JOIN pg_namespace n ON n.oid = s.relnamespace
LEFT JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
     AND d.refobjsubid > 0 AND d.classid = 'pg_class'::regclass
LEFT JOIN pg_class dep_table ON dep_table.oid = d.refobjid
LEFT JOIN pg_attribute dep_col ON dep_col.attrelid = d.refobjid AND dep_col.attnum = d.refobjsubid
WHERE n.nspname = current_schema() AND s.relkind = 'S'
  AND (dep_table.relname = ANY(%(tables)s) OR s.relname LIKE ANY(%(sequence_patterns)s))
ORDER BY s.relname
"""


def _normalise_body(body):
    """A function body with surrounding blank space dropped and inner runs of it folded."""
    return " ".join(body.split())


def schema_snapshot(cursor, tables=LEDGERFLOW_TABLES):
    """Every LedgerFlow object in the cursor's database, as plain, comparable data."""
    params = {
        "tables": list(tables),
        "enums": list(LEDGERFLOW_ENUMS),
        "functions": list(LEDGERFLOW_FUNCTIONS),
        "sequence_patterns": [f"{table}\\_%" for table in tables],
    }

    def rows(sql):
        cursor.execute(sql, params)
        return cursor.fetchall()

    snapshot = {"tables": {}, "enums": {}, "functions": {}, "sequences": {}}
    for table, _num, name, type_, notnull, default, identity, generated in rows(_COLUMNS):
        columns = snapshot["tables"].setdefault(table, _empty_table())["columns"]
        columns.append(
            {
                "name": name,
                "type": type_,
                "not_null": notnull,
                "default": default,
                "identity": identity or None,
                "generated": generated or None,
            }
        )
    for table, name, kind, definition in rows(_CONSTRAINTS):
        snapshot["tables"].setdefault(table, _empty_table())["constraints"][name] = {
            "type": kind,
            "definition": definition,
        }
    for table, name, definition, valid in rows(_INDEXES):
        snapshot["tables"].setdefault(table, _empty_table())["indexes"][name] = {
            "definition": definition,
            "valid": valid,
        }
    for table, name, definition, enabled in rows(_TRIGGERS):
        snapshot["tables"].setdefault(table, _empty_table())["triggers"][name] = {
            "definition": definition,
            "enabled": enabled,
        }
    for name, labels in rows(_ENUMS):
        snapshot["enums"][name] = list(labels)
    for name, arguments, returns, language, body in rows(_FUNCTIONS):
        snapshot["functions"][name] = {
            "arguments": arguments,
            "returns": returns,
            "language": language,
            "body": _normalise_body(body),
        }
    for name, type_, owner_table, owner_column in rows(_SEQUENCES):
        snapshot["sequences"][name] = {
            "type": type_,
            "owned_by": f"{owner_table}.{owner_column}" if owner_table else None,
        }
    return snapshot


def _empty_table():
    return {"columns": [], "constraints": {}, "indexes": {}, "triggers": {}}


def diff_snapshots(expected, actual):
    """Every difference between two snapshots, as readable lines (empty when they match)."""
    differences = []

    def compare(path, left, right):
        if isinstance(left, dict) and isinstance(right, dict):
            for key in sorted(left.keys() | right.keys(), key=str):
                if key not in right:
                    differences.append(f"{path}{key}: missing (expected {left[key]!r})")
                elif key not in left:
                    differences.append(f"{path}{key}: unexpected ({right[key]!r})")
                else:
                    compare(f"{path}{key}.", left[key], right[key])
        elif left != right:
            differences.append(f"{path.rstrip('.')}: expected {left!r}, found {right!r}")

    def by_name(table):
        return {
            **table,
            "columns": {column["name"]: column for column in table["columns"]},
            "column order": [column["name"] for column in table["columns"]],
        }

    compare(
        "",
        {**expected, "tables": {name: by_name(t) for name, t in expected["tables"].items()}},
        {**actual, "tables": {name: by_name(t) for name, t in actual["tables"].items()}},
    )
    return differences
