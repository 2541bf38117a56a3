"""Classifying reverse SQL against the live database: what each statement would destroy."""

import pytest
from django.db import connection

from accounts.models import Account
from ledgerflow.recovery.planning.losses import losses_of_sql
from orders.models import Order


@pytest.fixture
def orders(db):
    account = Account.objects.create(account_id="acc-1", email="a@example.com")
    Order.objects.create(
        order_id="ord-1",
        account_id=account.account_id,
        broker_id="b",
        amount="100",
        token_address="0x" + "a" * 40,
    )
    Order.objects.create(
        order_id="ord-22", account_id="acc-1", broker_id="b", amount="7", token_address="0xab"
    )


def test_drop_column_with_values_is_lossy(orders):
    (loss,) = losses_of_sql(connection, 'ALTER TABLE "accounts" DROP COLUMN "email" CASCADE')

    assert (loss.table, loss.rows) == ("public.accounts", 1)
    assert loss.what == "drops column accounts.email holding 1 values"


def test_drop_column_of_nulls_only_is_lossless(orders):
    assert (
        losses_of_sql(connection, 'ALTER TABLE "accounts" DROP COLUMN "telegram_id" CASCADE') == []
    )


def test_narrowing_a_type_counts_the_values_it_would_alter(orders):
    (loss,) = losses_of_sql(
        connection,
        'ALTER TABLE "orders" ALTER COLUMN "token_address" TYPE varchar(4) '
        'USING "token_address"::varchar(4)',
    )

    assert (loss.table, loss.rows) == ("public.orders", 1)
    assert "altering 1 values" in loss.what


def test_widening_a_type_is_lossless(orders):
    statement = 'ALTER TABLE "orders" ALTER COLUMN "order_id" TYPE varchar(500)'

    assert losses_of_sql(connection, statement) == []


def test_delete_in_reverse_sql_counts_the_rows_it_matches(orders):
    (loss,) = losses_of_sql(connection, "DELETE FROM orders WHERE order_id = 'ord-22';")
    nothing = losses_of_sql(connection, "DELETE FROM orders WHERE order_id = 'none';")

    assert (loss.table, loss.rows) == ("public.orders", 1)
    assert nothing == []


def test_drop_of_an_empty_table_is_lossless(db):
    assert losses_of_sql(connection, 'DROP TABLE "deposit_events" CASCADE') == []


def test_drop_column_whose_probe_fails_is_lossy_with_rows_unknown(orders):
    (loss,) = losses_of_sql(connection, 'ALTER TABLE "accounts" DROP COLUMN "nickname" CASCADE')

    assert (loss.table, loss.rows) == ("public.accounts", None)
    assert 'rows unknown: column "nickname" does not exist' in loss.what


def test_drop_of_a_table_that_does_not_exist_yet_is_lossy_with_rows_unknown(db):
    (loss,) = losses_of_sql(connection, 'DROP TABLE "orders_archive" CASCADE')

    assert loss.rows is None
    assert "rows unknown: orders_archive does not exist yet" in loss.what


@pytest.mark.parametrize(
    "statement",
    [
        "MERGE INTO orders o USING accounts a ON a.account_id = o.account_id "
        "WHEN MATCHED THEN DELETE",
        "INSERT INTO accounts (account_id) VALUES ('x') "
        "ON CONFLICT (account_id) DO UPDATE SET email = NULL",
        "DROP SCHEMA archive CASCADE",
        "ALTER TYPE order_status RENAME VALUE 'failed' TO 'lost'",
    ],
)
def test_destructive_sql_not_precisely_understood_is_lossy_with_rows_unknown(orders, statement):
    (loss,) = losses_of_sql(connection, statement)

    assert loss.rows is None
    assert "cannot measure" in loss.what


def test_a_do_block_body_runs_so_its_delete_counts(orders):
    (loss,) = losses_of_sql(connection, "DO $$ BEGIN DELETE FROM orders; END $$")

    assert loss.what == "deletes 2 rows of orders"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'DELETE FROM orders; DROP TABLE orders'",
        "SELECT 1 -- TRUNCATE orders",
        "/* UPDATE orders SET amount = '0' */ SELECT 1",
        'ALTER TABLE "orders" ADD COLUMN "delete" boolean NULL',
        "CREATE TRIGGER t BEFORE UPDATE OR DELETE ON orders FOR EACH ROW "
        "EXECUTE FUNCTION update_updated_at_column()",
        "GRANT SELECT, UPDATE, DELETE ON orders TO PUBLIC",
        'ALTER TABLE "orders" ALTER COLUMN "status" DROP DEFAULT',
        "DROP INDEX IF EXISTS orders_order_id_idx",
        'ALTER INDEX "orders_a" RENAME TO "orders_b"',
    ],
)
def test_words_in_literals_comments_names_and_harmless_clauses_are_not_losses(orders, statement):
    assert losses_of_sql(connection, statement) == []
