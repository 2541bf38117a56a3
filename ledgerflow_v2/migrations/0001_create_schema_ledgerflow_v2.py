"""The v2 contract (CONTRACT-V2.md: upstream U8, then DROP DEFAULT on balances.balance, then M2)
built in its own PostgreSQL schema ``ledgerflow_v2``, beside the five-table v1 schema in ``public``.

Every object is schema-qualified, so the migration never depends on the connection's search_path;
a service connecting with ``search_path = ledgerflow_v2`` sees these tables, this ``order_status``
(``deposited`` second) and these sequences (``orders_id_seq``...) under their plain names.
Constraint names are spelled out as PostgreSQL assigns them in the upstream files.
"""

from django.db import migrations

SCHEMA = "ledgerflow_v2"

CREATE = f"""
CREATE SCHEMA {SCHEMA};

CREATE TYPE {SCHEMA}.order_status AS ENUM ('pending', 'deposited', 'completed', 'failed', 'cancelled');

CREATE TABLE {SCHEMA}.accounts (
    id BIGSERIAL NOT NULL,
    username VARCHAR(255) NOT NULL,
    telegram_id BIGINT NOT NULL,
    email VARCHAR(320),
    evm_address VARCHAR(42),
    encrypted_pk TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    api_token_hash VARCHAR(64),
    CONSTRAINT accounts_pkey PRIMARY KEY (id),
    CONSTRAINT accounts_username_key UNIQUE (username),
    CONSTRAINT accounts_telegram_id_key UNIQUE (telegram_id)
);

CREATE TABLE {SCHEMA}.orders (
    id BIGSERIAL NOT NULL,
    order_id VARCHAR(255) NOT NULL,
    account_id BIGINT NOT NULL,
    broker_id VARCHAR(255) NOT NULL,
    amount NUMERIC(78,0) NOT NULL,
    token_address VARCHAR(42) NOT NULL,
    chain_id BIGINT NOT NULL DEFAULT 1,
    status {SCHEMA}.order_status NOT NULL DEFAULT 'pending',
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    transaction_hash VARCHAR(66),
    notified BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_order_id_key UNIQUE (order_id),
    CONSTRAINT orders_amount_positive_chk CHECK (amount > 0),
    CONSTRAINT orders_chain_id_positive_chk CHECK (chain_id > 0),
    CONSTRAINT orders_account_id_fk FOREIGN KEY (account_id)
        REFERENCES {SCHEMA}.accounts (id) ON DELETE RESTRICT
);

-- U8 gave balance DEFAULT '0'; M2 cannot convert that default, and the upstream's working
-- sequence drops it first: the effective schema has no default.
CREATE TABLE {SCHEMA}.balances (
    id BIGSERIAL NOT NULL,
    account_id BIGINT NOT NULL,
    balance NUMERIC(78,0) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT balances_pkey PRIMARY KEY (id),
    CONSTRAINT balances_account_id_key UNIQUE (account_id),
    CONSTRAINT balances_balance_non_negative_chk CHECK (balance >= 0),
    CONSTRAINT balances_account_id_fk FOREIGN KEY (account_id)
        REFERENCES {SCHEMA}.accounts (id) ON DELETE CASCADE
);

CREATE TABLE {SCHEMA}.chain_states (
    chain_id BIGINT NOT NULL,
    contract_address VARCHAR(255) NOT NULL,
    last_scanned_block BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chain_states_pkey PRIMARY KEY (chain_id, contract_address)
);

CREATE TABLE {SCHEMA}.deposit_events (
    id BIGSERIAL NOT NULL,
    chain_id BIGINT NOT NULL,
    contract_address VARCHAR(255) NOT NULL,
    order_id VARCHAR(255) NOT NULL,
    sender VARCHAR(255) NOT NULL,
    amount NUMERIC(78,0) NOT NULL,
    transaction_hash VARCHAR(255) NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    processed BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT deposit_events_pkey PRIMARY KEY (id),
    CONSTRAINT deposit_events_chain_id_transaction_hash_log_index_key
        UNIQUE (chain_id, transaction_hash, log_index),
    CONSTRAINT deposit_events_amount_positive_chk CHECK (amount > 0),
    CONSTRAINT deposit_events_order_id_fk FOREIGN KEY (order_id)
        REFERENCES {SCHEMA}.orders (order_id) ON DELETE CASCADE
);

CREATE INDEX idx_orders_account_id ON {SCHEMA}.orders (account_id);
CREATE INDEX idx_orders_chain_id ON {SCHEMA}.orders (chain_id);
CREATE INDEX idx_orders_status ON {SCHEMA}.orders (status);
CREATE INDEX idx_orders_account_status ON {SCHEMA}.orders (account_id, status);
CREATE INDEX idx_deposit_events_chain_id ON {SCHEMA}.deposit_events (chain_id);
CREATE INDEX idx_deposit_events_order_id ON {SCHEMA}.deposit_events (order_id);
CREATE INDEX idx_deposit_events_processed ON {SCHEMA}.deposit_events (processed);
CREATE INDEX idx_deposit_events_block_number ON {SCHEMA}.deposit_events (block_number);
CREATE INDEX idx_deposit_events_chain_processed ON {SCHEMA}.deposit_events (chain_id, processed);
CREATE INDEX idx_deposit_events_order_processed ON {SCHEMA}.deposit_events (order_id, processed);
CREATE UNIQUE INDEX idx_accounts_api_token_hash_unique ON {SCHEMA}.accounts (api_token_hash)
    WHERE api_token_hash IS NOT NULL;
CREATE UNIQUE INDEX idx_accounts_email_unique ON {SCHEMA}.accounts (email)
    WHERE email IS NOT NULL;
"""

# Not CASCADE: DROP SCHEMA refuses while anything this migration did not create is still inside.
DROP = f"""
DROP TABLE {SCHEMA}.deposit_events, {SCHEMA}.balances, {SCHEMA}.orders, {SCHEMA}.chain_states,
    {SCHEMA}.accounts;
DROP TYPE {SCHEMA}.order_status;
DROP SCHEMA {SCHEMA};
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    # The lint reads table names without their schema, and public holds live v1 tables of the
    # same names; these indexes are built on the empty ledgerflow_v2 tables created just above.
    preflight_ignore = {
        "LF003": "the indexes are built on ledgerflow_v2 tables this migration creates, empty; "
        "the live v1 tables of the same names in public are not touched",
    }

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]
