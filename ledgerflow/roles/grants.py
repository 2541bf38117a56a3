"""The privileges the configured service roles hold on the project's tables, and reconciling
them with what their services need (``services.SERVICES``).

``plan(connection)`` reads the catalogue and says, role by role, what is missing and what is
extra; ``apply(connection)`` runs the GRANTs and REVOKEs that close the gap, checks the result
and commits it as one transaction, or changes nothing.
"""

from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from ledgerflow.db.tables import V2_SCHEMA
from ledgerflow.roles import RoleError
from ledgerflow.roles.services import ALL_SERVICES, configured_services
from ledgerflow.sql import quote_ident

# Two runs granting at once would fail each other with "tuple concurrently updated".
GRANTS_LOCK_KEY = 7_351_992_204_118

# The project's tables (those of the installed models and django_migrations) in the current
# schema, and the sequences they own (serial and identity columns); then schema v2: the schema
# ledgerflow_v2 itself (kind 'n') and every table and sequence in it, named "ledgerflow_v2.<name>".
_MANAGED = """
WITH managed AS (
    SELECT c.oid, c.relname::text AS relname, c.relkind, c.relacl, c.relowner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
      AND c.relname = ANY(%(tables)s)
    UNION ALL
    SELECT s.oid, s.relname::text, s.relkind, s.relacl, s.relowner
    FROM pg_class s
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE s.relkind = 'S' AND n.nspname = current_schema() AND t.relname = ANY(%(tables)s)
    UNION ALL
    SELECT c.oid, n.nspname || '.' || c.relname, c.relkind, c.relacl, c.relowner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %(v2_schema)s AND c.relkind IN ('r', 'p', 'S')
    UNION ALL
    SELECT n.oid, n.nspname::text, 'n', n.nspacl, n.nspowner
    FROM pg_namespace n WHERE n.nspname = %(v2_schema)s
)
"""

_RELATIONS = _MANAGED + "SELECT relname, relkind, pg_get_userbyid(relowner) FROM managed"

# Grants to roles other than the owner and PUBLIC, on the relations and on their columns.
_GRANTS = (
    _MANAGED
    + """
SELECT m.relname, NULL, pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable
FROM managed m, aclexplode(m.relacl) a
WHERE a.grantee NOT IN (0, m.relowner)
UNION ALL
SELECT m.relname, att.attname, pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable
FROM managed m
JOIN pg_attribute att ON att.attrelid = m.oid AND att.attnum > 0 AND NOT att.attisdropped,
     aclexplode(att.attacl) a
WHERE a.grantee NOT IN (0, m.relowner) AND m.relkind <> 'n'
"""
)


# Each role's search_path setting for this database, and its setting for every database (the
# one PostgreSQL applies when there is none for this database).
_SEARCH_PATHS = """
SELECT r.rolname,
       (SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
        WHERE s.setrole = r.oid AND c LIKE 'search\\_path=%%'
          AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())),
       (SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
        WHERE s.setrole = r.oid AND c LIKE 'search\\_path=%%' AND s.setdatabase = 0)
FROM pg_roles r WHERE r.rolname = ANY(%s)
"""

KINDS = {"S": "SEQUENCE", "n": "SCHEMA"}


def quote_relation(relation):
    """A managed relation's name as SQL: the v2 objects are named ``ledgerflow_v2.<name>``."""
    schema, dot, name = relation.partition(".")
    if dot and schema == V2_SCHEMA:
        return f"{quote_ident(schema)}.{quote_ident(name)}"
    return quote_ident(relation)


def search_path_statement(role, database, search_path):
    """The role setting that gives ``role`` ``search_path`` in ``database`` only: a role is
    cluster-wide, and the schema it names exists in this database."""
    return (
        f"ALTER ROLE {quote_ident(role)} IN DATABASE {quote_ident(database)} "
        f"SET search_path = {quote_ident(search_path)}"
    )


def _setting_value(entry):
    """``search_path=ledgerflow_v2`` (as pg_db_role_setting stores it) -> ``ledgerflow_v2``."""
    if entry is None:
        return None
    value = entry.split("=", 1)[1]
    return ",".join(part.strip().strip('"') for part in value.split(","))


def describe_privilege(item):
    relation, column, privilege = item
    return f"{privilege} on {relation}{f'({column})' if column else ''}"


