"""Quoting names and literals for SQL, and reading names back."""

from ledgerflow.sql import qualified_name, quote_ident, quote_literal, quote_qualified


def test_identifiers_are_always_quoted_with_inner_quotes_doubled():
    assert quote_ident("orders") == '"orders"'
    assert quote_ident('we"ird') == '"we""ird"'
    assert quote_qualified("public.orders") == '"public"."orders"'
    assert quote_qualified("orders") == '"orders"'


def test_literals_double_their_quotes():
    assert quote_literal("it's") == "'it''s'"


def test_names_read_from_sql_are_folded_unless_quoted_and_default_to_public():
    assert qualified_name("Orders") == "public.orders"
    assert qualified_name('"Orders"') == "public.Orders"
    assert qualified_name('ledger . "Big""Table"') == 'ledger.Big"Table'
