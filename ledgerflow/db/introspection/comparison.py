"""Comparing snapshots: every difference named as a ``Difference``, with a repair where one
exists that neither drops nor rewrites anything."""

import dataclasses

from ledgerflow.db.introspection.snapshot import PUBLIC
from ledgerflow.sql import quote_ident, quote_literal

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
    function, sequence, grant, migration_state), ``name`` the object (``table.column`` for
    columns, ``table.name`` for rules and policies, ``name(argument types)`` for functions, the
    table for grants), ``description`` one readable sentence. ``fix_sql`` is set only where a
    repair exists that neither drops nor rewrites anything (a missing index or trigger, a disabled
    trigger, a missing default, storage parameters, column storage or compression, a sequence
    behind its column, privileges); it is advice, never run unless an operator asks for it.
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


def concurrent_index_sql(definition):
    """``CREATE [UNIQUE] INDEX CONCURRENTLY ...`` from ``pg_get_indexdef``'s text.

    Concurrent builds do not block the services' writes; they cannot run in a transaction.
    """
    for prefix in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(prefix):
            return f"{prefix}CONCURRENTLY {definition[len(prefix) :]};"
    return f"{definition};"


def quoted_in_schema(name, schema=None):
    """``name`` quoted, and qualified with ``schema`` when one is given: the fixes for a schema
    other than the connection's own (``ledgerflow_v2``) must never reach the v1 tables of the
    same names."""
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def compare_snapshots(expected, actual, schema=None):
    """Every difference between two snapshots as ``Difference`` objects (empty when they match).
    ``schema``: the schema both were read from, when it is not the connection's current one (the
    fixes then name it)."""
    differences = []
    add = differences.append

    for table in sorted(expected["tables"].keys() | actual["tables"].keys()):
        if table not in actual["tables"]:
            add(Difference("table", table, "table is missing", expected=table))
        elif table not in expected["tables"]:
            add(Difference("table", table, "table is not expected here", actual=table))
        else:
            differences.extend(
                _compare_table(table, expected["tables"][table], actual["tables"][table], schema)
            )
    differences.extend(_compare_enums(expected["enums"], actual["enums"]))
    differences.extend(
        _compare_named("function", expected["functions"], actual["functions"], _describe_fields)
    )
    differences.extend(
        _compare_named("sequence", expected["sequences"], actual["sequences"], _describe_fields)
    )
    return differences


def grant_notes(expected, actual):
    """Privileges held by roles other than the owner and PUBLIC that differ between the
    snapshots, as ``Difference`` objects that are notes, not drift.

    The migrations grant nothing, yet a deployment may grant its service or reporting roles what
    they need, so such grants are named without failing a drift check. Grants to PUBLIC and
    privileges revoked from the owner are drift (``compare_snapshots``).
    """
    notes = []
    for table in sorted(expected["tables"].keys() & actual["tables"].keys()):
        wanted = _role_grants(expected["tables"][table])
        found = _role_grants(actual["tables"][table])
        for role in sorted(wanted.keys() | found.keys()):
            left, right = wanted.get(role, []), found.get(role, [])
            if left == right:
                continue
            holds = f"{role} holds {_phrase(right) if right else 'nothing'}"
            if left:
                description = f"{holds}, expected {_phrase(left)} (a note, not drift)"
            else:
                description = (
                    f"{holds}, which the migrations do not grant (a deployment's grant: a note, "
                    "not drift)"
                )
            notes.append(Difference("grant", table, description, expected=left, actual=right))
    return notes


def _role_grants(table):
    return {
        role: privileges for role, privileges in table.get("grants", {}).items() if role != PUBLIC
    }