@dataclass
class RolePlan:
    """One configured role: what it lacks, what it holds beyond its needs, the needs whose
    relation does not exist (not migrated yet), and the statements that reconcile it."""

    service: object
    role: str
    missing: list
    extra: list
    grant_options: list
    absent: list
    kinds: dict = field(repr=False)
    # The search_path role setting the service needs and the role lacks (else None), and the
    # setting it has in its place.
    search_path: str | None = None
    current_search_path: str | None = None
    database: str = ""

    def differences(self):
        """One line per difference, for ``--check`` and error messages."""
        name = self.service.name
        return (
            [f"{self.role} lacks {describe_privilege(item)}" for item in self.missing]
            + [
                f"{self.role} holds {describe_privilege(item)}, which the {name}'s statements "
                "do not need"
                for item in self.extra
            ]
            + [
                f"{self.role} may grant {describe_privilege(item)} to others (WITH GRANT OPTION)"
                for item in self.grant_options
            ]
            + (
                [
                    f"{self.role} has search_path "
                    f"{self.current_search_path or 'unset (the server default)'} in this "
                    f"database, not {self.search_path} (the {name}'s unqualified names would not "
                    "resolve in schema v2)"
                ]
                if self.search_path
                else []
            )
        )

    def setting_statements(self):
        if not self.search_path:
            return []
        return [search_path_statement(self.role, self.database, self.search_path)]

    def grant_statements(self):
        return (
            self._render("GRANT {} ON {} {} TO {}", self.missing)
            + self._render("REVOKE GRANT OPTION FOR {} ON {} {} FROM {}", self.grant_options)
            + self._render("REVOKE {} ON {} {} FROM {}", self.extra)
        )

    def statements(self):
        return self.setting_statements() + self.grant_statements()

    def _render(self, template, items):
        """One statement per relation and column, privileges in a stable order."""
        grouped = {}
        for relation, column, privilege in sorted(items, key=lambda i: (i[0], i[1] or "", i[2])):
            grouped.setdefault((relation, column), []).append(privilege)
        statements = []
        for (relation, column), privileges in grouped.items():
            listed = ", ".join(
                f"{privilege} ({quote_ident(column)})" if column else privilege
                for privilege in privileges
            )
            kind = KINDS.get(self.kinds.get(relation), "TABLE")
            statements.append(
                template.format(listed, kind, quote_relation(relation), quote_ident(self.role))
            )
        return statements


@dataclass
class Plan:
    roles: list  # RolePlan per configured service
    unset: list  # services whose setting is not set
    others: dict  # {role: [item, ...]}: grants to roles no setting names (left alone)

    def differences(self):
        return [line for role_plan in self.roles for line in role_plan.differences()]

    def statements(self):
        # Role settings first: when the role running this may not set them, the refusal says so
        # (and how to set them) before any grant is tried.
        return [
            statement
            for part in ("setting_statements", "grant_statements")
            for role_plan in self.roles
            for statement in getattr(role_plan, part)()
        ]


def project_tables(connection):
    """Every table the project's migrations create, by name (they may not exist yet)."""
    from django.db.migrations.recorder import MigrationRecorder

    tables = set(connection.introspection.django_table_names(include_views=False))
    return sorted(tables | {MigrationRecorder.Migration._meta.db_table})


def held_privileges(connection):
    """``{role: {(relation, column or None, privilege): grantable}}`` for every role other than
    the owner and PUBLIC holding a privilege on the project's tables or their sequences."""
    held = {}
    with connection.cursor() as cursor:
        cursor.execute(_GRANTS, {"tables": project_tables(connection), "v2_schema": V2_SCHEMA})
        for relation, column, role, privilege, grantable in cursor.fetchall():
            held.setdefault(role, {})[(relation, column, privilege)] = grantable
    return held


def plan(connection, applying=False):
    """The ``Plan`` for ``connection``'s database; raises ``RoleError`` when a setting names a
    role that is missing or must not be a service role (``applying``: nor the role about to
    grant and revoke). Reads only."""
    services = configured_services()
    with connection.cursor() as cursor:
        tables = {"tables": project_tables(connection), "v2_schema": V2_SCHEMA}
        cursor.execute(_RELATIONS, tables)
        relations = {name: (kind, owner) for name, kind, owner in cursor.fetchall()}
        _refuse_unusable_roles(
            cursor, services, {owner for _, owner in relations.values()}, applying
        )
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(_SEARCH_PATHS, [sorted({service.role for service in services})])
        search_paths = {
            role: _setting_value(here if here is not None else everywhere)
            for role, here, everywhere in cursor.fetchall()
        }
    held = held_privileges(connection)
    kinds = {name: kind for name, (kind, _) in relations.items()}
    roles = []
    for service in services:
        items = service.items()
        present = {item for item in items if item[0] in relations}
        holds = held.pop(service.role, {})
        roles.append(
            RolePlan(
                service=service,
                role=service.role,
                missing=sorted(present - holds.keys(), key=_order),
                extra=sorted(holds.keys() - items, key=_order),
                grant_options=sorted((i for i in present if holds.get(i)), key=_order),
                absent=sorted({relation for relation, _, _ in items - present}),
                kinds=kinds,
                search_path=(
                    service.search_path
                    if service.search_path and search_paths.get(service.role) != service.search_path
                    else None
                ),
                current_search_path=search_paths.get(service.role),
                database=database,
            )
        )
    return Plan(
        roles=roles,
        unset=[service for service in ALL_SERVICES if not service.role],
        others={role: sorted(items, key=_order) for role, items in sorted(held.items())},
    )


