"""The newest services' statements, typed as sqlx binds them, run against ledgerflow_v2 with the
services' ``search_path``; their rows decode into the services' Rust types."""

import pytest
from django.db import IntegrityError, connection, transaction

from tests.contract_v2.expected import SCHEMA
from tests.contract_v2.service_statements import ALL, ServiceSession, newest_services_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path = {SCHEMA}")
        session = ServiceSession(cursor)
        yield session
        session.close()


@pytest.mark.parametrize("statement_id", sorted(ALL))
def test_every_statement_prepares_with_the_binds_sqlx_sends(service, statement_id):
    statement = ALL[statement_id]
    types = f" ({', '.join(statement.binds)})" if statement.binds else ""

    service.cursor.execute(f"PREPARE lf_check{types} AS {statement.sql}")
    service.cursor.execute("DEALLOCATE lf_check")


def test_an_order_lives_through_balancer_indexer_and_bot(service):
    result = newest_services_flow(service, telegram_id=7_000_001)

    assert result["balance"] == "1000"


def test_foreign_keys_refuse_orphans_as_they_do_upstream(service):
    with pytest.raises(IntegrityError, match="orders_account_id_fk"), transaction.atomic():
        service.run("T6 create_order", "x", 999_999, "b", "5", "0x" + "b" * 40, 1, "pending", False)
    with pytest.raises(IntegrityError, match="deposit_events_order_id_fk"), transaction.atomic():
        service.run("I3 insert_deposit_event", 1, "0xc", "unknown", "0xs", "5", "0xt", 1, 0)


def test_amounts_must_be_positive_integers(service):
    [(account_id,)] = service.run("T3 create_account", "zero", 1, None, None, None, False)

    with pytest.raises(IntegrityError, match="orders_amount_positive_chk"), transaction.atomic():
        service.run(
            "T6 create_order", "z", account_id, "b", "0", "0x" + "b" * 40, 1, "pending", False
        )


def test_the_default_search_path_still_reaches_v1():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass('users') IS NOT NULL, enum_range(NULL::order_status)::text"
        )
        assert cursor.fetchone() == (True, "{pending,completed,failed,cancelled}")
