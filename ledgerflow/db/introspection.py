"""A normalised picture of the LedgerFlow objects in a live database, read from ``pg_catalog``.

Two databases hold the same schema exactly when their snapshots are equal; ``compare_snapshots``
names every difference as a structured ``Difference`` (kind, object name, readable description
and, where one exists, SQL that repairs it without dropping or rewriting anything);
``diff_snapshots`` lists them as plain path-by-path lines. Used by the parity tests, drift detection
(``ledgerflow.schema.drift``) and the sqlx takeover (``ledgerflow.schema.takeover``).

Only the five LedgerFlow tables are read (their columns, constraints, indexes, triggers, rules,
policies and table properties), with the ``order_status`` enum, the functions named
``update_updated_at_column`` and the tables' sequences; other objects in the database are not.
"""

import dataclasses

LEDGERFLOW_TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")
LEDGERFLOW_ENUMS = ("order_status",)
LEDGERFLOW_FUNCTIONS = ("update_updated_at_column",)

# Table-wide properties that change how the services' SQL behaves: UNLOGGED tables lose their
# rows on a crash; row level security filters or refuses rows; a parent's queries also read
# (and its UPDATE/DELETE also change) the rows of tables that inherit from it.
_TABLES = """
SELECT c.relname, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
       ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno),
       ARRAY(SELECT i.inhrelid::regclass::text FROM pg_inherits i
             WHERE i.inhparent = c.oid ORDER BY 1)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s)
ORDER BY c.relname
"""

# format_type() drops a column's collation, yet a collation changes comparisons, ordering and
# (when nondeterministic) which values a unique key treats as equal. It is read only when it is
# not the type's own default, so ordinary columns carry no collation entry at all.
_COLUMNS = """
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
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
       l.lanname, p.prosrc, p.prosecdef, p.provolatile, p.proisstrict, p.proconfig
FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema() AND p.proname = ANY(%(functions)s)
ORDER BY p.proname, 2
"""

# A rule rewrites the services' statements (DO INSTEAD NOTHING silently drops them). Views' own
# _RETURN rules are how views work, not a rule anyone added.
_RULES = """
SELECT c.relname, r.rulename, pg_get_ruledef(r.oid), r.ev_enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s) AND r.rulename <> '_RETURN'
ORDER BY c.relname, r.rulename
"""

_POLICIES = """
SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
FROM pg_policies
WHERE schemaname = current_schema() AND tablename = ANY(%(tables)s)
ORDER BY tablename, policyname
"""

PERSISTENCE = {"p": "LOGGED", "u": "UNLOGGED", "t": "TEMPORARY"}
VOLATILITY = {"v": "VOLATILE", "s": "STABLE", "i": "IMMUTABLE"}

_TRIGGERS = """
SELECT c.relname, tg.tgname, pg_get_triggerdef(tg.oid), tg.tgenabled
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s) AND NOT tg.tgisinternal
ORDER BY c.relname, tg.tgname
"""

