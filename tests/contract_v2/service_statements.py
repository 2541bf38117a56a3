"""The SQL the newest services send (CONTRACT-V2.md §3.2 balancer, §3.4 bot, §3.6 indexer-evm, all
at upstream 1c0155a), typed as sqlx binds them, and the Rust types their rows are decoded into.

Each statement is ``Statement(id, sql, bind types, row types)``. Bind types are the PostgreSQL
types sqlx sends (Rust ``String``/``&str`` as ``text``, ``i64`` as ``int8``, ``bool``,
``DateTime<Utc>`` as ``timestamptz``, ``OrderStatus`` by its type name); row types are the Rust
types of the fields, checked against what the server returns with sqlx's decode rules.
"""

from dataclasses import dataclass

ACCOUNT_COLUMNS = (
    "id, username, email, telegram_id, evm_address, encrypted_pk, api_token_hash, is_admin, "
    "created_at, updated_at"
)
ACCOUNT_ROW = (
    "i64", "String", "String", "i64", "String", "String", "String", "bool", "DateTime", "DateTime"
)  # fmt: skip
ORDER_COLUMNS = (
    "id, order_id, account_id, broker_id, amount::TEXT AS amount, token_address, chain_id, "
    "status, created_at, updated_at, transaction_hash"
)
ORDER_ROW = (
    "i64", "String", "i64", "String", "String", "String", "i64", "OrderStatus", "DateTime",
    "DateTime", "String",
)  # fmt: skip
BOT_ORDER_COLUMNS = (
    "o.id, o.order_id, o.account_id, o.broker_id, o.amount::TEXT AS amount, o.token_address, "
    "o.chain_id, o.status, o.created_at, o.updated_at, o.transaction_hash, o.notified"
)
BOT_ORDER_ROW = (*ORDER_ROW, "bool")
BALANCE_COLUMNS = "id, account_id, balance::TEXT AS balance, created_at, updated_at"
BALANCE_ROW = ("i64", "i64", "String", "DateTime", "DateTime")

# sqlx-postgres: which server types each Rust type decodes (CONTRACT-V2.md §3.1).
DECODES = {
    "i64": {"int8"},
    "i32": {"int4"},
    "bool": {"bool"},
    "DateTime": {"timestamptz"},
    "String": {"text", "varchar", "bpchar", "name", "unknown", "citext"},
    "OrderStatus": {"order_status"},
}


@dataclass(frozen=True)
class Statement:
    id: str
    sql: str
    binds: tuple = ()
    row: tuple = ()


ACCOUNT_INSERT = (
    "INSERT INTO accounts (username, email, telegram_id, evm_address, encrypted_pk, "
    "api_token_hash, is_admin, created_at, updated_at) "
)

