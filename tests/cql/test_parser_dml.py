"""Golden table: DML statements -> AST (USE, SELECT, INSERT, UPDATE, DELETE, BATCH, TRUNCATE)."""

from __future__ import annotations

import pytest

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlSyntaxError
from ferrosa.cql.parser import parse_statement
from tests.cql.helpers import B, F, I, M, Op, Q, S, T, col, fn, markers, rel, sel

U = "123e4567-e89b-12d3-a456-426614174000"

GOLDEN: list[tuple[str, A.Statement]] = [
    ("USE ks", A.UseStatement("ks")),
    ('USE "MyKs";', A.UseStatement("MyKs")),
    ("use KS;;", A.UseStatement("ks")),
    ("TRUNCATE ks.t", A.TruncateStatement(Q("t", "ks"))),
    ("TRUNCATE TABLE t", A.TruncateStatement(Q("t"))),
    ("TRUNCATE COLUMNFAMILY t", A.TruncateStatement(Q("t"))),
    # -- SELECT --
    ("SELECT * FROM t", A.SelectStatement(Q("t"), ())),
    ("select * from KS.T", A.SelectStatement(Q("t", "ks"), ())),
    ('SELECT "A", b AS "B" FROM "Ks"."T"', A.SelectStatement(Q("T", "Ks"), (sel(col("A")), sel(col("b"), "B")))),
    ("SELECT DISTINCT k FROM t", A.SelectStatement(Q("t"), (sel(col("k")),), is_distinct=True)),
    ("SELECT distinct FROM t", A.SelectStatement(Q("t"), (sel(col("distinct")),))),
    ("SELECT JSON * FROM t", A.SelectStatement(Q("t"), (), is_json=True)),
    ("SELECT JSON DISTINCT a FROM t", A.SelectStatement(Q("t"), (sel(col("a")),), is_distinct=True, is_json=True)),
    ("SELECT json FROM t", A.SelectStatement(Q("t"), (sel(col("json")),))),
    ("SELECT json, a FROM t", A.SelectStatement(Q("t"), (sel(col("json")), sel(col("a"))))),
    (
        "SELECT WRITETIME(v), MAXWRITETIME(s), TTL(v), writetime(m['k']) FROM t",
        A.SelectStatement(
            Q("t"),
            (
                sel(A.WritetimeOrTTL("v", col("v"), A.WritetimeOrTTLKind.WRITE_TIME)),
                sel(A.WritetimeOrTTL("s", col("s"), A.WritetimeOrTTLKind.MAX_WRITE_TIME)),
                sel(A.WritetimeOrTTL("v", col("v"), A.WritetimeOrTTLKind.TTL)),
                sel(A.WritetimeOrTTL("m", A.ElementSelection(col("m"), S("k")), A.WritetimeOrTTLKind.WRITE_TIME)),
            ),
        ),
    ),
    ("SELECT ttl, writetime FROM t", A.SelectStatement(Q("t"), (sel(col("ttl")), sel(col("writetime"))))),
    (
        "SELECT COUNT(*), count(1), count(k) AS n, count FROM t",
        A.SelectStatement(
            Q("t"),
            (sel(A.COUNT_ROWS), sel(fn("count", I("1"))), sel(fn("count", col("k")), "n"), sel(col("count"))),
        ),
    ),
    (
        "SELECT token(a, b), ks.f(), system.now(), \"F\"(x) FROM t",
        A.SelectStatement(
            Q("t"),
            (
                sel(fn("token", col("a"), col("b"))),
                sel(fn("f", keyspace="ks")),
                sel(fn("now", keyspace="system")),
                sel(fn("F", col("x"))),
            ),
        ),
    ),
    (
        "SELECT CAST(a AS text), cast FROM t",
        A.SelectStatement(Q("t"), (sel(A.Cast(col("a"), T("text"))), sel(col("cast")))),
    ),
    (
        "SELECT u.f, u.f.g, m['k'], l[1..3], l[..2], l[1..], s[1] FROM t",
        A.SelectStatement(
            Q("t"),
            (
                sel(A.FieldSelection(col("u"), "f")),
                sel(A.FieldSelection(A.FieldSelection(col("u"), "f"), "g")),
                sel(A.ElementSelection(col("m"), S("k"))),
                sel(A.SliceSelection(col("l"), I("1"), I("3"))),
                sel(A.SliceSelection(col("l"), None, I("2"))),
                sel(A.SliceSelection(col("l"), I("1"), None)),
                sel(A.ElementSelection(col("s"), I("1"))),
            ),
        ),
    ),
    (
        "SELECT a + b * 2, -a, (a - 1) % 3, a / ?, 'x', null, (int) ?, [a, 1], {1, 2}, {a: 1}, {}, (a, b) FROM t",
        A.SelectStatement(
            Q("t"),
            (
                sel(A.BinaryOp("+", col("a"), A.BinaryOp("*", col("b"), I("2")))),
                sel(A.Negation(col("a"))),
                sel(A.BinaryOp("%", A.BinaryOp("-", col("a"), I("1")), I("3"))),
                sel(A.BinaryOp("/", col("a"), M(0))),
                sel(S("x")),
                sel(A.NULL),
                sel(A.TypeCast(T("int"), M(1))),
                sel(A.ListLiteral((col("a"), I("1")))),
                sel(A.SetLiteral((I("1"), I("2")))),
                sel(A.MapLiteral(((col("a"), I("1")),))),
                sel(A.EMPTY_BRACES),
                sel(A.TupleLiteral((col("a"), col("b")))),
            ),
            bind_markers=markers(2),
        ),
    ),
    (
        "SELECT * FROM t WHERE a = 1 AND b < 2 AND c <= 3 AND d > 4 AND e >= 5 AND f != 6",
        A.SelectStatement(
            Q("t"),
            (),
            (
                rel("a", Op.EQ, I("1")),
                rel("b", Op.LT, I("2")),
                rel("c", Op.LTE, I("3")),
                rel("d", Op.GT, I("4")),
                rel("e", Op.GTE, I("5")),
                rel("f", Op.NEQ, I("6")),
            ),
        ),
    ),
    (
        "SELECT * FROM t WHERE a IN (1, 2) AND b IN ? AND c IN :cs AND d IN () AND e NOT IN (3)",
        A.SelectStatement(
            Q("t"),
            (),
            (
                rel("a", Op.IN, A.TermList((I("1"), I("2")))),
                rel("b", Op.IN, M(0)),
                rel("c", Op.IN, M(1, "cs")),
                rel("d", Op.IN, A.TermList(())),
                rel("e", Op.NOT_IN, A.TermList((I("3"),))),
            ),
            bind_markers=(M(0), M(1, "cs")),
        ),
    ),
    (
        "SELECT * FROM t WHERE s CONTAINS 1 AND m CONTAINS KEY 'k' AND n NOT CONTAINS 2 AND o NOT CONTAINS KEY 3 "
        "AND x LIKE 'a%' AND y IS NOT NULL AND m['k'] = 'v' AND z BETWEEN 1 AND 5",
        A.SelectStatement(
            Q("t"),
            (),
            (
                rel("s", Op.CONTAINS, I("1")),
                rel("m", Op.CONTAINS_KEY, S("k")),
                rel("n", Op.NOT_CONTAINS, I("2")),
                rel("o", Op.NOT_CONTAINS_KEY, I("3")),
                rel("x", Op.LIKE, S("a%")),
                rel("y", Op.IS_NOT, A.NULL),
                A.MapElementRelation("m", S("k"), Op.EQ, S("v")),
                rel("z", Op.BETWEEN, A.TermList((I("1"), I("5")))),
            ),
        ),
    ),
    (
        "SELECT * FROM t WHERE token(a, b) > token(1, 2) AND token(a) <= ? AND token(k) BETWEEN 1 AND 2",
        A.SelectStatement(
            Q("t"),
            (),
            (
                A.TokenRelation(("a", "b"), Op.GT, fn("token", I("1"), I("2"))),
                A.TokenRelation(("a",), Op.LTE, M(0)),
                A.TokenRelation(("k",), Op.BETWEEN, A.TermList((I("1"), I("2")))),
            ),
            bind_markers=markers(1),
        ),
    ),
    (
        "SELECT * FROM t WHERE (a, b) > (1, 2) AND (a, b) IN ((1, 2), (3, 4)) AND (a, b) IN ? "
        "AND (a, b) IN (?, :x) AND (c) = ? AND (a, b) IN () AND (a, b) BETWEEN (1, 2) AND ?",
        A.SelectStatement(
            Q("t"),
            (),
            (
                A.MultiColumnRelation(("a", "b"), Op.GT, A.TupleLiteral((I("1"), I("2")))),
                A.MultiColumnRelation(
                    ("a", "b"),
                    Op.IN,
                    A.TermList((A.TupleLiteral((I("1"), I("2"))), A.TupleLiteral((I("3"), I("4"))))),
                ),
                A.MultiColumnRelation(("a", "b"), Op.IN, M(0)),
                A.MultiColumnRelation(("a", "b"), Op.IN, A.TermList((M(1), M(2, "x")))),
                A.MultiColumnRelation(("c",), Op.EQ, M(3)),
                A.MultiColumnRelation(("a", "b"), Op.IN, A.TermList(())),
                A.MultiColumnRelation(
                    ("a", "b"), Op.BETWEEN, A.TermList((A.TupleLiteral((I("1"), I("2"))), M(4)))
                ),
            ),
            bind_markers=(M(0), M(1), M(2, "x"), M(3), M(4)),
        ),
    ),
    (
        "SELECT * FROM t WHERE (a = 1) AND ((b = 2)) AND expr(idx, 'q')",
        A.SelectStatement(
            Q("t"),
            (),
            (rel("a", Op.EQ, I("1")), rel("b", Op.EQ, I("2")), A.CustomIndexExpression(Q("idx"), S("q"))),
        ),
    ),
    (
        'SELECT * FROM t WHERE "" = 1 AND key = 2 AND "Key" = 3',
        A.SelectStatement(Q("t"), (), (rel("", Op.EQ, I("1")), rel("key", Op.EQ, I("2")), rel("Key", Op.EQ, I("3")))),
    ),
    (
        "SELECT a, max(b) FROM t WHERE a = ? GROUP BY a, floor(ts, 1h) ORDER BY c DESC, d ASC, e "
        "PER PARTITION LIMIT 2 LIMIT :lim ALLOW FILTERING",
        A.SelectStatement(
            Q("t"),
            (sel(col("a")), sel(fn("max", col("b")))),
            (rel("a", Op.EQ, M(0)),),
            group_by=(col("a"), fn("floor", col("ts"), A.Constant(A.ConstantType.DURATION, "1h"))),
            order_by=(A.Ordering("c", True), A.Ordering("d", False), A.Ordering("e", False)),
            per_partition_limit=I("2"),
            limit=M(1, "lim"),
            allow_filtering=True,
            bind_markers=(M(0), M(1, "lim")),
        ),
    ),
    (
        "SELECT * FROM t ORDER BY v ANN OF [1.5, -2.0] LIMIT 10",
        A.SelectStatement(
            Q("t"),
            (),
            order_by=(A.Ordering("v", False, A.ListLiteral((F("1.5"), F("-2.0")))),),
            limit=I("10"),
        ),
    ),
    ("SELECT * FROM t PER PARTITION LIMIT ?", A.SelectStatement(Q("t"), (), per_partition_limit=M(0), bind_markers=markers(1))),
    # -- INSERT --
    (
        "INSERT INTO t (a, b) VALUES (1, 'x')",
        A.InsertStatement(Q("t"), ("a", "b"), (I("1"), S("x"))),
    ),
    (
        "INSERT INTO ks.t (a, b, c) VALUES (?, :b, ?) IF NOT EXISTS USING TTL 86400 AND TIMESTAMP ?",
        A.InsertStatement(
            Q("t", "ks"),
            ("a", "b", "c"),
            (M(0), M(1, "b"), M(2)),
            if_not_exists=True,
            timestamp=M(3),
            ttl=I("86400"),
            bind_markers=(M(0), M(1, "b"), M(2), M(3)),
        ),
    ),
    (
        "INSERT INTO t (k, v) VALUES (0, 1) USING TIMESTAMP 1 AND TTL 2",
        A.InsertStatement(Q("t"), ("k", "v"), (I("0"), I("1")), timestamp=I("1"), ttl=I("2")),
    ),
    (
        "INSERT INTO t JSON '{\"a\": 1}'",
        A.InsertJsonStatement(Q("t"), S('{"a": 1}')),
    ),
    (
        "INSERT INTO t JSON ? DEFAULT UNSET IF NOT EXISTS USING TTL 5",
        A.InsertJsonStatement(Q("t"), M(0), True, True, None, I("5"), bind_markers=markers(1)),
    ),
    ("INSERT INTO t JSON :j DEFAULT NULL", A.InsertJsonStatement(Q("t"), M(0, "j"), bind_markers=(M(0, "j"),))),
    # -- UPDATE --
    (
        "UPDATE t SET v = 1 WHERE k = 0",
        A.UpdateStatement(Q("t"), (A.SetValue("v", I("1")),), (rel("k", Op.EQ, I("0")),)),
    ),
    (
        "UPDATE ks.t USING TTL 10 AND TIMESTAMP 20 SET c = c + 3, d = d - ?, l = [1] + l, e = e -4, "
        "m['k'] = 'v', l[0] = 7, u.f = 'x', s += {1}, s2 -= {2} WHERE k = ? IF EXISTS",
        A.UpdateStatement(
            Q("t", "ks"),
            (
                A.Addition("c", I("3")),
                A.Subtraction("d", M(0)),
                A.Prepend("l", A.ListLiteral((I("1"),))),
                A.Addition("e", I("-4")),
                A.SetElement("m", S("k"), S("v")),
                A.SetElement("l", I("0"), I("7")),
                A.SetField("u", "f", S("x")),
                A.Addition("s", A.SetLiteral((I("1"),))),
                A.Subtraction("s2", A.SetLiteral((I("2"),))),
            ),
            (rel("k", Op.EQ, M(1)),),
            (),
            True,
            I("20"),
            I("10"),
            bind_markers=markers(2),
        ),
    ),
    (
        "UPDATE t SET v = f(1) + 1 WHERE k = 0 IF v = 1 AND m['k'] IN ('a', 'b') AND u.f > 2 AND s CONTAINS 3 "
        "AND w IN ? AND x CONTAINS KEY 'k' AND l[0] != null AND u.g IN (1)",
        A.UpdateStatement(
            Q("t"),
            (A.SetValue("v", A.BinaryOp("+", fn("f", I("1")), I("1"))),),
            (rel("k", Op.EQ, I("0")),),
            (
                A.ColumnCondition("v", Op.EQ, I("1")),
                A.ColumnCondition("m", Op.IN, A.TermList((S("a"), S("b"))), element=S("k")),
                A.ColumnCondition("u", Op.GT, I("2"), field="f"),
                A.ColumnCondition("s", Op.CONTAINS, I("3")),
                A.ColumnCondition("w", Op.IN, M(0)),
                A.ColumnCondition("x", Op.CONTAINS_KEY, S("k")),
                A.ColumnCondition("l", Op.NEQ, A.NULL, element=I("0")),
                A.ColumnCondition("u", Op.IN, A.TermList((I("1"),)), field="g"),
            ),
            bind_markers=markers(1),
        ),
    ),
    (
        "UPDATE counters SET hits = hits + 1, misses = misses - 2 WHERE id = 'x'",
        A.UpdateStatement(
            Q("counters"),
            (A.Addition("hits", I("1")), A.Subtraction("misses", I("2"))),
            (rel("id", Op.EQ, S("x")),),
        ),
    ),
    # -- DELETE --
    (
        "DELETE FROM t WHERE k = 1",
        A.DeleteStatement(Q("t"), (), (rel("k", Op.EQ, I("1")),)),
    ),
    (
        "DELETE a, m['k'], l[?], u.f FROM ks.t USING TIMESTAMP 99 WHERE k = 1 AND c >= 2 AND c < 5 IF a = 3",
        A.DeleteStatement(
            Q("t", "ks"),
            (
                A.ColumnDeletion("a"),
                A.ElementDeletion("m", S("k")),
                A.ElementDeletion("l", M(0)),
                A.FieldDeletion("u", "f"),
            ),
            (rel("k", Op.EQ, I("1")), rel("c", Op.GTE, I("2")), rel("c", Op.LT, I("5"))),
            (A.ColumnCondition("a", Op.EQ, I("3")),),
            False,
            I("99"),
            bind_markers=markers(1),
        ),
    ),
    (
        "DELETE FROM t WHERE k = 1 IF EXISTS",
        A.DeleteStatement(Q("t"), (), (rel("k", Op.EQ, I("1")),), (), True),
    ),
]

