"""Identifiers and literals quoted for SQL, and names read back from SQL text."""

import re

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)'
_IDENT = re.compile(IDENT)


def quote_ident(name):
    """``name`` as a quoted identifier: always quoted, so case and reserved words survive."""
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(name):
    """``schema.table`` or ``table`` quoted for SQL (split at the first dot only)."""
    return ".".join(quote_ident(part) for part in name.split(".", 1))


def quote_literal(value):
    """``value`` as a standard string literal (``standard_conforming_strings`` is on)."""
    return "'" + value.replace("'", "''") + "'"


def unquote_ident(text):
    """The name a quoted or bare identifier stands for: ``"Foo"`` is ``Foo``, ``Foo`` is ``foo``."""
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def qualified_name(text, schema="public"):
    """``schema.name`` from a possibly qualified, possibly quoted SQL name; unqualified names are
    taken to be in ``schema``."""
    parts = [unquote_ident(part) for part in _IDENT.findall(text)]
    return ".".join(parts if len(parts) > 1 else [schema, *parts])
