"""The reverse steps of a plan: each operation's reverse SQL, as Django's schema editor renders it
(what is printed), and its effects (what is measured and locked)."""

from dataclasses import dataclass, field

from ledgerflow.migrating.effects.operations import backwards, python_effect
from ledgerflow.migrating.effects.sql import read_sql

LOSSLESS = "lossless"
LOSSY = "lossy"
IRREVERSIBLE = "irreversible"


@dataclass
class Loss:
    """Data a reverse operation would destroy: ``rows`` of ``table`` (None when uncountable)."""

    table: str
    rows: int | None
    what: str


@dataclass
class ReverseOperation:
    description: str
    sql: list[str]
    python: str | None = None  # the reverse code of a RunPython, which has no SQL
    irreversible_reason: str | None = None
    losses: list[Loss] = field(default_factory=list)
    effects: list = field(default_factory=list)  # ``migrating.effects.Effect``, in order

    @property
    def classification(self):
        if self.irreversible_reason:
            return IRREVERSIBLE
        return LOSSY if self.losses else LOSSLESS

    def tables_touched(self):
        """Tables the reverse drops, alters or writes: locked before the rollback runs."""
        return {effect.table for effect in self.effects if effect.touches_table}


@dataclass
class ReverseStep:
    app_label: str
    name: str
    atomic: bool
    operations: list[ReverseOperation]

    @property
    def key(self):
        return (self.app_label, self.name)

    @property
    def classification(self):
        kinds = {op.classification for op in self.operations}
        for kind in (IRREVERSIBLE, LOSSY):
            if kind in kinds:
                return kind
        return LOSSLESS


@dataclass
class RollbackPlan:
    target: str
    steps: list[ReverseStep]
    migrations: list  # Migration objects, in the order they are unapplied

    @property
    def atomic(self):
        return all(step.atomic for step in self.steps)

    @property
    def irreversible_steps(self):
        return [step for step in self.steps if step.classification == IRREVERSIBLE]

    @property
    def lossy_steps(self):
        return [step for step in self.steps if step.classification == LOSSY]

    def losses(self):
        return [loss for step in self.steps for op in step.operations for loss in op.losses]

    def tables_at_stake(self):
        """``{table: rows}``; a table dropped whole counts once, with its row count."""
        stake = {}
        for loss in self.losses():
            previous = stake.get(loss.table, 0)
            stake[loss.table] = (
                None if loss.rows is None or previous is None else max(previous, loss.rows)
            )
        return stake

    def tables_touched(self):
        return sorted(
            {name for step in self.steps for op in step.operations for name in op.tables_touched()}
        )


def _describe(operation):
    try:
        return operation.describe()
    except Exception:  # a third-party operation with a broken describe() still gets planned
        return type(operation).__name__


def _python_reverse(description, operation):
    """The reverse of a RunPython: only ``RunPython.noop`` is known to change nothing."""
    effect = python_effect(getattr(operation, "reverse_code", None))
    if effect.noop:
        return ReverseOperation(description, [], python="RunPython.noop", effects=[effect])
    loss = Loss(
        "(unknown)",
        None,
        f"reverse data migration {effect.name}() runs Python that can change or delete rows; "
        "its effect cannot be previewed",
    )
    return ReverseOperation(description, [], python=effect.name, losses=[loss], effects=[effect])


def reverse_operations(loader, connection, migration):
    """Each operation of ``migration`` in reverse order, with the SQL its reversal runs."""
    state = loader.project_state((migration.app_label, migration.name), at_end=False)
    to_run = []
    for operation in migration.operations:
        before = state.clone()
        state = state.clone()
        operation.state_forwards(migration.app_label, state)
        to_run.insert(0, (operation, before, state))

    reversed_ops = []
    for operation, to_state, from_state in to_run:
        description = _describe(operation)
        if not operation.reversible:
            reversed_ops.append(
                ReverseOperation(
                    description,
                    [],
                    irreversible_reason=f"{type(operation).__name__} has no reverse "
                    "(reverse_code/reverse_sql not given)",
                )
            )
            continue
        if not operation.reduces_to_sql:
            reversed_ops.append(_python_reverse(description, operation))
            continue
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            operation.database_backwards(migration.app_label, editor, from_state, to_state)
        sql = list(editor.collected_sql)
        effects = backwards(operation, migration.app_label, to_state, from_state, connection)
        if effects is None:  # no structure to read: the SQL it renders is all there is
            effects = [effect for statement in sql for effect in read_sql(statement)]
        reversed_ops.append(ReverseOperation(description, sql, effects=effects))
    return reversed_ops


def build_plan(loader, connection, migrations, target):
    steps = [
        ReverseStep(m.app_label, m.name, m.atomic, reverse_operations(loader, connection, m))
        for m in migrations
    ]
    return RollbackPlan(target=target, steps=steps, migrations=list(migrations))
