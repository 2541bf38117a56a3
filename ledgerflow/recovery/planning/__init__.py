"""Reverse plans: which migrations a rollback unapplies, the exact SQL of each reverse operation,
and whether it is lossless, lossy or irreversible.

``selection`` chooses the migrations (a target, a number of steps, a release tag's state);
``steps`` builds each reverse operation: the SQL Django's schema editor renders for it, and its
effects (``migrating.effects``, backwards); ``losses`` measures those effects against the live
database (rows in a dropped table, values in a dropped column or of a dropped enum type, values a
type change would alter, rows a DELETE or UPDATE matches); ``rendering`` prints the plan.
"""

from ledgerflow.recovery.planning.losses import assess
from ledgerflow.recovery.planning.rendering import render
from ledgerflow.recovery.planning.selection import (
    migrations_for_steps,
    migrations_to_state,
    migrations_to_target,
)
from ledgerflow.recovery.planning.steps import (
    IRREVERSIBLE,
    LOSSLESS,
    LOSSY,
    Loss,
    ReverseOperation,
    ReverseStep,
    RollbackPlan,
    build_plan,
)

__all__ = [
    "IRREVERSIBLE",
    "LOSSLESS",
    "LOSSY",
    "Loss",
    "ReverseOperation",
    "ReverseStep",
    "RollbackPlan",
    "assess",
    "build_plan",
    "migrations_for_steps",
    "migrations_to_state",
    "migrations_to_target",
    "render",
]
