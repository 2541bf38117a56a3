"""Migrated scratch databases with rows in every LedgerFlow table, and ways to read them back."""

import pytest

from ledgerflow.db.tables import PROJECT_TABLES
from tests.support import databases
from tests.support.databases import connect, database_url, manage

SEED_SQL = """
INSERT INTO accounts (account_id, email, telegram_id, evm_address) VALUES
    ('acc-1', 'one@example.com', '1001', '0x1111111111111111111111111111111111111111'),
    ('acc-2', NULL, '1002', NULL);
INSERT INTO users (telegram_id, username, first_name) VALUES
    (1001, 'alice', 'Alice'), (1002, NULL, 'Bob'), (1003, 'carol', NULL);
INSERT INTO orders (order_id, account_id, broker_id, amount, token_address, status,
                    transaction_hash) VALUES
    ('ord-1', 'acc-1', 'broker', '1000000', '0x' || repeat('a', 40), 'pending', NULL),
    ('ord-2', 'acc-1', 'broker', '2500000', '0x' || repeat('a', 40), 'completed',
     '0x' || repeat('b', 64)),
    ('ord-3', 'acc-2', 'broker', '7', '0x' || repeat('a', 40), 'failed', NULL);
INSERT INTO chain_states (chain_id, contract_address, last_scanned_block) VALUES
    (1, '0xcccc', 19000000), (137, '0xdddd', 52000000);
INSERT INTO deposit_events (chain_id, contract_address, order_id, sender, amount,
                            transaction_hash, block_number, log_index, processed) VALUES
    (1, '0xcccc', 'ord-1', '0xs1', '1000000', '0xt1', 18999990, 0, true),
    (1, '0xcccc', 'ord-2', '0xs2', '2500000', '0xt2', 18999995, 3, false);
UPDATE orders SET amount = '2500001' WHERE order_id = 'ord-2';
"""
SEEDED_COUNTS = {"accounts": 2, "users": 3, "orders": 3, "chain_states": 2, "deposit_events": 2}


@pytest.fixture
def migrated_template():
    """The name of the migrated, empty database that ``migrated_database`` copies."""
    return databases.migrated_template()


@pytest.fixture
def migrated_db():
    with databases.migrated_database("lf_rec") as name:
        yield name


@pytest.fixture
def seeded_db(migrated_db):
    with connect(migrated_db, autocommit=True) as conn:
        conn.execute(SEED_SQL)
    return migrated_db


@pytest.fixture
def backup_dir(tmp_path):
    return tmp_path / "backups"


BACKUP_KEY = "test-backup-key-0123456789abcdef0123456789"


@pytest.fixture
def run(backup_dir, django_db_blocker):
    """``run(dbname, *args)``: manage.py against ``dbname``, backups into ``backup_dir``,
    manifests authenticated with ``BACKUP_KEY``. In this process unless ``child`` (the test
    runner's own rules differ from an operator's: ``flush``) or ``env`` sets what only a child
    reads (another settings module, a PYTHONPATH)."""

    def _run(dbname, *args, check=False, env=None, child=False):
        env = {
            "LEDGERFLOW_BACKUP_DIR": str(backup_dir),
            "LEDGERFLOW_BACKUP_KEY": BACKUP_KEY,
            **(env or {}),
        }
        if not child and set(env) <= set(databases.SETTINGS_FROM_ENV):
            with django_db_blocker.unblock():
                result = databases.manage_in_process(dbname, *args, env=env)
            if check:
                assert result.returncode == 0, result.stdout + result.stderr
            return result
        return manage(*args, database_url_value=database_url(dbname), env=env, check=check)

    return _run


def contents(dbname, tables=PROJECT_TABLES):
    """Every row of ``tables`` as sorted JSON text: equal contents, equal value."""
    result = {}
    with connect(dbname) as conn:
        for table in tables:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
            if not exists:
                result[table] = None
                continue
            rows = conn.execute(f"SELECT row_to_json(t)::text FROM {table} t").fetchall()
            result[table] = sorted(row[0] for row in rows)
    return result


def applied(dbname):
    with connect(dbname) as conn:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY applied, id")
        return [tuple(row) for row in rows.fetchall()]


def existing_tables(dbname):
    with connect(dbname) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def enum_exists(dbname, name="order_status"):
    with connect(dbname) as conn:
        return conn.execute("SELECT to_regtype(%s) IS NOT NULL", [name]).fetchone()[0]
