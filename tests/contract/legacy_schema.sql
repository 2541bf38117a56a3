-- The schema as the legacy sqlx migration 20250709000001 ("initial schema") created it,
-- written from ../shared/schema/CONTRACT.md. Tests build "legacy" databases from this file and
-- compare them, through pg_catalog, with databases built by this project's migrations.

CREATE TYPE order_status AS ENUM ('pending', 'completed', 'failed', 'cancelled');

CREATE TABLE accounts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id VARCHAR(255) UNIQUE NOT NULL,
    email VARCHAR(255),
    telegram_id VARCHAR(255),
    evm_address VARCHAR(42),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    telegram_id BIGINT UNIQUE NOT NULL,
    username VARCHAR(255),
    first_name VARCHAR(255),
    last_name VARCHAR(255),
    evm_address VARCHAR(42),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id VARCHAR(255) UNIQUE NOT NULL,
    account_id VARCHAR(255) NOT NULL,
    broker_id VARCHAR(255) NOT NULL,
    amount VARCHAR(255) NOT NULL,
    token_address VARCHAR(42) NOT NULL,
    status order_status NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    transaction_hash VARCHAR(66)
);

CREATE TABLE chain_states (
    chain_id INTEGER NOT NULL,
    contract_address VARCHAR(255) NOT NULL,
    last_scanned_block BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    PRIMARY KEY (chain_id, contract_address)
);

CREATE TABLE deposit_events (
    id BIGSERIAL PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    contract_address VARCHAR(255) NOT NULL,
    order_id VARCHAR(255) NOT NULL,
    sender VARCHAR(255) NOT NULL,
    amount VARCHAR(255) NOT NULL,
    transaction_hash VARCHAR(255) NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    processed BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (chain_id, transaction_hash, log_index)
);

CREATE INDEX idx_accounts_account_id ON accounts(account_id);
CREATE INDEX idx_accounts_telegram_id ON accounts(telegram_id);
CREATE INDEX idx_accounts_evm_address ON accounts(evm_address);
CREATE INDEX idx_users_telegram_id ON users(telegram_id);
CREATE INDEX idx_users_evm_address ON users(evm_address);
CREATE INDEX idx_orders_order_id ON orders(order_id);
CREATE INDEX idx_orders_account_id ON orders(account_id);
CREATE INDEX idx_orders_status ON orders(status);
CREATE INDEX idx_orders_created_at ON orders(created_at);
CREATE INDEX idx_chain_states_chain_contract ON chain_states(chain_id, contract_address);
CREATE INDEX idx_deposit_events_chain_id ON deposit_events(chain_id);
CREATE INDEX idx_deposit_events_order_id ON deposit_events(order_id);
CREATE INDEX idx_deposit_events_processed ON deposit_events(processed);
CREATE INDEX idx_deposit_events_block_number ON deposit_events(block_number);

CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ language 'plpgsql';

CREATE TRIGGER update_accounts_updated_at BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_orders_updated_at BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TRIGGER update_chain_states_updated_at BEFORE UPDATE ON chain_states
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
