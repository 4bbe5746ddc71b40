"""Property tests: any input either parses to a Statement or raises a CQL error, nothing else
(no RecursionError, IndexError, KeyError, ValueError... escaping from the front-end)."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlError
from ferrosa.cql.lexer import tokenize
from ferrosa.cql.parser import parse_statement
from tests.cql import test_parser_dcl, test_parser_ddl, test_parser_dml

VALID = (
    [text for text, _ in test_parser_dml.GOLDEN]
    + [text for text, _ in test_parser_ddl.GOLDEN]
    + [text for text, _ in test_parser_dcl.GOLDEN]
    + [f"INSERT INTO t (v) VALUES ({literal})" for literal, _ in test_parser_dml.LITERALS]
)

VOCABULARY = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "WHERE", "AND", "INTO", "VALUES", "SET", "IF", "NOT",
    "EXISTS", "IN", "CONTAINS", "KEY", "TOKEN", "LIMIT", "ORDER", "BY", "GROUP", "PER", "PARTITION",
    "USING", "TTL", "TIMESTAMP", "BEGIN", "BATCH", "APPLY", "CREATE", "ALTER", "DROP", "TABLE", "KEYSPACE",
    "TYPE", "INDEX", "ON", "WITH", "PRIMARY", "ROLE", "GRANT", "TO", "ALL", "DESCRIBE", "JSON", "DISTINCT",
    "CAST", "AS", "frozen", "map", "list", "set", "tuple", "vector", "int", "text", "a", "b", "ks", "t",
    "\"Q\"", "''", "'s'", "$$x$$", "1", "-1", "1.5", "NaN", "-Infinity", "true", "0xff", "1h", "P1Y",
    "123e4567-e89b-12d3-a456-426614174000", "?", ":n", "(", ")", "[", "]", "{", "}", ",", ";", ".", "..",
    "*", "=", "<", ">", "<=", ">=", "!=", "+", "-", "/", "%", "+=", "-=", ":", "expr(", "IS", "NULL",
    "LIKE", "BETWEEN", "ANN", "OF", "MASKED", "DEFAULT", "STATIC", "CLUSTERING", "COMPACT", "STORAGE",
]


def parses_or_cql_error(text: str) -> None:
    try:
        statement = parse_statement(text)
    except CqlError:
        return
    assert isinstance(statement, A.Statement)
    for index, marker in enumerate(statement.bind_markers):
        assert marker.index == index


FUZZ_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ_SETTINGS
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    parses_or_cql_error(text)


@FUZZ_SETTINGS
@given(st.lists(st.sampled_from(VOCABULARY), max_size=40))
def test_random_token_sequences(words: list[str]) -> None:
    parses_or_cql_error(" ".join(words))


@st.composite
def mutated_statement(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    tokens = tokenize(text, keep_hidden=True)
    pieces = [text[s:e] for s, e in zip(tokens.starts[: tokens.count], tokens.ends[: tokens.count])]
    for _ in range(draw(st.integers(1, 3))):
        if not pieces:
            break
        where = draw(st.integers(0, len(pieces) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "insert_word", "insert_char", "truncate"]))
        if action == "delete":
            del pieces[where]
        elif action == "duplicate":
            pieces.insert(where, pieces[where])
        elif action == "swap" and where + 1 < len(pieces):
            pieces[where], pieces[where + 1] = pieces[where + 1], pieces[where]
        elif action == "insert_word":
            pieces.insert(where, " " + draw(st.sampled_from(VOCABULARY)) + " ")
        elif action == "insert_char":
            pieces.insert(where, draw(st.characters()))
        elif action == "truncate":
            del pieces[where:]
    return "".join(pieces)


@FUZZ_SETTINGS
@given(mutated_statement())
def test_mutated_valid_statements(text: str) -> None:
    parses_or_cql_error(text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 3), st.sampled_from([" ", "\n", "\t", " /* c */ ", " -- c\n"]))
def test_whitespace_and_comments_do_not_change_the_ast(text: str, semicolons: int, gap: str) -> None:
    tokens = tokenize(text)
    spaced = gap.join(text[s:e] for s, e in zip(tokens.starts[: tokens.count], tokens.ends[: tokens.count]))
    original = parse_statement(text)
    respaced = parse_statement(spaced + ";" * semicolons)
    if isinstance(original, A.CreateViewStatement):  # keeps the raw WHERE text, spacing included
        original = msgspec.structs.replace(original, where_text="")
        respaced = msgspec.structs.replace(respaced, where_text="")
    assert respaced == original


def test_every_golden_statement_parses() -> None:
    for text in VALID:
        assert isinstance(parse_statement(text), A.Statement)
