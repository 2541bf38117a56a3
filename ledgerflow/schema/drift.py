"""Drift: how a live database differs from what its applied migrations should have built.

``detect_drift(connection)`` is the interface for health checks, metrics and the admin: it reads
the recorded migration state and the catalog in one read-only snapshot, compares them with the
stored expectation for that state, and never creates or writes anything. Besides the schema's
shape it checks that each column's sequence is ahead of the column's values.

``detect_v2_drift(connection)`` does the same for schema v2 (``ledgerflow_v2``), against the
expectation stored for the v2 migrations applied, and says apart whether v2 is not migrated yet
(pending: nothing to compare, not drift).
"""

import dataclasses
from contextlib import contextmanager

import psycopg

from ledgerflow.db.introspection import (
    Difference,
    compare_snapshots,
    grant_notes,
    schema_snapshot,
    sequence_positions,
)
from ledgerflow.db.tables import PROJECT_APPS, V2_APP, V2_SCHEMA
from ledgerflow.db.timeouts import set_lock_timeout
from ledgerflow.migrating.history import read_history
from ledgerflow.roles.services import table_grants, v2_table_grants
from ledgerflow.schema import expected
from ledgerflow.schema.expected import v2_snapshot

# A running migration holds ACCESS EXCLUSIVE locks; a drift check (a readiness probe, say) must
# fail fast behind one instead of queueing every later reader of those tables behind itself.
DRIFT_LOCK_TIMEOUT = 2.0


def detect_drift(connection, notes=None):
    """Every ``Difference`` between the database and its expected schema; empty when clean.

    ``connection`` is a Django connection (``django.db.connection``) or a psycopg connection.
    When no expectation is stored for the database's migration state, the result is a single
    difference of kind ``migration_state`` that says why (not yet migrated, built by sqlx and
    not adopted, ahead of this code, or a partial state), so callers never mistake "unknown" for
    "clean".

    ``notes``, when given a list, also receives what differs without being drift: grants to
    roles other than PUBLIC (a deployment's own), sequences this role may not read. The grants
    ``migrate`` makes to the service roles (``ledgerflow.roles``) are expected, so a service role
    holding exactly them is no note.
    """
    with read_only_snapshot(connection) as cursor:
        history = read_history(cursor)
        wanted = expected.stored().snapshot_for(history.state_key)
        if wanted is None:
            return [_no_expectation(cursor, history)]
        actual = schema_snapshot(cursor)
        behind, unread = sequence_positions(cursor, actual)
    if notes is not None:
        notes.extend([*grant_notes(_with_service_grants(wanted), actual), *unread])
    return compare_snapshots(wanted, actual) + behind


def _with_service_grants(snapshot, grants=table_grants):
    """``snapshot`` with the table grants ``migrate`` makes to the configured service roles."""
    service = grants(snapshot["tables"])
    tables = {
        table: {**spec, "grants": {**spec.get("grants", {}), **service[table]}}
        if table in service
        else spec
        for table, spec in snapshot["tables"].items()
    }
    return {**snapshot, "tables": tables}


def compare_databases(connection, other_params, notes=None):
    """Differences between this database (the reference) and the one ``other_params`` (psycopg
    connection arguments) reach: their shapes only (sequence positions are each database's own
    data). ``notes`` as in ``detect_drift``, for grants to other roles."""
    with read_only_snapshot(connection) as cursor:
        reference_state = read_history(cursor).state_key
        reference = schema_snapshot(cursor)
    with (
        psycopg.connect(**other_params, autocommit=True) as other,
        read_only_snapshot(other) as cursor,
    ):
        other_state = read_history(cursor).state_key
        actual = schema_snapshot(cursor)
    differences = []
    if reference_state != other_state:
        only_here = sorted(set(reference_state) - set(other_state))
        only_there = sorted(set(other_state) - set(reference_state))
        differences.append(
            Difference(
                "migration_state",
                "django_migrations",
                "the databases are at different migration states: "
                f"applied only in the reference: {only_here or 'none'}; "
                f"applied only in the other: {only_there or 'none'}",
                expected=list(reference_state),
                actual=list(other_state),
            )
        )
    if notes is not None:
        notes.extend(grant_notes(reference, actual))
    return differences + compare_snapshots(reference, actual)


@contextmanager
def read_only_snapshot(connection):
    """A cursor whose reads all see one consistent moment (a migration committing half-way
    through must not look like drift), in a read-only transaction, when the caller is not
    already inside a transaction of its own."""
    if isinstance(connection, psycopg.Connection):
        fresh = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with connection.transaction(), connection.cursor() as cursor:
            if fresh:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                set_lock_timeout(cursor, DRIFT_LOCK_TIMEOUT)
            yield cursor
        return
    from django.db import transaction

    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        set_lock_timeout(cursor, DRIFT_LOCK_TIMEOUT)
        yield cursor


