"""The project's bookkeeping tables, read and written through their models only.

``AppliedMigrationChecksum`` (what each applied migration does), ``MigrationChecksumAcceptance``
(who accepted an edited one, and why), ``MigrateRun`` (one row per ``migrate`` that took the
lock), ``ReleaseTag`` (a named migration state, for ``rollback --to-tag``) and
``SchemaTakeover`` (the record ``adopt_sqlx`` leaves). Every function
works on the given connection, so inside the caller's transaction: the executor writes a
migration's checksum row and its run's count in the migration's own transaction.

The tables are created by the project's own migrations, so on a fresh database they appear
part-way through the first ``migrate``: ``exists`` says whether they are there yet.

One write is SQL rather than the models': ``record_migration`` puts a migration's history rows,
its checksum rows and its run's count into one statement, so that the bookkeeping of each
migration ``migrate`` applies costs one round trip to the server.
"""

import getpass
import socket
from functools import lru_cache

from django.db import transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from ledgerflow.db.expressions import Now
from ledgerflow.models import (
    AppliedMigrationChecksum,
    MigrateRun,
    MigrationChecksumAcceptance,
    ReleaseTag,
    SchemaTakeover,
)

APP_LABEL = AppliedMigrationChecksum._meta.app_label  # its migrations create these tables
_CHECKSUM_FIELDS = (
    "app",
    "name",
    "checksum",
    "algorithm",
    "applied_at",
    "applied_by",
    "duration_ms",
    "lock_wait_ms",
    "baselined",
)


@lru_cache(maxsize=1)
def run_by():
    """``os-user@host``: who ran the command, for the audit columns."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:255]


def exists(connection):
    """Whether the checksum and run tables exist on ``connection``'s database (one migration
    creates them)."""
    return _table_exists(connection, AppliedMigrationChecksum)


def _checksums(connection):
    return AppliedMigrationChecksum.objects.using(connection.alias)


def record_checksum(
    connection,
    app_label,
    name,
    checksum,
    algorithm,
    *,
    applied_by=None,
    duration_ms=None,
    lock_wait_ms=None,
    baselined=False,
):
    """Record ``app_label.name`` as applied with ``checksum`` now; re-recording replaces the row."""
    row = AppliedMigrationChecksum(
        app=app_label,
        name=name,
        checksum=checksum,
        algorithm=algorithm,
        applied_at=Now(),
        applied_by=applied_by or run_by(),
        duration_ms=duration_ms,
        lock_wait_ms=lock_wait_ms,
        baselined=baselined,
    )
    _checksums(connection).bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=("app", "name"),
        update_fields=_CHECKSUM_FIELDS[2:],
    )


def record_migration(connection, history, checksums, *, run_id=None, applied_count=0):
    """In one statement, on ``connection`` and so inside the caller's transaction: the
    ``django_migrations`` rows of ``history`` (``(app, name)`` pairs, as Django's recorder writes
    them), the checksum rows of ``checksums`` (``(app, name, checksum, algorithm, duration_ms,
    lock_wait_ms)``, replacing existing rows as ``record_checksum`` does) and, given ``run_id``,
    ``applied_count`` more migrations in the run's row."""
    quote = connection.ops.quote_name
    parts, params = [], []
    if history:
        applied = timezone.now()  # what Django's recorder stores: the time of recording
        parts.append(
            f"INSERT INTO {quote(MigrationRecorder.Migration._meta.db_table)} (app, name, applied) "
            f"VALUES {', '.join(['(%s, %s, %s)'] * len(history))}"
        )
        params += [value for app, name in history for value in (app, name, applied)]
    if checksums:
        replaced = ", ".join(f"{column} = EXCLUDED.{column}" for column in _CHECKSUM_FIELDS[2:])
        parts.append(
            f"INSERT INTO {quote(AppliedMigrationChecksum._meta.db_table)} "
            f"({', '.join(_CHECKSUM_FIELDS)}) "
            f"VALUES {', '.join(['(%s, %s, %s, %s, now(), %s, %s, %s, false)'] * len(checksums))} "
            f"ON CONFLICT (app, name) DO UPDATE SET {replaced}"
        )
        for app, name, checksum, algorithm, duration_ms, lock_wait_ms in checksums:
            params += [app, name, checksum, algorithm, run_by(), duration_ms, lock_wait_ms]
    if run_id is not None and applied_count:
        parts.append(
            f"UPDATE {quote(MigrateRun._meta.db_table)} "
            "SET applied_count = applied_count + %s WHERE id = %s"
        )
        params += [applied_count, run_id]
    if not parts:
        return
    # Data-modifying statements in WITH all run, to completion, whether or not they are read.
    statement = "WITH " + ", ".join(f"w{index} AS ({part})" for index, part in enumerate(parts))
    with connection.cursor() as cursor:
        cursor.execute(statement + " SELECT 1", params)