def apply(connection):
    """Grant each configured role what its service needs and revoke the rest on the project's
    tables, in one transaction. Returns the ``Plan`` that was applied (its ``statements()`` are
    what ran; none when everything already matched). Raises ``RoleError``, changing nothing,
    when a role is unusable or the grants cannot be made to match (the user running this does
    not own the tables, or another grantor's grant cannot be revoked by it)."""
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRANTS_LOCK_KEY])
        applied = plan(connection, applying=True)
        with connection.cursor() as cursor:
            for statement in applied.statements():
                try:
                    cursor.execute(statement)
                except DatabaseError as exc:
                    if "ALTER ROLE" not in statement:
                        raise
                    raise RoleError(_search_path_refused(statement, exc)) from None
        left = plan(connection, applying=True).differences()
        if left:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                user = cursor.fetchone()[0]
            raise RoleError(
                "The service grants could not be made to match; no grant was changed. After "
                f"granting and revoking as {user}: {'; '.join(left)}. PostgreSQL lets only the "
                "tables' owner (or a role holding the grant option) grant, and only a "
                "privilege's grantor revoke it: run this as the role that owns the tables and "
                "ran migrate, and revoke grants made by other roles as those roles "
                "(psql's \\dp lists each grantor)."
            )
    return applied


def _search_path_refused(statement, exc):
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (
        f"The v2 service roles' search_path could not be set ({reason}); no grant was changed. "
        "PostgreSQL lets only a superuser, or a role with CREATEROLE (and, from PostgreSQL 16, "
        "ADMIN OPTION on the service role), change another role's settings. Run this once as "
        f"such a role: {statement}; later runs find it set. (The services can also carry it in "
        "their URL: ?options=-c%20search_path%3Dledgerflow_v2, docs/INTEGRATION.md.)"
    )


def _order(item):
    relation, column, privilege = item
    return (relation, column or "", privilege)


def _refuse_unusable_roles(cursor, services, owners, applying):
    """``RoleError`` naming every setting whose role does not exist, is shared by two services,
    or could bypass the grants (a superuser, an owner of the tables, a member of an owner, or,
    when ``applying``, the role that would revoke its own privileges)."""
    if not services:
        return
    names = sorted({service.role for service in services})
    cursor.execute(
        "SELECT r.rolname, r.rolsuper, r.rolname = current_user, "
        "ARRAY(SELECT o FROM unnest(%s::text[]) o WHERE pg_has_role(r.oid, o, 'MEMBER')) "
        "FROM pg_roles r WHERE r.rolname = ANY(%s)",
        [sorted(owners), names],
    )
    found = {name: (superuser, is_current, owned) for name, superuser, is_current, owned in cursor}
    problems = []
    missing = [service for service in services if service.role not in found]
    if missing:
        problems.append(
            " ".join(
                f"{service.setting} names the role {service.role!r}, which does not exist on "
                "this PostgreSQL server."
                for service in missing
            )
            + " Create it (CREATE ROLE name LOGIN PASSWORD '…'), or correct or unset the "
            "setting."
        )
    by_role = {}
    for service in services:
        by_role.setdefault(service.role, []).append(service.setting)
    for role, settings_named in by_role.items():
        if len(settings_named) > 1:
            problems.append(
                f"{' and '.join(settings_named)} all name {role!r}; each service needs a role "
                "of its own, or one service would hold the other's privileges."
            )
    for service in services:
        if service.role not in found:
            continue
        superuser, is_current, owners_of = found[service.role]
        if superuser:
            reason = "is a superuser, which bypasses every privilege check"
        elif is_current and applying:
            reason = "is the role running this command and must keep its own privileges"
        elif owners_of:
            reason = (
                f"owns the project's tables or is a member of their owner ({', '.join(owners_of)})"
                ", so it can alter and drop them"
            )
        else:
            continue
        problems.append(
            f"{service.setting} names {service.role!r}, which {reason}; name a plain login role."
        )
    if problems:
        raise RoleError(" ".join(problems) + " No grant was changed.")
