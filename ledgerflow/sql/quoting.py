"""Identifiers and literals quoted for SQL, and names read back from SQL text."""

import re

# What PostgreSQL reads as a bare identifier's first character ([A-Za-z_\x80-\uffff]), its later
# characters ([\w$\x80-\uffff]) and a dollar quote's tag characters ([\w\x80-\uffff]), spelt as
# ASCII ranges left out rather than as the range \x80-\uffff: compiling a class that holds a
# range walks each of its code points (and case-folds each under IGNORECASE), some 10-30 ms per
# class, and the patterns reading migrations' SQL held enough of them to cost 0.5 s of every
# manage.py start-up. Case-sensitive inside: no character's case changes whether it belongs.
_NON_ASCII_BMP = r"[^\x00-\x7f\U00010000-\U0010ffff]"
IDENT_START = r"(?-i:[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f\U00010000-\U0010ffff])"
IDENT_CHAR = rf"(?-i:[\w$]|{_NON_ASCII_BMP})"
TAG_CHAR = rf"(?-i:\w|{_NON_ASCII_BMP})"
IDENT = rf'(?:"(?:[^"]|"")+"|{IDENT_START}{IDENT_CHAR}*)'
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
