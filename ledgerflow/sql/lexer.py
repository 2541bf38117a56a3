"""PostgreSQL's lexical structure, as far as reading SQL text needs it.

Comments (``--`` and ``/* */``, which nest), string literals (``'...'`` with ``''`` doubling,
``E'...'`` with backslash escapes, ``$tag$...$tag$``), quoted identifiers; everything else is
words, numbers and single characters. Unterminated literals and comments run to the end of the
text, as PostgreSQL would report them there. ``sqlparse`` was considered: it splits inside nested
comments and reads a backslash in a standard string as an escape, so this small lexer stays.
"""

import re
from dataclasses import dataclass

from ledgerflow.sql.quoting import IDENT_CHAR, IDENT_START, TAG_CHAR

SPACE = "space"
COMMENT = "comment"
STRING = "string"  # '...' and E'...'
DOLLAR = "dollar"  # $tag$...$tag$: a function or DO body as often as a literal
NAME = "name"  # "quoted identifier"
WORD = "word"  # keyword or bare identifier
OTHER = "other"  # numbers, operators, punctuation, parameters ($1)

_TOKEN = re.compile(
    rf"""(?P<space>\s+)
    |(?P<comment>--[^\n]*)
    |(?P<string>[Ee]'(?:[^'\\]|\\.|'')*'?|'(?:[^']|'')*'?)
    |(?P<name>"(?:[^"]|"")*"?)
    |(?P<dollar>\$(?:{IDENT_START}{TAG_CHAR}*)?\$)
    |(?P<word>{IDENT_START}{IDENT_CHAR}*)
    |(?P<other>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int

    @property
    def end(self):
        return self.start + len(self.text)

    @property
    def upper(self):
        return self.text.upper()


def _block_comment_end(sql, start):
    depth, at = 0, start
    while at < len(sql):
        if sql.startswith("/*", at):
            depth, at = depth + 1, at + 2
        elif sql.startswith("*/", at):
            depth, at = depth - 1, at + 2
            if depth == 0:
                return at
        else:
            at += 1
    return len(sql)


def tokens(sql):
    """The tokens of ``sql`` in order; their texts concatenate back to ``sql``."""
    found, at = [], 0
    while at < len(sql):
        if sql.startswith("/*", at):
            end, kind = _block_comment_end(sql, at), COMMENT
        else:
            match = _TOKEN.match(sql, at)
            kind, end = match.lastgroup, match.end()
            if kind == DOLLAR:
                close = sql.find(match.group(), end)
                end = len(sql) if close < 0 else close + len(match.group())
        found.append(Token(kind, sql[at:end], at))
        at = end
    return found


def split_statements(sql):
    """The statements of ``sql``, cut at top-level semicolons, each stripped and without its
    semicolon; empty statements are dropped. A semicolon inside a literal, comment, quoted name or
    dollar-quoted body, or inside a ``BEGIN ATOMIC ... END`` function body, does not cut."""
    statements, start, atomic_depth = [], 0, 0
    words = []
    for token in tokens(sql):
        if token.kind == WORD:
            word = token.upper
            opens_body = word == "ATOMIC" and words[-1:] == ["BEGIN"]
            if opens_body or (atomic_depth and word == "CASE"):
                atomic_depth += 1
            elif atomic_depth and word == "END":
                atomic_depth -= 1
            words.append(word)
        elif token.kind == OTHER and token.text == ";" and not atomic_depth:
            statements.append(sql[start : token.start])
            start, words = token.end, []
    statements.append(sql[start:])
    return [text.strip() for text in statements if _has_code(text)]


def _has_code(sql):
    return any(token.kind not in (SPACE, COMMENT) for token in tokens(sql))


def _masked_body(token):
    """A dollar-quoted body as code: it runs (a DO block, a function), and so do the statements
    its string literals EXECUTE, so only its comments are blanked."""
    tag_length = token.text.index("$", 1) + 1
    opener = token.text[:tag_length]
    closed = len(token.text) >= 2 * tag_length and token.text.endswith(opener)
    body = token.text[tag_length : len(token.text) - tag_length if closed else None]
    inner = "".join(" " * len(t.text) if t.kind == COMMENT else t.text for t in tokens(body))
    return opener + inner + (opener if closed else "")


def mask(sql):
    """``sql`` with the same length, so that a position in it is a position in ``sql``, but with
    nothing a pattern should read as SQL: comments become spaces, and the contents of string
    literals and quoted identifiers become ``x`` (quotes kept, so the shape stays valid). Read
    names from ``sql`` at the positions found in the mask."""
    parts = []
    for token in tokens(sql):
        if token.kind == COMMENT:
            parts.append(" " * len(token.text))
        elif token.kind in (STRING, NAME):
            text = token.text
            head = 2 if text[0] in "Ee" else 1
            closed = len(text) > head and text.endswith(text[head - 1])
            tail = 1 if closed else 0
            parts.append(text[:head] + "x" * (len(text) - head - tail) + text[len(text) - tail :])
        elif token.kind == DOLLAR:
            parts.append(_masked_body(token))
        else:
            parts.append(token.text)
    return "".join(parts)


def normalise(sql):
    """``sql`` without comments and with each run of whitespace (and comments) as one space;
    literals, quoted names and dollar-quoted bodies are kept verbatim (a function body is stored
    as written). Two texts that normalise alike run alike."""
    parts = []
    for token in tokens(str(sql)):
        if token.kind in (SPACE, COMMENT):
            if parts and parts[-1] != " ":
                parts.append(" ")
        else:
            parts.append(token.text)
    return "".join(parts).strip()
