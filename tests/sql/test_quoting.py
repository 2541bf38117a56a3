"""Quoting names and literals for SQL, and reading names back."""

import re

import pytest

from ledgerflow.sql import qualified_name, quote_ident, quote_literal, quote_qualified
from ledgerflow.sql.quoting import IDENT_CHAR, IDENT_START, TAG_CHAR


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


# The classes as first written: the identifier patterns, spelt otherwise so that they compile
# fast, must accept exactly the characters these do, with and without IGNORECASE.
_WRITTEN_AS = {
    IDENT_START: r"[A-Za-z_\x80-\uffff]",
    IDENT_CHAR: r"[\w$\x80-\uffff]",
    TAG_CHAR: r"[\w\x80-\uffff]",
}


@pytest.mark.parametrize("flags", [0, re.IGNORECASE | re.DOTALL])
@pytest.mark.parametrize("pattern", list(_WRITTEN_AS), ids=list(_WRITTEN_AS.values()))
def test_identifier_classes_accept_every_character_they_were_written_to(pattern, flags):
    every_character = "".join(map(chr, range(0x110000)))

    accepted = re.findall(pattern, every_character, flags)

    assert accepted == re.findall(_WRITTEN_AS[pattern], every_character, flags)
