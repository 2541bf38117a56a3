"""Taking over a database that sqlx built: prove its schema is this project's, then record it.

Unlike ``migrate --fake-initial`` (which checks table and column *names* only), the takeover
compares the whole live schema - types, collations, nullability, defaults, constraints, indexes,
table persistence, row level security, policies, rules, inheritance, enum labels in order, the
trigger function and its attributes, and the triggers - with the stored baseline (what this
project's initial migrations build), and records anything only when they match. It never drops,
rewrites or deletes anything and leaves ``_sqlx_migrations`` untouched. All recording happens in one
transaction: the initial migrations as applied, the bookkeeping migrations the takeover record
needs, and the record itself.
"""

import dataclasses
import getpass
import os
import socket

from django.db import transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from ledgerflow.db.introspection import compare_snapshots, schema_snapshot
from ledgerflow.db.timeouts import set_lock_timeout
from ledgerflow.migrating import checksums, ledger
from ledgerflow.migrating.history import code_loader, read_history
from ledgerflow.schema import expected
from ledgerflow.schema.states import (
    SQLX_BASELINE,
    SQLX_VERSION,
    baseline_state,
    takeover_migration,
)

EXIT_DIFFERS = 1
EXIT_REFUSED = 2
# pg_advisory_xact_lock key: two takeovers of one database must not record twice.
TAKEOVER_LOCK_KEY = 0x4C46_5441_4B45  # "LFTAKE"
FIX_LOCK_TIMEOUT = 5.0


class TakeoverRefused(Exception):
    """The database cannot be taken over as it is; nothing was changed."""

    def __init__(self, message, exit_code=EXIT_REFUSED):
        super().__init__(message)
        self.exit_code = exit_code


@dataclasses.dataclass
class Inspection:
    """What a takeover found, before changing anything."""

    sqlx: dict
    differences: list
    existing_takeover: dict | None = None
    fingerprint: str = ""

    @property
    def already_adopted(self):
        return self.existing_takeover is not None


def read_sqlx_history(cursor):
    """The legacy sqlx row, after proving the history is exactly the one this project knows."""
    cursor.execute("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        raise TakeoverRefused(
            "no sqlx history: the table _sqlx_migrations does not exist, so sqlx did not build "
            "this database. An empty database needs `manage.py migrate`, not a takeover."
        )
    cursor.execute(
        "SELECT version, description, installed_on, success, encode(checksum, 'hex') "
        "FROM _sqlx_migrations ORDER BY version"
    )
    rows = {row[0]: row for row in cursor.fetchall()}
    if SQLX_VERSION not in rows:
        found = ", ".join(str(version) for version in rows) or "no rows"
        raise TakeoverRefused(
            f"the sqlx history lacks migration {SQLX_VERSION} (found: {found}); this project "
            "can only take over databases built by that migration."
        )
    version, description, installed_on, success, checksum = rows[SQLX_VERSION]
    if not success:
        raise TakeoverRefused(
            f"sqlx migration {SQLX_VERSION} is recorded with success = false: it failed "
            "part-way, so the schema is in an unknown state. Repair the database by hand "
            "(compare it with `manage.py schema_drift --against` a good one) before a takeover."
        )
    if installed_on is None:
        raise TakeoverRefused(
            f"sqlx migration {SQLX_VERSION} is recorded with no installed_on (NULL), which sqlx "
            "never writes: the history was edited by hand. Set it to when the migration ran "
            f"(UPDATE _sqlx_migrations SET installed_on = ... WHERE version = {SQLX_VERSION}), "
            "then run adopt_sqlx again. Nothing was changed."
        )
    extra = [str(other) for other in rows if other != SQLX_VERSION]
    if extra:
        raise TakeoverRefused(
            f"the sqlx history holds migrations this project does not know: {', '.join(extra)}. "
            "Their changes are not in this project's migrations; port them first."
        )
    return {
        "version": version,
        # The takeover record keeps it for reference only; a hand-edited NULL must not fail
        # the recording after the dry run has said the database can be adopted.
        "description": description or "",
        "installed_on": installed_on.isoformat(),
        "success": success,
        "checksum": checksum or "",
    }


def _refuse_foreign_django_migrations(cursor):
    """A ``django_migrations`` table that is not Django's would make recording fail part-way."""
    cursor.execute(
        "SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute "
        "WHERE attrelid = to_regclass('django_migrations') AND attnum > 0 AND NOT attisdropped"
    )
    columns = cursor.fetchone()[0]
    if columns is not None and columns != ["app", "applied", "id", "name"]:
        raise TakeoverRefused(
            f"this database has a table django_migrations with the columns {', '.join(columns)}; "
            "Django's has id, app, name and applied, so it was made by something else and the "
            "takeover cannot record migrations in it. Rename it out of the way, then run "
            "adopt_sqlx again."
        )


def _tables_in_the_way(cursor):
    """Tables the takeover's bookkeeping migrations would create that exist already: creating
    them would fail inside the takeover's transaction, after a dry run had said all is well."""
    graph = code_loader().graph
    created = [
        operation.options.get("db_table") or f"{node[0]}_{operation.name_lower}"
        for node in graph.forwards_plan(takeover_migration(graph))
        if node not in SQLX_BASELINE
        for operation in graph.nodes[node].operations
        if type(operation).__name__ == "CreateModel"
    ]
    cursor.execute(
        "SELECT name FROM unnest(%s::text[]) AS name "
        "WHERE to_regclass(quote_ident(name)) IS NOT NULL ORDER BY name",
        [created],
    )
    return [row[0] for row in cursor.fetchall()]


