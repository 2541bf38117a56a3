"""The ledgerflow_v2 schema built by ``migrate`` is CONTRACT-V2.md's U8 + M2, object for object,
and v1 in ``public`` is untouched beside it."""

import pytest
from django.db import connection

from ledgerflow.contract.schema import expected_snapshot as expected_v1_snapshot
from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from tests.contract_v2.expected import SCHEMA, TABLES, expected_snapshot

pytestmark = pytest.mark.django_db


def v2_snapshot():
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path = {SCHEMA}")
        return schema_snapshot(cursor, tables=TABLES)


def test_v2_schema_matches_the_v2_contract():
    differences = diff_snapshots(expected_snapshot(), v2_snapshot())

    assert differences == [], "ledgerflow_v2 differs from CONTRACT-V2.md:\n" + "\n".join(
        differences
    )


def test_v1_schema_in_public_still_matches_the_v1_contract():
    with connection.cursor() as cursor:
        differences = diff_snapshots(expected_v1_snapshot(), schema_snapshot(cursor))

    assert differences == []


def test_the_v2_search_path_sees_v2_objects_only():
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path = {SCHEMA}")
        cursor.execute(
            "SELECT to_regclass('users'), to_regclass('orders_id_seq')::text, "
            "to_regtype('order_status')::text, "
            "enum_range(NULL::order_status)::text"
        )
        users, sequence, enum_type, labels = cursor.fetchone()

    assert users is None
    assert sequence == "orders_id_seq"
    assert enum_type == "order_status"
    assert labels == "{pending,deposited,completed,failed,cancelled}"


def test_a_difference_in_v2_is_reported():
    actual = expected_snapshot()
    actual["enums"]["order_status"].remove("deposited")
    del actual["tables"]["orders"]["constraints"]["orders_amount_positive_chk"]

    differences = diff_snapshots(expected_snapshot(), actual)

    assert len(differences) == 2
    assert any("orders_amount_positive_chk" in line for line in differences)
