"""An OID-free picture of everything a database's own schemas hold, read from ``pg_catalog``.

Unlike ``schema_snapshot`` (the five LedgerFlow tables, for drift checks), this covers every object
outside PostgreSQL's own schemas — schemas, relations, every column including *dropped* ones (their
``attnum`` stays taken, so a table rebuilt without them differs in its physical layout), defaults,
constraints, indexes, triggers, functions, types, sequences with their positions and owners,
views, rules, policies, privileges, comments and extensions — each described by name and by
PostgreSQL's own ``pg_get_*def`` text, never by OID. Two databases with equal fingerprints were
built alike: the schema-load fast path is checked against a replayed ``migrate`` with it.
"""

# Schemas of PostgreSQL itself, and objects that belong to an extension (the extension is listed).
_OURS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%' "
    "AND n.nspname NOT LIKE 'pg\\_temp\\_%%'"
)


def _member(catalog, column="o.oid"):
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
        f"AND d.objid = {column} AND d.deptype = 'e')"
    )


_QUERIES = {
    "schemas": f"""
        SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text,
               obj_description(n.oid, 'pg_namespace')
        FROM pg_namespace n WHERE {_OURS} ORDER BY 1""",
    "relations": f"""
        SELECT n.nspname, o.relname, o.relkind, o.relpersistence, o.reloptions::text,
               o.relacl::text, o.relreplident, o.relrowsecurity, o.relforcerowsecurity,
               o.relispartition, o.reltoastrelid <> 0, pg_get_userbyid(o.relowner),
               obj_description(o.oid, 'pg_class'), am.amname
        FROM pg_class o JOIN pg_namespace n ON n.oid = o.relnamespace
        LEFT JOIN pg_am am ON am.oid = o.relam
        WHERE {_OURS} AND {_member("pg_class")} ORDER BY 1, 2""",
    "columns": f"""
        SELECT n.nspname, o.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
               a.attisdropped, a.attlen, a.attalign, a.attstorage, co.collname, a.attacl::text,
               -- some server builds stamp every column with a per-database pg_attver option
               (SELECT array_agg(x ORDER BY x) FROM unnest(a.attoptions) x
                WHERE x NOT LIKE 'pg\\_attver=%%')::text,
               col_description(o.oid, a.attnum)
        FROM pg_attribute a JOIN pg_class o ON o.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = o.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
        WHERE a.attnum > 0 AND {_OURS} AND {_member("pg_class")} ORDER BY 1, 2, 3""",
    "constraints": f"""
        SELECT n.nspname, coalesce(r.relname, t.typname), o.conname, o.contype,
               pg_get_constraintdef(o.oid), o.condeferrable, o.condeferred, o.convalidated,
               o.conislocal, o.connoinherit, i.relname, obj_description(o.oid, 'pg_constraint')
        FROM pg_constraint o JOIN pg_namespace n ON n.oid = o.connamespace
        LEFT JOIN pg_class r ON r.oid = o.conrelid LEFT JOIN pg_type t ON t.oid = o.contypid
        LEFT JOIN pg_class i ON i.oid = o.conindid
        WHERE {_OURS} ORDER BY 1, 2, 3, 5""",
    "indexes": f"""
        SELECT n.nspname, c.relname, pg_get_indexdef(x.indexrelid), x.indisvalid, x.indisready,
               x.indisprimary, x.indisunique, x.indisclustered, x.indisreplident
        FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_OURS} ORDER BY 1, 2""",
    "triggers": f"""
        SELECT n.nspname, c.relname, o.tgname, pg_get_triggerdef(o.oid), o.tgenabled
        FROM pg_trigger o JOIN pg_class c ON c.oid = o.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT o.tgisinternal AND {_OURS} ORDER BY 1, 2, 3""",
    "functions": f"""
        SELECT n.nspname, o.proname, pg_get_function_identity_arguments(o.oid), o.prokind,
               CASE WHEN o.prokind IN ('f', 'p') THEN pg_get_functiondef(o.oid) END,
               o.proacl::text, pg_get_userbyid(o.proowner), obj_description(o.oid, 'pg_proc')
        FROM pg_proc o JOIN pg_namespace n ON n.oid = o.pronamespace
        WHERE {_OURS} AND {_member("pg_proc")} ORDER BY 1, 2, 3""",
    "types": f"""
        SELECT n.nspname, o.typname, o.typtype, format_type(o.typbasetype, o.typtypmod),
               o.typnotnull, o.typdefault, o.typacl::text, obj_description(o.oid, 'pg_type'),
               (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
                WHERE e.enumtypid = o.oid)
        FROM pg_type o JOIN pg_namespace n ON n.oid = o.typnamespace
        WHERE {_OURS} AND {_member("pg_type")} AND o.typtype IN ('e', 'd', 'r', 'm')
        ORDER BY 1, 2""",
    "sequences": f"""
        SELECT s.schemaname, s.sequencename, s.data_type::text, s.start_value, s.min_value,
               s.max_value, s.increment_by, s.cycle, s.cache_size, s.last_value,
               (SELECT r.relname || '.' || a.attname || ':' || d.deptype::text FROM pg_depend d
                JOIN pg_class r ON r.oid = d.refobjid
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
        FROM pg_sequences s
        JOIN pg_namespace n ON n.nspname = s.schemaname
        JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid
        WHERE {_OURS} ORDER BY 1, 2""",
    "views": f"""
        SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {_OURS} ORDER BY 1, 2""",
    "rules": f"""
        SELECT n.nspname, c.relname, o.rulename, pg_get_ruledef(o.oid)
        FROM pg_rewrite o JOIN pg_class c ON c.oid = o.ev_class
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE o.rulename <> '_RETURN' AND {_OURS} ORDER BY 1, 2, 3""",
    "policies": """
        SELECT schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
        FROM pg_policies ORDER BY 1, 2, 3""",
    "default_privileges": """
        SELECT pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, d.defaclacl::text
        FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        ORDER BY 1, 2, 3""",
    "extensions": """
        SELECT e.extname, e.extversion, n.nspname FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1""",
}