BALANCER = {
    s.id: s
    for s in (
        Statement(
            "N10 register_account",
            ACCOUNT_INSERT + "VALUES ($1, $2, $3, $4, $5, $6, $7, NOW(), NOW()) "
            f"RETURNING {ACCOUNT_COLUMNS}",
            ("text", "text", "int8", "text", "text", "text", "bool"),
            ACCOUNT_ROW,
        ),
        Statement(
            "N9 create_or_update_account",
            ACCOUNT_INSERT + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (username) DO UPDATE SET email = COALESCE($2, accounts.email), "
            "telegram_id = COALESCE($3, accounts.telegram_id), "
            "evm_address = COALESCE($4, accounts.evm_address), "
            "encrypted_pk = COALESCE($5, accounts.encrypted_pk), "
            "api_token_hash = COALESCE($6, accounts.api_token_hash), "
            "is_admin = COALESCE($7, accounts.is_admin), updated_at = $9 "
            f"RETURNING {ACCOUNT_COLUMNS}",
            ("text", "text", "int8", "text", "text", "text", "bool", "timestamptz", "timestamptz"),
            ACCOUNT_ROW,
        ),
        Statement(
            "N11 get_account_by_username",
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1",
            ("text",),
            ACCOUNT_ROW,
        ),
        Statement(
            "N12 get_account_by_email",
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1",
            ("text",),
            ACCOUNT_ROW,
        ),
        Statement(
            "N13 get_account_by_telegram_id",
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE telegram_id = $1",
            ("int8",),
            ACCOUNT_ROW,
        ),
        Statement(
            "N14 get_account_by_id",
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1",
            ("int8",),
            ACCOUNT_ROW,
        ),
        Statement(
            "N15 get_account_by_api_token_hash",
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE api_token_hash = $1",
            ("text",),
            ACCOUNT_ROW,
        ),
        Statement("N1 get_next_order_id_num", "SELECT nextval('orders_id_seq')", (), ("i64",)),
        Statement(
            "N2 create_order",
            "INSERT INTO orders (id, order_id, account_id, broker_id, amount, token_address, "
            "chain_id, status, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, CAST($5 AS NUMERIC(78,0)), $6, $7, $8, $9, $10) "
            f"RETURNING {ORDER_COLUMNS}",
            (
                "int8",
                "text",
                "int8",
                "text",
                "text",
                "text",
                "int8",
                "order_status",
                "timestamptz",
                "timestamptz",
            ),
            ORDER_ROW,
        ),
        Statement(
            "N3 get_order_by_id",
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = $1",
            ("text",),
            ORDER_ROW,
        ),
        Statement(
            "N4 get_pending_orders_count",
            "SELECT COUNT(*) FROM orders WHERE account_id = $1 AND status = 'pending'",
            ("int8",),
            ("i64",),
        ),
        Statement(
            "N5 get_completed_orders_count",
            "SELECT COUNT(*) FROM orders WHERE account_id = $1 AND status = 'completed'",
            ("int8",),
            ("i64",),
        ),
        Statement(
            "N7 list_pending_orders",
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE status = 'pending' "
            "ORDER BY created_at DESC LIMIT $1 OFFSET $2",
            ("int8", "int8"),
            ORDER_ROW,
        ),
        Statement(
            "N8 update_order_status",
            "UPDATE orders SET status = $1, transaction_hash = $2, updated_at = NOW() "
            "WHERE order_id = $3",
            ("order_status", "text", "text"),
        ),
        Statement(
            "N16 get_deposited_orders",
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE status = 'deposited' "
            "ORDER BY created_at ASC",
            (),
            ORDER_ROW,
        ),
        Statement(
            "N18 add_to_balance",
            "INSERT INTO balances (account_id, balance, created_at, updated_at) "
            "VALUES ($1, CAST($2 AS NUMERIC(78,0)), NOW(), NOW()) "
            "ON CONFLICT (account_id) DO UPDATE SET "
            "balance = balances.balance + CAST($2 AS NUMERIC(78,0)), updated_at = NOW()",
            ("int8", "text"),
        ),
        Statement(
            "N20 mark_order_completed_if_deposited",
            "UPDATE orders SET status = 'completed', updated_at = NOW() "
            "WHERE order_id = $1 AND status = 'deposited'",
            ("text",),
        ),
        Statement(
            "N21a get_account_balance_record",
            f"SELECT {BALANCE_COLUMNS} FROM balances WHERE account_id = $1",
            ("int8",),
            BALANCE_ROW,
        ),
        Statement(
            "N21b get_account_balance_record (insert)",
            "INSERT INTO balances (account_id, balance, created_at, updated_at) "
            "VALUES ($1, CAST('0' AS NUMERIC(78,0)), NOW(), NOW()) "
            f"RETURNING {BALANCE_COLUMNS}",
            ("int8",),
            BALANCE_ROW,
        ),
    )
}

