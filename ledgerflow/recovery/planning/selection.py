"""Choosing the migrations a rollback unapplies, newest first."""

from ledgerflow.migrating.history import read_history
from ledgerflow.recovery import RecoveryError


def _known(loader, key):
    if key not in loader.graph.nodes:
        raise RecoveryError(
            f"{key[0]}.{key[1]} is recorded as applied but its migration file is not in this "
            "project, so it cannot be reversed. Restore the file (or record its removal) first. "
            "Nothing was changed."
        )
    return loader.graph.nodes[key]


def _ordered_unapply(loader, applied, keys):
    """``keys`` in reverse applied order, after checking nothing outside them depends on them."""
    chosen = set(keys)
    applied_set = set(applied)
    for key in chosen:
        _known(loader, key)
        dependants = {d for d in loader.graph.backwards_plan(key) if d in applied_set} - chosen
        if dependants:
            names = ", ".join(sorted(f"{a}.{n}" for a, n in dependants))
            raise RecoveryError(
                f"{key[0]}.{key[1]} cannot be unapplied alone: the applied {names} depend on it. "
                "Roll back further (more steps or an earlier target). Nothing was changed."
            )
    return [loader.graph.nodes[key] for key in reversed(applied) if key in chosen]


def migrations_to_target(executor, app_label, name):
    """Migrations unapplied by ``rollback APP NAME`` (NAME may be a prefix, or ``zero``)."""
    loader = executor.loader
    if app_label not in loader.migrated_apps:
        raise RecoveryError(
            f"no app {app_label!r} with migrations; apps: "
            f"{', '.join(sorted(loader.migrated_apps))}."
        )
    if name == "zero":
        target = (app_label, None)
    else:
        try:
            migration = loader.get_migration_by_prefix(app_label, name)
        except KeyError:
            raise RecoveryError(f"no migration {app_label}.{name}* in the project.") from None
        except Exception as exc:  # AmbiguityError names the candidates
            raise RecoveryError(str(exc)) from None
        target = (app_label, migration.name)
        if target not in loader.applied_migrations:
            raise RecoveryError(
                f"{app_label}.{migration.name} is not applied; rollback only goes backward. "
                "Use migrate to apply migrations."
            )
    plan = executor.migration_plan([target])
    forwards = [m for m, backwards in plan if not backwards]
    if forwards:
        raise RecoveryError("rollback only goes backward; use migrate to apply migrations.")
    return [migration for migration, _ in plan]


def migrations_for_steps(loader, cursor, steps):
    """The ``steps`` most recently applied migrations, newest first."""
    applied = list(read_history(cursor).applied_keys)
    if steps < 1:
        raise RecoveryError("--steps must be 1 or more.")
    if steps > len(applied):
        raise RecoveryError(f"--steps {steps} but only {len(applied)} migrations are applied.")
    return _ordered_unapply(loader, applied, applied[-steps:])


def migrations_to_state(loader, cursor, state, label):
    """Migrations to unapply so that exactly ``state`` (``[[app, name], ...]``) stays applied."""
    applied = list(read_history(cursor).applied_keys)
    wanted = {tuple(key) for key in state}
    ahead = sorted(wanted - set(applied))
    if ahead:
        names = ", ".join(f"{a}.{n}" for a, n in ahead)
        raise RecoveryError(
            f"{label} includes migrations not applied here ({names}); rollback only goes "
            "backward. Use migrate to apply them."
        )
    return _ordered_unapply(loader, applied, [key for key in applied if key not in wanted])
