"""Restoring a verified archive into an empty database, or into a named one on confirmation.

Order of work: the checksum is verified and the archive read back before any connection to the
target is used for writing; ``pg_restore`` then runs as one transaction (all or nothing); finally
row counts and the migration state are compared with the manifest.
"""

from dataclasses import dataclass

from ledgerflow.db.urls import describe_target
from ledgerflow.recovery import RecoveryError, pgtools
from ledgerflow.recovery.backup import (
    data_tables,
    read_verified_manifest,
    take_backup,
    verify_archive_readable,
)
from ledgerflow.recovery.state import (
    applied_migrations,
    has_rows,
    row_counts,
    server_version_num,
    table_exists,
    user_tables,
    user_types,
)


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict
    target: str
    replaced_existing: bool
    row_counts: dict
    migration_state: list
    previous_backup: object = None  # the Backup of what a confirmed restore replaced


def _migration_state(manifest):
    return [tuple(key) for key in manifest.get("migration_state", [])]


def restore_archive(archive_path, settings_dict, *, confirm=None):
    """Restore ``archive_path`` into ``settings_dict``'s database.

    An empty database is restored into directly. A database holding tables or types is only
    touched when ``confirm`` equals its name; the archive's objects then replace their namesakes.
    Raises ``RecoveryError`` before any change for a bad archive, a version mismatch or a missing
    confirmation, and after the restore when the result does not match the manifest.
    """
    manifest = read_verified_manifest(archive_path)
    target = describe_target(settings_dict)
    with pgtools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        version_num = server_version_num(cursor)
        existing_tables = user_tables(cursor)
        existing_types = user_types(cursor)
        current_state = applied_migrations(cursor)
    major, restore_version = pgtools.client_version("pg_restore", version_num)
    pgtools.check_versions_match("pg_restore", major, restore_version, version_num, target)
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

    previous_backup = None
    if not_empty:
        with pgtools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
            holds_rows = any(has_rows(cursor, name) for name in existing_tables)
        if holds_rows:
            # The restore drops and recreates the archive's tables: rows written since the
            # archive was taken would be gone for good without this copy.
            previous_backup = take_backup(reason="pre-restore", settings_dict=settings_dict)

    try:
        counts, state = _restore_and_verify(
            archive_path, settings_dict, manifest, target, not_empty
        )
    except RecoveryError as exc:
        if previous_backup is None:
            raise
        raise RecoveryError(
            f"{exc} What the database held before is in {previous_backup.archive_path}."
        ) from None
    return RestoreResult(
        manifest=manifest,
        target=target,
        replaced_existing=not_empty,
        row_counts=counts,
        migration_state=state,
        previous_backup=previous_backup,
    )


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


def _restore_and_verify(archive_path, settings_dict, manifest, target, not_empty):
    """Run ``pg_restore`` as one transaction, then compare the result with the manifest."""
    args = ["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    if not_empty:
        args += ["--clean", "--if-exists"]
    args += ["--dbname", settings_dict["NAME"], str(archive_path)]
    pgtools.run_client("pg_restore", args, settings_dict)

    with pgtools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        missing = [name for name in manifest["tables"] if not table_exists(cursor, name)]
        if missing:
            raise RecoveryError(
                f"restore into {target} finished but {', '.join(missing)} are missing."
            )
        counts = row_counts(cursor, manifest["tables"])
        state = applied_migrations(cursor)
    wrong = {
        name: (expected, counts[name])
        for name, expected in manifest["tables"].items()
        if counts[name] != expected
    }
    if wrong:
        details = "; ".join(f"{n}: manifest {e}, database {a}" for n, (e, a) in wrong.items())
        raise RecoveryError(f"restore into {target} does not match the manifest: {details}.")
    if manifest["scope"] == "database" and state != _migration_state(manifest):
        raise RecoveryError(
            f"restore into {target} finished but its migration state differs from the manifest "
            f"({len(state)} applied migrations, manifest {len(manifest['migration_state'])})."
        )
    return counts, state