def sequence_positions(cursor, snapshot, schema=None):
    """``(differences, notes)`` for the sequences in ``snapshot`` that feed a column: a
    difference for each whose next value is already taken in that column (after a restore or a
    hand-run setval, the next insert that takes its id from the sequence fails with a duplicate
    key); a note for each this role may not read.

    Positions are data, not shape, so they are read live and never stored in a snapshot. A
    sequence only moves forward, so reading it after the column's maximum (in the same
    snapshot or later) never reports a sequence in ordinary use. ``schema`` as in
    ``compare_snapshots``.
    """
    differences, notes = [], []
    for name, sequence in sorted(snapshot["sequences"].items()):
        if sequence["owned_by"] is None or sequence["increment"] <= 0:
            continue
        table, column = sequence["owned_by"].split(".", 1)
        cursor.execute(
            "SELECT has_sequence_privilege(%s, 'SELECT') "
            "AND has_column_privilege(%s, %s, 'SELECT')",
            [quoted_in_schema(name, schema), quoted_in_schema(table, schema), column],
        )
        if not cursor.fetchone()[0]:
            notes.append(
                Difference(
                    "sequence",
                    name,
                    f"position not checked: this role may not read {name} and "
                    f"{sequence['owned_by']}",
                )
            )
            continue
        cursor.execute(
            f"SELECT (SELECT max({quote_ident(column)}) FROM {quoted_in_schema(table, schema)}), "
            "CASE WHEN is_called THEN last_value + %s ELSE last_value END "
            f"FROM {quoted_in_schema(name, schema)}",
            [sequence["increment"]],
        )
        highest, next_value = cursor.fetchone()
        if highest is not None and next_value <= highest:
            differences.append(
                Difference(
                    "sequence",
                    name,
                    f"next value {next_value} is already taken in {sequence['owned_by']} "
                    f"(max {highest}): the next insert that takes its id from the sequence "
                    "fails with a duplicate key",
                    expected=highest,
                    actual=next_value,
                    # max() when the fix runs, not now: rows may have been added since.
                    fix_sql=f"SELECT setval({quote_literal(quoted_in_schema(name, schema))}, "
                    f"(SELECT max({quote_ident(column)}) FROM {quoted_in_schema(table, schema)}));",
                )
            )
    return differences, notes


