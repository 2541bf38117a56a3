"""The cutover from v1 (the five tables in ``public``) to v2 (``ledgerflow_v2``), in set-based SQL.

One transaction: the v1 tables are locked against writes (SHARE: the old services can still read),
the v2 service tables against everything but reads, a backup is taken of exactly the locked
state, and then every v1 row is either carried into v2 or written whole, with its reason, into
``ledgerflow_v2.cutover_rejects``; every decision taken without asking goes into
``ledgerflow_v2.cutover_notes``. Money is reconciled per token before the commit: v1 total =
carried + rejected, or nothing is committed. v1 is only read.

For speed the load runs as a restore does: the v2 foreign keys, keys and plain indexes are
dropped first and rebuilt after, from their catalogue definitions, in the same transaction (one
sort per index, one join per foreign key); nothing outside the transaction ever sees them
missing. Each big v1 table is read as few times as possible: v1 orders once into a staging
table (not WAL-logged) that feeds the carry, the rejects, the notes and v1's side of the money;
v1 deposits once for the carry and once for their money and rejects. The per-row checks avoid
regexes. ``step_seconds`` in the report (``--verbosity 2``) gives the time of every step.

A dry run does the same work in a transaction that is rolled back, in a REPEATABLE READ
snapshot without the write lock, so the old services keep running while it reports.
"""

import json
import time
from datetime import UTC, datetime

from ledgerflow.db.errors import sqlstate

SCHEMA = "ledgerflow_v2"
V1_TABLES = ("accounts", "users", "orders", "chain_states", "deposit_events")
# In foreign-key order, children first.
V2_TABLES = ("deposit_events", "balances", "orders", "chain_states", "accounts")
RECORD_TABLES = ("cutover_rejects", "cutover_notes")

REASONS = {
    "account_without_telegram_id": (
        "v2 keys every account by a Telegram id (accounts.telegram_id BIGINT NOT NULL); this v1 "
        "account has none"
    ),
    "account_telegram_id_not_an_integer": (
        "the v1 telegram_id text is not an integer that fits BIGINT, so it cannot key a v2 account"
    ),
    "two_accounts_for_one_telegram_id": (
        "more than one v1 account carries this Telegram id; v2 holds one account per Telegram id "
        "and the cutover does not guess which one is the person's"
    ),
    "order_account_unresolved": (
        "orders.account_id matches neither a carried Telegram id nor a carried account's "
        "account_id, so the order has no v2 account (orders_account_id_fk)"
    ),
    "order_account_rejected": (
        "orders.account_id names a v1 account that was itself rejected, and no carried account "
        "has that Telegram id"
    ),
    "order_amount_not_a_positive_integer": (
        "orders.amount is not a positive integer (v2: NUMERIC(78,0) with CHECK (amount > 0))"
    ),
    "deposit_order_unknown": (
        "the deposit's order_id is not in v1 orders (v2: deposit_events_order_id_fk)"
    ),
    "deposit_order_rejected": "the deposit's order was rejected, so v2 cannot hold the deposit",
    "deposit_amount_not_a_positive_integer": (
        "deposit_events.amount is not a positive integer "
        "(v2: NUMERIC(78,0) with CHECK (amount > 0))"
    ),
}

# A v1 text that PostgreSQL reads as a number; anything else is an unreadable amount.
NUMBER = r"'^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$'"
ZERO = r"'^\s*[+-]?0*(\.0*)?\s*$'"
# The per-row checks of the big tables use ltrim(text, digits) = '' ("nothing but digits"), not
# a regex: a bounded-repetition regex costs microseconds a row, a third of the lock window at 1M.
DIGITS = "'0123456789'"


def _bigint_of(text):
    """SQL: ``text`` as BIGINT when it is a plain integer of up to 18 digits (always in range;
    Telegram ids are far shorter), else NULL."""
    return (
        f"CASE WHEN length({text}) BETWEEN 1 AND 18 AND ltrim({text}, {DIGITS}) = '' "
        f"THEN {text}::bigint END"
    )


def _positive_integer(text):
    """SQL: ``text`` is 1 to 78 ASCII digits, not all zeros (NUMERIC(78,0) with amount > 0)."""
    return (
        f"(length({text}) BETWEEN 1 AND 78 AND ltrim({text}, {DIGITS}) = '' "
        f"AND ltrim({text}, '0') <> '')"
    )


def _number(text):
    """SQL: ``text`` as NUMERIC when PostgreSQL reads it as a number, else NULL; the regex runs
    only for the rare amount that is not plain digits."""
    return (
        f"CASE WHEN {text} <> '' AND ltrim({text}, {DIGITS}) = '' THEN {text}::numeric "
        f"WHEN {text} ~ {NUMBER} THEN btrim({text})::numeric END"
    )


