"""Effects read from SQL text: the fallback for ``RunSQL`` (and SQL of operations with no known
structure). Each statement is read through the lexer's mask, so words in comments, literals and
quoted names are not read as SQL; names are then taken from the statement at the same positions.

Reading fails closed: a word that can destroy or change rows (DELETE, UPDATE, TRUNCATE, DROP,
RENAME, MERGE, ALTER ... TYPE) that no pattern here understood, and that is not one of its
harmless uses, is an ``UNMEASURED`` effect.
"""

import re

from ledgerflow.migrating import effects as fx
from ledgerflow.sql import mask, qualified_name, split_statements, unquote_ident
from ledgerflow.sql.quoting import IDENT

_QNAME = rf"({IDENT}(?:\s*\.\s*{IDENT})?)"
_FLAGS = re.IGNORECASE | re.DOTALL
_DROP_TABLE = re.compile(rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_TRUNCATE = re.compile(rf"\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?((?:{_QNAME}\s*,?\s*)+)", _FLAGS)
_ALTER_TABLE = re.compile(
    rf"\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QNAME}(?:\s*\*)?\s+(.*?)(?=;|$)", _FLAGS
)
# One ALTER TABLE action each, matched at its start. COLUMN is optional in PostgreSQL; what may
# stand in its place (DROP CONSTRAINT, RENAME TO, ADD CHECK ...) is not a column.
_DROP_COLUMN = re.compile(rf"(DROP)\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?({IDENT})", _FLAGS)
_RENAME_TO = re.compile(rf"(RENAME)\s+TO\s+({IDENT})", _FLAGS)
_RENAME_CONSTRAINT = re.compile(r"(RENAME)\s+CONSTRAINT\b", _FLAGS)
_RENAME_COLUMN = re.compile(rf"(RENAME)\s+(?:COLUMN\s+)?({IDENT})\s+TO\s+({IDENT})", _FLAGS)
_SET_SCHEMA = re.compile(rf"SET\s+SCHEMA\s+({IDENT})", _FLAGS)
_ALTER_TYPE = re.compile(
    rf"ALTER\s+(?:COLUMN\s+)?({IDENT})\s+(?:SET\s+DATA\s+)?(TYPE)\s+(.+?)(?:\s+USING\s+(.+?))?\s*$",
    _FLAGS,
)
_SET_NOT_NULL = re.compile(rf"ALTER\s+(?:COLUMN\s+)?({IDENT})\s+SET\s+NOT\s+NULL\b", _FLAGS)
_ADD_COLUMN = re.compile(
    r"ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?!(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b)({IDENT})(.*)",
    _FLAGS,
)
# Serial and generated columns have a default of their own.
_NOT_NULL_WITHOUT_DEFAULT = re.compile(
    r"^(?!.*\b(?:DEFAULT|GENERATED|(?:small|big)?serial[248]?)\b).*\bNOT\s+NULL\b", _FLAGS
)
_DROP_TYPE = re.compile(rf"\bDROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?{_QNAME}", _FLAGS)
# DELETE ... [[AS] alias] [USING ...] [WHERE ...] [RETURNING ...]: the parts a count needs.
_DELETE = re.compile(
    rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?(?P<table>{IDENT}(?:\s*\.\s*{IDENT})?)(?:\s*\*)?"
    rf"(?:\s+(?:AS\s+)?(?!(?:USING|WHERE|RETURNING)\b)(?P<alias>{IDENT}))?"
    r"(?:\s+USING\s+(?P<join>.+?))?(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+RETURNING\s+.+?)?\s*(?:;|$)",
    _FLAGS,
)
_UPDATE = re.compile(
    rf"\bUPDATE\s+(?:ONLY\s+)?(?P<table>{IDENT}(?:\s*\.\s*{IDENT})?)(?:\s*\*)?"
    rf"(?:\s+(?:AS\s+)?(?!SET\b)(?P<alias>{IDENT}))?\s+SET\s+.+?"
    r"(?:\s+FROM\s+(?P<join>.+?))?(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+RETURNING\s+.+?)?\s*(?:;|$)",
    _FLAGS,
)
# Loose: any table a statement may write, so that it is locked even when it cannot be counted.
_WRITES = re.compile(rf"\b(?:DELETE\s+FROM|UPDATE|MERGE\s+INTO)\s+(?:ONLY\s+)?{_QNAME}", _FLAGS)
_CREATE_TABLE = re.compile(
    rf"\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QNAME}",
    _FLAGS,
)
_CREATE_INDEX = re.compile(
    r"\bCREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:(?!ON\b)({IDENT})\s+)?(?:ON\s+(?:ONLY\s+)?{_QNAME})?",
    _FLAGS,
)
_DROP_INDEX = re.compile(rf"\bDROP\s+INDEX\s+(CONCURRENTLY\s+)?(IF\s+EXISTS\s+)?{_QNAME}", _FLAGS)
_ALTER_ENUM = re.compile(
    rf"\bALTER\s+(TYPE)\s+{_QNAME}\s+(?:(RENAME)\s+TO\s+({IDENT})"
    r"|ADD\s+VALUE\s+(IF\s+NOT\s+EXISTS\b)?|OWNER\s+TO)",
    _FLAGS,
)
_CREATE_TYPE = re.compile(rf"\bCREATE\s+TYPE\s+{_QNAME}(?:\s+AS\s+ENUM\s*\(([^)]*)\))?", _FLAGS)
_RENAME_OTHER = re.compile(
    r"\bALTER\s+(?:INDEX|SEQUENCE|VIEW|MATERIALIZED\s+VIEW|TRIGGER|FUNCTION|PROCEDURE|STATISTICS"
    r"|POLICY)\b[^;]*?\b(RENAME)\b",
    _FLAGS,
)
_RISKY = re.compile(
    rf"\b(DELETE|UPDATE|TRUNCATE|DROP|RENAME|MERGE)\b"
    rf"|\bALTER\s+(?:COLUMN\s+)?(?:{IDENT}\s+)?(?:SET\s+DATA\s+)?(TYPE)\b",
    _FLAGS,
)
# Trigger events, FK actions, FOR UPDATE, GRANT/REVOKE lists.
_HARMLESS_BEFORE = re.compile(
    r"(?:\b(?:ON|BEFORE|AFTER|OR|OF|FOR|KEY|GRANT|REVOKE)|,)\s*$", re.IGNORECASE
)
_HARMLESS_DROP = re.compile(
    r"\s+(?:INDEX|TRIGGER|FUNCTION|PROCEDURE|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|RULE|POLICY"
    r"|STATISTICS|CONSTRAINT|DEFAULT|NOT\s+NULL|IDENTITY|EXPRESSION)\b",
    re.IGNORECASE,
)
_LIST_KEYWORDS = {"cascade", "restrict", "restart", "continue", "identity"}
_NAME_IN_LIST = re.compile(_QNAME)


def statements(sql):
    """The statements of ``RunSQL``'s ``sql`` or ``reverse_sql`` (a string, or a list of strings
    and ``(sql, params)`` pairs)."""
    items = sql if isinstance(sql, list | tuple) else [sql]
    texts = [str(item[0] if isinstance(item, list | tuple) else item) for item in items]
    return [statement for text in texts for statement in split_statements(text)]


def read_sql(sql):
    """The effects of every statement of ``sql`` (as ``statements`` takes it), in order."""
    return [effect for statement in statements(sql) for effect in read_statement(statement)]


def _names_in_list(text):
    """Table names in a ``DROP TABLE``/``TRUNCATE`` list, without its trailing keywords."""
    for match in _NAME_IN_LIST.finditer(text):
        if match.group(1).lower() not in _LIST_KEYWORDS:
            yield qualified_name(match.group(1))


def _actions(text, start, end):
    """The ``(start, end)`` of each action of an ALTER TABLE: split at commas outside
    parentheses (``numeric(12, 2)``), leading whitespace skipped."""
    spans, depth, begin = [], 0, start
    for at in range(start, end):
        char = text[at]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            spans.append((begin, at))
            begin = at + 1
    spans.append((begin, end))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans]


