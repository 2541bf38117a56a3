"""Verified ``pg_dump`` archives with a checksum and a manifest.

An archive ``<stem>.dump`` is complete only when ``<stem>.manifest.json`` sits beside it: the
manifest is written last, after the archive was read back in full by ``pg_restore`` and its
checksum taken. Row counts and the migration state are read in the very snapshot ``pg_dump``
dumps, so the manifest describes exactly the archive's contents.
"""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

from ledgerflow.db.urls import describe_target
from ledgerflow.recovery import RecoveryError, pgtools
from ledgerflow.recovery.state import (
    applied_migrations,
    partitioned_tables,
    quote_ident,
    row_counts,
    server_version_num,
    table_exists,
    user_tables,
    with_partitions,
)

MANIFEST_FORMAT = "ledgerflow-backup/1"
ARCHIVE_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Backup:
    archive_path: Path
    manifest_path: Path
    manifest: dict


def manifest_path_for(archive_path):
    archive_path = Path(archive_path)
    return archive_path.with_name(archive_path.name.removesuffix(ARCHIVE_SUFFIX) + MANIFEST_SUFFIX)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as archive:
        while chunk := archive.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _qualified(name):
    return name if "." in name else f"public.{name}"


def _label(text):
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "backup"


def _listed(name):
    """``schema.table`` as ``pg_restore --list`` prints it: unquoted, separated by a space, line
    breaks turned into spaces."""
    schema, table = _qualified(name).split(".", 1)
    return re.sub(r"[\r\n]", " ", f"{schema} {table}")


def _archived_tables(archive_path, settings_dict):
    """``schema table`` (as ``_listed``) of every TABLE DATA entry in the archive's table of
    contents."""
    listing = pgtools.run_client("pg_restore", ["--list", str(archive_path)], settings_dict)
    tables = set()
    for line in listing.stdout.splitlines():
        # e.g. "3390; 0 16421 TABLE DATA public my table postgres": names are printed unquoted
        # and may hold spaces, so only the last word (the owner) is known to end them.
        match = re.match(r"\d+; \d+ \d+ TABLE DATA (.+) \S+$", line)
        if match:
            tables.add(match.group(1))
    return tables


def data_tables(manifest):
    """The manifest's tables an archive must hold data for: all but the partitioned ones."""
    partitioned = set(manifest.get("partitioned_tables", ()))
    return [name for name in manifest["tables"] if name not in partitioned]


def verify_archive_readable(archive_path, settings_dict, expected_tables):
    """Read the whole archive back (every data block) and check it holds the data of
    ``expected_tables`` (ordinary tables: a partitioned table's rows are in its partitions)."""
    archived = _archived_tables(archive_path, settings_dict)
    missing = sorted(name for name in expected_tables if _listed(name) not in archived)
    if missing:
        raise RecoveryError(
            f"archive {archive_path} lacks the data of {', '.join(missing)}; it is not a usable "
            "backup."
        )
    pgtools.run_client("pg_restore", ["--file", "/dev/null", str(archive_path)], settings_dict)


