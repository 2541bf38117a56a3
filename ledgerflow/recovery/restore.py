"""Restoring a verified archive into an empty database, or into a named one on confirmation.

Order of work: the HMAC and checksum are verified and the archive read back before any
connection to the target is used for writing. Then one transaction of this process does
everything: it locks the tables the archive replaces (writers wait; readers too, once a table is
being replaced), exports the snapshot the pre-restore backup dumps, runs ``pg_restore``'s SQL,
compares row counts and the migration state with the manifest, and commits only when they match.
A write is therefore either in the pre-restore backup or made after the commit, into the
restored tables; a mismatch, an error or a killed command leaves the database as it was.
"""

from dataclasses import dataclass

import psycopg

from ledgerflow.db import clienttools
from ledgerflow.db.errors import OperatorError, is_lock_timeout
from ledgerflow.db.timeouts import set_lock_timeout
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating import lock
from ledgerflow.migrating.history import read_history
from ledgerflow.recovery import RecoveryError, lock_timeout_ms
from ledgerflow.recovery.backup import (
    data_tables,
    read_verified_manifest,
    take_backup,
    verify_archive_readable,
)
from ledgerflow.recovery.state import (
    has_rows,
    row_counts,
    server_version_num,
    table_exists,
    user_tables,
    user_types,
)
from ledgerflow.sql import quote_qualified


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict
    target: str
    replaced_existing: bool
    row_counts: dict
    migration_state: list
    previous_backup: object = None  # the Backup of what a confirmed restore replaced
    held_tables: tuple = ()  # locked against writes from before that backup to the commit


def _migration_state(manifest):
    return [tuple(key) for key in manifest.get("migration_state", [])]


def restore_archive(
    archive_path,
    settings_dict,
    *,
    confirm=None,
    allow_unauthenticated=False,
    lock_timeout=10.0,
):
    """Restore ``archive_path`` into ``settings_dict``'s database, in one transaction.

    An empty database is restored into directly. A database holding tables or types is only
    touched when ``confirm`` equals its name; the archive's objects then replace their namesakes,
    after a backup of what the database holds, with writes to the replaced tables held from
    before that backup to the commit (``lock_timeout`` seconds at most to take the locks).
    The transaction also holds ``migrate``'s advisory lock. Raises ``RecoveryError`` (or the
    client tools' ``ClientToolError``) with the database unchanged for a bad or unauthenticated
    archive, a version mismatch, a missing confirmation, a migration in progress, locks not
    granted, or a result that does not match the manifest.
    """
    timeout_ms = lock_timeout_ms(lock_timeout)
    manifest = read_verified_manifest(archive_path, allow_unauthenticated=allow_unauthenticated)
    target = describe_target(settings_dict)
    with clienttools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        version_num = server_version_num(cursor)
        existing_tables = user_tables(cursor)
        existing_types = user_types(cursor)
        current_state = list(read_history(cursor).applied_keys)
    major, restore_version = clienttools.client_version("pg_restore", version_num)
    clienttools.check_versions_match("pg_restore", major, restore_version, version_num, target)
    verify_archive_readable(archive_path, settings_dict, data_tables(manifest))

    not_empty = bool(existing_tables or existing_types)
    if not_empty and manifest["scope"] == "database":
        _refuse_leftovers(archive_path, manifest, target, existing_tables, current_state)
    if not_empty and confirm != settings_dict["NAME"]:
        shown = ", ".join((existing_tables + existing_types)[:8])
        more = len(existing_tables) + len(existing_types) - 8
        raise RecoveryError(
            f"{target} is not empty ({shown}{f' and {more} more' if more > 0 else ''}). "
            "Restore into an empty database (--database-url), or replace the objects the archive "
            f"holds in this one with --confirm {settings_dict['NAME']}. Nothing was restored."
        )
    if manifest["scope"] == "tables" and current_state != _migration_state(manifest):
        raise RecoveryError(
            f"archive {archive_path} holds only the tables {', '.join(manifest['tables'])}, "
            f"taken at a different migration state than {target} has now, so their shape may "
            "differ. Bring the database to the archive's migration state first (manifest: "
            "migration_state). Nothing was restored."
        )

    replaced = [name for name in existing_tables if name in manifest["tables"]]
    with clienttools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("BEGIN")
        # The transaction sits idle while pg_dump writes the pre-restore backup.
        cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        _exclude_migrations(conn, cursor, target)
        _hold_writes(cursor, replaced, lock_timeout, target)
        previous_backup = None
        try:
            if not_empty and any(has_rows(cursor, name) for name in existing_tables):
                # The restore drops and recreates the archive's tables: rows written since the
                # archive was taken would be gone for good without this copy. It dumps this
                # transaction's snapshot, taken after the locks: no write can fall in between.
                cursor.execute("SELECT pg_export_snapshot()")
                # A session queued for an ACCESS EXCLUSIVE lock behind ours would make pg_dump
                # wait on it while we wait on pg_dump: bounded, so that ends as a refusal.
                previous_backup = take_backup(
                    reason="pre-restore",
                    snapshot=cursor.fetchone()[0],
                    lock_wait_timeout_ms=timeout_ms,
                    settings_dict=settings_dict,
                )
            _apply_archive(cursor, archive_path, settings_dict, version_num, clean=not_empty)
            counts, state = _verify(cursor, manifest, target)
            cursor.execute("COMMIT")
        except (OperatorError, psycopg.Error) as exc:
            reason = str(exc).strip()
            if isinstance(exc, psycopg.Error):
                reason = f"PostgreSQL refused a statement: {(reason.splitlines() or [exc])[0]}"
            reason = reason.rstrip(".")
            message = f"restoring {archive_path} into {target} failed: {reason}. The transaction "
            message += "was rolled back: nothing in the database was changed."
            if previous_backup is not None:
                message += f" A backup of what it holds is in {previous_backup.archive_path}."
            raise RecoveryError(message) from None
    return RestoreResult(
        manifest=manifest,
        target=target,
        replaced_existing=not_empty,
        row_counts=counts,
        migration_state=state,
        previous_backup=previous_backup,
        held_tables=tuple(replaced),
    )


