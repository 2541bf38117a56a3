"""The project's apps and the LedgerFlow tables they own: the one list every module reads.

``PROJECT_APPS`` are the apps whose migrations build the LedgerFlow schema or this project's
bookkeeping (Django's own apps never touch the LedgerFlow objects); their applied migrations are
the migration state key and the schema version. ``PROJECT_TABLES`` are the tables the Rust
services read and write.
"""

PROJECT_APPS = ("accounts", "indexer", "ledgerflow", "orders", "users")
PROJECT_TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")