def catalogue_fingerprint(cursor):
    """``{kind: [row, ...]}`` of every object in the database's own schemas (see the module doc),
    as lists of plain values: equal fingerprints mean databases built alike."""
    fingerprint = {}
    for kind, sql in _QUERIES.items():
        cursor.execute(sql)
        fingerprint[kind] = [list(row) for row in cursor.fetchall()]
    return fingerprint


def dropped_columns(cursor):
    """``{(schema, table): [(attnum, type), ...]}`` of the dropped columns of the database's own
    tables, each with a type of the same storage length and alignment as the one dropped (the
    type itself is forgotten when a column is dropped), so that a table rebuilt from a dump can
    take and drop a column in the same place."""
    cursor.execute(
        f"""
        SELECT n.nspname, o.relname, a.attnum, a.attlen, o.reltoastrelid <> 0,
               (SELECT format_type(t.oid, NULL) FROM pg_type t
                WHERE t.typlen = a.attlen AND t.typalign = a.attalign AND t.typtype = 'b'
                  AND t.typnamespace = 'pg_catalog'::regnamespace AND t.typelem = 0
                  AND t.typisdefined
                ORDER BY t.typname = 'text' DESC, t.typname = 'int4' DESC, t.typname
                LIMIT 1)
        FROM pg_attribute a JOIN pg_class o ON o.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = o.relnamespace
        WHERE a.attisdropped AND a.attnum > 0 AND o.relkind IN ('r', 'p') AND {_OURS}
        ORDER BY 1, 2, 3"""
    )
    found = {}
    for schema, table, attnum, length, toasted, type_ in cursor.fetchall():
        if length == -1 and not toasted:
            # An unbounded type would give the table a TOAST table the replayed one lacks.
            type_ = "character varying(1)"
        found.setdefault((schema, table), []).append((attnum, type_))
    return found


def is_empty(cursor):
    """Whether the database's own schemas hold nothing: no relation, function or type (other than
    an extension's), and no schema but ``public``."""
    cursor.execute(
        f"""
        SELECT NOT EXISTS (SELECT 1 FROM pg_class o JOIN pg_namespace n ON n.oid = o.relnamespace
                           WHERE {_OURS} AND {_member("pg_class")})
           AND NOT EXISTS (SELECT 1 FROM pg_proc o JOIN pg_namespace n ON n.oid = o.pronamespace
                           WHERE {_OURS} AND {_member("pg_proc")})
           AND NOT EXISTS (SELECT 1 FROM pg_type o JOIN pg_namespace n ON n.oid = o.typnamespace
                           WHERE {_OURS} AND {_member("pg_type")} AND o.typrelid = 0
                             AND o.typelem = 0)
           AND NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE {_OURS} AND n.nspname <> 'public')"""
    )
    return cursor.fetchone()[0]
