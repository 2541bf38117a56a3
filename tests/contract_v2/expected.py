"""The v2 contract as data: the effective schema U8 + M2, as ``schema_snapshot`` reads it from the
catalogue with ``search_path = ledgerflow_v2``.

Written from the contract's tables, not from the migration, so the parity test checks the
migration against the contract's own words.
"""

from ledgerflow.contract.schema import snapshot_column

SCHEMA = "ledgerflow_v2"
TABLES = ("accounts", "orders", "balances", "chain_states", "deposit_events")

NOW = "now()"
BIGINT = "bigint"
VARCHAR_255 = "character varying(255)"
NUMERIC = "numeric(78,0)"
TIMESTAMPTZ = "timestamp with time zone"


def _serial(table):
    return ("id", BIGINT, True, f"nextval('{table}_id_seq'::regclass)")


# table -> [(column, type, not null, default)], in the contract's column order (M2 appends
# api_token_hash to accounts).
COLUMNS = {
    "accounts": [
        _serial("accounts"),
        ("username", VARCHAR_255, True, None),
        ("telegram_id", BIGINT, True, None),
        ("email", "character varying(320)", False, None),
        ("evm_address", "character varying(42)", False, None),
        ("encrypted_pk", "text", False, None),
        ("is_admin", "boolean", True, "false"),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
        ("api_token_hash", "character varying(64)", False, None),
    ],
    "orders": [
        _serial("orders"),
        ("order_id", VARCHAR_255, True, None),
        ("account_id", BIGINT, True, None),
        ("broker_id", VARCHAR_255, True, None),
        ("amount", NUMERIC, True, None),
        ("token_address", "character varying(42)", True, None),
        ("chain_id", BIGINT, True, "1"),
        ("status", "order_status", True, "'pending'::order_status"),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
        ("transaction_hash", "character varying(66)", False, None),
        ("notified", "boolean", True, "false"),
    ],
    "balances": [
        _serial("balances"),
        ("account_id", BIGINT, True, None),
        # U8's DEFAULT '0' cannot survive M2; the effective schema has none.
        ("balance", NUMERIC, True, None),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
    ],
    "chain_states": [
        ("chain_id", BIGINT, True, None),
        ("contract_address", VARCHAR_255, True, None),
        ("last_scanned_block", BIGINT, True, "0"),
        ("updated_at", TIMESTAMPTZ, False, NOW),
    ],
    "deposit_events": [
        _serial("deposit_events"),
        ("chain_id", BIGINT, True, None),
        ("contract_address", VARCHAR_255, True, None),
        ("order_id", VARCHAR_255, True, None),
        ("sender", VARCHAR_255, True, None),
        ("amount", NUMERIC, True, None),
        ("transaction_hash", VARCHAR_255, True, None),
        ("block_number", BIGINT, True, None),
        ("log_index", BIGINT, True, None),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("processed", "boolean", True, "false"),
    ],
}

# table -> {constraint name: (type, definition as pg_get_constraintdef prints it)}
CONSTRAINTS = {
    "accounts": {
        "accounts_pkey": ("p", "PRIMARY KEY (id)"),
        "accounts_username_key": ("u", "UNIQUE (username)"),
        "accounts_telegram_id_key": ("u", "UNIQUE (telegram_id)"),
    },
    "orders": {
        "orders_pkey": ("p", "PRIMARY KEY (id)"),
        "orders_order_id_key": ("u", "UNIQUE (order_id)"),
        "orders_amount_positive_chk": ("c", "CHECK ((amount > (0)::numeric))"),
        "orders_chain_id_positive_chk": ("c", "CHECK ((chain_id > 0))"),
        "orders_account_id_fk": (
            "f",
            "FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE RESTRICT",
        ),
    },
    "balances": {
        "balances_pkey": ("p", "PRIMARY KEY (id)"),
        "balances_account_id_key": ("u", "UNIQUE (account_id)"),
        "balances_balance_non_negative_chk": ("c", "CHECK ((balance >= (0)::numeric))"),
        "balances_account_id_fk": (
            "f",
            "FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE",
        ),
    },
    "chain_states": {
        "chain_states_pkey": ("p", "PRIMARY KEY (chain_id, contract_address)"),
    },
    "deposit_events": {
        "deposit_events_pkey": ("p", "PRIMARY KEY (id)"),
        "deposit_events_chain_id_transaction_hash_log_index_key": (
            "u",
            "UNIQUE (chain_id, transaction_hash, log_index)",
        ),
        "deposit_events_amount_positive_chk": ("c", "CHECK ((amount > (0)::numeric))"),
        "deposit_events_order_id_fk": (
            "f",
            "FOREIGN KEY (order_id) REFERENCES orders(order_id) ON DELETE CASCADE",
        ),
    },
}

