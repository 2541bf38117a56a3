"""Running a rollback plan: refuse what would lose data, back up what is allowed to be lost, then
unapply every migration in one transaction.

While an atomic rollback runs, the tables it touches are held in SHARE mode from before the
row counts are taken until the commit: no service can write a row that the counts, the backup or
the plan do not know about. The backup reads the same snapshot (``pg_export_snapshot``).
"""

import contextlib
from dataclasses import dataclass

from django.db import DatabaseError, OperationalError, transaction

from ledgerflow.db.timeouts import set_lock_timeout
from ledgerflow.db.urls import describe_target
from ledgerflow.migrating.executor import SafeMigrationExecutor
from ledgerflow.migrating.history import read_history
from ledgerflow.migrating.session import migration_session
from ledgerflow.recovery import RecoveryError, lock_timeout_ms
from ledgerflow.recovery.backup import take_backup
from ledgerflow.recovery.planning import assess, build_plan, render
from ledgerflow.recovery.state import table_exists
from ledgerflow.sql import quote_qualified


@dataclass
class RollbackOutcome:
    plan: object
    executed: bool
    backup: object = None


def _refusal(plan):
    stake = plan.tables_at_stake()
    lines = ["Refused: this rollback would lose data. Nothing was changed."]
    for table, rows in stake.items():
        lines.append(
            f"  {table.removeprefix('public.')}: "
            f"{'an unknown number of' if rows is None else rows} rows"
        )
    for loss in plan.losses():
        lines.append(f"  - {loss.what}")
    lines.append(
        "Re-run with --allow-data-loss to take a verified backup of the database first and then "
        "roll back, or move the data away first."
    )
    return "\n".join(lines)


def _lock_touched_tables(connection, plan, seconds):
    with connection.cursor() as cursor:
        # Waiting behind a long query would queue every service write behind this lock.
        set_lock_timeout(cursor, seconds)
        names = [name for name in plan.tables_touched() if table_exists(cursor, name)]
        if names:
            # SHARE blocks writers but lets pg_dump (ACCESS SHARE) read during the backup.
            cursor.execute(
                f"LOCK TABLE {', '.join(quote_qualified(n) for n in names)} IN SHARE MODE"
            )
    return names


def _failure(connection, plan, atomic, exc, backup):
    """One paragraph on a statement PostgreSQL rejected mid-rollback: what is left done."""
    lines = [f"the rollback failed: {str(exc).strip().splitlines()[0]}."]
    if atomic:
        lines.append("The transaction was rolled back: nothing was changed.")
    else:
        try:
            with connection.cursor() as cursor:
                remaining = set(read_history(cursor).applied_keys)
        except DatabaseError:
            remaining = None
        if remaining is None:
            lines.append(
                "The plan is not atomic and which steps were done could not be read; "
                "check with python manage.py showmigrations."
            )
        else:
            done = [m for m in plan.migrations if (m.app_label, m.name) not in remaining]
            names = ", ".join(f"{m.app_label}.{m.name}" for m in done) or "none"
            lines.append(
                f"The plan is not atomic: steps already unapplied: {names}; "
                "the others are still applied."
            )
    if backup:
        lines.append(f"The backup taken before it: {backup.archive_path}.")
    return " ".join(lines)


def rollback(
    select_migrations,
    target,
    *,
    dry_run,
    allow_data_loss,
    write,
    lock_timeout=10.0,
    using="default",
):
    """Plan, print, then (unless ``dry_run``) run a rollback.

    ``select_migrations(executor, cursor)`` returns the migrations to unapply, newest first.
    ``write`` receives the printed plan and progress. Raises ``RecoveryError`` for a refused or
    impossible rollback; nothing has changed then.
    """
    lock_timeout_ms(lock_timeout)  # a bad --lock-timeout is refused before anything is read
    # The session holds the lock migrate takes, so a rollback and a deploy never interleave.
    with migration_session(using, report=write, lock_timeout=lock_timeout) as session:
        connection = session.connection
        where = describe_target(connection.settings_dict)
        # Each migration's history and checksum rows go with its change (one transaction each
        # when the plan as a whole cannot be one).
        executor = SafeMigrationExecutor(connection)
        with connection.cursor() as cursor:
            migrations = select_migrations(executor, cursor)
        if not migrations:
            write(f"Nothing to roll back ({target}): the database is already there.")
            return RollbackOutcome(plan=None, executed=False)
        plan = build_plan(executor.loader, connection, migrations, target)
        atomic = plan.atomic and connection.features.can_rollback_ddl
        context = transaction.atomic(using=using) if atomic else contextlib.nullcontext()
        with context:
            if not dry_run and atomic:
                try:
                    _lock_touched_tables(connection, plan, lock_timeout)
                except OperationalError as exc:
                    raise RecoveryError(
                        f"could not lock {', '.join(plan.tables_touched())} within "
                        f"{lock_timeout:g} s: other sessions hold them ({str(exc).strip()}). "
                        "Nothing was changed; retry when they are idle or raise --lock-timeout."
                    ) from None
            assess(plan, connection)
            write(render(plan, where))
            if dry_run:
                write("\nDry run: nothing was changed.")
                return RollbackOutcome(plan=plan, executed=False)
            if plan.irreversible_steps:
                raise RecoveryError(
                    "Refused: irreversible steps "
                    + ", ".join(f"{s.app_label}.{s.name}" for s in plan.irreversible_steps)
                    + " cannot be unapplied. Nothing was changed."
                )
            backup = None
            if plan.lossy_steps:
                if not allow_data_loss:
                    raise RecoveryError(_refusal(plan))
                snapshot = None
                if atomic:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_export_snapshot()")
                        snapshot = cursor.fetchone()[0]
                write("\nTaking a verified backup before the lossy steps ...")
                backup = take_backup(reason=f"rollback {target}", snapshot=snapshot, using=using)
                at_stake = ", ".join(
                    f"{t.removeprefix('public.')}={backup.manifest['tables'].get(t, '?')}"
                    for t in plan.tables_at_stake()
                    if t != "(unknown)"
                )
                write(
                    f"Backup verified: {backup.archive_path} (sha256 {backup.manifest['sha256']}); "
                    f"rows of the tables at stake: {at_stake or 'see manifest'}"
                )
            write("\nRolling back ...")
            try:
                executor.migrate(None, plan=[(migration, True) for migration in plan.migrations])
            except DatabaseError as exc:
                raise RecoveryError(_failure(connection, plan, atomic, exc, backup)) from None
            with connection.cursor() as cursor:
                remaining = set(read_history(cursor).applied_keys)
            still = [m for m in plan.migrations if (m.app_label, m.name) in remaining]
            if still:
                raise RecoveryError(
                    "rollback did not unapply "
                    + ", ".join(f"{m.app_label}.{m.name}" for m in still)
                    + ("; the transaction was rolled back." if atomic else ".")
                )
        write(
            f"Rolled back {len(plan.steps)} migration(s)"
            + (" in one transaction." if atomic else ".")
            + (f" Restore with: python manage.py restore {backup.archive_path}" if backup else "")
        )
        return RollbackOutcome(plan=plan, executed=True, backup=backup)
