"""Lexer: every literal form, comments, keywords, longest-match decisions and lexical errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql.errors import CqlSyntaxError
from ferrosa.cql.lexer import EOF, EOF_PADDING, KEYWORDS, describe_type, position_of, tokenize


def lex(text: str) -> list[tuple[str, str]]:
    tokens = tokenize(text)
    assert tokens.error is None, tokens.error
    return list(zip(tokens.types[: tokens.count], tokens.values))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # strings
        ("'abc'", [("STRING_LITERAL", "abc")]),
        ("'it''s'", [("STRING_LITERAL", "it's")]),
        ("''", [("STRING_LITERAL", "")]),
        ("''''", [("STRING_LITERAL", "'")]),
        ("'multi\nline'", [("STRING_LITERAL", "multi\nline")]),
        ("$$a 'quoted' $ body$$", [("STRING_LITERAL", "a 'quoted' $ body")]),
        ("$$$$", [("STRING_LITERAL", "")]),
        ("'é ✓'", [("STRING_LITERAL", "é ✓")]),
        # names
        ('"MyTable"', [("QUOTED_NAME", "MyTable")]),
        ('"a""b"', [("QUOTED_NAME", 'a"b')]),
        ('""""', [("QUOTED_NAME", '"')]),
        ('""', [("EMPTY_QUOTED_NAME", "")]),
        ("MyTable", [("IDENT", "mytable")]),
        ("a_1", [("IDENT", "a_1")]),
        # integers and floats
        ("42", [("INTEGER", "42")]),
        ("-42", [("INTEGER", "-42")]),
        ("3.14", [("FLOAT", "3.14")]),
        ("-3.14", [("FLOAT", "-3.14")]),
        ("1e10", [("FLOAT", "1e10")]),
        ("1.5E-3", [("FLOAT", "1.5E-3")]),
        ("2.", [("FLOAT", "2.")]),
        ("1.e5", [("FLOAT", "1.e5")]),
        ("NaN", [("K_POSITIVE_NAN", "nan")]),
        ("-NaN", [("K_NEGATIVE_NAN", "-nan")]),
        ("Infinity", [("K_POSITIVE_INFINITY", "infinity")]),
        ("-Infinity", [("K_NEGATIVE_INFINITY", "-infinity")]),
        # ranges (collection slices)
        ("1..3", [("INTEGER", "1"), ("RANGE", ".."), ("INTEGER", "3")]),
        ("1...", [("FLOAT", "1."), ("RANGE", "..")]),
        ("..3", [("RANGE", ".."), ("INTEGER", "3")]),
        # a minus glued to digits is part of the number, as in Cassandra
        ("a-1", [("IDENT", "a"), ("INTEGER", "-1")]),
        ("a - 1", [("IDENT", "a"), ("-", "-"), ("INTEGER", "1")]),
        # booleans, uuids, blobs
        ("true", [("BOOLEAN", "true")]),
        ("FALSE", [("BOOLEAN", "false")]),
        ("trueish", [("IDENT", "trueish")]),
        (
            "123e4567-e89b-12d3-a456-426614174000",
            [("UUID", "123e4567-e89b-12d3-a456-426614174000")],
        ),
        (
            "DEADBEEF-e89b-12d3-a456-426614174000",
            [("UUID", "DEADBEEF-e89b-12d3-a456-426614174000")],
        ),
        ("0xCAFEbabe", [("HEXNUMBER", "0xCAFEbabe")]),
        ("0x", [("HEXNUMBER", "0x")]),
        ("0X01", [("HEXNUMBER", "0X01")]),
        # durations: units
        ("1h30m", [("DURATION", "1h30m")]),
        ("12mo3d", [("DURATION", "12mo3d")]),
        ("1y2mo3w4d5h6m7s8ms9us10ns", [("DURATION", "1y2mo3w4d5h6m7s8ms9us10ns")]),
        ("3\u00b5s", [("DURATION", "3\u00b5s")]),
        ("-5MS", [("DURATION", "-5MS")]),
        ("1d", [("DURATION", "1d")]),
        # durations: ISO 8601
        ("P1Y2M3DT4H5M6S", [("DURATION", "P1Y2M3DT4H5M6S")]),
        ("P1Y", [("DURATION", "P1Y")]),
        ("P3M", [("DURATION", "P3M")]),
        ("PT1H", [("DURATION", "PT1H")]),
        ("PT30S", [("DURATION", "PT30S")]),
        ("P1W", [("DURATION", "P1W")]),
        ("-P2W", [("DURATION", "-P2W")]),
        ("P0001-02-03T04:05:06", [("DURATION", "P0001-02-03T04:05:06")]),
        ("P1Yx", [("IDENT", "p1yx")]),  # longer identifier wins
        ("p1y", [("IDENT", "p1y")]),  # ISO designators are upper case only
        # markers and punctuation
        ("?", [("QMARK", "?")]),
        (":name", [(":", ":"), ("IDENT", "name")]),
        ("<= >= != += -= < > = ", [("<=", "<="), (">=", ">="), ("!=", "!="), ("+=", "+="), ("-=", "-="),
                                   ("<", "<"), (">", ">"), ("=", "=")]),
        ("(),;.*[]{}:+-/%", [(c, c) for c in "(),;.*[]{}:+-/%"]),
        # custom index expression token
        ("expr(i, 'x')", [("EXPR", "expr("), ("IDENT", "i"), (",", ","), ("STRING_LITERAL", "x"), (")", ")")]),
        ("expr (", [("IDENT", "expr"), ("(", "(")]),
        # keywords are case-insensitive, synonyms share a type
        ("SeLeCt", [("K_SELECT", "select")]),
        ("TABLE columnfamily", [("K_COLUMNFAMILY", "table"), ("K_COLUMNFAMILY", "columnfamily")]),
        ("tables COLUMNFAMILIES", [("K_TABLES", "tables"), ("K_TABLES", "columnfamilies")]),
        ("select_masked", [("K_SELECT_MASKED", "select_masked")]),
    ],
)
def test_token_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert lex(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a -- comment\nb",
        "a // comment\nb",
        "a /* multi\nline */ b",
        "a /**/b",
        "a\t\r\n b -- trailing comment without newline",
    ],
)
def test_comments_and_whitespace_are_skipped(text: str) -> None:
    assert [t for t, _ in lex(text)][:2] == ["IDENT", "IDENT"]