# table -> {index name: (unique, columns, predicate)}: plain indexes and those behind constraints
INDEXES = {
    "accounts": {
        "accounts_pkey": (True, "id", None),
        "accounts_username_key": (True, "username", None),
        "accounts_telegram_id_key": (True, "telegram_id", None),
        "idx_accounts_api_token_hash_unique": (
            True,
            "api_token_hash",
            "(api_token_hash IS NOT NULL)",
        ),
        "idx_accounts_email_unique": (True, "email", "(email IS NOT NULL)"),
    },
    "orders": {
        "orders_pkey": (True, "id", None),
        "orders_order_id_key": (True, "order_id", None),
        "idx_orders_account_id": (False, "account_id", None),
        "idx_orders_chain_id": (False, "chain_id", None),
        "idx_orders_status": (False, "status", None),
        "idx_orders_account_status": (False, "account_id, status", None),
    },
    "balances": {
        "balances_pkey": (True, "id", None),
        "balances_account_id_key": (True, "account_id", None),
    },
    "chain_states": {
        "chain_states_pkey": (True, "chain_id, contract_address", None),
    },
    "deposit_events": {
        "deposit_events_pkey": (True, "id", None),
        "deposit_events_chain_id_transaction_hash_log_index_key": (
            True,
            "chain_id, transaction_hash, log_index",
            None,
        ),
        "idx_deposit_events_chain_id": (False, "chain_id", None),
        "idx_deposit_events_order_id": (False, "order_id", None),
        "idx_deposit_events_processed": (False, "processed", None),
        "idx_deposit_events_block_number": (False, "block_number", None),
        "idx_deposit_events_chain_processed": (False, "chain_id, processed", None),
        "idx_deposit_events_order_processed": (False, "order_id, processed", None),
    },
}

ENUM_LABELS = {"order_status": ["pending", "deposited", "completed", "failed", "cancelled"]}

SEQUENCE_TABLES = ("accounts", "orders", "balances", "deposit_events")


def index_definition(table, name, unique, columns, predicate):
    kind = "UNIQUE INDEX" if unique else "INDEX"
    where = f" WHERE {predicate}" if predicate else ""
    return f"CREATE {kind} {name} ON {SCHEMA}.{table} USING btree ({columns}){where}"


def expected_snapshot():
    """The v2 contract in the shape of ``ledgerflow.db.introspection.schema_snapshot``."""
    tables = {
        table: {
            "columns": [snapshot_column(*column) for column in columns],
            "constraints": {
                name: {"type": kind, "definition": definition}
                for name, (kind, definition) in CONSTRAINTS[table].items()
            },
            "indexes": {
                name: {"definition": index_definition(table, name, *index), "valid": True}
                for name, index in INDEXES[table].items()
            },
            # No functions or triggers: the newest services set updated_at themselves.
            "triggers": {},
            "rules": {},
            "policies": {},
            "persistence": "LOGGED",
            "row_security": "disabled",
            "force_row_security": "not forced",
            "inherits": [],
            "inherited_by": [],
        }
        for table, columns in COLUMNS.items()
    }
    return {
        "tables": tables,
        "enums": {name: list(labels) for name, labels in ENUM_LABELS.items()},
        "functions": {},
        "sequences": {
            f"{table}_id_seq": {
                "type": "bigint",
                "owned_by": f"{table}.id",
                "start": 1,
                "increment": 1,
                "min": 1,
                "max": 9223372036854775807,
                "cache": 1,
                "cycle": False,
            }
            for table in SEQUENCE_TABLES
        },
    }