def _exclude_migrations(conn, cursor, target):
    """Take ``migrate``'s advisory lock until the commit, so a deploy never migrates half-restored
    tables nor restores over a migration in progress; refuse when a migration holds it."""
    if not lock.try_acquire_for_transaction(cursor):
        raise RecoveryError(
            f"a migration holds the migration lock of {target}: "
            f"{lock.describe_holder(lock.lock_holder(conn))}. Nothing was changed; restore once "
            "it ends."
        )


def _hold_writes(cursor, tables, lock_timeout, target):
    """Lock ``tables`` in SHARE mode for the rest of the transaction: writers wait, readers and
    pg_dump (ACCESS SHARE) do not, until the restore drops the tables."""
    if not tables:
        return
    # Waiting behind a long query would queue every service write behind this lock.
    set_lock_timeout(cursor, lock_timeout)
    try:
        cursor.execute(f"LOCK TABLE {', '.join(map(quote_qualified, tables))} IN SHARE MODE")
    except psycopg.Error as exc:
        if not is_lock_timeout(exc):
            raise
        raise RecoveryError(
            f"could not lock the tables of {target} within {lock_timeout:g} s: other sessions "
            "hold them. Nothing was changed; retry when they are idle or raise --lock-timeout."
        ) from None
    set_lock_timeout(cursor, 0)


def _apply_archive(cursor, archive_path, settings_dict, server_version_num, *, clean):
    """Run ``pg_restore``'s SQL for the archive in the cursor's transaction (it connects to no
    database itself, so the transaction, and when it commits, stay ours)."""
    args = ["--no-owner", "--no-privileges", "--file=-"]
    if clean:
        args += ["--clean", "--if-exists"]
    with clienttools.client_output(
        "pg_restore", [*args, str(archive_path)], settings_dict, server_version_num
    ) as script:
        _execute_script(cursor, script, server_version_num)
    # The script empties search_path for its own statements; the checks name tables as usual.
    cursor.execute("RESET search_path")


# pg_restore 17 and newer write this into every script's header, not knowing the server it will
# run on; PostgreSQL 16 and older do not know the setting (and have no such timeout to lift).
_TRANSACTION_TIMEOUT_HEADER = b"SET transaction_timeout = 0;\n"
_TRANSACTION_TIMEOUT_SINCE = 170000


