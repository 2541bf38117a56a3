"""What ``migrate`` checks under the migration lock, on Django's own plan, before applying anything.

Called by the executor (``SafeMigrationExecutor.migrate``) once Django's command has parsed the
target, checked for conflicts and made its plan, so every check sees exactly what will run, after
any wait for another run's lock. Each refusal is a ``CommandError`` with nothing changed.
"""

import time

from django.core.management.base import CommandError

from ledgerflow.migrating import checksums, ledger, schema_load


def prepare(session, executor, plan, *, fake, preflight=True, backup=None, load=False, verbosity=1):
    """Refuse going backwards, verify checksums, run the pre-flight checks, take the backup
    (``backup()``, only when something will be applied), then start the run's record.

    With ``load``, an empty database whose plan the head schema snapshot stands for gets the
    snapshot in one transaction instead (``schema_load``); the project state it reaches is
    returned, and the executor applies nothing more. Otherwise returns ``None``."""
    if not fake:  # --fake only edits the history: no table or row is touched
        refuse_backwards(plan)
    forward = [(migration, False) for migration, backwards in plan if not backwards]
    connection = executor.connection
    # Asked and read once for the baseline, the checks and the run's record: each is a round
    # trip of every deploy.
    ledger_exists = ledger.exists(connection)
    recorded = ledger.read_checksums(connection) if ledger_exists else {}
    if ledger_exists and checksums.baseline(connection, executor.loader, recorded=recorded):
        recorded = ledger.read_checksums(connection)  # with the rows the baseline wrote
    check(
        executor, forward, fake=fake, preflight=preflight, report=session.report, recorded=recorded
    )
    reason = "not asked" if not load or fake or not plan else None
    reason = reason or schema_load.reason_to_replay(executor, plan)
    if reason is None:
        if backup is not None and verbosity:
            session.report("The database is empty: there is nothing to back up.")
        started = time.monotonic()
        state = schema_load.load(executor, plan)
        session.applied += len(plan)
        session.start_run(ledger_exists=True)  # the snapshot holds the ledger tables
        if verbosity:
            session.report(
                f"  Loaded the head schema ({len(plan)} migrations) in one transaction in "
                f"{time.monotonic() - started:.2f}s (an empty database; `migrate --replay` "
                "applies them one by one)."
            )
        return state
    if backup is not None and forward and not fake:
        backup()
    session.start_run(ledger_exists=ledger_exists)
    return None


def refuse_backwards(plan):
    undo = [f"{m.app_label}.{m.name}" for m, backwards in plan if backwards]
    if undo:
        raise CommandError(
            f"migrate only moves forward; this would unapply {', '.join(undo)}, and "
            "unapplying can drop tables and columns holding payment rows. Use "
            "`python manage.py rollback`, which checks for data loss first. Nothing was "
            "changed."
        )


def check(executor, plan, *, fake, preflight, report, recorded=None):
    """``recorded``: the checksum rows when the caller read them (``None``: read here)."""
    mismatches = checksums.checksum_mismatches(
        executor.connection, executor.loader, recorded=recorded
    )
    if mismatches:
        raise CommandError(
            "Refusing to migrate: applied migrations were changed since they ran; nothing "
            "was applied.\n" + "\n".join(checksums.describe_mismatch(m) for m in mismatches)
        )
    if fake or not plan:
        return  # nothing to apply: Django itself reports unmigrated model changes
    from ledgerflow.migrating import preflight as checks  # only when there is something to apply

    # Always, even with --no-preflight: applying would fail half-way, leaving a partial change.
    clashes = checks.check_pending_tables_absent(executor, plan)
    if clashes:
        raise CommandError("Refusing to migrate; nothing was applied: " + clashes[0])
    if not preflight:
        return
    result = checks.run(
        executor, models_check=True, with_sql=False, plan=plan, migrate_checked=True
    )
    for note in result.notes:
        report(f"note: {note}")
    if not result.ok:
        raise CommandError(
            "Pre-flight checks failed; nothing was applied:\n"
            + "\n".join(f"  [{name}] {message}" for name, message in result.problems)
            + "\nFix them, acknowledge a lint finding with `preflight_ignore` in the "
            "migration, or pass --no-preflight to override."
        )
