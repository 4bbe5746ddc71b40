"""Keywords: Cassandra's reserved list, unreserved keywords usable as identifiers, case rules."""

from __future__ import annotations

import pytest

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlSyntaxError
from ferrosa.cql.lexer import KEYWORDS
from ferrosa.cql.parser import parse_statement
from ferrosa.cql.parser_base import UNRESERVED_KEYWORDS

# Cassandra 5.0's reserved_keywords.txt (TABLE is K_COLUMNFAMILY's other spelling).
CASSANDRA_RESERVED = set(
    """ADD ALLOW ALTER AND APPLY ASC AUTHORIZE BATCH BEGIN BY COLUMNFAMILY CREATE DELETE DESC DESCRIBE DROP
    ENTRIES EXECUTE FROM FULL GRANT IF IN INDEX INFINITY INSERT INTO IS KEYSPACE LIMIT MATERIALIZED MODIFY
    NAN NORECURSIVE NOT NULL OF ON OR ORDER PRIMARY RENAME REVOKE SCHEMA SELECT SET TABLE TO TOKEN TRUNCATE
    UNLOGGED UPDATE USE USING VIEW WHERE WITH""".split()
)

UNRESERVED_WORDS = sorted(w for w, t in KEYWORDS.items() if t in UNRESERVED_KEYWORDS)
RESERVED_WORDS = sorted(w for w, t in KEYWORDS.items() if t.startswith("K_") and t not in UNRESERVED_KEYWORDS)


def test_reserved_set_matches_cassandra() -> None:
    assert {w.upper() for w in RESERVED_WORDS} == CASSANDRA_RESERVED


def test_examples_from_the_brief_are_unreserved() -> None:
    for word in ("key", "type", "ttl", "writetime", "values", "count", "filtering", "json", "distinct", "as"):
        assert word in UNRESERVED_WORDS


@pytest.mark.parametrize("word", UNRESERVED_WORDS)
def test_unreserved_keyword_as_identifier(word: str) -> None:
    upper = word.upper()
    create = parse_statement(f"CREATE TABLE {word}.{word} ({upper} int PRIMARY KEY, v int)")
    assert isinstance(create, A.CreateTableStatement)
    assert create.table == A.QualifiedName(word, word)
    assert create.columns[0].name == word
    assert create.partition_key == (word,)

    select = parse_statement(f"SELECT {word}, {upper} AS {word} FROM {word} WHERE {word} = 1 AND {word} IN (1) ORDER BY {word}")
    assert isinstance(select, A.SelectStatement)
    assert select.selectors[0].expr == A.ColumnRef(word)
    assert select.selectors[1] == A.Selector(A.ColumnRef(word), word)
    assert select.where[0] == A.SingleColumnRelation(word, A.Operator.EQ, A.Constant(A.ConstantType.INTEGER, "1"))

    insert = parse_statement(f"INSERT INTO {word} ({word}, v) VALUES (1, 2)")
    assert isinstance(insert, A.InsertStatement) and insert.columns == (word, "v")

    update = parse_statement(f"UPDATE {word} SET {word} = 1, v[0] = 2 WHERE {word} = 3 IF {word} = 4")
    assert isinstance(update, A.UpdateStatement)
    assert update.operations[0] == A.SetValue(word, A.Constant(A.ConstantType.INTEGER, "1"))

    delete = parse_statement(f"DELETE {word} FROM {word} WHERE {word} = 1")
    assert isinstance(delete, A.DeleteStatement) and delete.deletions == (A.ColumnDeletion(word),)

    assert parse_statement(f"USE {word}") == A.UseStatement(word)
    assert parse_statement(f"CREATE ROLE {word}") == A.CreateRoleStatement(word, A.RoleOptions(login=False, superuser=False))


@pytest.mark.parametrize("word", RESERVED_WORDS)
def test_reserved_keyword_needs_quotes(word: str) -> None:
    with pytest.raises(CqlSyntaxError):
        parse_statement(f"CREATE TABLE t ({word} int PRIMARY KEY)")
    with pytest.raises(CqlSyntaxError):
        parse_statement(f"SELECT * FROM {word}")
    quoted = parse_statement(f'CREATE TABLE "{word}" ("{word}" int PRIMARY KEY)')
    assert isinstance(quoted, A.CreateTableStatement)
    assert quoted.table.name == word and quoted.columns[0].name == word


@pytest.mark.parametrize(
    ("text", "expected_table"),
    [
        ("select * FROM MyKs.MyTable", A.QualifiedName("myks", "mytable")),
        ('SELECT * FROM "MyKs"."MyTable"', A.QualifiedName("MyKs", "MyTable")),
        ('SELECT * FROM "a""b"', A.QualifiedName(None, 'a"b')),
        ("SeLeCt * FrOm t", A.QualifiedName(None, "t")),
    ],
)
def test_case_rules(text: str, expected_table: A.QualifiedName) -> None:
    statement = parse_statement(text)
    assert isinstance(statement, A.SelectStatement)
    assert statement.table == expected_table


def test_function_names_are_lower_cased_unless_quoted() -> None:
    statement = parse_statement('SELECT NOW(), "MyFn"(1), Ks.Fn() FROM t')
    assert isinstance(statement, A.SelectStatement)
    names = [s.expr.name for s in statement.selectors]  # type: ignore[attr-defined]
    assert names == [A.QualifiedName(None, "now"), A.QualifiedName(None, "MyFn"), A.QualifiedName("ks", "fn")]


@pytest.mark.parametrize("word", ["int", "text", "map", "list", "frozen", "tuple", "vector", "key", "type"])
def test_type_names_and_keywords_in_type_position(word: str) -> None:
    statement = parse_statement(f"CREATE TABLE t (k int PRIMARY KEY, v {word})")
    assert isinstance(statement, A.CreateTableStatement)
    column_type = statement.columns[1].type
    if word in ("int", "text"):
        assert column_type == A.NativeType(word)
    else:  # not followed by '<': a user type of that name
        assert column_type == A.UserType(A.QualifiedName(None, word))