class CutoverError(Exception):
    """A refusal; the message says what to do, and nothing was changed."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


STAGING_TABLES = tuple(
    f"pg_temp.cutover_{name}"
    for name in ("accounts", "identities", "people", "orders", "v1_money", "other_chain")
)

# v1 is read once per table: each row's checks, its reason and what later steps need of it go
# into a temporary table (not WAL-logged) or a materialized CTE, and the carry, the rejects, the
# notes and v1's side of the money reconciliation are all read from there.
# The statements take one parameter, %(reasons)s: the REASONS as JSON (so a literal % is %%).
BALANCES_STEP = "balances: seed"
# Accounts whose completed orders add up past what balances.balance (NUMERIC(78,0)) holds.
OVERFLOWING_BALANCES = f"""
SELECT a.telegram_id, count(*), sum(o.amount)
FROM {SCHEMA}.orders o JOIN {SCHEMA}.accounts a ON a.id = o.account_id
WHERE o.status = 'completed'
GROUP BY a.telegram_id HAVING sum(o.amount) >= 1e78
ORDER BY a.telegram_id LIMIT 20
"""


def _seed_balances(connection, cursor, statement):
    """Seed balances, or refuse naming the people whose balance v2 cannot hold (instead of
    PostgreSQL's bare "numeric field overflow")."""
    from django.db import DataError, transaction

    try:
        with transaction.atomic(using=connection.alias):  # a savepoint, to ask which ones
            cursor.execute(statement)
    except DataError as exc:
        if sqlstate(exc) != "22003":  # numeric_value_out_of_range
            raise
        people = [
            f"Telegram id {telegram_id} ({orders} completed orders, {total})"
            for telegram_id, orders, total in _rows(cursor, OVERFLOWING_BALANCES)
        ]
        raise CutoverError(
            "The completed orders of these people add up past what a v2 balance holds "
            f"(NUMERIC(78,0), 78 digits): {'; '.join(people)}. Repair the amounts or statuses "
            "of their orders in v1 and re-run; nothing was changed."
        ) from None


STAGE = [
    (
        "prepare: staging tables",
        "CREATE TEMP TABLE cutover_v1_money (v1_table text, key text, n bigint, total numeric, "
        "unreadable bigint) ON COMMIT DROP; "
        "CREATE TEMP TABLE cutover_other_chain (order_id text) ON COMMIT DROP",
    ),
    # v1 accounts with their Telegram id read as a number and the reason v2 cannot hold them.
    (
        "accounts: check v1 accounts",
        f"""
    CREATE TEMP TABLE cutover_accounts ON COMMIT DROP AS
    SELECT p.*,
           CASE WHEN p.telegram_text IS NULL OR btrim(p.telegram_text) = ''
                    THEN 'account_without_telegram_id'
                WHEN p.telegram_id IS NULL THEN 'account_telegram_id_not_an_integer'
                WHEN count(*) OVER (PARTITION BY p.telegram_id) > 1
                    THEN 'two_accounts_for_one_telegram_id'
           END AS reason
    FROM (SELECT a.id, a.account_id, a.email, a.evm_address, a.created_at, a.updated_at,
                 a.telegram_id AS telegram_text, {_bigint_of("a.telegram_id")} AS telegram_id
          FROM public.accounts a) p
    """,
    ),
    ("accounts: analyze", "ANALYZE cutover_accounts (telegram_id, reason)"),
    # One person per Telegram id: a users row, a carried accounts row, or both merged.
    (
        "accounts: merge users and accounts",
        """
    CREATE TEMP TABLE cutover_identities ON COMMIT DROP AS
    SELECT coalesce(u.telegram_id, a.telegram_id) AS telegram_id,
           u.id AS user_id, a.id AS account_uuid, a.account_id AS account_name,
           u.username AS user_name, a.email,
           a.evm_address AS account_evm, u.evm_address AS user_evm,
           least(a.created_at, u.created_at) AS created_at,
           greatest(a.updated_at, u.updated_at) AS updated_at
    FROM public.users u
    FULL JOIN (SELECT * FROM cutover_accounts WHERE reason IS NULL) a
           ON a.telegram_id = u.telegram_id
    """,
    ),
    # The v2 username: the account's account_id, else the user's username when no one else
    # has it, else a generated one. An email shared by two people stays with the earliest.
    # (Partitions by text compare bytes, COLLATE "C": the same groups as the database's
    # deterministic collation, sorted without its slower comparison.)
    (
        "accounts: usernames and emails",
        """
    CREATE TEMP TABLE cutover_people ON COMMIT DROP AS
    SELECT i.*,
           CASE WHEN i.account_name IS NOT NULL THEN i.account_name
                WHEN i.user_name IS NOT NULL AND btrim(i.user_name) <> '' AND NOT i.name_taken
                    THEN i.user_name
                ELSE 'telegram:' || i.telegram_id END AS username,
           CASE WHEN i.email IS NOT NULL AND row_number() OVER (
                    PARTITION BY i.email COLLATE "C"
                    ORDER BY i.created_at NULLS LAST, i.telegram_id) > 1
                THEN NULL ELSE i.email END AS email_kept
    FROM (SELECT i.*,
                 i.account_name IS NULL AND (
                     EXISTS (SELECT 1 FROM public.accounts a WHERE a.account_id = i.user_name)
                     OR count(*) FILTER (WHERE i.account_name IS NULL)
                            OVER (PARTITION BY i.user_name COLLATE "C") > 1) AS name_taken
          FROM cutover_identities i) i
    """,
    ),
    ("accounts: analyze people", "ANALYZE cutover_people (user_id, account_uuid)"),
    (
        "accounts: insert",
        f"""
    INSERT INTO {SCHEMA}.accounts (username, telegram_id, email, evm_address, created_at,
                                   updated_at)
    SELECT username, telegram_id, email_kept, coalesce(account_evm, user_evm),
           coalesce(created_at, now()), coalesce(updated_at, created_at, now())
    FROM cutover_people
    ORDER BY created_at NULLS LAST, telegram_id
    """,
    ),
    ("accounts: analyze v2", f"ANALYZE {SCHEMA}.accounts (telegram_id, username)"),
    (
        "accounts: rejects",
        f"""
    INSERT INTO {SCHEMA}.cutover_rejects (source_table, source_key, reason, detail, row_data)
    SELECT 'accounts', a.id::text, c.reason, %(reasons)s::jsonb ->> c.reason, to_jsonb(a)
    FROM public.accounts a JOIN cutover_accounts c ON c.id = a.id WHERE c.reason IS NOT NULL
    """,
    ),
    # orders.account_id holds a Telegram id as text (CONTRACT.md); an account's account_id is
    # accepted too. Both unique in v2, so the joins never multiply rows. Every v1 order, with
    # its reason. (A rejected row is read again whole, by its key, only when it is rejected:
    # a whole-row reference here would build a row value for every v1 row.)
    (
        "orders: check v1 orders",
        f"""
    CREATE TEMP TABLE cutover_orders ON COMMIT DROP AS
    SELECT o.order_id, o.account_id AS reference, o.broker_id, o.amount, o.token_address,
           o.status, o.created_at, o.updated_at, o.transaction_hash,
           by_tg.id AS tg_account, by_name.id AS name_account, r.reason
    FROM public.orders o
    LEFT JOIN {SCHEMA}.accounts by_tg ON by_tg.telegram_id = {_bigint_of("o.account_id")}
    LEFT JOIN {SCHEMA}.accounts by_name ON by_name.username = o.account_id
    -- The rejected accounts are looked up (hashed, once) only for the orders left unresolved.
    CROSS JOIN LATERAL (
        SELECT CASE WHEN coalesce(by_tg.id, by_name.id) IS NULL THEN
                        CASE WHEN o.account_id IN (SELECT account_id FROM cutover_accounts
                                                   WHERE reason IS NOT NULL)
                                  OR {_bigint_of("o.account_id")} IN (
                                      SELECT telegram_id FROM cutover_accounts
                                      WHERE reason IS NOT NULL AND telegram_id IS NOT NULL)
                             THEN 'order_account_rejected' ELSE 'order_account_unresolved' END
                    WHEN NOT {_positive_integer("o.amount")}
                        THEN 'order_amount_not_a_positive_integer'
               END AS reason) r
    """,
    ),
    ("orders: analyze", "ANALYZE cutover_orders (order_id, reason)"),
    (
        "orders: insert",
        f"""
    INSERT INTO {SCHEMA}.orders (order_id, account_id, broker_id, amount, token_address, status,
                                 created_at, updated_at, transaction_hash, notified)
    SELECT order_id, coalesce(tg_account, name_account), broker_id, amount::numeric(78,0),
           token_address, status::text::{SCHEMA}.order_status, coalesce(created_at, now()),
           coalesce(updated_at, created_at, now()), transaction_hash, status = 'completed'
    FROM cutover_orders
    WHERE reason IS NULL
    """,
    ),
    (
        "orders: rejects and v1 money",
        f"""
    WITH rejected AS (
        INSERT INTO {SCHEMA}.cutover_rejects (source_table, source_key, reason, detail, row_data)
        SELECT 'orders', c.order_id, c.reason, %(reasons)s::jsonb ->> c.reason,
               (SELECT to_jsonb(o) FROM public.orders o WHERE o.order_id = c.order_id)
        FROM cutover_orders c WHERE c.reason IS NOT NULL)
    INSERT INTO cutover_v1_money
    SELECT 'orders', token_address, count(*), sum(amount), count(*) FILTER (WHERE amount IS NULL)
    FROM (SELECT token_address, {_number("amount")} AS amount FROM cutover_orders) o
    GROUP BY 2
    """,
    ),
    # A deposit is carried when its order was carried and its amount fits. Joining every
    # deposit with the orders would cost a third of this step: the deposits of rejected orders
    # (few) are left out by a hashed lookup, and those of orders v1 does not have (fewer, if
    # any) are found by the check of deposit_events_order_id_fk when it is rebuilt, and then
    # moved to the rejects (DEPOSITS_OF_UNKNOWN_ORDERS).
    (
        "deposits: insert",
        f"""
    INSERT INTO {SCHEMA}.deposit_events (id, chain_id, contract_address, order_id, sender, amount,
                                         transaction_hash, block_number, log_index, created_at,
                                         processed)
    SELECT d.id, d.chain_id, d.contract_address, d.order_id, d.sender, d.amount::numeric(78,0),
           d.transaction_hash, d.block_number, d.log_index, coalesce(d.created_at, now()),
           d.processed
    FROM public.deposit_events d
    WHERE {_positive_integer("d.amount")}
      -- NOT IN, hashed once: the planner cannot estimate the filter above, and as an anti-join
      -- it may pick a nested loop over all deposits times all rejected orders.
      AND d.order_id NOT IN (SELECT order_id FROM cutover_orders WHERE reason IS NOT NULL)
    """,
    ),
    # One scan of v1's deposits sums v1's side of the money and collects the deposits left out
    # above: an unreadable amount or a rejected order (the ids of those are collected, then read
    # whole by key).
    (
        "deposits: rejects and v1 money",
        f"""
    WITH scanned AS (
        SELECT chain_id, contract_address, count(*) AS n, sum(amount) AS total,
               count(*) FILTER (WHERE amount IS NULL) AS unreadable,
               array_agg(id) FILTER (WHERE not_carried) AS not_carried
        FROM (SELECT d.id, d.chain_id, d.contract_address, {_number("d.amount")} AS amount,
                     NOT {_positive_integer("d.amount")} OR rejected.order_id IS NOT NULL
                         AS not_carried
              FROM public.deposit_events d
              LEFT JOIN (SELECT order_id FROM cutover_orders WHERE reason IS NOT NULL) rejected
                     ON rejected.order_id = d.order_id) d
        GROUP BY chain_id, contract_address),
    v1_money AS (
        INSERT INTO cutover_v1_money
        SELECT 'deposit_events', chain_id || ':' || contract_address, n, total, unreadable
        FROM scanned)
    INSERT INTO {SCHEMA}.cutover_rejects (source_table, source_key, reason, detail, row_data)
    SELECT 'deposit_events', d.id::text, r.reason, %(reasons)s::jsonb ->> r.reason, to_jsonb(d)
    FROM (SELECT unnest(not_carried) AS id FROM scanned) c
    JOIN public.deposit_events d ON d.id = c.id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN NOT EXISTS (SELECT FROM public.orders o WHERE o.order_id = d.order_id)
                        THEN 'deposit_order_unknown'
                    WHEN d.order_id IN (SELECT order_id FROM cutover_orders
                                        WHERE reason IS NOT NULL)
                        THEN 'deposit_order_rejected'
                    ELSE 'deposit_amount_not_a_positive_integer'
               END AS reason) r
    ORDER BY d.id
    """,
    ),
    # For the chain_id_defaulted note: carried orders with a v1 deposit on another chain.
    (
        "deposits: other chains",
        """
    INSERT INTO cutover_other_chain
    SELECT DISTINCT d.order_id
    FROM public.deposit_events d
    JOIN cutover_orders o ON o.order_id = d.order_id
    WHERE d.chain_id <> 1 AND o.reason IS NULL
    """,
    ),
    # Past every v1 id, rejected ones too: a new id never repeats one in the rejects.
    (
        "deposits: sequence",
        f"""
    SELECT setval('{SCHEMA}.deposit_events_id_seq',
                  greatest(coalesce((SELECT max(id) FROM public.deposit_events), 1), 1),
                  EXISTS (SELECT FROM public.deposit_events))
    """,
    ),
    (
        "chain_states: insert",
        f"""
    INSERT INTO {SCHEMA}.chain_states (chain_id, contract_address, last_scanned_block, updated_at)
    SELECT chain_id, contract_address, last_scanned_block, coalesce(updated_at, now())
    FROM public.chain_states
    """,
    ),
    # What the balancer would have credited: the sum of each account's completed orders.
    (
        BALANCES_STEP,
        f"""
    INSERT INTO {SCHEMA}.balances (account_id, balance, created_at, updated_at)
    SELECT account_id, sum(amount), now(), now()
    FROM {SCHEMA}.orders WHERE status = 'completed'
    GROUP BY account_id ORDER BY account_id
    """,
    ),
]


# Deposits carried above whose order_id is not in v1 orders: taken out of v2 again and rejected.
# Run only when the check of deposit_events_order_id_fk finds one.
DEPOSITS_FOREIGN_KEY = "deposit_events_order_id_fk"
DEPOSITS_OF_UNKNOWN_ORDERS = f"""
WITH moved AS (
    DELETE FROM {SCHEMA}.deposit_events d
    WHERE NOT EXISTS (SELECT FROM cutover_orders o WHERE o.order_id = d.order_id)
    RETURNING d.id)
INSERT INTO {SCHEMA}.cutover_rejects (source_table, source_key, reason, detail, row_data)
SELECT 'deposit_events', d.id::text, 'deposit_order_unknown',
       %(reasons)s::jsonb ->> 'deposit_order_unknown', to_jsonb(d)
FROM public.deposit_events d JOIN moved ON moved.id = d.id
ORDER BY d.id
"""

NOTE = f"""
INSERT INTO {SCHEMA}.cutover_notes (kind, subject, detail, data)
SELECT 'merged_identity', 'telegram_id ' || telegram_id,
       'v1 users row and v1 accounts row with this Telegram id became one v2 account',
       jsonb_build_object('user_id', user_id, 'account_id', account_uuid,
                          'account_account_id', account_name, 'username', username)
FROM cutover_people WHERE user_id IS NOT NULL AND account_uuid IS NOT NULL
UNION ALL
SELECT 'conflicting_evm_address', 'telegram_id ' || telegram_id,
       'the accounts row and the users row name different EVM addresses; v2 keeps the '
       || 'accounts row''s (the balancer''s)',
       jsonb_build_object('kept', account_evm, 'dropped', user_evm)
FROM cutover_people
WHERE account_evm IS NOT NULL AND user_evm IS NOT NULL AND lower(account_evm) <> lower(user_evm)
UNION ALL
SELECT 'username_generated', 'telegram_id ' || telegram_id,
       'no accounts row, and the users row''s username is empty or held by someone else; '
       || 'v2 needs a unique username',
       jsonb_build_object('username', username, 'users_username', user_name)
FROM cutover_people WHERE account_name IS NULL AND username = 'telegram:' || telegram_id
UNION ALL
SELECT 'username_from_users', 'telegram_id ' || telegram_id,
       'no accounts row: the v2 username is the users row''s username',
       jsonb_build_object('username', username)
FROM cutover_people WHERE account_name IS NULL AND username <> 'telegram:' || telegram_id
UNION ALL
SELECT 'email_shared', 'telegram_id ' || telegram_id,
       'another person already has this email and v2 keeps emails unique; this account gets none',
       jsonb_build_object('email', email)
FROM cutover_people WHERE email IS NOT NULL AND email_kept IS NULL
UNION ALL
SELECT 'account_resolved_by_account_id', 'order ' || c.order_id,
       'orders.account_id is not a carried Telegram id; it matched an account''s account_id',
       jsonb_build_object('reference', c.reference, 'v2_account_id', c.name_account)
FROM cutover_orders c
WHERE c.reason IS NULL AND c.tg_account IS NULL
UNION ALL
SELECT 'ambiguous_account_reference', 'order ' || c.order_id,
       'orders.account_id is both a Telegram id and another account''s account_id; '
       || 'the Telegram id won (CONTRACT.md: it holds a Telegram id)',
       jsonb_build_object('reference', c.reference, 'chosen', c.tg_account,
                          'other', c.name_account)
FROM cutover_orders c
WHERE c.reason IS NULL AND c.tg_account <> c.name_account
UNION ALL
SELECT 'chain_id_defaulted', NULL,
       n || ' carried orders got chain_id 1 (v1 has no chain_id; the v2 default); '
       || other_chain || ' of them have v1 deposits on another chain',
       jsonb_build_object('orders', n, 'with_deposits_on_another_chain', other_chain)
FROM (SELECT (SELECT count(*) FROM {SCHEMA}.orders) AS n,
             (SELECT count(*) FROM cutover_other_chain) AS other_chain
      OFFSET 0) defaulted  -- (counted once, not once per use)
WHERE n > 0
UNION ALL
SELECT 'completed_orders_marked_notified', NULL,
       count(*) || ' completed orders carried with notified = true, so the new bot does not '
       || 'announce them again',
       jsonb_build_object('orders', count(*))
FROM {SCHEMA}.orders WHERE notified HAVING count(*) > 0
UNION ALL
SELECT 'balances_seeded', NULL,
       count(*) || ' balances seeded from the sum of each account''s completed orders '
       || '(all tokens together, as the balancer adds them)',
       jsonb_build_object('accounts', count(*), 'total', sum(balance)::text)
FROM {SCHEMA}.balances HAVING count(*) > 0
UNION ALL
SELECT 'timestamp_defaulted', source, count(*) || ' rows had no ' || source
       || '; v2 gives them the cutover time (the services read it as non-null)',
       jsonb_build_object('rows', count(*))
FROM (SELECT 'accounts.created_at' AS source FROM cutover_people WHERE created_at IS NULL
      UNION ALL SELECT 'orders.created_at' FROM cutover_orders
                WHERE reason IS NULL AND created_at IS NULL) missing
GROUP BY source
"""


def _money_sql(v1_table, rejected_key, carried_sql):
    """v1's side was summed from every v1 row as it was read (cutover_v1_money); the carried
    side is summed from the v2 table, the rejected side from the rejects."""
    return f"""
    WITH v1 AS (
        SELECT key, n, total, unreadable FROM cutover_v1_money WHERE v1_table = '{v1_table}'),
    carried AS ({carried_sql}),
    rejected AS (
        SELECT {rejected_key} AS key, count(*) AS n,
               sum(CASE WHEN row_data->>'amount' ~ {NUMBER}
                        THEN btrim(row_data->>'amount')::numeric END) AS total,
               count(*) FILTER (WHERE row_data->>'amount' !~ {NUMBER}) AS unreadable
        FROM {SCHEMA}.cutover_rejects WHERE source_table = '{v1_table}' GROUP BY 1)
    SELECT key, coalesce(v1.n, 0), coalesce(v1.total, 0), coalesce(v1.unreadable, 0),
           coalesce(carried.n, 0), coalesce(carried.total, 0),
           coalesce(rejected.n, 0), coalesce(rejected.total, 0), coalesce(rejected.unreadable, 0),
           -- Compared here, in exact NUMERIC: Python's Decimal adds to 28 digits only, and
           -- amounts in wei have up to 78.
           coalesce(v1.total, 0) = coalesce(carried.total, 0) + coalesce(rejected.total, 0)
    FROM v1 FULL JOIN carried USING (key) FULL JOIN rejected USING (key)
    ORDER BY key
    """


# Money per token for orders; deposits carry no token, so per chain and vault contract.
MONEY = {
    "orders": _money_sql(
        "orders",
        "row_data->>'token_address'",
        f"SELECT token_address AS key, count(*) AS n, sum(amount) AS total "
        f"FROM {SCHEMA}.orders GROUP BY 1",
    ),
    "deposit_events": _money_sql(
        "deposit_events",
        "(row_data->>'chain_id') || ':' || (row_data->>'contract_address')",
        f"SELECT chain_id || ':' || contract_address AS key, count(*) AS n, sum(amount) AS total "
        f"FROM {SCHEMA}.deposit_events GROUP BY 1",
    ),
}

FINGERPRINT = " UNION ALL ".join(
    f"SELECT '{table}', count(*), coalesce(sum(hash_record(t)::bigint), 0)::text "
    f"FROM {SCHEMA}.{table} t"
    for table in V2_TABLES
)


# The constraints and plain indexes of the v2 tables that the load would otherwise maintain row
# by row: every foreign key, and the primary keys and unique constraints of the big tables (the
# joins of the load use hash joins, not these indexes). After the rows are in, each index is
# built once by sorting and each foreign key checked by one join. They are read back from the
# catalogue, so they come back exactly as the migration made them (the parity test checks).
BULK_TABLES = ("accounts", "orders", "deposit_events", "balances")
DEFERRED_CONSTRAINTS = f"""
SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', conrelid::regclass, conname), conname,
       format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname,
              pg_get_constraintdef(oid))
FROM pg_constraint
WHERE connamespace = '{SCHEMA}'::regnamespace
  AND (contype = 'f' OR contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%(bulk)s))
ORDER BY contype = 'f' DESC, conname
"""
DEFERRED_INDEXES = f"""
SELECT format('DROP INDEX %%s', i.indexrelid::regclass), i.indexrelid::regclass::text,
       pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = '{SCHEMA}'::regnamespace AND t.relname = ANY(%(tables)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


def _defer_checks_and_indexes(cursor):
    """Drop what the load would maintain row by row; return the SQL that restores it (indexes,
    then keys, then the foreign keys that need them), to run after the load, in the same
    transaction, as (name, statement) pairs."""
    bulk = [f"{SCHEMA}.{table}" for table in BULK_TABLES]
    constraints = _rows(cursor, DEFERRED_CONSTRAINTS, {"bulk": bulk})
    indexes = _rows(cursor, DEFERRED_INDEXES, {"tables": list(V2_TABLES)})
    for drop, _, _ in constraints + indexes:
        cursor.execute(drop)
    return [(name, create) for _, name, create in (*indexes, *reversed(constraints))]


class _Steps:
    """Seconds spent in each step of a cutover, in order."""

    def __init__(self):
        self.seconds = {}
        self._last = time.monotonic()

    def done(self, name):
        now = time.monotonic()
        self.seconds[name] = round(self.seconds.get(name, 0) + now - self._last, 3)
        self._last = now


def _restore_deposits_foreign_key(connection, cursor, statement, reasons, steps):
    """Add deposit_events_order_id_fk back; if its check finds carried deposits whose order v1
    does not have, move them to the rejects and add it again."""
    from django.db import IntegrityError, transaction

    try:
        with transaction.atomic(using=connection.alias):
            cursor.execute(statement)
    except IntegrityError:
        steps.done("deposits: foreign key check found deposits of unknown orders")
        cursor.execute(DEPOSITS_OF_UNKNOWN_ORDERS, reasons)
        steps.done("deposits: rejects of unknown orders")
        cursor.execute(statement)


def _staging_in_memory(connection, cursor):
    """Let the staging tables stay in memory (temp_buffers, default 8 MB: at 1M orders every
    scan of them would go through the kernel). PostgreSQL accepts a new size only before the
    session first touches a temporary table; a session that already has (a test's) keeps its
    size, which is only slower. The buffers are allocated as used and stay with the session
    until it ends (the command's ends right after)."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(using=connection.alias):
            cursor.execute("SET LOCAL temp_buffers = '1GB'")
    except DatabaseError:
        pass


def _rows(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _scalar(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def fingerprint(cursor):
    """Row count and an order-independent hash of every row of each v2 service table."""
    return {table: [count, digest] for table, count, digest in _rows(cursor, FINGERPRINT)}


def v2_row_counts(cursor):
    return {
        table: _scalar(cursor, f"SELECT count(*) FROM {SCHEMA}.{table}")
        for table in (*V2_TABLES, *RECORD_TABLES)
    }


def _lock(cursor, lock_timeout_ms, *, v1):
    cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
    try:
        if v1:
            tables = ", ".join(f"public.{table}" for table in V1_TABLES)
            cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
        tables = ", ".join(f"{SCHEMA}.{table}" for table in V2_TABLES)
        cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    except Exception as exc:
        if "lock timeout" not in str(exc):
            raise
        raise CutoverError(
            f"Could not lock the tables within {lock_timeout_ms / 1000:g} s: something is still "
            "writing to them (old services on the v1 tables, or new services on ledgerflow_v2). "
            "Stop the old services first (docs/CUTOVER.md), then re-run; nothing was changed."
        ) from None


def _last_run(cursor):
    rows = _rows(
        cursor,
        f"SELECT action, fingerprint FROM {SCHEMA}.cutover_runs ORDER BY id DESC LIMIT 1",
    )
    if not rows:
        return None, None
    action, recorded = rows[0]
    # Django's psycopg setup hands jsonb over as text.
    return action, json.loads(recorded) if isinstance(recorded, str) else recorded


def _services_wrote(cursor):
    """Which v2 tables changed since the last cutover wrote them; None when no cutover is on
    record (v2 filled by something else)."""
    action, recorded = _last_run(cursor)
    if action != "cutover" or recorded is None:
        return None
    now = fingerprint(cursor)
    return [table for table in V2_TABLES if now.get(table) != recorded.get(table)]


def _empty_v2(cursor):
    tables = ", ".join(f"{SCHEMA}.{table}" for table in (*V2_TABLES, *RECORD_TABLES))
    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")


def _guard_emptying(cursor, *, lossy, what):
    changed = _services_wrote(cursor)
    if changed is None:
        counts = v2_row_counts(cursor)
        if not any(counts.values()):
            return
        if not lossy:
            raise CutoverError(
                f"ledgerflow_v2 holds rows no cutover on record wrote "
                f"({', '.join(f'{t}: {n}' for t, n in counts.items() if n)}), so {what} would "
                "delete data this command cannot account for. Move it away first, or re-run "
                "with --discard-service-writes to delete it (a backup is taken first); nothing "
                "was changed."
            )
    elif changed and not lossy:
        raise CutoverError(
            f"The new services have written to ledgerflow_v2 since the cutover (changed: "
            f"{', '.join(changed)}), so {what} would lose those writes; v1 does not have them. "
            "Keep v2, or re-run with --discard-service-writes to delete them (a backup is taken "
            "first); nothing was changed."
        )


def _money(cursor):
    money, reconciled = {}, True
    for table, sql in MONEY.items():
        lines = []
        for key, *figures in _rows(cursor, sql):
            (
                v1_rows,
                v1_total,
                v1_unreadable,
                c_rows,
                c_total,
                r_rows,
                r_total,
                r_unreadable,
                totals_equal,
            ) = figures
            ok = v1_rows == c_rows + r_rows and totals_equal and v1_unreadable == r_unreadable
            reconciled &= ok
            lines.append(
                {
                    "key": key,
                    "v1_rows": v1_rows,
                    "v1_total": str(v1_total),
                    "v1_unreadable_amounts": v1_unreadable,
                    "carried_rows": c_rows,
                    "carried_total": str(c_total),
                    "rejected_rows": r_rows,
                    "rejected_total": str(r_total),
                    "rejected_unreadable_amounts": r_unreadable,
                    "reconciled": ok,
                }
            )
        money[table] = lines
    return money, reconciled


def _report(cursor):
    v1 = {
        table: _scalar(cursor, f"SELECT count(*) FROM public.{table}")
        for table in ("accounts", "users", "chain_states")
    }
    # The big tables were counted as they were read, in the same snapshot.
    v1.update(_rows(cursor, "SELECT v1_table, sum(n)::bigint FROM cutover_v1_money GROUP BY 1"))
    v1 = {table: v1.get(table, 0) for table in V1_TABLES}
    money, reconciled = _money(cursor)
    # orders and deposit_events were counted with their money, per key, from the v2 tables.
    carried = {
        table: sum(line["carried_rows"] for line in money[table])
        if table in money
        else _scalar(cursor, f"SELECT count(*) FROM {SCHEMA}.{table}")
        for table in reversed(V2_TABLES)
    }
    rejected = {}
    for table, reason, count in _rows(
        cursor,
        f"SELECT source_table, reason, count(*) FROM {SCHEMA}.cutover_rejects "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    ):
        rejected.setdefault(table, {})[reason] = count
    notes = dict(
        _rows(cursor, f"SELECT kind, count(*) FROM {SCHEMA}.cutover_notes GROUP BY 1 ORDER BY 1")
    )
    money_rejected = _scalar(
        cursor,
        f"SELECT count(*) FROM {SCHEMA}.cutover_rejects "
        f"WHERE source_table IN ('orders', 'deposit_events') "
        f"AND coalesce(row_data->>'amount', '') !~ {ZERO}",
    )
    people = _rows(
        cursor,
        "SELECT count(*) FILTER (WHERE user_id IS NOT NULL AND account_uuid IS NOT NULL), "
        "count(*) FILTER (WHERE account_uuid IS NOT NULL), count(*) FILTER (WHERE user_id "
        "IS NOT NULL) FROM cutover_people",
    )[0]
    rows_accounted = (
        v1["accounts"] == people[1] + sum(rejected.get("accounts", {}).values())
        and v1["users"] == people[2]
        and v1["orders"] == carried["orders"] + sum(rejected.get("orders", {}).values())
        and v1["deposit_events"]
        == carried["deposit_events"] + sum(rejected.get("deposit_events", {}).values())
        and v1["chain_states"] == carried["chain_states"]
    )
    return {
        "v1_rows": v1,
        "carried": carried,
        "merged_identities": people[0],
        "rejected": rejected,
        "rejected_rows": sum(sum(reasons.values()) for reasons in rejected.values()),
        "rejected_rows_with_money": money_rejected,
        "notes": notes,
        "chain_id_defaulted": carried["orders"],
        "money": money,
        "reconciled": reconciled and rows_accounted,
    }


def run_cutover(
    connection,
    *,
    dry_run=False,
    redo=False,
    accept_rejects=False,
    discard_service_writes=False,
    backup=None,
    lock_timeout_ms=10_000,
):
    """Carry v1 into v2 and return the report; raise ``CutoverError`` (nothing changed) on any
    refusal. ``backup(snapshot)`` is called with the locked transaction's exported snapshot and
    returns a description of the archive; None skips the backup."""
    from django.db import transaction

    started = datetime.now(UTC)
    # Inside a caller's transaction the isolation level is the caller's to choose.
    fresh_transaction = not connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if dry_run and fresh_transaction:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _lock(cursor, lock_timeout_ms, v1=not dry_run)
        locked_at = time.monotonic()
        steps = _Steps()
        counts = v2_row_counts(cursor)
        if any(counts.values()):
            if not redo:
                raise CutoverError(
                    "ledgerflow_v2 already holds rows "
                    f"({', '.join(f'{t}: {n}' for t, n in counts.items() if n)}): the cutover "
                    "ran before, or the new services wrote. Re-run with --redo to empty v2 and "
                    "carry v1 again (refused if the new services wrote since), or use --undo; "
                    "nothing was changed."
                )
            _guard_emptying(cursor, lossy=discard_service_writes, what="redoing the cutover")
        backup_taken = None
        if backup is not None and not dry_run:
            # The archive holds exactly the locked state. A caller's outer transaction (a
            # test's) cannot export its snapshot; pg_dump then takes its own.
            snapshot = _scalar(cursor, "SELECT pg_export_snapshot()") if fresh_transaction else None
            backup_taken = backup(snapshot)
        if any(counts.values()):
            _empty_v2(cursor)
        # setval is not undone by a rollback: a dry or refused run must not shift the ids.
        for table in ("accounts", "orders", "balances"):
            cursor.execute(f"SELECT setval('{SCHEMA}.{table}_id_seq', 1, false)")
        # ON COMMIT DROP is not enough inside a caller's transaction that runs this twice.
        _staging_in_memory(connection, cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(STAGING_TABLES)}")
        # Memory for the load's hash joins and sorts and the index builds, for this
        # transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        restore = _defer_checks_and_indexes(cursor)
        steps.done("prepare")
        reasons = {"reasons": json.dumps(REASONS)}
        for step, statement in STAGE:
            if step == BALANCES_STEP:
                _seed_balances(connection, cursor, statement)
            else:
                cursor.execute(statement, reasons)
            steps.done(step)
        for name, statement in restore:
            # A dry run is rolled back: it rebuilds only what can refuse the data (keys,
            # unique indexes, foreign keys), not the plain indexes.
            if dry_run and statement.startswith("CREATE INDEX"):
                continue
            if name == DEPOSITS_FOREIGN_KEY:
                _restore_deposits_foreign_key(connection, cursor, statement, reasons, steps)
            else:
                cursor.execute(statement)
            steps.done(f"rebuild {name}")
        cursor.execute(NOTE)
        steps.done("notes")
        report = _report(cursor)
        steps.done("report")
        report.update(
            {
                "dry_run": dry_run,
                "backup": backup_taken,
                "v1_locked": not dry_run,
                "v1_lock_mode": None if dry_run else "SHARE (reads allowed, writes wait)",
            }
        )
        if not report["reconciled"]:
            raise CutoverError(
                "The cutover does not reconcile (v1 rows or money differ from carried + "
                "rejected); this is a defect of the cutover, not of the data. Nothing was "
                "changed; report it with the --json output.",
                report,
            )
        if report["rejected_rows_with_money"] and not accept_rejects and not dry_run:
            raise CutoverError(
                f"{report['rejected_rows_with_money']} order or deposit rows carrying money "
                "would be rejected (see the report per reason and token). Repair them in v1 and "
                "re-run, or re-run with --accept-rejects to carry the rest and keep them in "
                "ledgerflow_v2.cutover_rejects; nothing was changed.",
                report,
            )
        if dry_run:
            transaction.set_rollback(True, using=connection.alias)
        else:
            cursor.execute(
                f"INSERT INTO {SCHEMA}.cutover_runs (action, started_at, report, fingerprint) "
                "VALUES ('cutover', %s, %s, %s)",
                [started, json.dumps(report), json.dumps(fingerprint(cursor))],
            )
        steps.done("record")
    report["step_seconds"] = steps.seconds
    report["write_lock_seconds"] = None if dry_run else round(time.monotonic() - locked_at, 3)
    return report


def undo_cutover(connection, *, discard_service_writes=False, backup=None, lock_timeout_ms=10_000):
    """Empty v2 again (v1 was never changed). Refused once the new services have written,
    unless ``discard_service_writes``; then ``backup(snapshot)`` runs first."""
    from django.db import transaction

    started = datetime.now(UTC)
    fresh_transaction = not connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor, lock_timeout_ms, v1=False)
        counts = v2_row_counts(cursor)
        if not any(counts.values()):
            return {"emptied": {}, "backup": None, "note": "ledgerflow_v2 was already empty"}
        _guard_emptying(cursor, lossy=discard_service_writes, what="undoing the cutover")
        backup_taken = None
        if backup is not None:
            snapshot = _scalar(cursor, "SELECT pg_export_snapshot()") if fresh_transaction else None
            backup_taken = backup(snapshot)
        _empty_v2(cursor)
        report = {"emptied": counts, "backup": backup_taken}
        cursor.execute(
            f"INSERT INTO {SCHEMA}.cutover_runs (action, started_at, report) "
            "VALUES ('undo', %s, %s)",
            [started, json.dumps(report)],
        )
    return report
