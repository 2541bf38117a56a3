"""Reading and writing SQL text: one lexer, one statement splitter, one way to quote names.

``lexer`` knows PostgreSQL's lexical structure (comments, nested block comments, string literals
with ``''`` doubling, ``E''`` escapes and dollar quoting, quoted identifiers); ``quoting`` quotes
identifiers and literals for SQL the project writes and reads names back from SQL it did not.
Nothing here touches a database.
"""

from ledgerflow.sql.lexer import mask, normalise, split_statements, tokens
from ledgerflow.sql.quoting import (
    qualified_name,
    quote_ident,
    quote_literal,
    quote_qualified,
    unquote_ident,
)

__all__ = [
    "mask",
    "normalise",
    "qualified_name",
    "quote_ident",
    "quote_literal",
    "quote_qualified",
    "split_statements",
    "tokens",
    "unquote_ident",
]