BOT = {
    s.id: s
    for s in (
        Statement(
            "T1 get_account_evm_pk_by_id",
            "SELECT encrypted_pk FROM accounts WHERE id = $1",
            ("int8",),
            ("String",),
        ),
        Statement(
            "T2 update_account_encrypted_pk",
            "UPDATE accounts SET encrypted_pk = $1, updated_at = NOW() WHERE id = $2",
            ("text", "int8"),
        ),
        Statement(
            "T3 create_account",
            "INSERT INTO accounts (username, telegram_id, email, evm_address, encrypted_pk, "
            "is_admin) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            ("text", "int8", "text", "text", "text", "bool"),
            ("i64",),
        ),
        Statement(
            "T4 get_account_by_telegram_id",
            "SELECT id, username, telegram_id, email, evm_address, encrypted_pk, is_admin, "
            "created_at, updated_at FROM accounts WHERE telegram_id = $1",
            ("int8",),
            ("i64", "String", "i64", "String", "String", "String", "bool", "DateTime", "DateTime"),
        ),
        Statement(
            "T5 update_account_evm_address",
            "UPDATE accounts SET evm_address = $1, updated_at = NOW() WHERE telegram_id = $2",
            ("text", "int8"),
        ),
        Statement(
            "T6 create_order",
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, "
            "chain_id, status, notified) "
            "VALUES ($1, $2, $3, CAST($4 AS NUMERIC(78,0)), $5, $6, $7, $8) RETURNING id",
            ("text", "int8", "text", "text", "text", "int8", "order_status", "bool"),
            ("i64",),
        ),
        Statement(
            "T7 get_account_orders",
            f"SELECT {BOT_ORDER_COLUMNS} FROM orders o JOIN accounts a ON o.account_id = a.id "
            "WHERE a.telegram_id = $1 ORDER BY o.created_at DESC",
            ("int8",),
            BOT_ORDER_ROW,
        ),
        Statement(
            "T8 get_balance",
            "SELECT balance::TEXT AS balance FROM balances WHERE account_id = $1",
            ("int8",),
            ("String",),
        ),
        Statement(
            "T9 get_completed_unnotified_orders",
            f"SELECT {BOT_ORDER_COLUMNS}, a.telegram_id FROM orders o "
            "JOIN accounts a ON o.account_id = a.id "
            "WHERE o.status = 'completed' AND o.notified = false",
            (),
            (*BOT_ORDER_ROW, "i64"),
        ),
        Statement(
            "T10 mark_order_as_notified",
            "UPDATE orders SET notified = true WHERE id = $1",
            ("int8",),
        ),
    )
}

INDEXER = {
    s.id: s
    for s in (
        Statement(
            "I1 get_chain_state",
            "SELECT chain_id, contract_address, last_scanned_block, updated_at FROM chain_states "
            "WHERE chain_id = $1 AND contract_address = $2",
            ("int8", "text"),
            ("i64", "String", "i64", "DateTime"),
        ),
        Statement(
            "I2 update_chain_state",
            "INSERT INTO chain_states (chain_id, contract_address, last_scanned_block, updated_at) "
            "VALUES ($1, $2, $3, NOW()) ON CONFLICT (chain_id, contract_address) "
            "DO UPDATE SET last_scanned_block = $3, updated_at = NOW()",
            ("int8", "text", "int8"),
        ),
        Statement(
            "I3 insert_deposit_event",
            "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
            "transaction_hash, block_number, log_index, created_at, processed) "
            "VALUES ($1, $2, $3, $4, CAST($5 AS NUMERIC(78,0)), $6, $7, $8, NOW(), false) "
            "ON CONFLICT (chain_id, transaction_hash, log_index) DO NOTHING",
            ("int8", "text", "text", "text", "text", "text", "int8", "int8"),
        ),
        Statement(
            "I4 mark_order_completed",
            "UPDATE deposit_events SET processed = true WHERE order_id = $1",
            ("text",),
        ),
        Statement(
            "I5 get_unprocessed_events",
            "SELECT id, chain_id, contract_address, order_id, sender, amount::TEXT AS amount, "
            "transaction_hash, block_number, log_index, created_at, processed FROM deposit_events "
            "WHERE chain_id = $1 AND processed = false ORDER BY block_number, log_index",
            ("int8",),
            (
                "i64",
                "i64",
                "String",
                "String",
                "String",
                "String",
                "String",
                "i64",
                "i64",
                "DateTime",
                "bool",
            ),
        ),
        Statement(
            "I6 update_order_with_deposit_details",
            "UPDATE orders SET status = 'deposited', transaction_hash = $1, "
            "amount = CAST($2 AS NUMERIC(78,0)), chain_id = $3, updated_at = NOW() "
            "WHERE order_id = $4",
            ("text", "text", "int8", "text"),
        ),
    )
}

