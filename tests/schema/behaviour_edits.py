"""Hand edits that change how the services' SQL behaves while every column's type, constraint
and index looks unchanged; each as (edit, kind, name, description) of the one difference that
drift and the takeover must report. Used by the drift and takeover tests."""

import pytest

BEHAVIOUR_EDITS = [
    pytest.param(
        'ALTER TABLE users ALTER COLUMN evm_address TYPE varchar(42) COLLATE "C"',
        "column",
        "users.evm_address",
        'collation is "C", expected the default',
        id="collation",
    ),
    pytest.param(
        # Case-insensitive equality: 'ACC-1' would collide with 'acc-1' in the unique key.
        "CREATE COLLATION lf_ci (provider = icu, locale = 'und-u-ks-level2', "
        "deterministic = false);"
        "ALTER TABLE accounts ALTER COLUMN account_id TYPE varchar(255) COLLATE lf_ci",
        "column",
        "accounts.account_id",
        "collation is lf_ci, expected the default",
        id="nondeterministic-collation",
    ),
    pytest.param(
        "ALTER TABLE orders SET UNLOGGED",
        "table",
        "orders",
        "table is UNLOGGED, expected LOGGED",
        id="unlogged",
    ),
    pytest.param(
        "CREATE RULE orders_nodelete AS ON DELETE TO orders DO INSTEAD NOTHING",
        "rule",
        "orders.orders_nodelete",
        "is not expected",
        id="rule",
    ),
    pytest.param(
        "ALTER TABLE orders ENABLE ROW LEVEL SECURITY",
        "table",
        "orders",
        "row level security is enabled, expected disabled",
        id="row-level-security",
    ),
    pytest.param(
        "ALTER TABLE orders FORCE ROW LEVEL SECURITY",
        "table",
        "orders",
        "row level security on the table owner is forced, expected not forced",
        id="forced-row-level-security",
    ),
    pytest.param(
        "CREATE POLICY orders_own ON orders USING (account_id = current_user)",
        "policy",
        "orders.orders_own",
        "is not expected",
        id="policy",
    ),
    pytest.param(
        "CREATE TABLE orders_archive () INHERITS (orders)",
        "table",
        "orders",
        "inherited by orders_archive, expected none",
        id="inherited-by",
    ),
    pytest.param(
        "CREATE TABLE ledger_base (); ALTER TABLE users INHERIT ledger_base",
        "table",
        "users",
        "inherits from ledger_base, expected none",
        id="inherits",
    ),
    pytest.param(
        "ALTER FUNCTION update_updated_at_column() SECURITY DEFINER",
        "function",
        "update_updated_at_column()",
        "function is SECURITY DEFINER, expected SECURITY INVOKER",
        id="security-definer",
    ),
    pytest.param(
        "ALTER FUNCTION update_updated_at_column() SET search_path = pg_temp",
        "function",
        "update_updated_at_column()",
        "function settings are search_path=pg_temp, expected none",
        id="function-setting",
    ),
    pytest.param(
        "ALTER FUNCTION update_updated_at_column() IMMUTABLE",
        "function",
        "update_updated_at_column()",
        "function is IMMUTABLE, expected VOLATILE",
        id="immutable",
    ),
    pytest.param(
        "ALTER FUNCTION update_updated_at_column() STRICT",
        "function",
        "update_updated_at_column()",
        "function is STRICT, expected CALLED ON NULL INPUT",
        id="strict",
    ),
    pytest.param(
        "CREATE FUNCTION update_updated_at_column(integer) RETURNS integer "
        "LANGUAGE sql AS 'SELECT $1'",
        "function",
        "update_updated_at_column(integer)",
        "is not expected",
        id="overload",
    ),
]
