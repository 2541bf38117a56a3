"""The SQL the Rust services send works against the migrated schema (docs/CONTRACT.md, last part)."""

import pytest
from django.db import DataError, IntegrityError, connection, transaction

pytestmark = pytest.mark.django_db


def fetch(sql, params=()):
    """Run one statement as a service would; its rows, if it returns any."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def test_bot_insert_of_a_user_gets_id_and_timestamps_from_the_database():
    fetch(
        "INSERT INTO users (telegram_id, username, first_name, last_name, evm_address) "
        "VALUES (%s, %s, %s, %s, %s)",
        (5550001, "alice", "Alice", "Liddell", "0x" + "a" * 40),
    )

    [(user_id, created_at, updated_at)] = fetch(
        "SELECT id, created_at, updated_at FROM users WHERE telegram_id = 5550001"
    )
    assert len(str(user_id)) == 36
    assert created_at is not None
    assert updated_at == created_at


def test_balancer_insert_of_an_order_defaults_to_pending():
    fetch(
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
        "VALUES ('ord-1', '5550001', 'broker', '1000000000000000000', %s)",
        ("0x" + "b" * 40,),
    )

    assert fetch("SELECT status::text, created_at IS NOT NULL FROM orders") == [("pending", True)]


def test_indexer_insert_without_id_is_numbered_by_the_bigserial():
    for log_index in (0, 1):
        fetch(
            "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
            "transaction_hash, block_number, log_index) "
            "VALUES (8453, '0xc', 'ord-1', '0xs', '5', '0xt', 100, %s)",
            (log_index,),
        )

    ids = [row[0] for row in fetch("SELECT id FROM deposit_events ORDER BY log_index")]
    assert ids[1] == ids[0] + 1
    assert fetch("SELECT processed FROM deposit_events") == [(False,), (False,)]
    assert fetch("SELECT pg_get_serial_sequence('deposit_events', 'id')") == [
        ("public.deposit_events_id_seq",)
    ]


def test_accounts_upsert_on_account_id_updates_the_existing_row():
    upsert = (
        "INSERT INTO accounts (account_id, email) VALUES ('acc-1', %s) "
        "ON CONFLICT (account_id) DO UPDATE SET email = EXCLUDED.email"
    )
    fetch(upsert, ("old@example.com",))
    fetch(upsert, ("new@example.com",))

    assert fetch("SELECT account_id, email FROM accounts") == [("acc-1", "new@example.com")]


def test_users_upsert_on_telegram_id_updates_the_existing_row():
    upsert = (
        "INSERT INTO users (telegram_id, username) VALUES (42, %s) "
        "ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username"
    )
    fetch(upsert, ("first",))
    fetch(upsert, ("second",))

    assert fetch("SELECT telegram_id, username FROM users") == [(42, "second")]


def test_chain_states_upsert_on_the_composite_key_moves_the_cursor():
    upsert = (
        "INSERT INTO chain_states (chain_id, contract_address, last_scanned_block) "
        "VALUES (8453, '0xc', %s) ON CONFLICT (chain_id, contract_address) "
        "DO UPDATE SET last_scanned_block = EXCLUDED.last_scanned_block"
    )
    fetch(upsert, (10,))
    fetch(upsert, (20,))

    assert fetch("SELECT chain_id, contract_address, last_scanned_block FROM chain_states") == [
        (8453, "0xc", 20)
    ]


def test_chain_state_insert_without_block_starts_at_zero():
    fetch("INSERT INTO chain_states (chain_id, contract_address) VALUES (1, '0xc')")

    assert fetch("SELECT last_scanned_block FROM chain_states") == [(0,)]


def test_deposit_events_upsert_does_nothing_on_a_replayed_log():
    insert = (
        "INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount, "
        "transaction_hash, block_number, log_index) "
        "VALUES (8453, '0xc', 'ord-1', '0xs', %s, '0xt', 100, 3) "
        "ON CONFLICT (chain_id, transaction_hash, log_index) DO NOTHING"
    )
    fetch(insert, ("5",))
    fetch(insert, ("999",))

    assert fetch("SELECT amount FROM deposit_events") == [("5",)]


def test_status_binds_as_the_enum_type_and_compares_with_string_literals():
    fetch(
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
        "VALUES ('ord-2', '1', 'b', '1', '0x1', 'completed'::order_status)"
    )

    assert fetch("SELECT order_id FROM orders WHERE status = 'completed'") == [("ord-2",)]
    assert fetch("SELECT order_id FROM orders WHERE status = 'pending'") == []
    assert fetch("SELECT pg_typeof(status)::text FROM orders") == [("order_status",)]


def test_an_unknown_status_label_is_rejected():
    with (
        pytest.raises(DataError, match="invalid input value for enum order_status"),
        transaction.atomic(),
    ):
        fetch(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
            "VALUES ('ord-3', '1', 'b', '1', '0x1', 'refunded')"
        )


def test_duplicate_order_id_is_refused_by_orders_order_id_key():
    insert = (
        "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
        "VALUES ('dup', '1', 'b', '1', '0x1')"
    )
    fetch(insert)
    with pytest.raises(IntegrityError, match="orders_order_id_key"), transaction.atomic():
        fetch(insert)


@pytest.mark.parametrize(
    ("table", "insert", "update"),
    [
        (
            "accounts",
            "INSERT INTO accounts (account_id) VALUES ('a')",
            "UPDATE accounts SET email = 'x'",
        ),
        ("users", "INSERT INTO users (telegram_id) VALUES (1)", "UPDATE users SET username = 'x'"),
        (
            "orders",
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address) "
            "VALUES ('o', '1', 'b', '1', '0x1')",
            "UPDATE orders SET status = 'completed'",
        ),
        (
            "chain_states",
            "INSERT INTO chain_states (chain_id, contract_address) VALUES (1, '0xc')",
            "UPDATE chain_states SET last_scanned_block = 5",
        ),
    ],
)
def test_an_update_that_does_not_set_updated_at_still_moves_it(table, insert, update):
    fetch(insert)
    fetch(f"UPDATE {table} SET updated_at = '2000-01-01T00:00:00Z'")
    fetch(update)

    [(updated_at,)] = fetch(f"SELECT updated_at FROM {table}")
    assert updated_at.year > 2000


def test_deposit_events_have_no_updated_at_trigger():
    assert fetch(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'deposit_events'::regclass "
        "AND NOT tgisinternal"
    ) == [(0,)]


def test_the_services_reporting_queries_run():
    fetch("INSERT INTO users (telegram_id, username) VALUES (77, 'bob')")
    for order_id, amount, status in [
        (
            "o1",
            "123456789012345678901234567890123456789012345678901234567890123456789012345678",
            "completed",
        ),
        ("o2", "2", "completed"),
        ("o3", "5", "pending"),
    ]:
        fetch(
            "INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status) "
            "VALUES (%s, '77', 'b', %s, '0x1', %s::order_status)",
            (order_id, amount, status),
        )

    [(total,)] = fetch("SELECT SUM(CAST(amount AS NUMERIC)) FROM orders WHERE status = 'completed'")
    joined = fetch(
        "SELECT u.username, count(*) FROM orders o JOIN users u ON o.account_id = u.telegram_id::text "
        "GROUP BY u.username"
    )
    ordered = fetch("SELECT order_id FROM orders ORDER BY created_at, order_id")

    assert total == 123456789012345678901234567890123456789012345678901234567890123456789012345680
    assert joined == [("bob", 3)]
    assert [row[0] for row in ordered] == ["o1", "o2", "o3"]