# Table and function properties: how a change reads. Other fields say "<field> differs: ...".
TABLE_PROPERTIES = ("persistence", "row_security", "force_row_security", "inherits", "inherited_by")
_PHRASES = {
    "persistence": "table is {actual}, expected {expected}",
    "row_security": "row level security is {actual}, expected {expected}",
    "force_row_security": "row level security on the table owner is {actual}, expected {expected}",
    "inherits": "inherits from {actual}, expected {expected}",
    "inherited_by": "inherited by {actual}, expected {expected}",
    "collation": "collation is {actual}, expected {expected}",
    "compression": "compression is {actual}, expected {expected}",
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


def _compare_table(table, expected, actual, schema=None):
    differences = _describe_fields("table", table, expected, actual, TABLE_PROPERTIES)
    differences.extend(
        _compare_storage_parameters(
            "table", table, f"ALTER TABLE {quoted_in_schema(table, schema)}", expected, actual
        )
    )
    differences.extend(_compare_privileges(table, expected, actual, schema))
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
                _compare_column(table, name, expected_columns[name], actual_columns[name], schema)
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
            lambda kind, name, left, right: _compare_index(kind, name, left, right, schema),
            missing_fix=lambda _name, index: concurrent_index_sql(index["definition"]),
        )
    )
    differences.extend(
        _compare_named(
            "trigger",
            expected["triggers"],
            actual["triggers"],
            lambda kind, name, left, right: _compare_trigger(table, name, left, right, schema),
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


def _compare_column(table, name, expected, actual, schema=None):
    differences = []
    qualified = f"{table}.{name}"
    alter = f"ALTER TABLE {quoted_in_schema(table, schema)} ALTER COLUMN {quote_ident(name)}"
    for field in (
        "type",
        "collation",
        "not_null",
        "default",
        "identity",
        "generated",
        "storage",
        "compression",
    ):
        left, right = expected.get(field), actual.get(field)
        if left == right:
            continue
        fix = None
        description = _describe(field, left, right)
        if field == "default" and right is None:
            # Adding a missing default changes no row and takes only a brief lock.
            fix = f"{alter} SET DEFAULT {left};"
        elif field == "storage":
            # Storage and compression apply to values written from now on: no row is rewritten
            # and, as for a default, the lock is brief.
            description = (
                f"storage is {_storage_phrase(right, left)}, "
                f"expected {_storage_phrase(left, right)}"
            )
            fix = f"{alter} SET STORAGE {left['method'] if left else right['type_default']};"
        elif field == "compression":
            fix = f"{alter} SET COMPRESSION {left or 'default'};"
        differences.append(
            Difference(
                "column",
                qualified,
                description,
                expected=left,
                actual=right,
                fix_sql=fix,
            )
        )
    return differences


def _storage_phrase(storage, other):
    """``EXTERNAL`` for a storage a column sets, ``EXTENDED (the type's default)`` for one that
    sets none (read from the other side, which holds the type's default)."""
    if storage:
        return storage["method"]
    return f"{other['type_default']} (the type's default)"


def _compare_storage_parameters(kind, name, alter, expected, actual):
    """A difference in storage parameters, with the ``ALTER TABLE|INDEX`` that restores them:
    RESET what is unexpected, SET what differs. No row is rewritten (the values apply to pages
    written from then on), and fillfactor and the autovacuum settings take only a SHARE UPDATE
    EXCLUSIVE lock, which lets reads and writes go on."""
    left, right = expected.get("storage_parameters", []), actual.get("storage_parameters", [])
    if left == right:
        return []
    wanted = dict(option.split("=", 1) for option in left)
    found = dict(option.split("=", 1) for option in right)
    actions = []
    unexpected = [option for option in found if option not in wanted]
    if unexpected:
        actions.append(f"RESET ({', '.join(unexpected)})")
    differing = [
        f"{option} = {quote_literal(value)}"
        for option, value in wanted.items()
        if found.get(option) != value
    ]
    if differing:
        actions.append(f"SET ({', '.join(differing)})")
    return [
        Difference(
            kind,
            name,
            f"storage parameters are {_phrase(right)}, expected {_phrase(left)}",
            expected=left,
            actual=right,
            fix_sql=f"{alter} {', '.join(actions)};",
        )
    ]


def _compare_privileges(table, expected, actual, schema=None):
    """Privileges revoked from the table owner, and those of PUBLIC (every role)."""
    differences = []
    quoted = quoted_in_schema(table, schema)
    left, right = expected.get("owner_revoked", []), actual.get("owner_revoked", [])
    revoked = [privilege for privilege in right if privilege not in left]
    if revoked:
        # The owner's name is no part of a snapshot (it differs between deployments): the fix
        # reads it where it runs.
        grant = f"GRANT {', '.join(revoked)} ON TABLE {quoted} TO %s"
        differences.append(
            Difference(
                "grant",
                table,
                f"privileges revoked from the table owner: {', '.join(revoked)}",
                expected=left,
                actual=right,
                fix_sql=f"DO $$BEGIN EXECUTE format({quote_literal(grant)}, "
                "(SELECT relowner::regrole FROM pg_class WHERE oid = "
                f"{quote_literal(quoted)}::regclass)); END$$;",
            )
        )
    restored = [privilege for privilege in left if privilege not in right]
    if restored:
        differences.append(
            Difference(
                "grant",
                table,
                f"the table owner holds {', '.join(restored)}, expected them revoked",
                expected=left,
                actual=right,
            )
        )
    left = expected.get("grants", {}).get(PUBLIC, [])
    right = actual.get("grants", {}).get(PUBLIC, [])
    if left != right:
        statements = []
        extra = [privilege for privilege in right if privilege not in left]
        if extra:
            statements.append(f"REVOKE {', '.join(extra)} ON TABLE {quoted} FROM PUBLIC;")
        missing = [privilege for privilege in left if privilege not in right]
        if missing:
            statements.append(f"GRANT {', '.join(missing)} ON TABLE {quoted} TO PUBLIC;")
        differences.append(
            Difference(
                "grant",
                table,
                f"privileges granted to PUBLIC (every role): {_phrase(right)}, "
                f"expected {_phrase(left)}",
                expected=left,
                actual=right,
                fix_sql=" ".join(statements),
            )
        )
    return differences


def _compare_index(kind, name, expected, actual, schema=None):
    differences = _compare_storage_parameters(
        kind, name, f"ALTER INDEX {quoted_in_schema(name, schema)}", expected, actual
    )
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
                fix_sql=f"REINDEX INDEX CONCURRENTLY {quoted_in_schema(name, schema)};",
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


def _compare_trigger(table, name, expected, actual, schema=None):
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
            fix = (
                f"ALTER TABLE {quoted_in_schema(table, schema)} ENABLE TRIGGER {quote_ident(name)};"
            )
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
