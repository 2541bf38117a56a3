"""Verified ``pg_dump`` archives with a checksum and a manifest.

An archive ``<stem>.dump`` is complete only when ``<stem>.manifest.json`` sits beside it: the
manifest is written last, after the archive was read back in full by ``pg_restore`` and its
checksum taken. Row counts and the migration state are read in the very snapshot ``pg_dump``
dumps, so the manifest describes exactly the archive's contents.
"""

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

from ledgerflow.db import clienttools
from ledgerflow.db.errors import OperatorError
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.history import read_history
from ledgerflow.recovery import RecoveryError
from ledgerflow.recovery.state import (
    partitioned_tables,
    row_counts,
    server_version_num,
    table_exists,
    user_tables,
    with_partitions,
)
from ledgerflow.sql import quote_ident

MANIFEST_FORMAT = "ledgerflow-backup/1"
ARCHIVE_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
SIGNATURE_FIELD = "hmac_sha256"
MIN_KEY_LENGTH = 32
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
    listing = clienttools.run_client("pg_restore", ["--list", str(archive_path)], settings_dict)
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
    clienttools.run_client("pg_restore", ["--file", "/dev/null", str(archive_path)], settings_dict)


def _system_schema(name):
    schema = _qualified(name).split(".", 1)[0]
    return schema in ("pg_catalog", "information_schema") or schema.startswith(
        ("pg_toast", "pg_temp")
    )


