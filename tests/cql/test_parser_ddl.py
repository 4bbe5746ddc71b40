"""Golden table: DDL statements -> AST, and the DDL errors Cassandra raises while parsing."""

from __future__ import annotations

import pytest

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlInvalidRequest, CqlSyntaxError
from ferrosa.cql.parser import parse_statement
from tests.cql.helpers import I, Op, Q, T, col, rel, sel


def coll(kind: str, *types: A.CqlType, frozen: bool = False) -> A.CollectionType:
    return A.CollectionType(kind, types, frozen)


def cdef(name: str, cql_type: A.CqlType, is_static: bool = False, mask: A.ColumnMask | None = None) -> A.ColumnDefinition:
    return A.ColumnDefinition(name, cql_type, is_static, mask)


GOLDEN: list[tuple[str, A.Statement]] = [
    # -- keyspaces --
    (
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        A.CreateKeyspaceStatement("ks", {"replication": {"class": "SimpleStrategy", "replication_factor": "1"}}),
    ),
    (
        "CREATE KEYSPACE IF NOT EXISTS \"Ks\" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} "
        "AND durable_writes = false",
        A.CreateKeyspaceStatement(
            "Ks",
            {"replication": {"class": "NetworkTopologyStrategy", "dc1": "3"}, "durable_writes": "false"},
            True,
        ),
    ),
    (
        "ALTER KEYSPACE IF EXISTS ks WITH durable_writes = true",
        A.AlterKeyspaceStatement("ks", {"durable_writes": "true"}, True),
    ),
    ("DROP KEYSPACE ks", A.DropKeyspaceStatement("ks")),
    ("DROP KEYSPACE IF EXISTS ks", A.DropKeyspaceStatement("ks", True)),
    # -- tables --
    (
        "CREATE TABLE t (k int PRIMARY KEY, v text)",
        A.CreateTableStatement(Q("t"), (cdef("k", T("int")), cdef("v", T("text"))), ("k",)),
    ),
    (
        "CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c timeuuid, d map<text, frozen<list<int>>> STATIC, "
        "e set<blob>, f tuple<int, text>, g frozen<udt>, h vector<float, 3>, i ks2.addr, "
        "PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) AND comment = 'hi' "
        "AND compaction = {'class': 'LeveledCompactionStrategy'} AND gc_grace_seconds = 0 "
        "AND bloom_filter_fp_chance = 0.01 AND cdc = true AND id = 5a1c395e-b41f-11e5-9f22-ba0be0483c18",
        A.CreateTableStatement(
            Q("t", "ks"),
            (
                cdef("a", T("int")),
                cdef("b", T("text")),
                cdef("c", T("timeuuid")),
                cdef("d", coll("map", T("text"), coll("list", T("int"), frozen=True)), True),
                cdef("e", coll("set", T("blob"))),
                cdef("f", A.TupleType((T("int"), T("text")))),
                cdef("g", A.UserType(Q("udt"), True)),
                cdef("h", A.VectorType(T("float"), 3)),
                cdef("i", A.UserType(Q("addr", "ks2"))),
            ),
            ("a", "b"),
            ("c",),
            1,
            (A.ClusteringOrder("c", False),),
            {
                "comment": "hi",
                "compaction": {"class": "LeveledCompactionStrategy"},
                "gc_grace_seconds": "0",
                "bloom_filter_fp_chance": "0.01",
                "cdc": "true",
                "id": "5a1c395e-b41f-11e5-9f22-ba0be0483c18",
            },
            False,
            True,
        ),
    ),
    (
        "CREATE TABLE t (k int, c1 int, c2 text, v int, PRIMARY KEY (k, c1, c2)) "
        "WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC) AND COMPACT STORAGE",
        A.CreateTableStatement(
            Q("t"),
            (cdef("k", T("int")), cdef("c1", T("int")), cdef("c2", T("text")), cdef("v", T("int"))),
            ("k",),
            ("c1", "c2"),
            1,
            (A.ClusteringOrder("c1", True), A.ClusteringOrder("c2", False)),
            {},
            True,
        ),
    ),
    (
        "CREATE COLUMNFAMILY t (k int PRIMARY KEY,)",
        A.CreateTableStatement(Q("t"), (cdef("k", T("int")),), ("k",)),
    ),
    (
        "CREATE TABLE t (k int, v int)",
        A.CreateTableStatement(Q("t"), (cdef("k", T("int")), cdef("v", T("int"))), (), (), 0),
    ),
    (
        "CREATE TABLE t (key int PRIMARY KEY, type text, values list<int>, ttl int, count counter, "
        "\"Mixed\" varchar, filtering boolean, writetime bigint, json text, distinct int, cast int)",
        A.CreateTableStatement(
            Q("t"),
            (
                cdef("key", T("int")),
                cdef("type", T("text")),
                cdef("values", coll("list", T("int"))),
                cdef("ttl", T("int")),
                cdef("count", T("counter")),
                cdef("Mixed", T("varchar")),
                cdef("filtering", T("boolean")),
                cdef("writetime", T("bigint")),
                cdef("json", T("text")),
                cdef("distinct", T("int")),
                cdef("cast", T("int")),
            ),
            ("key",),
        ),
    ),
    (
        "CREATE TABLE t (k int PRIMARY KEY, s text MASKED WITH DEFAULT, p text MASKED WITH mask_inner(1, null), "
        "q int MASKED WITH ks.m())",
        A.CreateTableStatement(
            Q("t"),
            (
                cdef("k", T("int")),
                cdef("s", T("text"), mask=A.ColumnMask(Q("mask_default"))),
                cdef("p", T("text"), mask=A.ColumnMask(Q("mask_inner"), (I("1"), A.NULL))),
                cdef("q", T("int"), mask=A.ColumnMask(Q("m", "ks"))),
            ),
            ("k",),
        ),
    ),
    (
        "CREATE TABLE t (k int PRIMARY KEY, c 'org.apache.cassandra.db.marshal.BytesType')",
        A.CreateTableStatement(
            Q("t"), (cdef("k", T("int")), cdef("c", A.CustomType("org.apache.cassandra.db.marshal.BytesType"))), ("k",)
        ),
    ),
    (
        "CREATE TABLE new LIKE ks.old WITH INDEXES AND comment = 'x'",
        A.CopyTableStatement(Q("new"), Q("old", "ks"), True, {"comment": "x"}),
    ),
    ("CREATE TABLE IF NOT EXISTS new LIKE old", A.CopyTableStatement(Q("new"), Q("old"), if_not_exists=True)),
    ("ALTER TABLE t ALTER v TYPE blob", A.AlterTableAlterColumn(Q("t"), False, "v", T("blob"))),
    (
        "ALTER TABLE IF EXISTS t ALTER IF EXISTS v MASKED WITH DEFAULT",
        A.AlterTableMaskColumn(Q("t"), True, "v", A.ColumnMask(Q("mask_default")), True),
    ),
    ("ALTER TABLE t ALTER v DROP MASKED", A.AlterTableMaskColumn(Q("t"), False, "v", None)),
    ("ALTER TABLE t ADD v int", A.AlterTableAddColumns(Q("t"), False, (cdef("v", T("int")),))),
    (
        "ALTER TABLE ks.t ADD IF NOT EXISTS (a int, b set<text> static, c text MASKED WITH DEFAULT)",
        A.AlterTableAddColumns(
            Q("t", "ks"),
            False,
            (
                cdef("a", T("int")),
                cdef("b", coll("set", T("text")), True),
                cdef("c", T("text"), mask=A.ColumnMask(Q("mask_default"))),
            ),
            True,
        ),
    ),
    ("ALTER TABLE t DROP v", A.AlterTableDropColumns(Q("t"), False, ("v",))),
    (
        "ALTER TABLE IF EXISTS t DROP IF EXISTS (a, b) USING TIMESTAMP 1234",
        A.AlterTableDropColumns(Q("t"), True, ("a", "b"), True, 1234),
    ),
    ("ALTER TABLE t DROP compact", A.AlterTableDropColumns(Q("t"), False, ("compact",))),
    ("ALTER TABLE t DROP COMPACT STORAGE", A.AlterTableDropCompactStorage(Q("t"), False)),
    (
        "ALTER TABLE t RENAME IF EXISTS a TO b AND c TO d",
        A.AlterTableRenameColumns(Q("t"), False, (("a", "b"), ("c", "d")), True),
    ),
    (
        "ALTER TABLE t WITH comment = 'x' AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}",
        A.AlterTableOptions(
            Q("t"), False, {"comment": "x", "caching": {"keys": "ALL", "rows_per_partition": "NONE"}}
        ),
    ),
    ("DROP TABLE t", A.DropTableStatement(Q("t"))),
    ("DROP COLUMNFAMILY IF EXISTS ks.t", A.DropTableStatement(Q("t", "ks"), True)),
    # -- types --
    (
        "CREATE TYPE IF NOT EXISTS ks.addr (street text, zip int, tags frozen<set<text>>,)",
        A.CreateTypeStatement(
            Q("addr", "ks"),
            (
                A.FieldDefinition("street", T("text")),
                A.FieldDefinition("zip", T("int")),
                A.FieldDefinition("tags", coll("set", T("text"), frozen=True)),
            ),
            True,
        ),
    ),
    ("CREATE TYPE key (a int)", A.CreateTypeStatement(Q("key"), (A.FieldDefinition("a", T("int")),))),
    ("ALTER TYPE addr ALTER zip TYPE bigint", A.AlterTypeAlterField(Q("addr"), False, "zip", T("bigint"))),
    (
        "ALTER TYPE IF EXISTS ks.addr ADD IF NOT EXISTS phone text",
        A.AlterTypeAddField(Q("addr", "ks"), True, "phone", T("text"), True),
    ),
    (
        "ALTER TYPE addr RENAME IF EXISTS a TO b AND c TO d",
        A.AlterTypeRenameFields(Q("addr"), False, (("a", "b"), ("c", "d")), True),
    ),
    ("DROP TYPE IF EXISTS ks.addr", A.DropTypeStatement(Q("addr", "ks"), True)),
    # -- indexes --
    (
        "CREATE INDEX ON t (v)",
        A.CreateIndexStatement(Q("t"), None, (A.IndexTarget("v"),)),
    ),
    (
        "CREATE INDEX IF NOT EXISTS idx ON ks.t (keys(m))",
        A.CreateIndexStatement(Q("t", "ks"), "idx", (A.IndexTarget("m", A.IndexTargetType.KEYS),), if_not_exists=True),
    ),
    (
        "CREATE INDEX ON t (values(l), entries(m), full(f), values, keys)",
        A.CreateIndexStatement(
            Q("t"),
            None,
            (
                A.IndexTarget("l", A.IndexTargetType.VALUES),
                A.IndexTarget("m", A.IndexTargetType.KEYS_AND_VALUES),
                A.IndexTarget("f", A.IndexTargetType.FULL),
                A.IndexTarget("values"),
                A.IndexTarget("keys"),
            ),
        ),
    ),
    (
        "CREATE CUSTOM INDEX \"Idx\" ON t (v) USING 'StorageAttachedIndex' WITH OPTIONS = {'case_sensitive': 'false'}",
        A.CreateIndexStatement(
            Q("t"),
            "Idx",
            (A.IndexTarget("v"),),
            True,
            "StorageAttachedIndex",
            {"options": {"case_sensitive": "false"}},
        ),
    ),
    (
        "CREATE INDEX ON t (v) USING 'sai'",
        A.CreateIndexStatement(Q("t"), None, (A.IndexTarget("v"),), False, "sai"),
    ),
    ("CREATE INDEX ON t ()", A.CreateIndexStatement(Q("t"), None, ())),
    ("DROP INDEX idx", A.DropIndexStatement(Q("idx"))),
    ("DROP INDEX IF EXISTS ks.idx", A.DropIndexStatement(Q("idx", "ks"), True)),
    # -- materialized views --
    (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS ks.v AS SELECT a, b, c FROM ks.t "
        "WHERE a IS NOT NULL AND b IS NOT NULL AND c > 3 PRIMARY KEY ((b, a), c) "
        "WITH CLUSTERING ORDER BY (c DESC) AND comment = 'view'",
        A.CreateViewStatement(
            Q("v", "ks"),
            Q("t", "ks"),
            (sel(col("a")), sel(col("b")), sel(col("c"))),
            (rel("a", Op.IS_NOT, A.NULL), rel("b", Op.IS_NOT, A.NULL), rel("c", Op.GT, I("3"))),
            "a IS NOT NULL AND b IS NOT NULL AND c > 3",
            ("b", "a"),
            ("c",),
            (A.ClusteringOrder("c", False),),
            {"comment": "view"},
            True,
        ),
    ),
    (
        "CREATE MATERIALIZED VIEW v AS SELECT * FROM t PRIMARY KEY (k)",
        A.CreateViewStatement(Q("v"), Q("t"), (), (), "", ("k",)),
    ),
    ("ALTER MATERIALIZED VIEW v WITH comment = 'x'", A.AlterViewStatement(Q("v"), {"comment": "x"})),
    ("DROP MATERIALIZED VIEW IF EXISTS ks.v", A.DropViewStatement(Q("v", "ks"), True)),
    # -- functions and aggregates --
    (
        "CREATE OR REPLACE FUNCTION ks.plus (a int, b int) CALLED ON NULL INPUT RETURNS int LANGUAGE java "
        "AS $$ return a + b; $$",
        A.CreateFunctionStatement(
            Q("plus", "ks"), ("a", "b"), (T("int"), T("int")), T("int"), True, "java", " return a + b; ", True
        ),
    ),
    (
        "CREATE FUNCTION IF NOT EXISTS f() RETURNS NULL ON NULL INPUT RETURNS text LANGUAGE JavaScript AS 'x'",
        A.CreateFunctionStatement(Q("f"), (), (), T("text"), False, "javascript", "x", False, True),
    ),
    ("DROP FUNCTION f", A.DropFunctionStatement(Q("f"))),
    ("DROP FUNCTION IF EXISTS ks.f(int, list<text>)", A.DropFunctionStatement(Q("f", "ks"), (T("int"), coll("list", T("text"))), True)),
    ("DROP FUNCTION f()", A.DropFunctionStatement(Q("f"), ())),
    (
        "CREATE AGGREGATE ks.avg2(int) SFUNC st STYPE tuple<int, bigint> FINALFUNC fin INITCOND (0, 0)",
        A.CreateAggregateStatement(
            Q("avg2", "ks"),
            (T("int"),),
            "st",
            A.TupleType((T("int"), T("bigint"))),
            "fin",
            A.TupleLiteral((I("0"), I("0"))),
        ),
    ),
    (
        "CREATE OR REPLACE AGGREGATE IF NOT EXISTS agg() SFUNC st STYPE int",
        A.CreateAggregateStatement(Q("agg"), (), "st", T("int"), None, None, True, True),
    ),
    ("DROP AGGREGATE IF EXISTS ks.agg(int)", A.DropAggregateStatement(Q("agg", "ks"), (T("int"),), True)),
    # -- triggers --
    (
        "CREATE TRIGGER IF NOT EXISTS trig ON ks.t USING 'org.example.Trigger'",
        A.CreateTriggerStatement("trig", Q("t", "ks"), "org.example.Trigger", True),
    ),
    ("DROP TRIGGER IF EXISTS trig ON t", A.DropTriggerStatement("trig", Q("t"), True)),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[t[:80] for t, _ in GOLDEN])
