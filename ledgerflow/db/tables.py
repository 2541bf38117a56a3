"""The project's apps and the LedgerFlow tables they own: the one list every module reads.

``PROJECT_APPS`` are the apps whose migrations build the LedgerFlow schema or this project's
bookkeeping (Django's own apps never touch the LedgerFlow objects); their applied migrations are
the migration state key and the schema version. ``PROJECT_TABLES`` are the tables the Rust
services read and write.

``V2_APP`` builds schema v2 in its own PostgreSQL schema, beside v1 (``ledgerflow_v2/``). It is
not a project app here: the schema version the running v1 services compare at start-up must not
change when v2 migrations arrive, and v1's expected schema does not depend on them. Its objects
live in the PostgreSQL schema ``V2_SCHEMA``, under the same table names as v1's in ``public``.
"""

PROJECT_APPS = ("accounts", "indexer", "ledgerflow", "orders", "users")
PROJECT_TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")
V2_APP = "ledgerflow_v2"
V2_SCHEMA = "ledgerflow_v2"