ALL = {**BALANCER, **BOT, **INDEXER}


class ServiceSession:
    """Runs the statements as sqlx does: prepared with the bind types, then executed; checks each
    returned column against the Rust field it is decoded into."""

    def __init__(self, cursor):
        self.cursor = cursor
        self._prepared = set()
        self._type_names = {}

    def _type_name(self, oid):
        if oid not in self._type_names:
            # A type outside the search_path (v1's public.order_status) is not the one the
            # services' OrderStatus names, so it is spelled schema-qualified and fails the check.
            self.cursor.execute(
                "SELECT CASE WHEN pg_type_is_visible(oid) THEN typname "
                "ELSE typnamespace::regnamespace || '.' || typname END FROM pg_type WHERE oid = %s",
                [oid],
            )
            self._type_names[oid] = self.cursor.fetchone()[0]
        return self._type_names[oid]

    def run(self, statement_id, *values):
        """The statement's rows (or its row count when it returns none)."""
        statement = ALL[statement_id]
        name = "lf_" + statement_id.split()[0].lower()
        if name not in self._prepared:
            types = f" ({', '.join(statement.binds)})" if statement.binds else ""
            self.cursor.execute(f"PREPARE {name}{types} AS {statement.sql}")
            self._prepared.add(name)
        placeholders = f"({', '.join(['%s'] * len(values))})" if values else ""
        self.cursor.execute(f"EXECUTE {name}{placeholders}", list(values))
        if self.cursor.description is None:
            return self.cursor.rowcount
        columns, rows = list(self.cursor.description), self.cursor.fetchall()
        returned = [self._type_name(column.type_code) for column in columns]
        assert len(returned) == len(statement.row), (statement_id, returned)
        undecodable = [
            (column.name, rust, pg)
            for column, rust, pg in zip(columns, statement.row, returned, strict=True)
            if pg not in DECODES[rust]
        ]
        assert not undecodable, f"{statement_id}: sqlx cannot decode {undecodable}"
        return rows

    def close(self):
        self.cursor.execute("DEALLOCATE ALL")


