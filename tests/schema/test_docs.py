"""Generated schema files: committed copies are current, complete and stable."""

import pytest
from django.conf import settings
from django.db import connection

from ledgerflow.db.introspection import diff_snapshots, schema_snapshot
from ledgerflow.schema import expected
from ledgerflow.schema.docs import (
    DOCS_PATH,
    SQL_PATH,
    SchemaDocsError,
    generate_all,
    normalise_dump,
    render_markdown,
)
from ledgerflow.schema.states import baseline_state, head_state
from tests.support.databases import connect, load_legacy_schema, scratch_database


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return generate_all()


def test_committed_generated_files_are_not_stale(generated):
    stale = generated.stale(settings.BASE_DIR)

    assert stale == [], (
        f"stale: {[str(p) for p in stale]}; run `python manage.py schema_docs` and commit"
    )


@pytest.mark.process
def test_regenerating_an_unchanged_schema_gives_identical_files(generated, django_db_blocker):
    with django_db_blocker.unblock():
        again = generate_all()

    assert again.files == generated.files


def test_docs_cover_every_table_column_enum_label_and_trigger(generated):
    docs = generated.files[DOCS_PATH]
    head = expected.stored().snapshot_for(head_state())

    assert "```mermaid\nerDiagram\n" in docs
    for table, shape in head["tables"].items():
        assert f"## `{table}`" in docs
        for column in shape["columns"]:
            assert f"| `{column['name']}` | `{column['type']}` |" in docs
        for trigger in shape["triggers"]:
            assert f"- `{trigger}` (enabled)" in docs
    assert "Labels, in order: `pending`, `completed`, `failed`, `cancelled`." in docs


def test_sql_snapshot_holds_the_contract_objects_and_nothing_volatile(generated):
    sql = generated.files[SQL_PATH]

    assert "CREATE TYPE public.order_status AS ENUM (" in sql
    assert "CREATE TABLE public.deposit_events (" in sql
    assert (
        "CREATE TRIGGER update_chain_states_updated_at BEFORE UPDATE ON public.chain_states" in sql
    )
    assert "django_migrations" not in sql
    assert "\\restrict" not in sql
    assert "Dumped from" not in sql
    assert "\nSET " not in sql


def test_normalise_dump_drops_per_run_and_per_version_lines():
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n"
        "-- Dumped from database version 15.20\n-- Dumped by pg_dump version 17.6\n\n"
        "SET statement_timeout = 0;\nSET transaction_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.t ();\n"
        "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n"
    )

    body = normalise_dump(raw).split("\n", 3)[3]

    assert body == (
        "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.t ();\n"
    )


def test_normalise_dump_drops_the_public_schema_note_of_a_postgresql_14_server():
    table = (
        "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nCREATE TABLE public.t ();\n"
    )
    raw = (
        "--\n-- Name: public; Type: SCHEMA; Schema: -; Owner: -\n--\n\n"
        "-- *not* creating schema, since initdb creates it\n\n\n" + table
    )

    assert normalise_dump(raw).split("\n", 3)[3] == table


def test_normalise_dump_drops_the_names_postgresql_18_gives_not_null_constraints():
    # PostgreSQL 18 names NOT NULL constraints <table>_<column>_not_null, cut to 63 bytes;
    # pg_dump 18 writes a cut name out, as if chosen by hand. A name really chosen stays.
    table = "ledgerflow_migration_checksum_acceptance"
    raw = (
        f"CREATE TABLE public.{table} (\n"
        "    id bigint NOT NULL,\n"
        "    previous_checksum character varying(64) CONSTRAINT "
        "ledgerflow_migration_checksum_accept_previous_checksum_not_null NOT NULL,\n"
        "    reason text CONSTRAINT reason_is_required NOT NULL\n"
        ");\n"
    )

    body = normalise_dump(raw).split("\n", 3)[3]

    assert body == (
        f"CREATE TABLE public.{table} (\n"
        "    id bigint NOT NULL,\n"
        "    previous_checksum character varying(64) NOT NULL,\n"
        "    reason text CONSTRAINT reason_is_required NOT NULL\n"
        ");\n"
    )


def test_docs_refuse_a_column_without_a_meaning():
    head = expected.stored().snapshot_for(head_state())
    shape = head["tables"]["orders"]
    with_new_column = {
        **head,
        "tables": {
            **head["tables"],
            "orders": {
                **shape,
                "columns": [*shape["columns"], {**shape["columns"][0], "name": "memo"}],
            },
        },
    }

    with pytest.raises(SchemaDocsError, match=r"orders\.memo"):
        render_markdown(with_new_column, head_state())


@pytest.mark.process
def test_stored_baseline_is_the_schema_sqlx_built():
    with scratch_database("lf_legacy") as name:
        load_legacy_schema(name)
        with connect(name) as conn:
            legacy = schema_snapshot(conn.cursor())

    assert diff_snapshots(expected.stored().snapshot_for(baseline_state()), legacy) == []


def test_stored_head_is_what_migrate_builds(db):
    with connection.cursor() as cursor:
        migrated = schema_snapshot(cursor)

    assert diff_snapshots(expected.stored().snapshot_for(head_state()), migrated) == []


def test_the_head_snapshot_leaves_out_the_public_schemas_privileges():
    # PostgreSQL 14's public schema has other default privileges than 15's: pg_dump writes them.
    from ledgerflow.schema.head_snapshot import _without_public_schema_acl

    lines = [
        "CREATE TABLE public.t ();",
        "",
        "--",
        "-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -",
        "--",
        "",
        "REVOKE USAGE ON SCHEMA public FROM PUBLIC;",
        "GRANT ALL ON SCHEMA public TO PUBLIC;",
        "",
    ]

    assert _without_public_schema_acl(lines) == ["CREATE TABLE public.t ();"]