def test_golden(text: str, expected: A.Statement) -> None:
    assert parse_statement(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CREATE KEYSPACE ks WITH a = 1 AND a = 2", "Multiple definition for property a"),
        ("CREATE KEYSPACE ks WITH r = {'a': 1, 'a': 2}", "Multiple definition for property a"),
        ("CREATE KEYSPACE ks WITH r = {'a': ?}", "Invalid property value: ? for property: 'a' (bind variables are not supported in DDL queries)"),
        ("CREATE KEYSPACE ks WITH r = {? : 'a'}", "Invalid property name: ? (bind variables are not supported in DDL queries)"),
        ("CREATE KEYSPACE ks WITH r = {'a': [1]}", "Invalid property value: [1] for property: 'a'"),
        ("CREATE KEYSPACE ? WITH a = 1", "Bind variables cannot be used for keyspace names"),
        ("CREATE TABLE ks.? (k int PRIMARY KEY)", "Bind variables cannot be used for table names"),
        ("DROP INDEX ?", "Bind variables cannot be used for index names"),
        ("CREATE TABLE t (k frozen<int> PRIMARY KEY)", "frozen<> is only allowed on collections, tuples, and user-defined types (got int)"),
        ("CREATE TYPE enum (a int)", "Invalid (reserved) user type name enum"),
        ("ALTER TABLE t DROP v USING TIMESTAMP 9223372036854775808", "Invalid timestamp 9223372036854775808: out of range"),
        ("CREATE TABLE t (k vector<int, 2147483648> PRIMARY KEY)", "Invalid vector dimension 2147483648"),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT * FROM t PRIMARY KEY (k) WITH COMPACT STORAGE",
            "COMPACT STORAGE tables are not allowed starting with version 4.0",
        ),
    ],
)
def test_ddl_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement(text)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "CREATE TABLE ks.t (k int PRIMARY KEY, v int, PRIMARY KEY (v))",
            "Multiple PRIMARY KEY specified for table 'ks.t' (exactly one required)",
        ),
        ("CREATE TABLE t (k int PRIMARY KEY, k text)", "Duplicate column 'k' declaration for table 't'"),
        (
            "CREATE TABLE t (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c ASC, c DESC)",
            "Duplicate column 'c' in CLUSTERING ORDER BY clause for table 't'",
        ),
    ],
)
def test_ddl_invalid_requests(text: str, message: str) -> None:
    with pytest.raises(CqlInvalidRequest) as caught:
        parse_statement(text)
    assert caught.value.message == message


