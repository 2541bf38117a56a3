"""The plan as printed before anything runs: a summary, then every step's exact SQL."""

from ledgerflow.migrating.effects import display as _display


def render(plan, describe_target):
    """The plan as printed before anything runs: summary first, then every step's exact SQL."""
    lines = [
        f"Rollback plan ({plan.target}) for {describe_target}: unapply {len(plan.steps)} "
        "migration(s) in this order.",
        "Atomic: yes, the whole rollback runs in one transaction."
        if plan.atomic
        else "Atomic: NO. Non-atomic migrations ("
        + ", ".join(f"{s.app_label}.{s.name}" for s in plan.steps if not s.atomic)
        + ") cannot run in a transaction; a failure can leave earlier steps done.",
    ]
    irreversible = plan.irreversible_steps
    if irreversible:
        lines.append(
            "Irreversible steps: "
            + ", ".join(f"{s.app_label}.{s.name}" for s in irreversible)
            + " (this rollback cannot run)"
        )
    else:
        lines.append("Irreversible steps: none")
    stake = plan.tables_at_stake()
    if stake:
        lines.append(
            "Lossy steps: "
            + ", ".join(f"{s.app_label}.{s.name}" for s in plan.lossy_steps)
            + "; data at stake: "
            + ", ".join(f"{_display(t)} ({'?' if r is None else r} rows)" for t, r in stake.items())
        )
    else:
        lines.append("Lossy steps: none")
    for number, step in enumerate(plan.steps, 1):
        lines.append("")
        lines.append(f"[{number}] unapply {step.app_label}.{step.name}: {step.classification}")
        for operation in step.operations:
            lines.append(f"    - reverse of: {operation.description} [{operation.classification}]")
            if operation.irreversible_reason:
                lines.append(f"      IRREVERSIBLE: {operation.irreversible_reason}")
            for loss in operation.losses:
                lines.append(f"      LOSSY: {loss.what}")
            if operation.python is not None:
                lines.append(f"      (Python: {operation.python}; no SQL to show)")
            for statement in operation.sql:
                for text in statement.splitlines():
                    lines.append(f"      {text}")
            if not operation.sql and operation.python is None and not operation.irreversible_reason:
                lines.append("      (no SQL: state-only change)")
    return "\n".join(lines)
