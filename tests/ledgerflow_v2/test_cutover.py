"""cutover_v2 on deliberately dirty v1 data: every row carried or rejected with its reason, money
reconciled, every silent decision noted, v1 untouched, and the newest services at work after."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ledgerflow.db.errors import ClientToolError
from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from ledgerflow_v2.cutover import CutoverError, run_cutover, undo_cutover, v2_row_counts
from tests.contract_v2.expected import TABLES, expected_snapshot
from tests.contract_v2.service_statements import ServiceSession, newest_services_flow
from tests.ledgerflow_v2.dirty_v1 import (
    CARRIED_ORDERS,
    EXPECTED_REJECTS,
    OTHER_TOKEN,
    TOKEN,
    make_dirty_v1,
    source_key,
    v1_fingerprint,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def labels():
    return make_dirty_v1()


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def cut_over(**options):
    return run_cutover(connection, accept_rejects=True, **options)


def test_every_v1_row_is_carried_or_rejected_with_its_reason(labels):
    report = cut_over()

    rejects = {
        (table, key): reason
        for table, key, reason in rows(
            "SELECT source_table, source_key, reason FROM ledgerflow_v2.cutover_rejects"
        )
    }
    assert rejects == {
        (table, source_key(labels, table, key)): reason
        for (table, key), reason in EXPECTED_REJECTS.items()
    }
    carried = {order_id for (order_id,) in rows("SELECT order_id FROM ledgerflow_v2.orders")}
    assert carried == CARRIED_ORDERS
    assert report["v1_rows"]["orders"] == len(carried) + len(
        [key for key in EXPECTED_REJECTS if key[0] == "orders"]
    )
    assert report["reconciled"] is True
    # 1001 (users + accounts merged), 1002, 1003 (users only), 1005 (accounts only).
    assert rows("SELECT telegram_id, username FROM ledgerflow_v2.accounts ORDER BY 1") == [
        (1001, "acc-both"),
        (1002, "solo"),
        (1003, "telegram:1003"),
        (1005, "acc-only"),
    ]


def test_rejected_rows_are_kept_whole(labels):
    cut_over()

    [(kept, original)] = rows(
        "SELECT r.row_data, to_jsonb(o) FROM ledgerflow_v2.cutover_rejects r "
        "JOIN public.orders o ON o.order_id = r.source_key WHERE r.source_key = 'o-abc'"
    )
    assert json.loads(kept) == json.loads(original)
    assert json.loads(kept)["amount"] == "abc"


def test_money_reconciles_per_token(labels):
    report = cut_over()

    orders = {line["key"]: line for line in report["money"]["orders"]}
    # v1: 1000 + 20 + 300 + 1.5 + 0 + 5 + 7 (and "abc", unreadable) in TOKEN; 40 in OTHER_TOKEN.
    assert orders[TOKEN]["v1_total"] == "1333.5"
    assert orders[TOKEN]["carried_total"] == "1320"
    assert orders[TOKEN]["rejected_total"] == "13.5"
    assert orders[TOKEN]["rejected_unreadable_amounts"] == 1
    assert orders[OTHER_TOKEN]["carried_total"] == "40"
    [(carried_total,)] = rows(
        "SELECT sum(amount) FROM ledgerflow_v2.orders WHERE token_address = %s", [TOKEN]
    )
    assert carried_total == Decimal(1320)
    assert all(line["reconciled"] for lines in report["money"].values() for line in lines)


def test_notes_explain_every_silent_decision(labels):
    cut_over()

    notes = {(kind, subject) for kind, subject in rows(
        "SELECT kind, subject FROM ledgerflow_v2.cutover_notes")}  # fmt: skip
    assert {
        ("merged_identity", "telegram_id 1001"),
        ("conflicting_evm_address", "telegram_id 1001"),
        ("username_from_users", "telegram_id 1002"),
        ("username_generated", "telegram_id 1003"),
        ("account_resolved_by_account_id", "order o-by-account-id"),
        ("chain_id_defaulted", None),
        ("completed_orders_marked_notified", None),
        ("balances_seeded", None),
    } <= notes
    assert rows("SELECT evm_address FROM ledgerflow_v2.accounts WHERE telegram_id = 1001") == [
        ("0x" + "2" * 40,)
    ]


def test_completed_orders_are_notified_and_balances_seeded(labels):
    cut_over()

    assert rows(
        "SELECT order_id, notified, chain_id, status::text FROM ledgerflow_v2.orders "
        "WHERE status = 'completed' ORDER BY 1"
    ) == [("o-good", True, 1, "completed"), ("o-other-token", True, 1, "completed")]
    assert rows(
        "SELECT a.telegram_id, b.balance FROM ledgerflow_v2.balances b "
        "JOIN ledgerflow_v2.accounts a ON a.id = b.account_id ORDER BY 1"
    ) == [(1001, Decimal(1000)), (1002, Decimal(40))]


def test_rejected_money_is_refused_without_accept_rejects_and_nothing_changes(labels):
    with pytest.raises(CutoverError, match="--accept-rejects") as refused:
        run_cutover(connection)

    assert refused.value.report["rejected_rows_with_money"] > 0
    assert not any(v2_row_counts(connection.cursor()).values())


def test_v1_is_unchanged(labels):
    with connection.cursor() as cursor:
        before = v1_fingerprint(cursor)
        cut_over()
        after = v1_fingerprint(cursor)

    assert after == before


def test_the_newest_statements_work_on_the_carried_data(labels):
    cut_over()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = ledgerflow_v2")
        service = ServiceSession(cursor)
        [person] = service.run("T4 get_account_by_telegram_id", 1001)
        assert person[1] == "acc-both"
        assert service.run("T8 get_balance", person[0]) == [("1000",)]
        # Historical completed orders are not announced again.
        assert service.run("T9 get_completed_unnotified_orders") == []
        # A carried pending order is paid on chain and credited.
        [(holder,)] = rows(
            "SELECT account_id FROM ledgerflow_v2.orders WHERE order_id = 'o-pending'"
        )
        service.run(
            "I3 insert_deposit_event", 1, "0xvault", "o-pending", "0xs", "300", "0xtx", 5, 0
        )
        assert (
            service.run("I6 update_order_with_deposit_details", "0xtx", "300", 1, "o-pending") == 1
        )
        assert service.run("N20 mark_order_completed_if_deposited", "o-pending") == 1
        service.run("N18 add_to_balance", holder, "300")
        assert service.run("T8 get_balance", holder) == [("300",)]
        # New people and orders take ids after the carried ones.
        newest_services_flow(service, telegram_id=9_000_001)
        service.close()


def test_dry_run_reports_and_changes_nothing(labels):
    out = io.StringIO()
    call_command("cutover_v2", "--dry-run", "--json", "--no-backup", stdout=out)

    report = json.loads(out.getvalue())
    assert report["dry_run"] is True
    assert report["carried"]["orders"] == len(CARRIED_ORDERS)
    assert report["rejected"]["orders"]["order_amount_not_a_positive_integer"] == 3
    assert not any(v2_row_counts(connection.cursor()).values())


def test_the_command_refuses_rejected_money_and_says_so(labels):
    out = io.StringIO()
    with pytest.raises(CommandError, match="--accept-rejects"):
        call_command("cutover_v2", "--no-backup", stdout=out)

    assert "REFUSED" in out.getvalue()
    assert "orders" in out.getvalue()


def test_the_command_reports_the_write_lock(labels):
    out = io.StringIO()
    call_command("cutover_v2", "--no-backup", "--accept-rejects", stdout=out)

    assert "v1 tables locked against writes (SHARE" in out.getvalue()
    assert "[DOES NOT RECONCILE]" not in out.getvalue()


def test_a_second_run_is_refused_and_redo_carries_again(labels):
    cut_over()

    with pytest.raises(CutoverError, match="--redo"):
        cut_over()
    report = cut_over(redo=True)

    assert report["carried"]["orders"] == len(CARRIED_ORDERS)
    assert rows("SELECT count(*) FROM ledgerflow_v2.cutover_rejects") == [(len(EXPECTED_REJECTS),)]


def test_undo_empties_v2_before_the_services_wrote(labels):
    cut_over()

    undo_cutover(connection)

    assert not any(v2_row_counts(connection.cursor()).values())


def test_undo_is_refused_once_the_services_wrote(labels):
    cut_over()
    rows("UPDATE ledgerflow_v2.orders SET notified = false WHERE order_id = 'o-good'")

    with pytest.raises(CutoverError, match="changed: orders"):
        undo_cutover(connection)
    with pytest.raises(CutoverError, match="changed: orders"):
        cut_over(redo=True)
    assert rows("SELECT notified FROM ledgerflow_v2.orders WHERE order_id = 'o-good'") == [(False,)]


def test_no_backup_means_no_cutover(labels, monkeypatch):
    def missing_pg_dump(**kwargs):
        raise ClientToolError("pg_dump was not found on PATH.")

    monkeypatch.setattr("ledgerflow_v2.management.commands.cutover_v2.take_backup", missing_pg_dump)

    with pytest.raises(CommandError, match="--no-backup") as refused:
        call_command("cutover_v2", "--accept-rejects", stdout=io.StringIO())

    assert "pg_dump was not found" in str(refused.value)
    assert not any(v2_row_counts(connection.cursor()).values())


def test_discarding_service_writes_always_backs_up():
    with pytest.raises(CommandError, match="drop --no-backup"):
        call_command("cutover_v2", "--undo", "--discard-service-writes", "--no-backup")


def test_after_the_cutover_v2_is_still_exactly_the_contract(labels):
    # The load drops the foreign keys and plain indexes and rebuilds them from the catalogue.
    cut_over()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = ledgerflow_v2")
        assert diff_snapshots(expected_snapshot(), schema_snapshot(cursor, tables=TABLES)) == []
