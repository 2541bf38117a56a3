"""The migration status report: applied and pending per app, checksums, head, the last run,
and the deploy gate's verdict."""

from ledgerflow.migrating import checksums, ledger, lock
from ledgerflow.migrating.history import migration_history


def _iso(value):
    return value.isoformat() if value is not None else None


def _round(value):
    return round(value, 1) if value is not None else None


def migration_status(connection, history=None):
    """A JSON-serialisable report of ``connection``'s database against the code::

        {"at_head": bool, "apps": {app: {"applied": [...], "pending": [...]}},
         "unknown_applied": [{"app", "name", "applied_at"}], "checksum_mismatches": [...],
         "last_run": {...} | None, "lock_holder": {...} | None}

    Applied entries carry ``applied_at``, ``applied_by``, ``duration_ms``, ``lock_wait_ms`` and
    ``checksum`` (``ok``, ``changed``, ``unrecorded`` until the next migrate baselines it, or
    ``unverified`` for installed packages' migrations, which change with package upgrades).
    ``at_head`` is the history's: every migration applied and none unknown (checksums and drift
    are reported apart; ``gate_failures`` weighs them all). ``history`` is a ``MigrationHistory``
    already read from this database, if any."""
    history = history or migration_history(connection)
    recorded = ledger.recorded_checksums(connection)
    mismatches = {
        (m["app"], m["name"]): m
        for m in checksums.checksum_mismatches(connection, history.loader, recorded=recorded)
    }

    apps = {}
    for app_label in sorted(history.loader.migrated_apps):
        entry = apps[app_label] = {"applied": [], "pending": []}
        for key in history.migrations_of(app_label):
            if not history.is_applied(key):
                entry["pending"].append({"name": key[1]})
                continue
            row = recorded.get(key)
            if row is None:
                state = "unrecorded"
            elif not checksums.is_verified_app(key[0]):
                state = "unverified"  # an installed package's migration: audit only
            else:
                state = "changed" if key in mismatches else "ok"
            entry["applied"].append(
                {
                    "name": key[1],
                    "applied_at": _iso(history.applied_at.get(key)),
                    "applied_by": row["applied_by"] if row else None,
                    "duration_ms": _round(row["duration_ms"]) if row else None,
                    "lock_wait_ms": _round(row["lock_wait_ms"]) if row else None,
                    "baselined": row["baselined"] if row else None,
                    "checksum": state,
                }
            )
    unknown = [
        {"app": app, "name": name, "applied_at": _iso(history.applied_at[(app, name)])}
        for app, name in history.unknown
    ]
    run, holder = ledger.last_run(connection), lock.lock_holder(connection)
    if run and run["outcome"] == "running" and holder is None:
        # A run holds the lock until its session ends: "running" with no holder died mid-way.
        run["outcome"] = "interrupted"
    return {
        "database": connection.settings_dict.get("NAME"),
        "at_head": history.at_head,
        "pending_count": len(history.pending),
        "apps": apps,
        "unknown_applied": unknown,
        "checksum_mismatches": list(mismatches.values()),
        "last_run": run,
        "lock_holder": holder,
    }


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def gate_failures(status, drift, drift_v2=()):
    """Why a deploy must not go on, one phrase per finding (empty when it may): migrations
    pending or unknown, applied migrations edited since, ``drift`` (the differences
    ``ledgerflow.schema.drift.detect_drift`` found, as strings) and ``drift_v2`` (those of
    ``detect_v2_drift``, schema v2)."""
    failures = []
    if status["pending_count"]:
        failures.append(_plural(status["pending_count"], "pending migration"))
    if status["unknown_applied"]:
        count = len(status["unknown_applied"])
        failures.append(f"{_plural(count, 'applied migration')} unknown to this code")
    if status["checksum_mismatches"]:
        count = len(status["checksum_mismatches"])
        failures.append(f"{count} checksum mismatch{'' if count == 1 else 'es'}")
    if drift:
        failures.append(f"drift: {_plural(len(drift), 'schema difference')}")
    if drift_v2:
        failures.append(f"schema v2 drift: {_plural(len(drift_v2), 'schema difference')}")
    return failures