# A second table for literal forms inside INSERT values.
LITERALS: list[tuple[str, A.Term]] = [
    ("'s'", S("s")),
    ("$$pg ' string$$", S("pg ' string")),
    ("42", I("42")),
    ("-42", I("-42")),
    ("1.5e3", F("1.5e3")),
    ("NaN", F("NaN")),
    ("-NaN", F("NaN")),
    ("Infinity", F("Infinity")),
    ("-Infinity", F("-Infinity")),
    ("true", B("true")),
    ("False", B("false")),
    (U, A.Constant(A.ConstantType.UUID, U)),
    ("0xFF", A.Constant(A.ConstantType.HEX, "0xFF")),
    ("1h30m", A.Constant(A.ConstantType.DURATION, "1h30m")),
    ("P1Y2M", A.Constant(A.ConstantType.DURATION, "P1Y2M")),
    ("P0001-02-03T04:05:06", A.Constant(A.ConstantType.DURATION, "P0001-02-03T04:05:06")),
    ("null", A.NULL),
    ("[]", A.ListLiteral(())),
    ("[1, [2]]", A.ListLiteral((I("1"), A.ListLiteral((I("2"),))))),
    ("{}", A.EMPTY_BRACES),
    ("{1, 2}", A.SetLiteral((I("1"), I("2")))),
    ("{'a': 1, 'b': 2}", A.MapLiteral(((S("a"), I("1")), (S("b"), I("2"))))),
    ("{a: 1, \"B\": 'x'}", A.UserTypeLiteral((("a", I("1")), ("B", S("x"))))),
    ("{key: {ttl: 1}}", A.UserTypeLiteral((("key", A.UserTypeLiteral((("ttl", I("1")),))),))),
    ("(1, 'a')", A.TupleLiteral((I("1"), S("a")))),
    ("('a')", A.TupleLiteral((S("a"),))),
    ("(int) '3'", A.TypeCast(T("int"), S("3"))),
    ("(text)?", A.TypeCast(T("text"), M(0))),
    ("(frozen<list<int>>) [1]", A.TypeCast(A.CollectionType("list", (T("int"),), True), A.ListLiteral((I("1"),)))),
    ("(ks.udt) {a: 1}", A.TypeCast(A.UserType(Q("udt", "ks")), A.UserTypeLiteral((("a", I("1")),)))),
    ("CAST(1 AS bigint)", A.Cast(I("1"), T("bigint"))),
    ("now()", fn("now")),
    ("token(1)", fn("token", I("1"))),
    ("ks.f(1, ?)", fn("f", I("1"), M(0), keyspace="ks")),
    ("text(1)", fn("text", I("1"))),
    ("1 + 2 * 3", A.BinaryOp("+", I("1"), A.BinaryOp("*", I("2"), I("3")))),
    ("(1 + 2) * 3", A.BinaryOp("*", A.TupleLiteral((A.BinaryOp("+", I("1"), I("2")),)), I("3"))),
    ("10 / 2 % 3 - 1", A.BinaryOp("-", A.BinaryOp("%", A.BinaryOp("/", I("10"), I("2")), I("3")), I("1"))),
    ("- ?", A.Negation(M(0))),
    ("-f(1)", A.Negation(fn("f", I("1")))),
    (":named", M(0, "named")),
    (':"Named"', M(0, "Named")),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[t for t, _ in GOLDEN])