def _execute_script(cursor, lines, server_version_num):
    """Execute a ``pg_restore --file`` script. It is SQL except for data blocks: a
    ``-- Data for Name: …; Type: TABLE DATA; …`` comment, then ``COPY … FROM stdin;``, the rows,
    and a ``\\.`` line. The SQL between data blocks runs as it is, a batch at a time. The
    ``\\restrict KEY``/``\\unrestrict KEY`` lines (psql meta-commands that stop a dump from
    smuggling in other ones) are skipped: nothing here interprets meta-commands. So is a newer
    pg_restore's ``SET transaction_timeout`` on a server older than that setting."""
    lines = iter(lines)
    batch = []
    data_follows = False
    fences = set()
    header = True  # until the first object's "-- Name: …" comment
    for line in lines:
        if not fences and line.startswith(b"\\restrict "):
            key = line.split(b" ", 1)[1].strip()
            fences = {b"\\restrict " + key, b"\\unrestrict " + key}
        if line.strip() in fences:
            continue
        header = header and not line.startswith((b"-- Name: ", b"-- Data for Name: "))
        if (
            header
            and line == _TRANSACTION_TIMEOUT_HEADER
            and server_version_num < _TRANSACTION_TIMEOUT_SINCE
        ):
            continue
        if line.startswith(b"-- Data for Name: ") and b"; Type: TABLE DATA; " in line:
            data_follows = True
        elif data_follows and line.startswith(b"COPY "):
            statement = [line]
            while not statement[-1].rstrip().endswith(b" FROM stdin;"):
                statement.append(next(lines))  # a quoted column name may hold a line break
            _execute_batch(cursor, batch)
            with cursor.copy(b"".join(statement).rstrip().removesuffix(b";")) as copy:
                for row in lines:
                    if row == b"\\.\n":
                        break
                    copy.write(row)
            data_follows = False
            continue
        batch.append(line)
    _execute_batch(cursor, batch)


def _execute_batch(cursor, batch):
    text = b"".join(batch)
    batch.clear()
    if text.strip():
        cursor.execute(text)


def _verify(cursor, manifest, target):
    """Row counts and migration state in the restoring transaction, against the manifest."""
    missing = [name for name in manifest["tables"] if not table_exists(cursor, name)]
    if missing:
        raise RecoveryError(f"{', '.join(missing)} are missing after the archive's SQL ran")
    counts = row_counts(cursor, manifest["tables"])
    state = list(read_history(cursor).applied_keys)
    wrong = {
        name: (expected, counts[name])
        for name, expected in manifest["tables"].items()
        if counts[name] != expected
    }
    if wrong:
        details = "; ".join(f"{n}: manifest {e}, database {a}" for n, (e, a) in wrong.items())
        raise RecoveryError(f"the restored rows do not match the manifest: {details}")
    if manifest["scope"] == "database" and state != _migration_state(manifest):
        raise RecoveryError(
            f"the restored migration state differs from the manifest ({len(state)} applied "
            f"migrations, manifest {len(manifest['migration_state'])})"
        )
    return counts, state


def _refuse_leftovers(archive_path, manifest, target, existing_tables, current_state):
    """Refuse a whole-database restore that would leave objects the archive does not know.

    ``--clean`` drops only the archive's own objects: tables (and types, functions) built by
    migrations the archive's state lacks, or by hand, would stay behind while the restored
    ``django_migrations`` says they were never built, so ``migrate`` could not run again.
    """
    archived_state = set(_migration_state(manifest))
    extra_tables = [name for name in existing_tables if name not in manifest["tables"]]
    extra_migrations = [
        f"{app}.{name}" for app, name in current_state if (app, name) not in archived_state
    ]
    if not (extra_tables or extra_migrations):
        return
    found = []
    if extra_tables:
        found.append(f"tables the archive does not have: {', '.join(extra_tables)}")
    if extra_migrations:
        found.append(f"migrations the archive's state lacks: {', '.join(extra_migrations)}")
    raise RecoveryError(
        f"{target} holds {'; and '.join(found)}. Restoring {archive_path} here would leave them "
        "behind beside the archive's migration state, and `migrate` could not run again. "
        "Restore into an empty database instead (--database-url; e.g. create a new database, "
        "restore, check it, then switch over). Nothing was restored."
    )