def test_eof_padding_and_positions() -> None:
    tokens = tokenize("SELECT a\nFROM t")
    assert tokens.count == 4
    assert tokens.types[4 : 4 + EOF_PADDING] == [EOF] * EOF_PADDING
    assert tokens.starts[:4] == [0, 7, 9, 14]
    assert position_of(tokens.text, tokens.starts[2]) == (2, 0)
    assert position_of(tokens.text, tokens.starts[3]) == (2, 5)


def test_keep_hidden_keeps_whitespace_and_comments() -> None:
    tokens = tokenize("a /* c */ b", keep_hidden=True)
    assert tokens.types[: tokens.count] == ["IDENT", "HIDDEN", "HIDDEN", "HIDDEN", "IDENT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT # FROM t", "line 1:7 no viable alternative at character '#'"),
        ("a\n  @", "line 2:2 no viable alternative at character '@'"),
        ("x = 'unterminated", "line 1:17 mismatched character '<EOF>' expecting '''"),
        ('x = "unterminated', "line 1:17 mismatched character '<EOF>' expecting '\"'"),
        ("x = $$body", "line 1:10 mismatched character '<EOF>' expecting '$'"),
        ("x = $;", "line 1:5 mismatched character ';' expecting '$'"),
        ("a /* open", "line 1:9 mismatched character '<EOF>' expecting '*'"),
        ("\u0663", "line 1:0 no viable alternative at character '\u0663'"),  # non-ASCII digit
        ("3\u03bcs", "line 1:1 no viable alternative at character '\u03bc'"),  # Greek mu is not a unit
    ],
)
def test_lexical_errors(text: str, message: str) -> None:
    tokens = tokenize(text)
    assert isinstance(tokens.error, CqlSyntaxError)
    assert tokens.error.message == message


def test_keyword_table_is_lower_case_and_typed() -> None:
    assert all(word == word.lower() for word in KEYWORDS)
    assert KEYWORDS["select"] == "K_SELECT"
    assert KEYWORDS["schema"] == "K_SCHEMA"  # K_SCHEMA shadows K_KEYSPACE's SCHEMA spelling, as in Cassandra 4+


def test_describe_type_names() -> None:
    assert describe_type("K_FROM") == "K_FROM"
    assert describe_type("IDENT") == "IDENT"
    assert describe_type("EOF") == "EOF"
    assert describe_type(")") == "')'"
    assert describe_type("EXPR") == "'expr('"


_VOCABULARY = [
    " ", "\n", "\t", "-- c\n", "/* c */", "/*", "a", "Ab_1", "expr(", "expr", "select", "TABLE", "'s''x'", "'",
    "$$p$$", "$", '"Q"', '""', '"', "1", "-1", "1.5", "1e5", "1.", "..", "-", "--", "/", "//", "1d", "1h30m",
    "P1Y", "PT1H", "P0001-02-03T04:05:06", "0x1f", "0x", "NaN", "-NaN", "-Infinity", "deadbeef",
    "123e4567-e89b-12d3-a456-426614174000", "?", ":", "(", ")", "<=", "!", "=", "+=", "-=", "#", "\u00b5s", "\u00e9",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_VOCABULARY), max_size=30).map("".join) | st.text(max_size=80))
def test_fast_and_positional_lexers_agree(text: str) -> None:
    fast = tokenize(text)
    slow = tokenize(text, keep_hidden=True)
    visible = [i for i in range(slow.count) if slow.types[i] != "HIDDEN"]
    assert fast.count == len(visible)
    assert fast.types[: fast.count] == [slow.types[i] for i in visible]
    assert fast.values[: fast.count] == [slow.values[i] for i in visible]
    assert fast.starts[: fast.count] == [slow.starts[i] for i in visible]
    assert fast.ends[: fast.count] == [slow.ends[i] for i in visible]
    assert (fast.error is None) == (slow.error is None)
    if fast.error is not None and slow.error is not None:
        assert fast.error.message == slow.error.message


def test_classification_cache_is_bounded() -> None:
    from ferrosa.cql import lexer

    for n in range(lexer.TOKEN_CACHE_SIZE + 10):
        tokenize(f"c{n}")
    assert len(lexer._token_cache) <= lexer.TOKEN_CACHE_SIZE
    long_literal = "'" + "x" * (lexer.TOKEN_CACHE_MAX_TEXT + 1) + "'"
    tokenize(long_literal)
    assert long_literal not in lexer._token_cache