def _harmless(text, at, word):
    """A risky word used as a trigger event, FK action, privilege, or in a harmless DROP."""
    if word in ("DELETE", "UPDATE", "TRUNCATE"):
        return bool(_HARMLESS_BEFORE.search(text, 0, at))
    if word == "DROP":
        return bool(_HARMLESS_DROP.match(text, at + 4))
    if word == "RENAME":
        return bool(re.match(r"\s+CONSTRAINT\b", text[at + 6 :], re.IGNORECASE))
    return False


class _Reader:
    """One statement: the effects found, and the positions of the risky words they explain."""

    def __init__(self, statement):
        self.statement, self.text = statement, mask(statement)
        self.effects, self.claimed = [], set()

    def orig(self, match, group):
        if match.group(group) is None:
            return None
        return self.statement[match.start(group) : match.end(group)]

    def add(self, kind, **fields):
        self.effects.append(fx.Effect(kind, sql=self.statement, **fields))

    def read(self):
        text = self.text
        for pattern, kind in ((_DROP_TABLE, fx.DROP_TABLE), (_TRUNCATE, fx.TRUNCATE)):
            for match in pattern.finditer(text):
                self.claimed.add(match.start())
                for name in _names_in_list(self.orig(match, 1)):
                    self.add(kind, table=name)
        for match in _ALTER_TABLE.finditer(text):
            table = qualified_name(self.orig(match, 1))
            for start, end in _actions(text, *match.span(2)):
                self.action(table, start, end)
        for match in _CREATE_TABLE.finditer(text):
            self.add(fx.CREATE_TABLE, table=qualified_name(self.orig(match, 1)))
        for match in _CREATE_INDEX.finditer(text):
            table = match.group(5) and qualified_name(self.orig(match, 5))
            name = match.group(4) and unquote_ident(self.orig(match, 4))
            self.add(
                fx.BUILD_INDEX,
                table=table,
                name=name,
                unique=bool(match.group(1)),
                concurrently=bool(match.group(2)),
                resumable=bool(match.group(3)),
            )
        for match in _DROP_INDEX.finditer(text):
            self.add(
                fx.DROP_INDEX,
                name=qualified_name(self.orig(match, 3)),
                concurrently=bool(match.group(1)),
                resumable=bool(match.group(2)),
            )
        self.types()
        for pattern, verb in ((_DELETE, "deletes"), (_UPDATE, "rewrites")):
            for match in pattern.finditer(text):
                self.claimed.add(match.start())
                self.add(
                    fx.WRITE_ROWS,
                    table=qualified_name(self.orig(match, "table")),
                    verb=verb,
                    target=self.orig(match, "table"),
                    **{g: self.orig(match, g) for g in ("alias", "join", "where")},
                )
        for match in _WRITES.finditer(text):
            self.add(fx.WRITES, table=qualified_name(self.orig(match, 1)))
        self.claimed.update(match.start(1) for match in _RENAME_OTHER.finditer(text))
        self.unmeasured()
        return self.effects

    def action(self, table, start, end):
        """One ALTER TABLE action of ``table`` at ``text[start:end]``."""
        text = self.text

        def at_start(pattern):
            match = pattern.match(text, start, end)
            return match if match and match.start() == start else None

        if match := at_start(_RENAME_CONSTRAINT):
            self.claimed.add(match.start(1))
            self.add(fx.ALTER_TABLE, table=table)
        elif match := at_start(_RENAME_TO):
            self.claimed.add(match.start(1))
            new = unquote_ident(self.orig(match, 2))
            self.add(fx.RENAME_TABLE, table=table, new_name=f"{table.rsplit('.', 1)[0]}.{new}")
        elif match := at_start(_RENAME_COLUMN):
            self.claimed.add(match.start(1))
            old, new = (unquote_ident(self.orig(match, g)) for g in (2, 3))
            self.add(fx.RENAME_COLUMN, table=table, column=old, new_name=new)
        elif match := at_start(_SET_SCHEMA):
            schema = unquote_ident(self.orig(match, 1))
            self.add(fx.RENAME_TABLE, table=table, new_name=f"{schema}.{table.rsplit('.', 1)[1]}")
        elif match := at_start(_DROP_COLUMN):
            self.claimed.add(match.start(1))
            column = self.orig(match, 2)
            if column.lower() == "constraint":
                self.add(fx.ALTER_TABLE, table=table)
            else:
                self.add(fx.DROP_COLUMN, table=table, column=unquote_ident(column))
        elif match := at_start(_ALTER_TYPE):
            self.claimed.add(match.start(2))
            self.add(
                fx.CHANGE_TYPE,
                table=table,
                column=unquote_ident(self.orig(match, 1)),
                new_type=self.orig(match, 3),
                using=self.orig(match, 4),
            )
        elif match := at_start(_SET_NOT_NULL):
            self.add(fx.SET_NOT_NULL, table=table, column=unquote_ident(self.orig(match, 1)))
        elif match := at_start(_ADD_COLUMN):
            self.add(
                fx.ADD_COLUMN,
                table=table,
                column=unquote_ident(self.orig(match, 1)),
                not_null=bool(_NOT_NULL_WITHOUT_DEFAULT.match(text[match.start(2) : end])),
            )
        else:
            self.add(fx.ALTER_TABLE, table=table)

    def types(self):
        for match in _ALTER_ENUM.finditer(self.text):
            self.claimed.add(match.start(1))
            name = qualified_name(self.orig(match, 2))
            if match.group(3):
                self.claimed.add(match.start(3))
                new = f"{name.rsplit('.', 1)[0]}.{unquote_ident(self.orig(match, 4))}"
                self.add(fx.RENAME_TYPE, name=name, new_name=new)
            elif re.search(r"\bADD\s+VALUE\b", match.group(0), re.IGNORECASE):
                self.add(fx.ADD_ENUM_VALUE, name=name, resumable=bool(match.group(5)))
        for match in _CREATE_TYPE.finditer(self.text):
            labels = None
            if match.group(2) is not None:
                found = re.findall(r"'((?:[^']|'')*)'", self.orig(match, 2))
                labels = tuple(label.replace("''", "'") for label in found)
            self.add(fx.CREATE_TYPE, name=qualified_name(self.orig(match, 1)), labels=labels)
        for match in _DROP_TYPE.finditer(self.text):
            self.claimed.add(match.start())
            self.add(fx.DROP_TYPE, name=qualified_name(self.orig(match, 1)))

    def unmeasured(self):
        for risky in _RISKY.finditer(self.text):
            group = 1 if risky.group(1) else 2
            word, at = risky.group(group).upper(), risky.start(group)
            if at not in self.claimed and not _harmless(self.text, at, word):
                excerpt = " ".join(self.statement[max(0, at - 30) : at + 50].split())
                self.add(fx.UNMEASURED, word=word, excerpt=excerpt)
                return


def read_statement(statement):
    """The effects of one SQL statement."""
    return _Reader(statement).read()
