"""Legacy databases as sqlx left them: the contract's schema, ``_sqlx_migrations`` and data."""

import hashlib

from tests.support.databases import LEGACY_SCHEMA_SQL, connect, load_legacy_schema

SQLX_VERSION = 20250709000001

SQLX_HISTORY_TABLE = """
CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)
"""

DATA = """
INSERT INTO accounts (account_id, email, telegram_id, evm_address)
VALUES ('acc-1', 'a@example.com', '1001', '0x00000000000000000000000000000000000000a1'),
       ('acc-2', NULL, NULL, NULL);
INSERT INTO users (telegram_id, username, first_name, last_name, evm_address)
VALUES (1001, 'alice', 'Alice', 'A', '0x00000000000000000000000000000000000000a1'),
       (1002, NULL, 'Bob', NULL, NULL);
INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status)
VALUES ('ord-1', '1001', 'broker', repeat('9', 78),
        '0x00000000000000000000000000000000000000b1', 'completed'),
       ('ord-2', '1002', 'broker', '5', '0x00000000000000000000000000000000000000b1', 'pending');
INSERT INTO chain_states (chain_id, contract_address, last_scanned_block)
VALUES (1, '0xc1', 19000000), (56, '0xc2', 4000000);
INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount,
                            transaction_hash, block_number, log_index, processed)
VALUES (1, '0xc1', 'ord-1', '0xs1', '123', '0xt1', 19000001, 0, true),
       (1, '0xc1', 'ord-2', '0xs2', '5', '0xt2', 19000002, 3, false);
"""

TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")


def build_legacy_database(dbname, history=((SQLX_VERSION, "initial schema", True),), data=True):
    """The schema as sqlx built it, its history table with ``history`` rows, and data rows."""
    load_legacy_schema(dbname)
    checksum = hashlib.sha384(LEGACY_SCHEMA_SQL.read_bytes()).digest()
    with connect(dbname, autocommit=True) as conn:
        conn.execute(SQLX_HISTORY_TABLE)
        for version, description, success in history:
            conn.execute(
                "INSERT INTO _sqlx_migrations "
                "(version, description, success, checksum, execution_time) "
                "VALUES (%s, %s, %s, %s, 1234567)",
                (version, description, success, checksum),
            )
        if data:
            conn.execute(DATA)


def execute(dbname, sql):
    with connect(dbname, autocommit=True) as conn:
        conn.execute(sql)


def contents(dbname):
    """Every row of every LedgerFlow table and of ``_sqlx_migrations``, in a stable order."""
    with connect(dbname) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (*TABLES, "_sqlx_migrations")
        }


def fetch(dbname, sql, params=()):
    with connect(dbname) as conn:
        return conn.execute(sql, params).fetchall()


def has_table(dbname, name):
    return fetch(dbname, "SELECT to_regclass(%s) IS NOT NULL", (name,))[0][0]