def test_function_body_is_kept_verbatim() -> None:
    body = "\n  if (x == null) return 'a''b';\n  return x;\n"
    statement = parse_statement(
        f"CREATE FUNCTION f(x text) CALLED ON NULL INPUT RETURNS text LANGUAGE java AS $${body}$$"
    )
    assert isinstance(statement, A.CreateFunctionStatement)
    assert statement.body == body


def test_view_where_text_is_raw_slice() -> None:
    statement = parse_statement(
        "CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE  k IS NOT NULL\n AND \"C\" > 'x''y' PRIMARY KEY (k, \"C\")"
    )
    assert isinstance(statement, A.CreateViewStatement)
    assert statement.where_text == "k IS NOT NULL\n AND \"C\" > 'x''y'"
    assert statement.clustering_columns == ("C",)


def test_property_value_cannot_be_a_plain_identifier() -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement("ALTER TABLE t WITH read_repair = BLOCKING")
    assert caught.value.message.startswith("line 1:33 no viable alternative at input 'BLOCKING'")


def test_property_values_keep_constant_text() -> None:
    statement = parse_statement(
        "ALTER TABLE t WITH speculative_retry = '99PERCENTILE' AND read_repair = 'BLOCKING' AND x = -1.5 AND y = 1h AND z = KEYS"
    )
    assert isinstance(statement, A.AlterTableOptions)
    assert statement.properties == {"speculative_retry": "99PERCENTILE", "read_repair": "BLOCKING", "x": "-1.5", "y": "1h", "z": "KEYS"}