def _private_directory(directory):
    """Create ``directory`` (mode 0700), or make an existing one of ours private: archives hold
    every payment row and the staff's password hashes. Refuses a directory anyone can write
    into, such as /tmp. One owned by another account is left as it is (its files are 0600)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = directory.stat()
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o002:
            raise RecoveryError(
                f"the backup directory {directory} is writable by every user (mode {mode:o}), "
                "who could replace archives. Nothing was written; set LEDGERFLOW_BACKUP_DIR (or "
                "--directory) to a directory of its own, e.g. a new one the backup creates."
            )
        if mode & 0o077 and status.st_uid == os.geteuid():
            directory.chmod(0o700)
    except OSError as exc:
        raise RecoveryError(
            f"cannot use the backup directory {directory} ({exc.strerror}). Nothing was written; "
            "set LEDGERFLOW_BACKUP_DIR (or --directory) to a writable directory."
        ) from None


def _remove_stale_partials(directory):
    """Remove ``.partial`` files that no running backup holds: a backup holds an exclusive
    ``flock`` on its partial archive until it is renamed, so a lock that can be taken belongs
    to a backup that died (killed, or the machine stopped). Files younger than a minute are left
    alone: a starting backup creates its file an instant before locking it."""
    for path in directory.glob(".*.partial"):
        try:
            if time.time() - path.stat().st_mtime < 60:
                continue
            with open(path, "rb") as partial:
                fcntl.flock(partial, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
        except OSError:
            continue  # held by a running backup, or already gone


def _write_private(path, data):
    """Write ``data`` to a new file only its owner can read, and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _discard(*paths):
    """Remove what a failed backup wrote, as far as the disk lets us (a read-only one refuses
    even the removal of a file that is not there)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _write_failure(directory, exc):
    return (
        f"cannot write the backup into {directory}: {exc.strerror or exc} (a full disk or a "
        "read-only directory). Nothing was kept: the partial files were removed. Free space, or "
        "set LEDGERFLOW_BACKUP_DIR (or --directory) to a writable directory with room, and run "
        "the backup again."
    )


def take_backup(
    *,
    tables=None,
    reason="manual",
    directory=None,
    snapshot=None,
    lock_wait_timeout_ms=None,
    using="default",
    settings_dict=None,
):
    """Dump the database (or only ``tables``) to a verified archive and write its manifest.

    The database is ``using``'s, or ``settings_dict``'s when given (a database Django is not
    configured for, such as a restore target). ``snapshot`` is an exported snapshot id
    (``pg_export_snapshot()``) of a transaction that stays open meanwhile: the archive then holds
    exactly what that transaction sees; ``lock_wait_timeout_ms`` then bounds pg_dump's wait for
    its table locks, which that transaction may be what holds up. The archive and manifest are
    readable by their owner only, in a directory only it can enter; the manifest carries an HMAC
    when LEDGERFLOW_BACKUP_KEY is set. Returns a ``Backup``; raises ``RecoveryError`` or the
    client tools' ``ClientToolError`` (and leaves no archive or partial file behind) when
    anything fails.
    """
    settings_dict = settings_dict or connections[using].settings_dict
    target = describe_target(settings_dict)
    key = backup_key()
    directory = Path(directory or settings.LEDGERFLOW_BACKUP_DIR)
    if tables:
        system = [name for name in tables if _system_schema(name)]
        if system:
            raise RecoveryError(
                f"--table {', '.join(system)}: system catalogs"
                " (pg_catalog, information_schema, pg_toast), not tables of the application: "
                "`backup --table` copies only user tables, and the catalogs hold role password "
                "hashes. Nothing was written; name tables of the database instead."
            )
    _private_directory(directory)
    _remove_stale_partials(directory)

    with clienttools.connect(settings_dict, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot:
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            dump_snapshot = snapshot
        else:
            cursor.execute("SELECT pg_export_snapshot()")
            dump_snapshot = cursor.fetchone()[0]
        version_num = server_version_num(cursor)
        major, dump_version = clienttools.client_version("pg_dump", version_num)
        clienttools.check_versions_match("pg_dump", major, dump_version, version_num, target)
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
        migrations = list(read_history(cursor).applied_keys)
        cursor.execute("SELECT current_setting('server_version')")
        server_version = cursor.fetchone()[0]

        stamp = datetime.now(UTC)
        stem = (
            f"{stamp:%Y%m%dT%H%M%SZ}-{_label(settings_dict['NAME'])}-{_label(reason)}-"
            f"{uuid.uuid4().hex[:6]}"
        )
        archive_path = directory / f"{stem}{ARCHIVE_SUFFIX}"
        manifest_path = manifest_path_for(archive_path)
        partial_path = directory / f".{stem}{ARCHIVE_SUFFIX}.partial"
        partial_manifest = manifest_path.with_name("." + manifest_path.name + ".partial")
        args = ["--format=custom", f"--snapshot={dump_snapshot}", f"--file={partial_path}"]
        if lock_wait_timeout_ms:
            args.append(f"--lock-wait-timeout={lock_wait_timeout_ms}ms")
        for name in wanted if scope == "tables" else ():
            schema, table = name.split(".", 1)
            args.append(f"--table={quote_ident(schema)}.{quote_ident(table)}")
        held = None
        try:
            # Created here, owner-only, so pg_dump (which keeps an existing file's mode) never
            # writes the rows world-readable; the lock marks the file as in use.
            held = os.fdopen(
                os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
            )
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            clienttools.run_client(
                "pg_dump", args, settings_dict, check_against_server_version=version_num
            )
            os.fsync(held.fileno())
        except (OperatorError, OSError) as exc:
            if held:
                held.close()
            _discard(partial_path)
            if isinstance(exc, OSError):
                raise RecoveryError(_write_failure(directory, exc)) from None
            raise RecoveryError(
                f"{exc} Nothing was kept: the partial archive was removed; fix the cause and run "
                "the backup again."
            ) from None
    # The snapshot may end now: the archive is complete on disk.
    try:
        verify_archive_readable(
            partial_path, settings_dict, [name for name in wanted if name not in partitioned]
        )
        manifest = {
            "format": MANIFEST_FORMAT,
            "archive": archive_path.name,
            "sha256": sha256_of(partial_path),
            "size_bytes": partial_path.stat().st_size,
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
        if key:
            manifest[SIGNATURE_FIELD] = manifest_signature(manifest, key)
        # Both files are complete before either takes its final name, so a full disk never
        # leaves an archive without its manifest.
        _write_private(partial_manifest, (json.dumps(manifest, indent=2) + "\n").encode())
        partial_path.rename(archive_path)
        partial_manifest.rename(manifest_path)
    except (OperatorError, OSError) as exc:
        _discard(partial_path, partial_manifest, archive_path)
        if isinstance(exc, OSError):
            raise RecoveryError(_write_failure(directory, exc)) from None
        raise
    finally:
        held.close()
    return Backup(archive_path=archive_path, manifest_path=manifest_path, manifest=manifest)


def backup_key():
    """LEDGERFLOW_BACKUP_KEY as bytes, or None when unset (manifests are then unauthenticated)."""
    key = settings.LEDGERFLOW_BACKUP_KEY
    if not key:
        return None
    if len(key) < MIN_KEY_LENGTH:
        raise RecoveryError(
            f"LEDGERFLOW_BACKUP_KEY is {len(key)} characters long; it must be at least "
            f"{MIN_KEY_LENGTH} (e.g. the output of `openssl rand -hex 32`) so that an archive "
            "cannot be forged. Nothing was changed."
        )
    return key.encode()


def manifest_signature(manifest, key):
    """HMAC-SHA256 of the manifest's fields (all but the signature), as canonical JSON. The
    manifest holds the archive's SHA-256, so the signature vouches for the archive too."""
    body = {name: value for name, value in manifest.items() if name != SIGNATURE_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


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


def _authenticate(manifest, manifest_path, allow_unauthenticated):
    """Refuse a manifest whose HMAC does not verify with LEDGERFLOW_BACKUP_KEY, and one without
    an HMAC unless ``allow_unauthenticated``: without it anyone able to write the archive could
    edit rows and recompute the SHA-256."""
    signature = manifest.get(SIGNATURE_FIELD)
    if signature is None:
        if allow_unauthenticated:
            return
        raise RecoveryError(
            f"manifest {manifest_path} carries no HMAC: it was written without "
            "LEDGERFLOW_BACKUP_KEY (or the HMAC was removed), so nothing proves the archive was "
            "not altered. Nothing was restored. Restore an archive written with the key, or, if "
            "you trust where this one was kept, re-run with --allow-unauthenticated."
        )
    key = backup_key()
    if key is None:
        raise RecoveryError(
            f"manifest {manifest_path} is authenticated with an HMAC but LEDGERFLOW_BACKUP_KEY "
            "is unset, so it cannot be checked. Nothing was restored; set LEDGERFLOW_BACKUP_KEY "
            "to the key the backup was written with."
        )
    if not isinstance(signature, str) or not hmac.compare_digest(
        signature, manifest_signature(manifest, key)
    ):
        raise RecoveryError(
            f"manifest {manifest_path} fails its HMAC check: it was altered, or written with "
            "another LEDGERFLOW_BACKUP_KEY. Nothing was restored; use another backup, or set "
            "the key it was written with."
        )


def read_verified_manifest(archive_path, *, allow_unauthenticated=False):
    """The manifest of ``archive_path`` once its HMAC and the archive's checksum match.

    Raises ``RecoveryError`` for a missing archive or manifest, an unreadable or malformed
    manifest, a missing (unless ``allow_unauthenticated``) or wrong HMAC, or a checksum mismatch
    (a corrupted or altered archive).
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
    _authenticate(manifest, manifest_path, allow_unauthenticated)
    actual = sha256_of(archive_path)
    if actual != manifest.get("sha256"):
        raise RecoveryError(
            f"archive {archive_path} is corrupted or was altered: its SHA-256 is {actual} but the "
            f"manifest recorded {manifest.get('sha256')}. Nothing was restored; use another "
            "backup."
        )
    return manifest