_SEQUENCES = """
SELECT s.relname, format_type(seq.seqtypid, NULL), dep_table.relname, dep_col.attname,
       seq.seqstart, seq.seqincrement, seq.seqmin, seq.seqmax, seq.seqcache, seq.seqcycle
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
    for table, persistence, row_security, forced, parents, children in rows(_TABLES):
        snapshot["tables"][table] = {
            **_empty_table(),
            "persistence": PERSISTENCE.get(persistence, persistence),
            "row_security": "enabled" if row_security else "disabled",
            "force_row_security": "forced" if forced else "not forced",
            "inherits": list(parents),
            "inherited_by": list(children),
        }
    for table, _num, name, type_, notnull, default, identity, generated, collation in rows(
        _COLUMNS
    ):
        column = {
            "name": name,
            "type": type_,
            "not_null": notnull,
            "default": default,
            "identity": identity or None,
            "generated": generated or None,
        }
        if collation:
            column["collation"] = collation
        snapshot["tables"].setdefault(table, _empty_table())["columns"].append(column)
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
    for table, name, definition, enabled in rows(_RULES):
        snapshot["tables"].setdefault(table, _empty_table())["rules"][name] = {
            "definition": definition,
            "enabled": enabled,
        }
    for table, name, permissive, roles, command, using, with_check in rows(_POLICIES):
        snapshot["tables"].setdefault(table, _empty_table())["policies"][name] = {
            "permissive": permissive,
            "roles": list(roles),
            "command": command,
            "using": using,
            "with_check": with_check,
        }
    for name, labels in rows(_ENUMS):
        snapshot["enums"][name] = list(labels)
    for name, arguments, returns, language, body, definer, volatile, strict, settings in rows(
        _FUNCTIONS
    ):
        # Keyed by name and argument types: an overload is another function, not this one.
        snapshot["functions"][f"{name}({arguments})"] = {
            "arguments": arguments,
            "returns": returns,
            "language": language,
            "body": _normalise_body(body),
            "security": "SECURITY DEFINER" if definer else "SECURITY INVOKER",
            "volatility": VOLATILITY.get(volatile, volatile),
            "null_input": "STRICT" if strict else "CALLED ON NULL INPUT",
            "settings": list(settings or []),
        }
    for name, type_, owner_table, owner_column, *settings in rows(_SEQUENCES):
        start, increment, minimum, maximum, cache, cycle = settings
        snapshot["sequences"][name] = {
            "type": type_,
            "owned_by": f"{owner_table}.{owner_column}" if owner_table else None,
            # The sequence's shape, not its position: last_value is data and is left out.
            "start": start,
            "increment": increment,
            "min": minimum,
            "max": maximum,
            "cache": cache,
            "cycle": cycle,
        }
    return snapshot


def _empty_table():
    return {
        "columns": [],
        "constraints": {},
        "indexes": {},
        "triggers": {},
        "rules": {},
        "policies": {},
    }


TRIGGER_STATES = {
    "O": "enabled",
    "D": "disabled",
    "R": "enabled on replicas only",
    "A": "enabled always (also on replicas)",
}


@dataclasses.dataclass(frozen=True)
class Difference:
    """One way a database differs from what was expected.

    ``kind`` is the object kind (table, column, constraint, index, trigger, rule, policy, enum,
    function, sequence, migration_state), ``name`` the object (``table.column`` for columns,
    ``table.name`` for rules and policies, ``name(argument types)`` for functions), ``description``
    one readable sentence. ``fix_sql`` is set only where a repair exists that neither drops nor
    rewrites anything (a missing index or trigger, a disabled trigger, a missing default); it is
    advice, never run unless an operator asks for it.
    """

    kind: str
    name: str
    description: str
    expected: object = None
    actual: object = None
    fix_sql: str | None = None

    def as_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        return f"{self.kind} {self.name}: {self.description}"


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


def concurrent_index_sql(definition):
    """``CREATE [UNIQUE] INDEX CONCURRENTLY ...`` from ``pg_get_indexdef``'s text.

    Concurrent builds do not block the services' writes; they cannot run in a transaction.
    """
    for prefix in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(prefix):
            return f"{prefix}CONCURRENTLY {definition[len(prefix) :]};"
    return f"{definition};"


def compare_snapshots(expected, actual):
    """Every difference between two snapshots as ``Difference`` objects (empty when they match)."""
    differences = []
    add = differences.append

    for table in sorted(expected["tables"].keys() | actual["tables"].keys()):
        if table not in actual["tables"]:
            add(Difference("table", table, "table is missing", expected=table))
        elif table not in expected["tables"]:
            add(Difference("table", table, "table is not expected here", actual=table))
        else:
            differences.extend(
                _compare_table(table, expected["tables"][table], actual["tables"][table])
            )
    differences.extend(_compare_enums(expected["enums"], actual["enums"]))
    differences.extend(
        _compare_named("function", expected["functions"], actual["functions"], _describe_fields)
    )
    differences.extend(
        _compare_named("sequence", expected["sequences"], actual["sequences"], _describe_fields)
    )
    return differences


# Table and function properties: how a change reads. Other fields say "<field> differs: ...".
TABLE_PROPERTIES = ("persistence", "row_security", "force_row_security", "inherits", "inherited_by")
_PHRASES = {
    "persistence": "table is {actual}, expected {expected}",
    "row_security": "row level security is {actual}, expected {expected}",
    "force_row_security": "row level security on the table owner is {actual}, expected {expected}",
    "inherits": "inherits from {actual}, expected {expected}",
    "inherited_by": "inherited by {actual}, expected {expected}",
    "collation": "collation is {actual}, expected {expected}",
    "security": "function is {actual}, expected {expected}",
    "volatility": "function is {actual}, expected {expected}",
    "null_input": "function is {actual}, expected {expected}",
    "settings": "function settings are {actual}, expected {expected}",
}


def _phrase(value):
    """A stored value as it reads in a sentence (lists of names, an absent collation)."""
    if value is None:
        return "the default"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return value


def _describe(field, expected, actual):
    if field in _PHRASES:
        return _PHRASES[field].format(expected=_phrase(expected), actual=_phrase(actual))
    return f"{field.replace('_', ' ')} differs: expected {expected!r}, found {actual!r}"


def _describe_fields(kind, name, expected, actual, fields=None):
    """One difference per changed attribute of an object held as a flat dict."""
    return [
        Difference(
            kind,
            name,
            _describe(field, expected.get(field), actual.get(field)),
            expected=expected.get(field),
            actual=actual.get(field),
        )
        for field in (fields or sorted(expected.keys() | actual.keys()))
        if expected.get(field) != actual.get(field)
    ]


def _compare_named(kind, expected, actual, compare_one, missing_fix=None):
    differences = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            fix = missing_fix(name, expected[name]) if missing_fix else None
            differences.append(
                Difference(kind, name, "is missing", expected=expected[name], fix_sql=fix)
            )
        elif name not in expected:
            differences.append(Difference(kind, name, "is not expected", actual=actual[name]))
        else:
            differences.extend(compare_one(kind, name, expected[name], actual[name]))
    return differences


def _compare_table(table, expected, actual):
    differences = _describe_fields("table", table, expected, actual, TABLE_PROPERTIES)
    expected_columns = {column["name"]: column for column in expected["columns"]}
    actual_columns = {column["name"]: column for column in actual["columns"]}
    for name in [*expected_columns, *(c for c in actual_columns if c not in expected_columns)]:
        qualified = f"{table}.{name}"
        if name not in actual_columns:
            differences.append(
                Difference(
                    "column", qualified, "column is missing", expected=expected_columns[name]
                )
            )
        elif name not in expected_columns:
            differences.append(
                Difference(
                    "column", qualified, "column is not expected", actual=actual_columns[name]
                )
            )
        else:
            differences.extend(
                _compare_column(table, name, expected_columns[name], actual_columns[name])
            )
    shared_expected = [name for name in expected_columns if name in actual_columns]
    shared_actual = [name for name in actual_columns if name in expected_columns]
    if shared_expected != shared_actual:
        differences.append(
            Difference(
                "table",
                table,
                f"column order differs: expected {shared_expected}, found {shared_actual}",
                expected=shared_expected,
                actual=shared_actual,
            )
        )

    differences.extend(
        _compare_named(
            "constraint", expected["constraints"], actual["constraints"], _describe_fields
        )
    )
    differences.extend(
        _compare_named(
            "index",
            expected["indexes"],
            actual["indexes"],
            _compare_index,
            missing_fix=lambda _name, index: concurrent_index_sql(index["definition"]),
        )
    )
    differences.extend(
        _compare_named(
            "trigger",
            expected["triggers"],
            actual["triggers"],
            lambda kind, name, left, right: _compare_trigger(table, name, left, right),
            missing_fix=lambda _name, trigger: (
                f"{trigger['definition']};" if trigger["enabled"] == "O" else None
            ),
        )
    )
    # Rule and policy names are only unique per table: name them with it.
    for kind, key in (("rule", "rules"), ("policy", "policies")):
        differences.extend(
            _compare_named(
                kind,
                {f"{table}.{name}": item for name, item in expected.get(key, {}).items()},
                {f"{table}.{name}": item for name, item in actual.get(key, {}).items()},
                _describe_fields,
            )
        )
    return differences


def _compare_column(table, name, expected, actual):
    differences = []
    qualified = f"{table}.{name}"
    for field in ("type", "collation", "not_null", "default", "identity", "generated"):
        left, right = expected.get(field), actual.get(field)
        if left == right:
            continue
        fix = None
        if field == "default" and right is None:
            # Adding a missing default changes no row and takes only a brief lock.
            fix = (
                f"ALTER TABLE {quote_identifier(table)} ALTER COLUMN "
                f"{quote_identifier(name)} SET DEFAULT {left};"
            )
        differences.append(
            Difference(
                "column",
                qualified,
                _describe(field, left, right),
                expected=left,
                actual=right,
                fix_sql=fix,
            )
        )
    return differences


def _compare_index(kind, name, expected, actual):
    differences = []
    if expected["definition"] != actual["definition"]:
        differences.append(
            Difference(
                kind,
                name,
                f"definition differs: expected {expected['definition']!r}, "
                f"found {actual['definition']!r}",
                expected=expected["definition"],
                actual=actual["definition"],
            )
        )
    if expected["valid"] and not actual["valid"]:
        differences.append(
            Difference(
                kind,
                name,
                "index is invalid (a failed concurrent build?): queries do not use it",
                expected=True,
                actual=False,
                fix_sql=f"REINDEX INDEX CONCURRENTLY {quote_identifier(name)};",
            )
        )
    elif expected["valid"] != actual["valid"]:
        differences.append(
            Difference(
                kind,
                name,
                f"validity differs: expected {expected['valid']}, found {actual['valid']}",
                expected=expected["valid"],
                actual=actual["valid"],
            )
        )
    return differences


def _compare_trigger(table, name, expected, actual):
    differences = []
    if expected["definition"] != actual["definition"]:
        differences.append(
            Difference(
                "trigger",
                name,
                f"definition differs: expected {expected['definition']!r}, "
                f"found {actual['definition']!r}",
                expected=expected["definition"],
                actual=actual["definition"],
            )
        )
    if expected["enabled"] != actual["enabled"]:
        left = TRIGGER_STATES.get(expected["enabled"], expected["enabled"])
        right = TRIGGER_STATES.get(actual["enabled"], actual["enabled"])
        fix = None
        if expected["enabled"] == "O":
            fix = f"ALTER TABLE {quote_identifier(table)} ENABLE TRIGGER {quote_identifier(name)};"
        differences.append(
            Difference(
                "trigger",
                name,
                f"trigger is {right}, expected {left}",
                expected=expected["enabled"],
                actual=actual["enabled"],
                fix_sql=fix,
            )
        )
    return differences


def _compare_enums(expected, actual):
    def compare_labels(kind, name, left, right):
        if left == right:
            return []
        extra = [label for label in right if label not in left]
        missing = [label for label in left if label not in right]
        parts = []
        if extra:
            parts.append(f"unexpected labels {extra}")
        if missing:
            parts.append(f"missing labels {missing}")
        if not parts:
            parts.append("labels are in a different order")
        return [
            Difference(
                kind,
                name,
                f"{'; '.join(parts)}: expected {left}, found {right}",
                expected=left,
                actual=right,
            )
        ]

    return _compare_named("enum", expected, actual, compare_labels)


def diff_snapshots(expected, actual):
    """Every difference between two snapshots, as readable lines (empty when they match).

    A path-by-path listing for tests and reviews; ``compare_snapshots`` gives the same findings
    as structured ``Difference`` objects with object kinds and safe fixes.
    """
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
