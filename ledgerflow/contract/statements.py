"""The statements each Rust service sends, as it sends them (ids B*, T*, I*, from the services'
sources): rendered in ``docs/CONTRACT.md``, run against the migrated schema by
``tests/contract/test_service_behaviour.py``, and the source the service roles' privileges are
derived from (``ledgerflow/roles/services.py``, proven in ``tests/roles/test_service_roles.py``).

Each entry is ``(id, sql, params)``; ``%s`` placeholders stand for sqlx's ``$n`` binds.
"""

from ledgerflow.migrating.history import SCHEMA_VERSION_SQL

ORDER_COLUMNS = (
    "id, order_id, account_id, broker_id, amount, token_address, status, created_at, "
    "updated_at, transaction_hash"
)
USER_COLUMNS = (
    "id, telegram_id, username, first_name, last_name, evm_address, created_at, updated_at"
)
# docs/INTEGRATION.md section 4: every service may check the schema version at start-up.
START_UP = ("schema_version", SCHEMA_VERSION_SQL.rstrip(";"), ())

BALANCER = (
    (
        "B1 create_order",
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
        f"VALUES (%s, %s, %s, %s, %s, %s::order_status) RETURNING {ORDER_COLUMNS}",
        ("ord-b1", "5550001", "broker", "1000000000000000000", "0x" + "b" * 40, "pending"),
    ),
    ("B2 get_order", f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = %s", ("ord-b1",)),
    (
        "B3 pending_count",
        "SELECT COUNT(*) FROM orders WHERE account_id = %s AND status = 'pending'",
        ("5550001",),
    ),
    (
        "B4a total",
        "SELECT SUM(CAST(amount AS NUMERIC)) FROM orders WHERE status = 'completed'",
        (),
    ),
    (
        "B4b completed_count",
        "SELECT COUNT(*) FROM orders WHERE account_id = %s AND status = 'completed'",
        ("5550001",),
    ),
    (
        "B5 list_pending",
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE status = 'pending' "
        "ORDER BY created_at DESC LIMIT %s OFFSET %s",
        (50, 0),
    ),
    (
        "B6 update_status",
        "UPDATE orders SET status = %s::order_status, transaction_hash = %s WHERE order_id = %s",
        ("completed", "0x" + "c" * 64, "ord-b1"),
    ),
    (
        "B7 upsert_account",
        "INSERT INTO accounts (account_id, email, telegram_id, evm_address) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (account_id) DO UPDATE SET email = EXCLUDED.email, "
        "telegram_id = EXCLUDED.telegram_id, evm_address = EXCLUDED.evm_address",
        ("acc-1", "a@example.com", "5550001", "0x" + "a" * 40),
    ),
    START_UP,
)

BOT = (
    (
        "T1 create_user",
        "INSERT INTO users (telegram_id, username, first_name, last_name, evm_address) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (telegram_id) DO UPDATE SET "
        "username = EXCLUDED.username, first_name = EXCLUDED.first_name, "
        f"last_name = EXCLUDED.last_name RETURNING {USER_COLUMNS}",
        (5550001, "alice", "Alice", "Liddell", "0x" + "a" * 40),
    ),
    ("T2 get_user", f"SELECT {USER_COLUMNS} FROM users WHERE telegram_id = %s", (5550001,)),
    (
        "T3 update_evm",
        "UPDATE users SET evm_address = %s WHERE telegram_id = %s",
        ("0x" + "d" * 40, 5550001),
    ),
    (
        "T4 user_orders",
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE account_id = %s ORDER BY created_at DESC",
        ("5550001",),
    ),
    (
        "T5 user_balance",
        "SELECT SUM(CAST(amount AS NUMERIC)) FROM orders "
        "WHERE account_id = %s AND status = 'completed'",
        ("5550001",),
    ),
    (
        "report",
        "SELECT u.username, count(*) FROM orders o JOIN users u "
        "ON o.account_id = u.telegram_id::text GROUP BY u.username",
        (),
    ),
    START_UP,
)

DEPOSIT_EVENT_COLUMNS = (
    "id, chain_id, contract_address, order_id, sender, amount, transaction_hash, block_number, "
    "log_index, created_at, processed"
)
INDEXER = (
    (
        "I1 get_chain_state",
        "SELECT chain_id, contract_address, last_scanned_block, updated_at FROM chain_states "
        "WHERE chain_id = %s AND contract_address = %s",
        (8453, "0xc"),
    ),
    (
        "I2 update_chain_state",
        "INSERT INTO chain_states (chain_id, contract_address, last_scanned_block, updated_at) "
        "VALUES (%s, %s, %s, NOW()) ON CONFLICT (chain_id, contract_address) "
        "DO UPDATE SET last_scanned_block = %s, updated_at = NOW()",
        (8453, "0xc", 100, 100),
    ),
    (
        "I3 insert_deposit_event",
        "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
        "transaction_hash, block_number, log_index, created_at, processed) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NOW(), false) "
        "ON CONFLICT (chain_id, transaction_hash, log_index) DO NOTHING",
        (8453, "0xc", "ord-1", "0xs", "5", "0x" + "e" * 64, 100, 3),
    ),
    (
        "I4 mark_order_completed",
        "UPDATE deposit_events SET processed = true WHERE order_id = %s",
        ("ord-1",),
    ),
    (
        "I5 get_unprocessed_events",
        f"SELECT {DEPOSIT_EVENT_COLUMNS} FROM deposit_events "
        "WHERE chain_id = %s AND processed = false ORDER BY block_number, log_index",
        (8453,),
    ),
    START_UP,
)

STATEMENTS = {"balancer": BALANCER, "bot": BOT, "indexer": INDEXER}
