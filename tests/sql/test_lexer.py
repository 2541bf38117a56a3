"""The SQL lexer and statement splitter: what is code, what is a literal, where statements end."""

from ledgerflow.sql import mask, normalise, split_statements, tokens
from ledgerflow.sql.lexer import COMMENT, DOLLAR, NAME, STRING


def _kinds(sql):
    return [(token.kind, token.text) for token in tokens(sql) if token.kind != "space"]


def test_tokens_concatenate_back_to_the_text():
    sql = "SELECT E'a\\'b', $f$ x; $f$ /* c /* d */ e */ \"q;\" -- tail\n;"

    assert "".join(token.text for token in tokens(sql)) == sql


def test_dollar_quoted_bodies_keep_their_semicolons():
    sql = (
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; SELECT 2; $body$ LANGUAGE sql;"
        " DO $$ BEGIN PERFORM 1; END $$; SELECT 3"
    )

    assert split_statements(sql) == [
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; SELECT 2; $body$ LANGUAGE sql",
        "DO $$ BEGIN PERFORM 1; END $$",
        "SELECT 3",
    ]


def test_a_dollar_tag_closes_only_with_the_same_tag():
    (body,) = [t for t in tokens("SELECT $a$ $b$ ; $b$ ; $a$") if t.kind == DOLLAR]

    assert body.text == "$a$ $b$ ; $b$ ; $a$"


def test_a_positional_parameter_is_not_a_dollar_quote():
    assert split_statements("SELECT $1; SELECT $2") == ["SELECT $1", "SELECT $2"]


def test_block_comments_nest():
    sql = "SELECT 1 /* outer /* inner; */ still comment; */; SELECT 2"

    assert split_statements(sql) == ["SELECT 1 /* outer /* inner; */ still comment; */", "SELECT 2"]
    assert [t.text for t in tokens(sql) if t.kind == COMMENT] == [
        "/* outer /* inner; */ still comment; */"
    ]


def test_escape_strings_read_backslash_quotes_and_standard_strings_do_not():
    escaped = "SELECT E'it\\'s; fine'; SELECT 2"
    standard = "SELECT 'C:\\'; SELECT 2"

    assert split_statements(escaped) == ["SELECT E'it\\'s; fine'", "SELECT 2"]
    assert split_statements(standard) == ["SELECT 'C:\\'", "SELECT 2"]
    assert ("string", "'it''s'") in _kinds("SELECT 'it''s'")


def test_quoted_identifiers_may_hold_semicolons_and_quotes():
    sql = 'CREATE TABLE "a;b" ("x""y" int); DROP TABLE "a;b"'

    assert split_statements(sql) == ['CREATE TABLE "a;b" ("x""y" int)', 'DROP TABLE "a;b"']
    assert (NAME, '"x""y"') in _kinds(sql)


def test_comments_and_blank_statements_are_not_statements():
    assert split_statements("-- only a comment\n; ;; /* and another */") == []


def test_sql_standard_function_bodies_are_one_statement():
    sql = (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
        "SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END; SELECT 3"
    )

    assert len(split_statements(sql)) == 2
    assert split_statements(sql)[1] == "SELECT 3"


def test_mask_keeps_positions_and_hides_literals_names_and_comments():
    sql = "DELETE FROM \"drop\" WHERE note = 'DROP TABLE x' -- DROP\n AND E'\\'' = ''"

    masked = mask(sql)

    assert len(masked) == len(sql)
    assert "DROP" not in masked
    assert masked.startswith("DELETE FROM \"xxxx\" WHERE note = 'xxxxxxxxxxxx'")
    assert masked.endswith("AND E'xx' = ''")


def test_mask_keeps_the_code_of_dollar_bodies_without_their_comments():
    sql = "DO $$ BEGIN DELETE FROM orders; -- DROP\n EXECUTE 'TRUNCATE x'; END $$"

    masked = mask(sql)

    assert "DELETE FROM orders" in masked
    assert "EXECUTE 'TRUNCATE x'" in masked
    assert "DROP" not in masked


def test_normalise_drops_comments_and_collapses_whitespace_but_keeps_literals():
    sql = "SELECT  'a  -- b'\n  -- note\n  , /* x /* y */ */ \"c  d\"   FROM t ;"

    assert normalise(sql) == "SELECT 'a  -- b' , \"c  d\" FROM t ;"


def test_unterminated_literals_run_to_the_end():
    assert [t.kind for t in tokens("SELECT 'abc")] == ["word", "space", STRING]
    assert split_statements("SELECT 'a; b") == ["SELECT 'a; b"]
