"""The snapshot: a normalised picture of the LedgerFlow objects in a live database, read from
``pg_catalog`` (see the package's docstring for what it holds)."""

from ledgerflow.db.tables import PROJECT_TABLES

LEDGERFLOW_ENUMS = ("order_status",)
LEDGERFLOW_FUNCTIONS = ("update_updated_at_column",)
# How a snapshot names the grantee that stands for every role.
PUBLIC = "PUBLIC"

# Table-wide properties that change how the services' SQL behaves: UNLOGGED tables lose their
# rows on a crash; row level security filters or refuses rows; a parent's queries also read
# (and its UPDATE/DELETE also change) the rows of tables that inherit from it. Storage parameters
# (fillfactor, autovacuum_enabled, also those of the TOAST table, as ``toast.<name>``) change
# how rows are packed and whether dead ones are ever cleaned up. The owner's privileges that are
# gone from the table's ACL: revoking its own INSERT from the owner stops every writer that
# connects as it. Then the privileges held by anyone else (PUBLIC is every role); a NULL ACL is
# the default, the owner's privileges only, which aclexplode(NULL) turns into no rows.
_TABLES = """
SELECT c.relname, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
       ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno),
       ARRAY(SELECT i.inhrelid::regclass::text FROM pg_inherits i
             WHERE i.inhparent = c.oid ORDER BY 1),
       ARRAY(SELECT option FROM unnest(c.reloptions) option
             UNION ALL
             SELECT 'toast.' || option FROM pg_class toast, unnest(toast.reloptions) option
             WHERE toast.oid = c.reltoastrelid
             ORDER BY 1),
       ARRAY(SELECT d.privilege_type FROM aclexplode(acldefault('r', c.relowner)) d
             WHERE c.relacl IS NOT NULL
             EXCEPT
             SELECT a.privilege_type FROM aclexplode(c.relacl) a WHERE a.grantee = c.relowner
             ORDER BY 1),
       (SELECT json_object_agg(grantee, privileges ORDER BY grantee) FROM (
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                   array_agg(DISTINCT a.privilege_type ORDER BY a.privilege_type)
            FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner GROUP BY 1
        ) AS grants (grantee, privileges))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s)
ORDER BY c.relname
"""

# format_type() drops a column's collation, yet a collation changes comparisons, ordering and
# (when nondeterministic) which values a unique key treats as equal. It is read only when it is
# not the type's own default, so ordinary columns carry no collation entry at all. Storage
# (PLAIN keeps long values in the row, where they no longer fit; EXTERNAL stops compressing
# them) and compression are read the same way: only when not the default.
_COLUMNS = """
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END, t.typstorage,
       CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s)
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


def _without_storage_parameters(definition, index):
    """SQL for ``definition`` without the `` WITH (...)`` that pg_get_indexdef and
    pg_get_constraintdef print for the storage parameters of ``index`` (a pg_class row), which
    are read and compared on their own (with a fix). The clause is rebuilt exactly as PostgreSQL
    prints it (flatten_reloptions: values quoted unless they are plain identifiers)."""
    return f"""CASE WHEN {index}.reloptions IS NULL THEN {definition} ELSE replace(
           {definition},
           ' WITH (' || (SELECT string_agg(o.option_name || '=' || CASE
                             WHEN quote_ident(o.option_value) = o.option_value
                             THEN o.option_value ELSE quote_literal(o.option_value) END, ', ')
                         FROM pg_options_to_table({index}.reloptions) o) || ')',
           '') END"""


# PostgreSQL 18 also keeps NOT NULL as constraints (contype 'n', named <table>_<column>_not_null)
# in pg_constraint; each column's not_null already says it, on every version, so they are left out
# and snapshots of the same schema are equal on 14 to 18.
_CONSTRAINTS = f"""
SELECT c.relname, con.conname, con.contype,
       {_without_storage_parameters("pg_get_constraintdef(con.oid)", "ci")}
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class ci ON ci.oid = con.conindid
WHERE n.nspname = current_schema() AND c.relname = ANY(%(tables)s) AND con.contype <> 'n'
ORDER BY c.relname, con.conname
"""

_INDEXES = f"""
SELECT t.relname, i.relname, {_without_storage_parameters("pg_get_indexdef(ix.indexrelid)", "i")},
       ix.indisvalid, ARRAY(SELECT option FROM unnest(i.reloptions) option ORDER BY 1)
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
STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
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


def schema_snapshot(cursor, tables=PROJECT_TABLES):
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
    for table, persistence, row_security, forced, parents, children, *rest in rows(_TABLES):
        storage_parameters, owner_revoked, grants = rest
        snapshot["tables"][table] = {
            **_empty_table(),
            "persistence": PERSISTENCE.get(persistence, persistence),
            "row_security": "enabled" if row_security else "disabled",
            "force_row_security": "forced" if forced else "not forced",
            "inherits": list(parents),
            "inherited_by": list(children),
        }
        if storage_parameters:
            snapshot["tables"][table]["storage_parameters"] = list(storage_parameters)
        if owner_revoked:
            snapshot["tables"][table]["owner_revoked"] = list(owner_revoked)
        if grants:
            snapshot["tables"][table]["grants"] = grants
    for table, _num, name, type_, notnull, default, identity, generated, *rest in rows(_COLUMNS):
        collation, storage, type_storage, compression = rest
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
        if storage:
            # With the type's default: the fix sets it back by name (PostgreSQL 15 has no
            # SET STORAGE DEFAULT).
            column["storage"] = {"method": STORAGE[storage], "type_default": STORAGE[type_storage]}
        if compression:
            column["compression"] = compression
        snapshot["tables"].setdefault(table, _empty_table())["columns"].append(column)
    for table, name, kind, definition in rows(_CONSTRAINTS):
        snapshot["tables"].setdefault(table, _empty_table())["constraints"][name] = {
            "type": kind,
            "definition": definition,
        }
    for table, name, definition, valid, storage_parameters in rows(_INDEXES):
        index = {"definition": definition, "valid": valid}
        if storage_parameters:
            index["storage_parameters"] = list(storage_parameters)
        snapshot["tables"].setdefault(table, _empty_table())["indexes"][name] = index
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
