"""The migration status report: applied and pending per app, checksums, head, the last run."""

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from ledgerflow.migrating import checksums, ledger, lock


def _iso(value):
    return value.isoformat() if value is not None else None


def _round(value):
    return round(value, 1) if value is not None else None


def migration_status(connection):
    """A JSON-serialisable report of ``connection``'s database against the code::

        {"at_head": bool, "apps": {app: {"applied": [...], "pending": [...]}},
         "unknown_applied": [{"app", "name", "applied_at"}], "checksum_mismatches": [...],
         "last_run": {...} | None, "lock_holder": {...} | None}

    Applied entries carry ``applied_at``, ``applied_by``, ``duration_ms``, ``lock_wait_ms`` and
    ``checksum`` (``ok``, ``changed``, ``unrecorded`` until the next migrate baselines it, or
    ``unverified`` for installed packages' migrations, which change with package upgrades).
    ``at_head`` is true when nothing is pending, nothing is unknown and no checksum changed."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    recorder = MigrationRecorder(connection)
    applied_rows = {}
    if recorder.has_table():
        for record in recorder.migration_qs.order_by("applied", "id"):
            applied_rows[(record.app, record.name)] = record.applied
    recorded = ledger.recorded_checksums(connection)
    mismatches = {
        (m["app"], m["name"]): m for m in checksums.checksum_mismatches(connection, loader)
    }

    apps = {}
    for app_label in sorted(loader.migrated_apps):
        apps[app_label] = {"applied": [], "pending": []}
    leaves = loader.graph.leaf_nodes()
    for leaf in leaves:
        for key in loader.graph.forwards_plan(leaf):
            if key[0] != leaf[0] or key not in loader.graph.nodes:
                continue
            entry = apps.setdefault(key[0], {"applied": [], "pending": []})
            if key in applied_rows:
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
                        "applied_at": _iso(applied_rows[key]),
                        "applied_by": row["applied_by"] if row else None,
                        "duration_ms": _round(row["duration_ms"]) if row else None,
                        "lock_wait_ms": _round(row["lock_wait_ms"]) if row else None,
                        "baselined": row["baselined"] if row else None,
                        "checksum": state,
                    }
                )
            else:
                entry["pending"].append({"name": key[1]})
    unknown = [
        {"app": app, "name": name, "applied_at": _iso(applied)}
        for (app, name), applied in sorted(applied_rows.items())
        if (app, name) not in loader.disk_migrations and app in loader.migrated_apps
    ]
    pending = sum(len(entry["pending"]) for entry in apps.values())
    run, holder = ledger.last_run(connection), lock.lock_holder(connection)
    if run and run["outcome"] == "running" and holder is None:
        # A run holds the lock until its session ends: "running" with no holder died mid-way.
        run["outcome"] = "interrupted"
    return {
        "database": connection.settings_dict.get("NAME"),
        "at_head": not pending and not unknown and not mismatches,
        "pending_count": pending,
        "apps": apps,
        "unknown_applied": unknown,
        "checksum_mismatches": list(mismatches.values()),
        "last_run": run,
        "lock_holder": holder,
    }