def test_golden(text: str, expected: A.Statement) -> None:
    assert parse_statement(text) == expected


@pytest.mark.parametrize(("literal", "expected"), LITERALS, ids=[t for t, _ in LITERALS])
def test_literal_forms(literal: str, expected: A.Term) -> None:
    statement = parse_statement(f"INSERT INTO t (v) VALUES ({literal})")
    assert isinstance(statement, A.InsertStatement)
    assert statement.values == (expected,)


def test_batch_shares_marker_numbering() -> None:
    statement = parse_statement(
        "BEGIN UNLOGGED BATCH USING TIMESTAMP 5 "
        "INSERT INTO t (a) VALUES (?); UPDATE t SET a = :x WHERE k = ? "
        "DELETE m[1] FROM t WHERE k IN ?; APPLY BATCH;"
    )
    assert statement == A.BatchStatement(
        A.BatchType.UNLOGGED,
        (
            A.InsertStatement(Q("t"), ("a",), (M(0),)),
            A.UpdateStatement(Q("t"), (A.SetValue("a", M(1, "x")),), (rel("k", Op.EQ, M(2)),)),
            A.DeleteStatement(Q("t"), (A.ElementDeletion("m", I("1")),), (rel("k", Op.IN, M(3)),)),
        ),
        timestamp=I("5"),
        bind_markers=(M(0), M(1, "x"), M(2), M(3)),
    )


