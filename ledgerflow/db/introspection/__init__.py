"""A normalised picture of the LedgerFlow objects in a live database, read from ``pg_catalog``.

Two databases hold the same schema exactly when their snapshots are equal; ``compare_snapshots``
names every difference as a structured ``Difference`` (kind, object name, readable description
and, where one exists, SQL that repairs it without dropping or rewriting anything);
``diff_snapshots`` lists them as plain path-by-path lines. Used by the parity tests, drift detection
(``ledgerflow.schema.drift``) and the sqlx takeover (``ledgerflow.schema.takeover``).

Only the five LedgerFlow tables are read (their columns, constraints, indexes, triggers, rules,
policies, table properties, storage parameters and privileges), with the ``order_status`` enum,
the functions named ``update_updated_at_column`` and the tables' sequences; other objects in the
database are not. Properties the migrations never set (a collation, column storage or compression
other than the type's default, storage parameters, privileges other than the owner's defaults)
appear in a snapshot only when they are set, so the stored expectations name none of them.
"""

from ledgerflow.db.introspection.comparison import (
    TRIGGER_STATES,
    Difference,
    compare_snapshots,
    concurrent_index_sql,
    diff_snapshots,
    grant_notes,
    quoted_in_schema,
    sequence_positions,
)
from ledgerflow.db.introspection.snapshot import (
    LEDGERFLOW_ENUMS,
    LEDGERFLOW_FUNCTIONS,
    PUBLIC,
    schema_snapshot,
)

__all__ = [
    "LEDGERFLOW_ENUMS",
    "LEDGERFLOW_FUNCTIONS",
    "PUBLIC",
    "TRIGGER_STATES",
    "Difference",
    "compare_snapshots",
    "concurrent_index_sql",
    "diff_snapshots",
    "grant_notes",
    "quoted_in_schema",
    "schema_snapshot",
    "sequence_positions",
]
