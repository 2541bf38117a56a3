"""Schema v2 has a version of its own; v1's, which the running older services compare at
start-up, is byte for byte what it was before v2 existed."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ledgerflow.migrating.history import (
    SCHEMA_VERSION_SQL,
    V2_SCHEMA_VERSION_SQL,
    code_v2_schema_version,
    migration_history,
)

pytestmark = pytest.mark.django_db

# The v1 version of this release, as the older services compare it: v2 migrations are no part of
# it. A v1 migration changes this line on purpose; a v2 migration never does.
V1_VERSION = (
    "accounts:0001_create_accounts indexer:0001_create_chain_states_and_deposit_events "
    "ledgerflow:0004_create_release_tags orders:0001_create_order_status_and_orders "
    "users:0001_create_users"
)
V2_VERSION = "ledgerflow_v2:0002_create_cutover_records"


def schema_version(*args):
    out = io.StringIO()
    call_command("schema_version", *args, stdout=out)
    return out.getvalue()


def test_v1_output_is_byte_identical_with_v2_migrated():
    assert schema_version() == V1_VERSION + "\n"
    assert schema_version("--schema", "v1", "--check") == V1_VERSION + "\n"
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_VERSION_SQL.rstrip(";"))
        assert cursor.fetchone()[0] == V1_VERSION


def test_v2_has_its_own_version_and_its_query_works_with_the_v2_search_path():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path = ledgerflow_v2")
        cursor.execute(V2_SCHEMA_VERSION_SQL.rstrip(";"))
        services_read = cursor.fetchone()[0]
        cursor.execute("RESET search_path")

    assert services_read == code_v2_schema_version() == V2_VERSION
    assert migration_history(connection).v2_schema_version == V2_VERSION
    assert schema_version("--schema", "v2", "--check") == V2_VERSION + "\n"


def test_v2_behind_fails_its_check_and_leaves_v1_unchanged():
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'ledgerflow_v2' "
            "AND name = '0002_create_cutover_records'"
        )

    with pytest.raises(CommandError, match="the database is at ledgerflow_v2:0001_create_sc"):
        schema_version("--schema", "v2", "--check")
    assert schema_version("--check") == V1_VERSION + "\n"


def test_v2_not_migrated_reads_null_and_fails_its_check():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ledgerflow_v2'")
        cursor.execute(V2_SCHEMA_VERSION_SQL.rstrip(";"))
        assert cursor.fetchone()[0] is None

    with pytest.raises(CommandError, match="no recorded migration"):
        schema_version("--schema", "v2", "--check")