def forget_checksum(connection, app_label, name):
    """Drop the checksum row of a migration that is no longer applied."""
    _checksums(connection).filter(app=app_label, name=name).delete()


def recorded_checksums(connection):
    """``{(app, name): row dict}`` of every recorded checksum; empty without the ledger tables."""
    if not exists(connection):
        return {}
    return read_checksums(connection)


def read_checksums(connection):
    """``recorded_checksums``, for a caller that knows the ledger tables exist."""
    return {
        (row["app"], row["name"]): row for row in _checksums(connection).values(*_CHECKSUM_FIELDS)
    }


def rebaseline_checksum(connection, app_label, name, checksum, algorithm):
    """Replace a row's checksum computed by an older algorithm, keeping when and who applied it."""
    _checksums(connection).filter(app=app_label, name=name).update(
        checksum=checksum, algorithm=algorithm, baselined=True
    )


def accept_checksum(connection, app_label, name, *, previous, accepted, accepted_by, reason):
    """Replace a row's checksum with ``accepted`` and keep an audit row; the caller holds the
    transaction that makes both one change."""
    MigrationChecksumAcceptance.objects.using(connection.alias).create(
        app=app_label,
        name=name,
        previous_checksum=previous,
        accepted_checksum=accepted,
        accepted_by=accepted_by,
        reason=reason,
    )
    _checksums(connection).filter(app=app_label, name=name).update(checksum=accepted)


def _runs(connection):
    return MigrateRun.objects.using(connection.alias)


def start_run(connection, *, lock_wait_ms):
    """A ``running`` row for a ``migrate`` that holds the lock; its id."""
    return _runs(connection).create(run_by=run_by(), lock_wait_ms=lock_wait_ms).pk


def finish_run(connection, run_id, *, duration_ms, outcome, error="", applied_count=None):
    """Close the run's row: ``outcome`` is ``succeeded`` or ``failed``."""
    changes = {"finished_at": Now(), "duration_ms": duration_ms, "outcome": outcome, "error": error}
    if applied_count is not None:
        changes["applied_count"] = applied_count
    _runs(connection).filter(id=run_id).update(**changes)


def last_run(connection):
    """The latest ``migrate`` run that took the lock as a dict (times in ISO 8601), or ``None``."""
    if not exists(connection):
        return None
    run = _runs(connection).order_by("-started_at", "-id").first()
    if run is None:
        return None
    return {
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "run_by": run.run_by,
        "lock_wait_ms": _round(run.lock_wait_ms),
        "duration_ms": _round(run.duration_ms),
        "applied_count": run.applied_count,
        "outcome": run.outcome,
        "error": run.error,
    }


def _round(value):
    return round(value, 1) if value is not None else None


def _table_exists(connection, model):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [model._meta.db_table])
        return cursor.fetchone()[0]


def release_tags_exist(connection):
    """Whether the release tags table exists (it comes with a later migration than the rest)."""
    return _table_exists(connection, ReleaseTag)


def release_tags(connection):
    """Every release tag, oldest first."""
    return list(ReleaseTag.objects.using(connection.alias).order_by("created_at", "id"))


def release_tag(connection, name):
    """The release tag ``name``, or ``None``."""
    return ReleaseTag.objects.using(connection.alias).filter(name=name).first()


def add_release_tag(connection, name, *, created_by, migration_state):
    """Record ``migration_state`` (``[(app, name), ...]``) under ``name``; raises
    ``IntegrityError`` when the name is taken. Returns the tag as stored (with ``created_at``)."""
    with transaction.atomic(using=connection.alias):
        tag = ReleaseTag.objects.using(connection.alias).create(
            name=name,
            created_by=created_by,
            migration_state=[list(key) for key in migration_state],
        )
    tag.refresh_from_db()
    return tag


def _takeover(record):
    return {
        "id": record.pk,
        "adopted_at": record.adopted_at.isoformat(),
        "os_user": record.os_user,
        "database_user": record.database_user,
        "client_host": record.client_host,
    }


def takeover(connection):
    """The takeover record (``adopt_sqlx``) as a dict (id, adopted_at ISO 8601, os_user,
    database_user, client_host), or ``None`` when the database was never taken over."""
    if not _table_exists(connection, SchemaTakeover):
        return None
    record = SchemaTakeover.objects.using(connection.alias).order_by("adopted_at", "id").first()
    return None if record is None else _takeover(record)


def record_takeover(connection, **fields):
    """Write the takeover record (``SchemaTakeover``'s fields); returns it as ``takeover`` does."""
    record = SchemaTakeover.objects.using(connection.alias).create(**fields)
    record.refresh_from_db(fields=["adopted_at"])
    return _takeover(record)