@pytest.mark.parametrize(
    ("text", "batch_type"),
    [
        ("BEGIN BATCH APPLY BATCH", A.BatchType.LOGGED),
        ("BEGIN COUNTER BATCH UPDATE c SET n = n + 1 WHERE k = 1; APPLY BATCH", A.BatchType.COUNTER),
        ("begin unlogged batch apply batch", A.BatchType.UNLOGGED),
    ],
)
def test_batch_types(text: str, batch_type: A.BatchType) -> None:
    statement = parse_statement(text)
    assert isinstance(statement, A.BatchStatement)
    assert statement.batch_type is batch_type


def test_bind_markers_in_order_of_appearance() -> None:
    statement = parse_statement(
        "UPDATE t USING TTL ? SET a = ?, b[?] = :v WHERE k = :k AND c IN ? IF d = ?"
    )
    assert statement.bind_markers == (M(0), M(1), M(2), M(3, "v"), M(4, "k"), M(5), M(6))


def test_same_named_marker_twice_gets_two_positions() -> None:
    statement = parse_statement("SELECT * FROM t WHERE a = :x AND b = :x")
    assert statement.bind_markers == (M(0, "x"), M(1, "x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("UPDATE t SET a = b + 1 WHERE k = 0", "Only expressions of the form X = X +<value> are supported."),
        ("UPDATE t SET a = b - 1 WHERE k = 0", "Only expressions of the form X = X -<value> are supported."),
        ("UPDATE t SET a = b -1 WHERE k = 0", "Only expressions of the form X = X - <value> are supported."),
        ("UPDATE t SET a = [1] + b WHERE k = 0", "Only expressions of the form X = <value> + X are supported."),
        ("UPDATE t SET a = 1, a = 2 WHERE k = 0", "Multiple incompatible setting of column a"),
        ("UPDATE t SET a[1] = 1, a = 2 WHERE k = 0", "Multiple incompatible setting of column a"),
        ("UPDATE t SET u.f = 1, u.f = 2 WHERE k = 0", "Multiple incompatible setting of column u"),
    ],
)
def test_update_action_errors(text: str, message: str) -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement(text)
    assert caught.value.message == message


def test_compatible_repeated_updates_are_kept() -> None:
    statement = parse_statement("UPDATE t SET m['a'] = 1, m['b'] = 2, u.f = 1, u.g = 2, c = c + 1, c = c + 2 WHERE k = 0")
    assert isinstance(statement, A.UpdateStatement)
    assert len(statement.operations) == 6


def test_json_prefix_predicate_falls_back_to_column() -> None:
    # "json AS j" would be a JSON select of column "as" aliased... Cassandra's predicate chooses JSON
    # and then fails; "json, x" must be the column.
    statement = parse_statement("SELECT json, writetime(json) FROM t")
    assert isinstance(statement, A.SelectStatement)
    assert not statement.is_json