def _no_expectation(cursor, history):
    cursor.execute("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
    has_sqlx_history = cursor.fetchone()[0]
    state = history.state_key
    unknown = [f"{app}.{name}" for app, name in history.unknown if app in PROJECT_APPS]
    if not state and has_sqlx_history:
        reason = (
            "no migrations of this project are recorded and _sqlx_migrations exists: the "
            "database was built by sqlx and not taken over; run `manage.py adopt_sqlx`"
        )
    elif not state:
        reason = "no migrations of this project are recorded; run `manage.py migrate`"
    elif unknown:
        reason = (
            f"migrations unknown to this release are applied ({', '.join(unknown)}): the "
            "database is ahead of this code; check drift with the release that applied them"
        )
    else:
        reason = (
            "no expected schema is stored for this migration state (a partial or hand-picked "
            "set of migrations); run `manage.py migrate` to reach a known state"
        )
    return Difference(
        "migration_state",
        "django_migrations",
        f"drift cannot be checked: {reason}",
        actual=list(state),
    )


# What a reading of schema v2 found.
V2_PENDING = "pending"  # no v2 migration is applied and the schema does not exist: not drift
V2_CHECKED = "checked"  # compared with the stored expectation (``differences`` may be empty)
V2_UNCHECKED = "unchecked"  # v2 could not be compared; ``differences`` holds one reason


@dataclasses.dataclass
class V2Drift:
    """Schema v2 against what its applied migrations build.

    ``status`` is ``V2_PENDING``, ``V2_CHECKED`` or ``V2_UNCHECKED``; ``applied`` and ``pending``
    name the v2 migrations (``app.name``); ``differences`` are ``Difference`` objects whose fixes
    name ``ledgerflow_v2`` (never the v1 tables of the same names). ``against``: compared with
    another database rather than with the stored expectation.
    """

    status: str
    applied: list
    pending: list
    differences: list
    against: bool = False

    @property
    def drift(self):
        return bool(self.differences)

    def summary(self):
        """One sentence for an operator."""
        if self.against:
            return {
                V2_PENDING: "in neither database: nothing to compare",
                V2_UNCHECKED: "cannot be compared (the reason follows)",
            }.get(
                self.status,
                f"{len(self.differences)} difference(s) between the databases"
                if self.differences
                else "the same in both databases",
            )
        if self.status == V2_PENDING:
            return (
                f"not migrated yet ({len(self.pending)} v2 migration(s) pending; "
                "`manage.py migrate` builds it): nothing to compare, not drift"
            )
        if self.status == V2_UNCHECKED:
            return "cannot be compared with what its migrations build (the reason follows)"
        if self.differences:
            return f"{len(self.differences)} difference(s) from what the v2 migrations build"
        pending = f"; {len(self.pending)} v2 migration(s) pending" if self.pending else ""
        return f"matches the schema of its applied v2 migrations{pending}"

    def as_dict(self):
        return {
            "schema": V2_SCHEMA,
            "status": self.status,
            "drift": self.drift,
            "summary": self.summary(),
            "applied": self.applied,
            "pending": self.pending,
            "differences": [difference.as_dict() for difference in self.differences],
        }


def detect_v2_drift(connection, notes=None):
    """A ``V2Drift`` for the ``ledgerflow_v2`` schema of ``connection``'s database (a Django or
    psycopg connection), read in one read-only snapshot like ``detect_drift``. ``notes`` as
    there: grants to roles other than the v2 service roles' expected ones, sequences this role
    may not read."""
    with read_only_snapshot(connection) as cursor:
        history = read_history(cursor)
        applied = [f"{app}.{name}" for app, name in history.applied_keys if app == V2_APP]
        applied = sorted(applied)
        pending = [f"{app}.{name}" for app, name in history.pending if app == V2_APP]
        cursor.execute(
            "SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = %s",
            [V2_SCHEMA],
        )
        row = cursor.fetchone()
        exists, usable = row is not None, bool(row and row[0])

        def result(status, differences=()):
            return V2Drift(status, applied, pending, list(differences))

        if not applied:
            if not exists:
                return result(V2_PENDING)
            return result(
                V2_CHECKED,
                [
                    Difference(
                        "schema",
                        V2_SCHEMA,
                        "the schema exists but no v2 migration is recorded (created by hand, or "
                        "its rows deleted from django_migrations): `manage.py migrate` would "
                        "fail creating it; if it holds nothing, drop it (DROP SCHEMA "
                        "ledgerflow_v2 CASCADE) and run `manage.py migrate`",
                        actual=V2_SCHEMA,
                    )
                ],
            )
        unknown = [f"{app}.{name}" for app, name in history.unknown if app == V2_APP]
        if unknown:
            return result(
                V2_UNCHECKED,
                [
                    _v2_state_difference(
                        "v2 migrations unknown to this release are applied "
                        f"({', '.join(unknown)}): the database is ahead of this code; check "
                        "drift with the release that applied them",
                        applied,
                    )
                ],
            )
        wanted = expected.stored().v2_snapshot_for(applied)
        if wanted is None:
            return result(
                V2_UNCHECKED,
                [
                    _v2_state_difference(
                        "no expected schema is stored for these v2 migrations (a hand-picked set); "
                        "run `manage.py migrate` to reach a known state",
                        applied,
                    )
                ],
            )
        if not exists:
            return result(
                V2_CHECKED,
                [
                    Difference(
                        "schema",
                        V2_SCHEMA,
                        f"the schema is missing, yet its migrations are recorded as applied "
                        f"({', '.join(applied)}): dropped by hand? The newest services cannot "
                        "run. Restore it from a backup, or, if it held no data yet, delete the "
                        "ledgerflow_v2 rows of django_migrations and run `manage.py migrate`",
                        expected=V2_SCHEMA,
                    )
                ],
            )
        if not usable:
            return result(
                V2_UNCHECKED,
                [
                    _v2_state_difference(
                        "this role may not use the schema ledgerflow_v2 (no USAGE privilege), so "
                        "PostgreSQL hides its objects from it; name it in LEDGERFLOW_MONITOR_ROLE "
                        "and run `manage.py service_grants --apply`, or check as the owner",
                        applied,
                    )
                ],
            )
        actual = v2_snapshot(cursor, wanted["tables"])
        behind, unread = sequence_positions(cursor, actual, schema=V2_SCHEMA)
    if notes is not None:
        notes.extend([*grant_notes(_with_service_grants(wanted, v2_table_grants), actual), *unread])
    return result(V2_CHECKED, compare_snapshots(wanted, actual, schema=V2_SCHEMA) + behind)


def compare_v2_databases(connection, other_params, notes=None):
    """Schema v2 of this database (the reference) against the one ``other_params`` reaches, as a
    ``V2Drift``: their shapes only, like ``compare_databases``. ``pending`` when neither has
    the schema; one difference of kind ``schema`` when only one has it."""
    with read_only_snapshot(connection) as cursor:
        reference = _read_v2(cursor)
    with (
        psycopg.connect(**other_params, autocommit=True) as other,
        read_only_snapshot(other) as cursor,
    ):
        found = _read_v2(cursor)
    applied, _, _ = reference

    def result(status, differences=()):
        return V2Drift(status, applied, [], list(differences), against=True)

    unreadable = [
        f"{side}: {problem}"
        for side, (_, _, problem) in (("the reference", reference), ("the other", found))
        if problem and problem != _V2_ABSENT
    ]
    if unreadable:
        return result(V2_UNCHECKED, [_v2_state_difference("; ".join(unreadable), found[0])])
    if reference[1] is None and found[1] is None:
        return result(V2_PENDING)
    if reference[1] is None or found[1] is None:
        where = "the other database" if found[1] is None else "the reference"
        return result(
            V2_CHECKED,
            [Difference("schema", V2_SCHEMA, f"the schema is missing in {where}")],
        )
    differences = []
    if reference[0] != found[0]:
        differences.append(
            Difference(
                "migration_state",
                "django_migrations",
                "the databases are at different v2 migration states: applied only in the "
                f"reference: {sorted(set(reference[0]) - set(found[0])) or 'none'}; applied "
                f"only in the other: {sorted(set(found[0]) - set(reference[0])) or 'none'}",
                expected=reference[0],
                actual=found[0],
            )
        )
    if notes is not None:
        notes.extend(grant_notes(reference[1], found[1]))
    return result(
        V2_CHECKED,
        differences + compare_snapshots(reference[1], found[1], schema=V2_SCHEMA),
    )


_V2_ABSENT = "the schema ledgerflow_v2 does not exist"


def _read_v2(cursor):
    """``(applied v2 migrations, v2 snapshot or None, why there is none)``."""
    history = read_history(cursor)
    applied = sorted(f"{app}.{name}" for app, name in history.applied_keys if app == V2_APP)
    cursor.execute(
        "SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace WHERE nspname = %s",
        [V2_SCHEMA],
    )
    row = cursor.fetchone()
    if row is None:
        return applied, None, _V2_ABSENT
    if not row[0]:
        return applied, None, "this role may not use the schema ledgerflow_v2 (no USAGE)"
    return applied, v2_snapshot(cursor), None


def _v2_state_difference(reason, applied):
    return Difference(
        "migration_state",
        "django_migrations",
        f"schema v2 drift cannot be checked: {reason}",
        actual=list(applied),
    )
