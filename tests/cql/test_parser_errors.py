"""Syntax errors: positions and Cassandra-style messages, nesting limits, lexer/parser precedence."""

from __future__ import annotations

import sys

import pytest

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlSyntaxError
from ferrosa.cql.parser import MAX_NESTING_DEPTH, parse_statement


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        # Messages seen from real Cassandra servers (same position, same wording, same snippet).
        (
            "UPDATE schema_version SET count = count + 1WHERE name = 'installed_rank';",
            "line 1:44 mismatched input 'HERE' expecting K_WHERE (... count = count + 1W[HERE]...)",
            1,
            44,
        ),
        (
            "select * from users;\n                  select * from users;",
            "line 2:18 mismatched input 'select' expecting EOF (select * from users;                  [select]...)",
            2,
            18,
        ),
        ("SELECT * LIMIT 100", "line 1:9 mismatched input 'LIMIT' expecting K_FROM (SELECT * [LIMIT]...)", 1, 9),
        # end of input: ANTLR's EOF token has no position
        ("SELECT a", "line 0:-1 mismatched input '<EOF>' expecting K_FROM", 0, -1),
        ("SELECT * FROM t WHERE", "line 0:-1 no viable alternative at input '<EOF>'", 0, -1),
        ("", "line 0:-1 no viable alternative at input '<EOF>'", 0, -1),
        ("   -- only a comment", "line 0:-1 no viable alternative at input '<EOF>'", 0, -1),
        ("INSERT INTO t (a) VALUES (1", "line 0:-1 mismatched input '<EOF>' expecting ')'", 0, -1),
        # trailing garbage
        ("SELECT * FROM t x", "line 1:16 mismatched input 'x' expecting EOF (SELECT * FROM t [x])", 1, 16),
        ("USE ks; USE ks2", "line 1:8 mismatched input 'USE' expecting EOF (USE ks; [USE]...)", 1, 8),
        # unknown statement, reserved word as a name
        ("FOO BAR", "line 1:0 no viable alternative at input 'FOO' ([FOO]...)", 1, 0),
        ("CREATE TABLE select (k int PRIMARY KEY)", "line 1:13 no viable alternative at input 'select' (CREATE TABLE [select]...)", 1, 13),
        ("CREATE SCHEMA ks WITH a = 1", "line 1:7 no viable alternative at input 'SCHEMA' (CREATE [SCHEMA]...)", 1, 7),
        # wrong operator, multi-line positions, long snippet prefix
        (
            "SELECT *\nFROM t\nWHERE a = = 1",
            "line 3:10 no viable alternative at input '=' (...FROM tWHERE a = [=]...)",
            3,
            10,
        ),
        (
            "SELECT a, b, c, d, e, f FROM t WHERE k ~ 1",
            "line 1:39 no viable alternative at character '~'",
            1,
            39,
        ),
        (
            "INSERT INTO t (a, b, c, d, e) VALUES (1, 2, 3, 4, 5) USING TTL x",
            "line 1:63 no viable alternative at input 'x' (...4, 5) USING TTL [x])",
            1,
            63,
        ),
        # string literal displayed by its contents, as ANTLR shows token text
        ("SELECT * FROM t 'oops'", "line 1:16 mismatched input 'oops' expecting EOF (SELECT * FROM t ['oops'])", 1, 16),
        # expressions Cassandra does not accept
        ("SELECT * FROM t WHERE a = b", "line 1:27 mismatched input '<EOF>' expecting '('".replace("1:27", "0:-1"), 0, -1),
        ("SELECT * FROM t WHERE a = 1-2", "line 1:27 mismatched input '-2' expecting EOF (... t WHERE a = 1[-2])", 1, 27),
        ("SELECT * FROM t LIMIT 1.5", "line 1:22 no viable alternative at input '1.5' (SELECT * FROM t LIMIT [1.5])", 1, 22),
        ("SELECT * FROM t LIMIT -?", "line 1:22 no viable alternative at input '-' (SELECT * FROM t LIMIT [-]...)", 1, 22),
        ("SELECT l[..] FROM t", "line 1:11 no viable alternative at input ']' (SELECT l[..[]]...)", 1, 11),
        ("DELETE FROM t", "line 0:-1 mismatched input '<EOF>' expecting K_WHERE", 0, -1),
        ("BEGIN BATCH SELECT * FROM t APPLY BATCH", "line 1:12 no viable alternative at input 'SELECT' (BEGIN BATCH [SELECT]...)", 1, 12),
        ("INSERT INTO t JSON 1", "line 1:19 no viable alternative at input '1' (INSERT INTO t JSON [1])", 1, 19),
    ],
)
def test_error_messages(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement(text)
    assert caught.value.message == message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_parser_error_before_lexical_error_wins() -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement("SELECT * FROM t t2 #")
    assert caught.value.message.startswith("line 1:16 mismatched input 't2' expecting EOF")


def test_lexical_error_reached_by_parser_is_reported() -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement("SELECT * FROM t #")
    assert caught.value.message == "line 1:16 no viable alternative at character '#'"


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "INSERT INTO t (v) VALUES (" + "[" * n + "]" * n + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + "{" * n + "1" + "}" * n + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + "(" * n + "1" + ")" * n + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + "f(" * n + ")" * n + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + "-(" * n + "?" + ")" * n + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + "(int)" * n + "1)",
        lambda n: "INSERT INTO t (v) VALUES (" + " + ".join(["1"] * n) + ")",
        lambda n: "INSERT INTO t (v) VALUES (" + " * ".join(["1"] * n) + ")",
        lambda n: "SELECT " + "(" * n + "a" + ")" * n + " FROM t",
        lambda n: "SELECT " + "- " * n + "a FROM t",
        lambda n: "SELECT a" + ".b" * n + " FROM t",
        lambda n: "SELECT a" + "[1]" * n + " FROM t",
        lambda n: "SELECT * FROM t WHERE " + "(" * n + "a = 1" + ")" * n,
        lambda n: "CREATE TABLE t (k " + "frozen<list<" * n + "int" + ">>" * n + " PRIMARY KEY)",
        lambda n: "CREATE TABLE t (k " + "tuple<" * n + "int" + ">" * n + " PRIMARY KEY)",
    ],
)
def test_nesting_limit(make) -> None:  # type: ignore[no-untyped-def]
    shallow = make(MAX_NESTING_DEPTH // 4)
    parse_statement(shallow)
    for depth in (MAX_NESTING_DEPTH + 1, 5000, 100_000):
        with pytest.raises(CqlSyntaxError) as caught:
            parse_statement(make(depth))
        assert "nested too deeply" in caught.value.message


def test_nesting_limit_holds_with_small_recursion_limit() -> None:
    statement = "INSERT INTO t (v) VALUES (" + "[" * MAX_NESTING_DEPTH + "]" * MAX_NESTING_DEPTH + ")"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old // 2, 600))
    try:
        assert isinstance(parse_statement(statement), A.InsertStatement)
    finally:
        sys.setrecursionlimit(old)


def test_error_is_a_plain_exception_with_fields() -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement("SELECT")
    error = caught.value
    assert str(error) == error.message
    assert error.args == (error.message,)


HOSTILE = {
    "many_updates_of_one_map": "UPDATE t SET " + ", ".join(f"m[{i}] = {i}" for i in range(5000)) + " WHERE k = 1",
    "long_in_list": "SELECT * FROM t WHERE a IN (" + ",".join(str(i) for i in range(20000)) + ")",
    "many_relations": "SELECT * FROM t WHERE " + " AND ".join(f"c{i} = ?" for i in range(5000)),
    "open_comments": "/*" * 50_000,
    "open_pg_string": "$$" + "$x" * 50_000,
    "odd_quotes": "'" * 100_001,
    "deep_parentheses": "(" * 100_000,
    "long_error_far_away": "SELECT " + "a, " * 30_000 + " FROM",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_finish_quickly(name: str) -> None:
    import time

    started = time.perf_counter()
    try:
        parse_statement(HOSTILE[name])
    except CqlSyntaxError:
        pass
    # Linear work is a few tens of milliseconds here; quadratic behaviour would take many seconds.
    assert time.perf_counter() - started < 2.0
