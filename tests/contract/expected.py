"""CONTRACT.md as data: what every column, constraint, index and trigger must look like.

Kept apart from ``legacy_schema.sql`` on purpose: the parity test checks the migrations against
the contract's own words, not only against a second hand-written copy of the schema.
"""

import copy

NOW = "now()"
UUID = ("uuid", True, "gen_random_uuid()")
VARCHAR_255 = "character varying(255)"
TIMESTAMPTZ = "timestamp with time zone"

# table -> [(column, type, not null, default)], in the contract's column order
COLUMNS = {
    "accounts": [
        ("id", *UUID),
        ("account_id", VARCHAR_255, True, None),
        ("email", VARCHAR_255, False, None),
        ("telegram_id", VARCHAR_255, False, None),
        ("evm_address", "character varying(42)", False, None),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
    ],
    "users": [
        ("id", *UUID),
        ("telegram_id", "bigint", True, None),
        ("username", VARCHAR_255, False, None),
        ("first_name", VARCHAR_255, False, None),
        ("last_name", VARCHAR_255, False, None),
        ("evm_address", "character varying(42)", False, None),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
    ],
    "orders": [
        ("id", *UUID),
        ("order_id", VARCHAR_255, True, None),
        ("account_id", VARCHAR_255, True, None),
        ("broker_id", VARCHAR_255, True, None),
        ("amount", VARCHAR_255, True, None),
        ("token_address", "character varying(42)", True, None),
        ("status", "order_status", True, "'pending'::order_status"),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("updated_at", TIMESTAMPTZ, False, NOW),
        ("transaction_hash", "character varying(66)", False, None),
    ],
    "chain_states": [
        ("chain_id", "integer", True, None),
        ("contract_address", VARCHAR_255, True, None),
        ("last_scanned_block", "bigint", True, "0"),
        ("updated_at", TIMESTAMPTZ, False, NOW),
    ],
    "deposit_events": [
        ("id", "bigint", True, "nextval('deposit_events_id_seq'::regclass)"),
        ("chain_id", "integer", True, None),
        ("contract_address", VARCHAR_255, True, None),
        ("order_id", VARCHAR_255, True, None),
        ("sender", VARCHAR_255, True, None),
        ("amount", VARCHAR_255, True, None),
        ("transaction_hash", VARCHAR_255, True, None),
        ("block_number", "bigint", True, None),
        ("log_index", "bigint", True, None),
        ("created_at", TIMESTAMPTZ, False, NOW),
        ("processed", "boolean", True, "false"),
    ],
}

# table -> {constraint name: definition as pg_get_constraintdef prints it}
CONSTRAINTS = {
    "accounts": {
        "accounts_pkey": "PRIMARY KEY (id)",
        "accounts_account_id_key": "UNIQUE (account_id)",
    },
    "users": {
        "users_pkey": "PRIMARY KEY (id)",
        "users_telegram_id_key": "UNIQUE (telegram_id)",
    },
    "orders": {
        "orders_pkey": "PRIMARY KEY (id)",
        "orders_order_id_key": "UNIQUE (order_id)",
    },
    "chain_states": {
        "chain_states_pkey": "PRIMARY KEY (chain_id, contract_address)",
    },
    "deposit_events": {
        "deposit_events_pkey": "PRIMARY KEY (id)",
        "deposit_events_chain_id_transaction_hash_log_index_key": (
            "UNIQUE (chain_id, transaction_hash, log_index)"
        ),
    },
}

# table -> {index name: (unique, columns)}: the plain indexes plus those behind constraints
INDEXES = {
    "accounts": {
        "accounts_pkey": (True, "id"),
        "accounts_account_id_key": (True, "account_id"),
        "idx_accounts_account_id": (False, "account_id"),
        "idx_accounts_telegram_id": (False, "telegram_id"),
        "idx_accounts_evm_address": (False, "evm_address"),
    },
    "users": {
        "users_pkey": (True, "id"),
        "users_telegram_id_key": (True, "telegram_id"),
        "idx_users_telegram_id": (False, "telegram_id"),
        "idx_users_evm_address": (False, "evm_address"),
    },
    "orders": {
        "orders_pkey": (True, "id"),
        "orders_order_id_key": (True, "order_id"),
        "idx_orders_order_id": (False, "order_id"),
        "idx_orders_account_id": (False, "account_id"),
        "idx_orders_status": (False, "status"),
        "idx_orders_created_at": (False, "created_at"),
    },
    "chain_states": {
        "chain_states_pkey": (True, "chain_id, contract_address"),
        "idx_chain_states_chain_contract": (False, "chain_id, contract_address"),
    },
    "deposit_events": {
        "deposit_events_pkey": (True, "id"),
        "deposit_events_chain_id_transaction_hash_log_index_key": (
            True,
            "chain_id, transaction_hash, log_index",
        ),
        "idx_deposit_events_chain_id": (False, "chain_id"),
        "idx_deposit_events_order_id": (False, "order_id"),
        "idx_deposit_events_processed": (False, "processed"),
        "idx_deposit_events_block_number": (False, "block_number"),
    },
}

ENUM_LABELS = {"order_status": ["pending", "completed", "failed", "cancelled"]}

TRIGGER_TABLES = ("accounts", "users", "orders", "chain_states")


def index_definition(table, name, unique, columns):
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return f"CREATE {kind} {name} ON public.{table} USING btree ({columns})"


def trigger_definition(table):
    return (
        f"CREATE TRIGGER update_{table}_updated_at BEFORE UPDATE ON public.{table} "
        "FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
    )


def expected_snapshot():
    """The contract in the shape of ``ledgerflow.db.introspection.schema_snapshot``."""
    tables = {}
    for table, columns in COLUMNS.items():
        tables[table] = {
            "columns": [
                {
                    "name": name,
                    "type": type_,
                    "not_null": not_null,
                    "default": default,
                    "identity": None,
                    "generated": None,
                }
                for name, type_, not_null, default in columns
            ],
            "constraints": {
                name: {
                    "type": "p" if definition.startswith("PRIMARY") else "u",
                    "definition": definition,
                }
                for name, definition in CONSTRAINTS[table].items()
            },
            "indexes": {
                name: {"definition": index_definition(table, name, unique, cols), "valid": True}
                for name, (unique, cols) in INDEXES[table].items()
            },
            "triggers": (
                {
                    f"update_{table}_updated_at": {
                        "definition": trigger_definition(table),
                        "enabled": "O",
                    }
                }
                if table in TRIGGER_TABLES
                else {}
            ),
            "rules": {},
            "policies": {},
            # Plain logged tables, no row level security, no inheritance.
            "persistence": "LOGGED",
            "row_security": "disabled",
            "force_row_security": "not forced",
            "inherits": [],
            "inherited_by": [],
        }
    return {
        "tables": tables,
        "enums": copy.deepcopy(ENUM_LABELS),
        "functions": {
            "update_updated_at_column()": {
                "arguments": "",
                "returns": "trigger",
                "language": "plpgsql",
                "body": "BEGIN NEW.updated_at = NOW(); RETURN NEW; END;",
                "security": "SECURITY INVOKER",
                "volatility": "VOLATILE",
                "null_input": "CALLED ON NULL INPUT",
                "settings": [],
            }
        },
        "sequences": {
            "deposit_events_id_seq": {
                "type": "bigint",
                "owned_by": "deposit_events.id",
                # A bigserial's sequence as PostgreSQL creates it.
                "start": 1,
                "increment": 1,
                "min": 1,
                "max": 9223372036854775807,
                "cache": 1,
                "cycle": False,
            }
        },
    }