def newest_services_flow(session, telegram_id, chain_id=1):
    """One life of an order through the three newest services, as they run it, for a new person
    with ``telegram_id``. Returns what a check needs: the account id, the order id, the balance."""
    token_hash = f"{telegram_id:064x}"
    [account] = session.run(
        "N10 register_account",
        f"user{telegram_id}",
        f"user{telegram_id}@example.com",
        telegram_id,
        "0x" + "a" * 40,
        None,
        token_hash,
        False,
    )
    account_id = account[0]
    for statement, key in (
        ("N11 get_account_by_username", f"user{telegram_id}"),
        ("N12 get_account_by_email", f"user{telegram_id}@example.com"),
        ("N13 get_account_by_telegram_id", telegram_id),
        ("N14 get_account_by_id", account_id),
        ("N15 get_account_by_api_token_hash", token_hash),
    ):
        assert [row[0] for row in session.run(statement, key)] == [account_id], statement
    session.run("T2 update_account_encrypted_pk", "v2:ciphertext", account_id)
    assert session.run("T1 get_account_evm_pk_by_id", account_id) == [("v2:ciphertext",)]
    [(found_id, *_)] = session.run("T4 get_account_by_telegram_id", telegram_id)
    assert found_id == account_id

    [(number,)] = session.run("N1 get_next_order_id_num")
    order_id = f"{number:064x}"
    [order] = session.run(
        "N2 create_order",
        number,
        order_id,
        account_id,
        "ledgerflow",
        "1000",
        "0x" + "B" * 40,
        chain_id,
        "pending",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
    )
    assert (order[0], order[4], order[7]) == (number, "1000", "pending")
    assert session.run("N4 get_pending_orders_count", account_id) == [(1,)]
    assert order_id in [row[1] for row in session.run("N7 list_pending_orders", 50, 0)]

    vault = "0x" + "c" * 40
    session.run("I2 update_chain_state", chain_id, vault, 100)
    assert session.run("I1 get_chain_state", chain_id, vault)[0][2] == 100
    tx = "0x" + f"{number:064x}"
    event = (chain_id, vault, order_id, "0x" + "d" * 40, "1000", tx, 101, 0)
    assert session.run("I3 insert_deposit_event", *event) == 1
    assert session.run("I3 insert_deposit_event", *event) == 0  # a replayed log
    assert session.run("I6 update_order_with_deposit_details", tx, "1000", chain_id, order_id) == 1

    assert order_id in [row[1] for row in session.run("N16 get_deposited_orders")]
    assert session.run("N20 mark_order_completed_if_deposited", order_id) == 1
    session.run("N18 add_to_balance", account_id, "1000")
    assert session.run("N20 mark_order_completed_if_deposited", order_id) == 0
    [balance] = session.run("N21a get_account_balance_record", account_id)
    assert balance[2] == "1000"
    assert session.run("T8 get_balance", account_id) == [("1000",)]
    assert session.run("N5 get_completed_orders_count", account_id) == [(1,)]

    unnotified = [row for row in session.run("T9 get_completed_unnotified_orders")]
    assert [(row[1], row[-1]) for row in unnotified if row[1] == order_id] == [
        (order_id, telegram_id)
    ]
    session.run("T10 mark_order_as_notified", number)
    assert order_id not in [row[1] for row in session.run("T9 get_completed_unnotified_orders")]
    assert order_id in [row[3] for row in session.run("I5 get_unprocessed_events", chain_id)]
    session.run("I4 mark_order_completed", order_id)
    assert order_id not in [row[3] for row in session.run("I5 get_unprocessed_events", chain_id)]

    # The statements no route reaches today still fit the schema.
    [(other_id,)] = session.run(
        "T3 create_account", f"bot{telegram_id}", telegram_id + 1, None, None, None, False
    )
    session.run("T5 update_account_evm_address", "0x" + "e" * 40, telegram_id + 1)
    assert session.run("N21b get_account_balance_record (insert)", other_id)[0][2] == "0"
    [(bot_order,)] = session.run(
        "T6 create_order",
        f"bot{order_id}"[:64],
        other_id,
        "ledgerflow",
        "5",
        "0x" + "B" * 40,
        chain_id,
        "pending",
        False,
    )
    assert [row[0] for row in session.run("T7 get_account_orders", telegram_id + 1)] == [bot_order]
    assert session.run("N8 update_order_status", "cancelled", None, f"bot{order_id}"[:64]) == 1
    [upserted] = session.run(
        "N9 create_or_update_account",
        f"user{telegram_id}",
        None,
        # PostgreSQL checks NOT NULL before ON CONFLICT, so a None telegram_id fails even when
        # the username exists (N9 has no caller at 1c0155a).
        telegram_id,
        None,
        None,
        None,
        True,
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    )
    assert (upserted[0], upserted[2], upserted[7]) == (
        account_id,
        f"user{telegram_id}@example.com",
        True,
    )
    return {"account_id": account_id, "order_id": order_id, "balance": balance[2]}