def inspect(connection):
    """Check history, migration records and schema; change nothing."""
    with connection.cursor() as cursor:
        sqlx = read_sqlx_history(cursor)
        _refuse_foreign_django_migrations(cursor)
        state = read_history(cursor).state_key
        if set(baseline_state()) <= set(state):
            existing = ledger.takeover(connection)
            if existing is not None:
                return Inspection(sqlx=sqlx, differences=[], existing_takeover=existing)
        if state:
            raise TakeoverRefused(
                "this database already records migrations of this project "
                f"({', '.join(state)}) but holds no takeover record: it was migrated or faked "
                "by hand, not taken over. Nothing to adopt; check it with "
                "`manage.py schema_drift`."
            )
        in_the_way = _tables_in_the_way(cursor)
        if in_the_way:
            raise TakeoverRefused(
                f"this database already has the tables {', '.join(in_the_way)}, which the "
                "takeover's bookkeeping migrations create, but records no migrations of this "
                "project: they were made by hand or by a failed attempt. Check that they hold "
                "nothing you need, move them out of the way (rename or drop them), then run "
                "adopt_sqlx again."
            )
        wanted = expected.stored().snapshot_for(baseline_state())
        if wanted is None:
            raise TakeoverRefused(
                "no expected baseline schema is stored (ledgerflow/schema/expected_states.json); "
                "regenerate it with `manage.py schema_docs`."
            )
        actual = schema_snapshot(cursor)
    return Inspection(
        sqlx=sqlx,
        differences=compare_snapshots(wanted, actual),
        fingerprint=expected.fingerprint(actual),
    )


def fixable(differences):
    """Whether every difference has a safe fix (fixes are applied all or not at all)."""
    return bool(differences) and all(difference.fix_sql for difference in differences)


def apply_safe_fixes(connection, differences):
    """Run each difference's fix, one statement at a time outside a transaction (concurrent
    index builds cannot run in one), with a lock timeout so a fix never queues the services'
    queries behind it. Returns the statements run. Nothing here drops or rewrites anything."""
    if not fixable(differences):
        unfixable = [str(d) for d in differences if not d.fix_sql]
        raise TakeoverRefused(
            "not every difference has a safe fix, so none was applied: " + "; ".join(unfixable),
            exit_code=EXIT_DIFFERS,
        )
    applied = []
    with connection.cursor() as cursor:
        # For the session: the fixes run outside a transaction, one statement at a time.
        set_lock_timeout(cursor, FIX_LOCK_TIMEOUT, local=False)
        try:
            for difference in differences:
                try:
                    cursor.execute(difference.fix_sql)
                except Exception as exc:
                    raise TakeoverRefused(
                        f"the fix {difference.fix_sql!r} failed ({exc}); fixes applied before "
                        f"it: {applied or 'none'}. Nothing was recorded.",
                        exit_code=EXIT_DIFFERS,
                    ) from exc
                applied.append(difference.fix_sql)
        finally:
            cursor.execute("RESET lock_timeout")
    return applied


def adopt(connection, applied_fixes=()):
    """Record the takeover in one transaction, after re-checking everything under a lock.

    Returns the takeover record as a dict; raises ``TakeoverRefused`` and records nothing when
    the database is not (or no longer) adoptable.
    """
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TAKEOVER_LOCK_KEY])
        inspection = inspect(connection)
        if inspection.already_adopted:
            return {"already_adopted": True, **inspection.existing_takeover}
        if inspection.differences:
            raise TakeoverRefused(
                "the schema differs from this project's baseline: "
                + "; ".join(str(d) for d in inspection.differences),
                exit_code=EXIT_DIFFERS,
            )
        # The baseline is recorded as applied without running it (sqlx built it); the
        # checksums follow once the ledger table exists, below.
        recorder = MigrationRecorder(connection)
        recorder.ensure_schema()
        for app_label, name in SQLX_BASELINE:
            recorder.record_applied(app_label, name)

        graph = code_loader().graph
        target = takeover_migration(graph)
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan([target])
        not_bookkeeping = [
            f"{migration.app_label}.{migration.name}"
            for migration, _backwards in plan
            if migration.app_label != target[0]
        ]
        if not_bookkeeping:
            raise TakeoverRefused(
                "the takeover record's migration depends on schema migrations "
                f"({', '.join(not_bookkeeping)}); run them with `migrate` after a takeover of "
                "an older release instead."
            )
        executor.migrate([target], plan=plan)
        # The ledger table exists now (it comes before the takeover record's migration): give
        # the five initial migrations and the bookkeeping ones their checksums.
        for app_label, name in [*SQLX_BASELINE, *((m.app_label, m.name) for m, _ in plan)]:
            checksums.record_applied(connection, app_label, name, applied_by="adopt_sqlx")

        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            database_user = cursor.fetchone()[0]
        record = ledger.record_takeover(
            connection,
            os_user=_os_user(),
            database_user=database_user,
            client_host=socket.gethostname(),
            sqlx_version=inspection.sqlx["version"],
            sqlx_description=inspection.sqlx["description"],
            sqlx_installed_on=inspection.sqlx["installed_on"],
            sqlx_checksum=inspection.sqlx["checksum"],
            recorded_migrations=[f"{app}.{name}" for app, name in SQLX_BASELINE],
            applied_fixes=list(applied_fixes),
            schema_fingerprint=inspection.fingerprint,
        )
        return {
            "already_adopted": False,
            **record,
            "bookkeeping_migrations": [f"{m.app_label}.{m.name}" for m, _ in plan],
        }


def _os_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers without a passwd entry for the uid
        return f"uid {os.getuid()}"
