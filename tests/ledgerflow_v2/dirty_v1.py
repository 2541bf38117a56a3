"""Deliberately dirty v1 data, and what the cutover must make of it."""

from django.db import connection

from tests.factories import (
    AccountFactory,
    DepositEventFactory,
    OrderFactory,
    UserFactory,
)

TOKEN = "0x" + "ab" * 20
OTHER_TOKEN = "0x" + "cd" * 20

# (source table, key) -> reason
EXPECTED_REJECTS = {
    ("accounts", "no-tg"): "account_without_telegram_id",
    ("accounts", "tg-abc"): "account_telegram_id_not_an_integer",
    ("accounts", "twin-1"): "two_accounts_for_one_telegram_id",
    ("accounts", "twin-2"): "two_accounts_for_one_telegram_id",
    ("orders", "o-decimal"): "order_amount_not_a_positive_integer",
    ("orders", "o-abc"): "order_amount_not_a_positive_integer",
    ("orders", "o-zero"): "order_amount_not_a_positive_integer",
    ("orders", "o-unknown-account"): "order_account_unresolved",
    ("orders", "o-twin"): "order_account_rejected",
    ("deposit_events", "d-of-rejected-order"): "deposit_order_rejected",
    ("deposit_events", "d-ghost"): "deposit_order_unknown",
    ("deposit_events", "d-bad-amount"): "deposit_amount_not_a_positive_integer",
}

CARRIED_ORDERS = {"o-good", "o-by-account-id", "o-pending", "o-other-token"}


def make_dirty_v1():
    """Write the dirty v1 rows; return the v1 ids of rejected accounts and deposits by label."""
    labels = {}
    # In both users and accounts (one person), with different EVM addresses.
    UserFactory(telegram_id=1001, username="ada", evm_address="0x" + "1" * 40)
    AccountFactory(account_id="acc-both", telegram_id="1001", evm_address="0x" + "2" * 40)
    # Only in users.
    UserFactory(telegram_id=1002, username="solo")
    # Only in users, with a username an account already has.
    UserFactory(telegram_id=1003, username="acc-both")
    # Only in accounts.
    AccountFactory(account_id="acc-only", telegram_id="1005", email="only@example.com")
    # Accounts v2 cannot hold.
    labels["no-tg"] = AccountFactory(account_id="no-tg", telegram_id=None).id
    labels["tg-abc"] = AccountFactory(account_id="tg-abc", telegram_id="abc").id
    labels["twin-1"] = AccountFactory(account_id="twin-1", telegram_id="1004").id
    labels["twin-2"] = AccountFactory(account_id="twin-2", telegram_id="1004").id

    OrderFactory(order_id="o-good", account_id="1001", amount="1000", status="completed")
    OrderFactory(order_id="o-by-account-id", account_id="acc-only", amount="20")
    OrderFactory(order_id="o-pending", account_id="1005", amount="300")
    OrderFactory(order_id="o-other-token", account_id="1002", amount="40", token_address=OTHER_TOKEN,
                 status="completed")  # fmt: skip
    OrderFactory(order_id="o-decimal", account_id="1002", amount="1.5")
    OrderFactory(order_id="o-abc", account_id="1002", amount="abc", status="failed")
    OrderFactory(order_id="o-zero", account_id="1003", amount="0")
    OrderFactory(order_id="o-unknown-account", account_id="999999", amount="5")
    OrderFactory(order_id="o-twin", account_id="1004", amount="7")

    DepositEventFactory(order_id="o-good", amount="1000")
    labels["d-of-rejected-order"] = DepositEventFactory(order_id="o-decimal", amount="2").id
    labels["d-ghost"] = DepositEventFactory(order_id="ghost", amount="4").id
    labels["d-bad-amount"] = DepositEventFactory(order_id="o-pending", amount="1e3").id
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chain_states (chain_id, contract_address, last_scanned_block) "
            "VALUES (8453, %s, 1000)",
            ["0x" + "cd" * 20],
        )
    return {label: str(value) for label, value in labels.items()}


def source_key(labels, table, key):
    """The key cutover_rejects stores for a row: its uuid or id, or an order's order_id."""
    return key if table == "orders" else labels[key]


def v1_fingerprint(cursor):
    """Every v1 row with its xmin: equal before and after means no row was written, not even
    rewritten with the same values."""
    result = {}
    for table in ("accounts", "users", "orders", "chain_states", "deposit_events"):
        cursor.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t.xmin::text || ':' || t::text, '|' "
            f"ORDER BY t::text), '')) FROM public.{table} t"
        )
        result[table] = cursor.fetchone()
    return result