def take_backup(
    *,
    tables=None,
    reason="manual",
    directory=None,
    snapshot=None,
    using="default",
    settings_dict=None,
):
    """Dump the database (or only ``tables``) to a verified archive and write its manifest.

    The database is ``using``'s, or ``settings_dict``'s when given (a database Django is not
    configured for, such as a restore target). ``snapshot`` is an exported snapshot id
    (``pg_export_snapshot()``) of a transaction that stays open meanwhile: the archive then holds
    exactly what that transaction sees. Returns a ``Backup``; raises ``RecoveryError`` (and leaves
    no archive behind) when anything fails.
    """
    settings_dict = settings_dict or connections[using].settings_dict
    target = describe_target(settings_dict)
    directory = Path(directory or settings.LEDGERFLOW_BACKUP_DIR)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecoveryError(
            f"cannot create the backup directory {directory} ({exc.strerror}); set "
            "LEDGERFLOW_BACKUP_DIR to a writable directory."
        ) from None

    with pgtools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot:
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            dump_snapshot = snapshot
        else:
            cursor.execute("SELECT pg_export_snapshot()")
            dump_snapshot = cursor.fetchone()[0]
        version_num = server_version_num(cursor)
        major, dump_version = pgtools.client_version("pg_dump", version_num)
        pgtools.check_versions_match("pg_dump", major, dump_version, version_num, target)
        if tables:
            scope = "tables"
            wanted = [_qualified(name) for name in tables]
            unknown = [name for name in wanted if not table_exists(cursor, name)]
            if unknown:
                raise RecoveryError(
                    f"no such table in {target}: {', '.join(unknown)}. Tables there: "
                    f"{', '.join(user_tables(cursor)) or 'none'}. Nothing was written."
                )
            wanted = with_partitions(cursor, wanted)
        else:
            scope = "database"
            wanted = user_tables(cursor)
        partitioned = [name for name in partitioned_tables(cursor) if name in wanted]
        counts = row_counts(cursor, wanted)
        migrations = applied_migrations(cursor)
        cursor.execute("SELECT current_setting('server_version')")
        server_version = cursor.fetchone()[0]

        stamp = datetime.now(UTC)
        stem = (
            f"{stamp:%Y%m%dT%H%M%SZ}-{_label(settings_dict['NAME'])}-{_label(reason)}-"
            f"{uuid.uuid4().hex[:6]}"
        )
        archive_path = directory / f"{stem}{ARCHIVE_SUFFIX}"
        partial_path = directory / f".{stem}{ARCHIVE_SUFFIX}.partial"
        args = ["--format=custom", f"--snapshot={dump_snapshot}", f"--file={partial_path}"]
        for name in wanted if scope == "tables" else ():
            schema, table = name.split(".", 1)
            args.append(f"--table={quote_ident(schema)}.{quote_ident(table)}")
        try:
            pgtools.run_client(
                "pg_dump", args, settings_dict, check_against_server_version=version_num
            )
        except RecoveryError:
            partial_path.unlink(missing_ok=True)
            raise
    # The snapshot may end now: the archive is complete on disk.
    try:
        verify_archive_readable(
            partial_path, settings_dict, [name for name in wanted if name not in partitioned]
        )
        checksum = sha256_of(partial_path)
        size = partial_path.stat().st_size
        partial_path.rename(archive_path)
    except (RecoveryError, OSError):
        partial_path.unlink(missing_ok=True)
        raise

    manifest = {
        "format": MANIFEST_FORMAT,
        "archive": archive_path.name,
        "sha256": checksum,
        "size_bytes": size,
        "created_at": stamp.isoformat(),
        "reason": reason,
        "database": target,
        "server_version": server_version,
        "pg_dump_version": dump_version,
        "scope": scope,
        "tables": counts,
        "partitioned_tables": partitioned,
        "migration_state": [list(key) for key in migrations],
    }
    manifest_path = manifest_path_for(archive_path)
    partial_manifest = manifest_path.with_name("." + manifest_path.name + ".partial")
    partial_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    partial_manifest.rename(manifest_path)
    return Backup(archive_path=archive_path, manifest_path=manifest_path, manifest=manifest)


def _shape_problem(manifest):
    """What is wrong with the fields a restore relies on, or None: checked before anything runs,
    so a damaged manifest is refused up front rather than failing half-way."""

    def is_name_list(value):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    tables = manifest.get("tables")
    if manifest.get("scope") not in ("database", "tables"):
        return "'scope' is not 'database' or 'tables'"
    if not isinstance(tables, dict) or not all(
        isinstance(name, str) and type(rows) is int and rows >= 0 for name, rows in tables.items()
    ):
        return "'tables' is not an object of table names and row counts"
    state = manifest.get("migration_state")
    if not isinstance(state, list) or not all(is_name_list(key) and len(key) == 2 for key in state):
        return "'migration_state' is not a list of [app, migration] pairs"
    if not is_name_list(manifest.get("partitioned_tables", [])):
        return "'partitioned_tables' is not a list of table names"
    return None


def read_verified_manifest(archive_path):
    """The manifest of ``archive_path`` once the archive's checksum matches it.

    Raises ``RecoveryError`` for a missing archive or manifest, an unreadable or malformed
    manifest, or a checksum mismatch (a corrupted or altered archive).
    """
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise RecoveryError(f"archive {archive_path} does not exist. Nothing was restored.")
    manifest_path = manifest_path_for(archive_path)
    if not manifest_path.is_file():
        raise RecoveryError(
            f"archive {archive_path} has no manifest ({manifest_path.name} is missing), so its "
            "checksum cannot be verified. Restore only archives written by `backup`. "
            "Nothing was restored."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise RecoveryError(
            f"manifest {manifest_path} cannot be read ({exc}). Nothing was restored."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise RecoveryError(
            f"manifest {manifest_path} is not a {MANIFEST_FORMAT} manifest. Nothing was restored."
        )
    problem = _shape_problem(manifest)
    if problem:
        raise RecoveryError(
            f"manifest {manifest_path} is damaged: {problem}. Nothing was restored; use another "
            "backup."
        )
    actual = sha256_of(archive_path)
    if actual != manifest.get("sha256"):
        raise RecoveryError(
            f"archive {archive_path} is corrupted or was altered: its SHA-256 is {actual} but the "
            f"manifest recorded {manifest.get('sha256')}. Nothing was restored; use another "
            "backup."
        )
    return manifest
