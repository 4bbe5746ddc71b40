"""Conformance of prepared statements and protocol options with Cassandra 5.0 through the real driver:
bind marker names and types in PREPARED metadata, named and positional markers, UNSET, the v5 per-request
keyspace, paging that never repeats or skips a row, syntax errors, transparent re-preparation after
UNPREPARED, and the schema version moving with DDL.

Sources: cql3/statements/SelectStatement (the "[limit]" and "[per_partition_limit]" receivers),
cql3/Attributes ("[ttl]", "[timestamp]"), cql3/restrictions (the "in(c)" receiver of "IN ?",
"partition key token" for token(k) > ?), cql3/QueryProcessor, native_protocol_v5.spec sections 4.1.4/4.1.5
(the keyspace flag of QUERY and PREPARE) and 8 (paging).

Must NOT: hold a case where Ferrosa still differs from Cassandra (reported to the lead instead). The node
restart for the UNPREPARED case is the module's last test: nothing after it may rely on prepared state."""

from __future__ import annotations

import logging
import re
import time

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import NoHostAvailable
from cassandra.protocol import SyntaxException
from cassandra.query import UNSET_VALUE, SimpleStatement

NODE_HOST = "127.0.0.54"
KS = "conf_prep"
PARTITIONS = 25
HOST_UP_TIMEOUT = 30.0  # seconds for the driver to see the restarted node up again


def server_message(exc: BaseException) -> str:
    found = re.search(r'message="(.*)"', str(exc), re.S)
    return found.group(1) if found else str(exc)


@pytest.fixture(scope="module")
def cluster(node):
    from cassandra.cluster import Cluster
    made = Cluster([node.host], port=node.port, protocol_version=5)
    session = made.connect()
    session.execute(f"CREATE KEYSPACE {KS} WITH replication = {{'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    for table in ("t", "pg"):  # t for statements that write, pg only read (paging)
        session.execute(f"CREATE TABLE {KS}.{table} (k int, c int, v text, st int static, "
                        "PRIMARY KEY (k, c))")
        insert = session.prepare(f"INSERT INTO {KS}.{table} (k, c, v) VALUES (?, ?, ?)")
        for k in range(PARTITIONS):
            for c in range(k % 6):
                session.execute(insert, (k, c, f"{k}:{c}"))
        for k in range(PARTITIONS, PARTITIONS + 4):  # static-only partitions
            session.execute(f"UPDATE {KS}.{table} SET st = %s WHERE k = %s", (k, k))
    yield made
    made.shutdown()


@pytest.fixture(scope="module")
def s(cluster):
    return cluster.connect()


# ---------------------------------------------------------------------------------------------------
# Bind markers.
# ---------------------------------------------------------------------------------------------------

MARKERS = [
    (f"INSERT INTO {KS}.t (k, c, v) VALUES (:k, :c, :v)", ["k", "c", "v"], ["int", "int", "varchar"]),
    (f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)", ["k", "c", "v"], ["int", "int", "varchar"]),
    (f"SELECT * FROM {KS}.t WHERE k = :key AND c IN (:c1, :c2)", ["key", "c1", "c2"], ["int", "int", "int"]),
    (f"SELECT * FROM {KS}.t WHERE k = ? AND c > ? AND c < ?", ["k", "c", "c"], ["int", "int", "int"]),
    (f"SELECT * FROM {KS}.t WHERE k = ? LIMIT ?", ["k", "[limit]"], ["int", "int"]),
    (f"SELECT * FROM {KS}.t PER PARTITION LIMIT ?", ["[per_partition_limit]"], ["int"]),
    (f"UPDATE {KS}.t USING TTL ? AND TIMESTAMP ? SET v = ? WHERE k = ? AND c = ?",
     ["[ttl]", "[timestamp]", "v", "k", "c"], ["int", "bigint", "varchar", "int", "int"]),
    (f"SELECT * FROM {KS}.t WHERE k IN ?", ["in(k)"], ["list<int>"]),
    (f"SELECT * FROM {KS}.t WHERE k = ? AND c IN ?", ["k", "in(c)"], ["int", "list<int>"]),
    (f"SELECT * FROM {KS}.t WHERE token(k) > ?", ["partition key token"], ["bigint"]),
    (f"DELETE FROM {KS}.t USING TIMESTAMP ? WHERE k = ? AND c = ?", ["[timestamp]", "k", "c"],
     ["bigint", "int", "int"]),
]


def cql_type_name(cql_type) -> str:
    return cql_type.cql_parameterized_type()


@pytest.mark.parametrize("query,names,types", MARKERS, ids=[q[:50] for q, _, _ in MARKERS])
def test_bind_marker_metadata(s, query, names, types):
    prepared = s.prepare(query)
    assert [m.name for m in prepared.column_metadata] == names
    assert [cql_type_name(m.type) for m in prepared.column_metadata] == types
    assert {m.keyspace_name for m in prepared.column_metadata} == {KS}
    assert {m.table_name for m in prepared.column_metadata} == {"t"}


def test_routing_key_indexes_follow_the_partition_key(s):
    assert s.prepare(f"INSERT INTO {KS}.t (v, c, k) VALUES (?, ?, ?)").routing_key_indexes == [2]
    assert s.prepare(f"SELECT * FROM {KS}.t WHERE c = ? AND k = ?").routing_key_indexes == [1]


def test_named_and_positional_values(s):
    named = s.prepare(f"INSERT INTO {KS}.t (k, c, v) VALUES (:k, :c, :v)")
    s.execute(named, {"v": "named", "c": 100, "k": 1})
    positional = s.prepare(f"SELECT v FROM {KS}.t WHERE k = ? AND c = ?")
    assert s.execute(positional, (1, 100)).one().v == "named"
    repeated = s.prepare(f"SELECT c FROM {KS}.t WHERE k = :k AND c >= :lo AND c <= :hi")
    assert [r.c for r in s.execute(repeated, {"k": 5, "lo": 1, "hi": 3})] == [1, 2, 3]


def test_markers_inside_collection_tuple_and_udt_literals(s):
    # Lists/Sets/Maps.valueSpecOf ("value(c)"), Maps.keySpecOf ("key(c)"), Lists.indexSpecOf ("idx(c)").
    s.execute(f"CREATE TYPE {KS}.addr (street text, zip int)")
    s.execute(f"CREATE TABLE {KS}.lit (k int PRIMARY KEY, l list<int>, st set<text>, m map<text, int>, "
              "u frozen<addr>, tup tuple<int, text>)")
    cases = [
        ("INSERT INTO {t} (k, l) VALUES (?, [?, ?])", ["k", "value(l)", "value(l)"], (1, 5, 6)),
        ("UPDATE {t} SET m = m + {{?: ?}} WHERE k = ?", ["key(m)", "value(m)", "k"], ("a", 1, 1)),
        ("UPDATE {t} SET st = st + {{?, ?}} WHERE k = ?", ["value(st)", "value(st)", "k"], ("y", "x", 1)),
        ("UPDATE {t} SET m[?] = ? WHERE k = ?", ["key(m)", "value(m)", "k"], ("b", 2, 1)),
        ("UPDATE {t} SET l[?] = ? WHERE k = ?", ["idx(l)", "value(l)", "k"], (0, 50, 1)),
        ("UPDATE {t} SET u = {{street: ?, zip: ?}}, tup = (?, ?) WHERE k = ?", None, ("s", 9, 3, "z", 1)),
    ]
    for query, names, values in cases:
        prepared = s.prepare(query.format(t=f"{KS}.lit"))
        if names is not None:
            assert [m.name for m in prepared.column_metadata] == names
        s.execute(prepared, values)
    row = s.execute(f"SELECT l, st, m, u, tup FROM {KS}.lit WHERE k = 1").one()
    assert row.l == [50, 6] and sorted(row.st) == ["x", "y"] and dict(row.m) == {"a": 1, "b": 2}
    assert (row.u.street, row.u.zip, row.tup) == ("s", 9, (3, "z"))
    relation = s.prepare(f"SELECT c FROM {KS}.t WHERE k = ? AND (c) > (?)")
    assert [r.c for r in s.execute(relation, (5, 2))] == [3, 4]


def test_result_metadata_of_a_prepared_select(s):
    prepared = s.prepare(f"SELECT k, c, v, st, writetime(v), ttl(v) FROM {KS}.t WHERE k = ?")
    # The driver keeps result metadata as (keyspace, table, name, type) tuples.
    assert [(ks, table) for ks, table, _, _ in prepared.result_metadata] == [(KS, "t")] * 6
    assert [name for _, _, name, _ in prepared.result_metadata] == [
        "k", "c", "v", "st", "writetime(v)", "ttl(v)"]
    assert [cql_type_name(kind) for _, _, _, kind in prepared.result_metadata] == [
        "int", "int", "varchar", "int", "bigint", "int"]


def test_unset_markers(s):
    insert = s.prepare(f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)")
    s.execute(insert, (2, 200, "kept"))
    s.execute(insert, (2, 200, UNSET_VALUE))
    assert s.execute(f"SELECT v FROM {KS}.t WHERE k = 2 AND c = 200").one().v == "kept"
    select = s.prepare(f"SELECT c FROM {KS}.t WHERE k = ? AND c = ?")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(select, (2, UNSET_VALUE))
    assert server_message(caught.value) == "Invalid unset value for column c"


# ---------------------------------------------------------------------------------------------------
# The v5 keyspace option of QUERY and PREPARE.
# ---------------------------------------------------------------------------------------------------

def test_keyspace_of_a_query(s):
    assert s.keyspace is None
    rows = s.execute(SimpleStatement("SELECT v FROM t WHERE k = 1 AND c = 100", keyspace=KS))
    assert [r.v for r in rows] == ["named"]
    with pytest.raises(InvalidRequest) as caught:
        s.execute("SELECT v FROM t WHERE k = 1")
    assert server_message(caught.value) == ("No keyspace has been specified. USE a keyspace, or explicitly "
                                            "specify keyspace.tablename")


def test_keyspace_of_a_prepare(s):
    prepared = s.prepare("SELECT v FROM t WHERE k = ? AND c = ?", keyspace=KS)
    assert prepared.keyspace == KS
    assert [r.v for r in s.execute(prepared, (1, 100))] == ["named"]
    with pytest.raises(InvalidRequest):
        s.prepare("SELECT v FROM t WHERE k = ?")


def test_use_sets_the_session_keyspace(cluster):
    session = cluster.connect(KS)
    assert session.execute("SELECT v FROM t WHERE k = 1 AND c = 100").one().v == "named"
    prepared = session.prepare("SELECT v FROM t WHERE k = ? AND c = ?")
    assert session.execute(prepared, (1, 100)).one().v == "named"
    session.shutdown()


# ---------------------------------------------------------------------------------------------------
# Paging (native_protocol_v5.spec section 8): any page size gives the unpaged result.
# ---------------------------------------------------------------------------------------------------

PAGED = [
    f"SELECT k, c, v, st FROM {KS}.pg",
    f"SELECT k, c, v FROM {KS}.pg WHERE k = 5",
    f"SELECT k, c FROM {KS}.pg WHERE k = 5 ORDER BY c DESC",
    f"SELECT k, c FROM {KS}.pg WHERE k = 5 AND c >= 1 AND c < 4",
    f"SELECT k, c FROM {KS}.pg WHERE k IN (1, 3, 5, 11, 17)",
    f"SELECT DISTINCT k, st FROM {KS}.pg",
    f"SELECT k, c FROM {KS}.pg WHERE c > 2 ALLOW FILTERING",
    f"SELECT k, c FROM {KS}.pg PER PARTITION LIMIT 2",
    f"SELECT k, c FROM {KS}.pg WHERE k IN (5, 11, 17) LIMIT 7",
    f"SELECT k, count(*) FROM {KS}.pg WHERE k IN (5, 11, 17) GROUP BY k",
]

PAGE_SIZES = (1, 2, 3, 7, 50)


@pytest.mark.parametrize("query", PAGED, ids=[q[len("SELECT "):60] for q in PAGED])
def test_every_page_size_gives_the_unpaged_result(s, query):
    full = [tuple(r) for r in s.execute(SimpleStatement(query, fetch_size=None))]
    assert full
    for size in PAGE_SIZES:
        assert [tuple(r) for r in s.execute(SimpleStatement(query, fetch_size=size))] == full, size


def test_full_scan_pages_cover_every_row_once(s):
    expected = {(k, c) for k in range(PARTITIONS) for c in range(k % 6)}
    expected |= {(k, None) for k in range(PARTITIONS, PARTITIONS + 4)}
    for size in (1, 4, 1000):
        got = [(r.k, r.c) for r in s.execute(SimpleStatement(f"SELECT k, c, st FROM {KS}.pg", fetch_size=size))]
        assert len(got) == len(set(got)) and set(got) == expected


def test_limit_holds_across_pages(s):
    for size in (1, 3, 5):
        got = list(s.execute(SimpleStatement(f"SELECT k, c FROM {KS}.pg LIMIT 11", fetch_size=size)))
        assert len(got) == 11


def test_prepared_paging_and_resuming_from_a_paging_state(s):
    prepared = s.prepare(f"SELECT k, c FROM {KS}.pg WHERE k IN ?")
    prepared.fetch_size = 4
    keys = [5, 11, 17, 23]
    full = [tuple(r) for r in s.execute(SimpleStatement(f"SELECT k, c FROM {KS}.pg WHERE k IN (5, 11, 17, 23)",
                                                        fetch_size=None))]
    first = s.execute(prepared, (keys,))
    page_one = [tuple(r) for r in first.current_rows]
    assert len(page_one) == 4 and first.has_more_pages
    resumed = s.execute(prepared, (keys,), paging_state=first.paging_state)
    rest = [tuple(r) for r in resumed]
    assert page_one + rest == full


def test_prepared_writes_to_one_and_to_several_partitions(s):
    # One partition takes the front's short path (no coroutine); IN over partition keys spans
    # shards and goes through execute(), with the mutations built once (one timestamp).
    one = s.prepare(f"UPDATE {KS}.t SET v = ? WHERE k = ? AND c = ?")
    several = s.prepare(f"UPDATE {KS}.t SET v = ? WHERE k IN ? AND c = ?")
    s.execute(one, ("single", 900, 1))
    s.execute(several, ("fanned", list(range(901, 921)), 2))
    rows = s.execute(f"SELECT k, c, v, WRITETIME(v) AS w FROM {KS}.t WHERE k IN ({', '.join(map(str, range(900, 921)))})")
    got = {(r.k, r.c): (r.v, r.w) for r in rows}
    assert got[(900, 1)][0] == "single"
    fanned = [got[(k, 2)] for k in range(901, 921)]
    assert {v for v, _w in fanned} == {"fanned"}
    assert len({w for _v, w in fanned}) == 1  # one statement, one timestamp
    bad = s.prepare(f"UPDATE {KS}.t SET v = ? WHERE k = ? AND c = ?")
    with pytest.raises(Exception, match="Invalid null value|null"):
        s.execute(bad, ("x", None, 1))


def test_prepared_point_reads(s):
    # A full primary key reads at most one row: the front answers it from the shard's reply
    # (CompiledSelect.start/finish); paging, LIMIT and IN take execute() and must agree.
    point = s.prepare(f"SELECT k, c, v FROM {KS}.pg WHERE k = ? AND c = ?")
    point.fetch_size = 1
    found = s.execute(point, (5, 3))
    assert [tuple(r) for r in found.current_rows] == [(5, 3, "5:3")]
    assert not found.has_more_pages
    assert list(s.execute(point, (5, 5))) == []  # k=5 has c in 0..4
    assert list(s.execute(point, (PARTITIONS, 0))) == []  # a static-only partition has no row c=0
    limited = s.prepare(f"SELECT k, c, v FROM {KS}.pg WHERE k = ? AND c = ? LIMIT 1")
    assert [tuple(r) for r in s.execute(limited, (5, 3))] == [(5, 3, "5:3")]
    many = s.prepare(f"SELECT k, c FROM {KS}.pg WHERE k IN ? AND c = ?")
    assert sorted(tuple(r) for r in s.execute(many, ([5, 11, 3], 2))) == [(3, 2), (5, 2), (11, 2)]
    with pytest.raises(Exception, match="null"):
        s.execute(point, (None, 1))


# ---------------------------------------------------------------------------------------------------
# Syntax errors carry ANTLR's "line L:C" position.
# ---------------------------------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ("SELEC * FROM conf_prep.t", "line 1:0 no viable alternative at input 'SELEC' ([SELEC]...)"),
    ("BEGIN BATCH SELECT * FROM conf_prep.t; APPLY BATCH",
     "line 1:12 no viable alternative at input 'SELECT' (BEGIN BATCH [SELECT]...)"),
]


@pytest.mark.parametrize("statement,message", SYNTAX_ERRORS, ids=[m[:30] for _, m in SYNTAX_ERRORS])
def test_syntax_errors(s, statement, message):
    with pytest.raises(SyntaxException) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


@pytest.mark.parametrize("statement", [
    f"SELECT * FROM {KS}.t WHERE",
    f"INSERT INTO {KS}.t (k, c, v) VALUES (1, 2, 'unterminated)",
    f"UPDATE {KS}.t SET WHERE k = 1",
    f"CREATE TABLE {KS}.x (k int PRIMARY KEY v int)",
])
def test_syntax_errors_name_a_position(s, statement):
    with pytest.raises(SyntaxException) as caught:
        s.execute(statement)
    assert re.match(r"line \d+:-?\d+ ", server_message(caught.value))
    with pytest.raises(SyntaxException):
        s.prepare(statement)


# ---------------------------------------------------------------------------------------------------
# Unknown names.
# ---------------------------------------------------------------------------------------------------

def test_unknown_table_and_column(s):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"SELECT * FROM {KS}.nope")
    assert server_message(caught.value) == "table nope does not exist"
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"SELECT nope FROM {KS}.t")
    assert server_message(caught.value) == f"Undefined column name nope in table {KS}.t"


# ---------------------------------------------------------------------------------------------------
# Schema version.
# ---------------------------------------------------------------------------------------------------

def test_schema_version_moves_with_ddl(s):
    before = s.execute("SELECT schema_version FROM system.local").one().schema_version
    assert s.execute("SELECT schema_version FROM system.local").one().schema_version == before
    s.execute(f"CREATE TABLE {KS}.sv (k int PRIMARY KEY)")
    after_create = s.execute("SELECT schema_version FROM system.local").one().schema_version
    assert after_create != before
    s.execute(f"ALTER TABLE {KS}.sv ADD v int")
    after_alter = s.execute("SELECT schema_version FROM system.local").one().schema_version
    assert after_alter not in (before, after_create)
    s.execute(f"INSERT INTO {KS}.sv (k, v) VALUES (1, 1)")  # data does not move it
    assert s.execute("SELECT schema_version FROM system.local").one().schema_version == after_alter


def test_prepared_statement_sees_an_altered_table(s):
    s.execute(f"CREATE TABLE {KS}.grow (k int PRIMARY KEY, a int)")
    prepared = s.prepare(f"SELECT * FROM {KS}.grow WHERE k = ?")
    s.execute(f"INSERT INTO {KS}.grow (k, a) VALUES (1, 1)")
    s.execute(f"ALTER TABLE {KS}.grow ADD b text")
    s.execute(f"UPDATE {KS}.grow SET b = 'x' WHERE k = 1")
    result = s.execute(prepared, (1,))
    assert result.column_names == ["k", "a", "b"] and tuple(result.one()) == (1, 1, "x")


# ---------------------------------------------------------------------------------------------------
# UNPREPARED: a restarted node has forgotten the statement; the driver re-prepares transparently.
# Keep this test last in the module.
# ---------------------------------------------------------------------------------------------------

def test_driver_reprepares_after_restart(node, caplog):
    from cassandra.cluster import Cluster
    fresh = Cluster([node.host], port=node.port, protocol_version=5, reprepare_on_up=False,
                    prepare_on_all_hosts=False)
    session = fresh.connect()
    prepared = session.prepare(f"SELECT v FROM {KS}.t WHERE k = ? AND c = ?")
    assert session.execute(prepared, (5, 1)).one().v == "5:1"
    caplog.set_level(logging.DEBUG, logger="cassandra.cluster")
    node.stop()
    node.start()
    deadline = time.monotonic() + HOST_UP_TIMEOUT
    while True:  # only reconnection may fail: UNPREPARED itself must never reach the application
        try:
            row = session.execute(prepared, (5, 1)).one()
            break
        except NoHostAvailable:
            assert time.monotonic() < deadline, "the driver never reconnected"
            time.sleep(0.2)
    assert row.v == "5:1"
    assert "Re-preparing unrecognized prepared statement" in caplog.text  # UNPREPARED was answered
    for _ in range(3):
        assert session.execute(prepared, (5, 1)).one().v == "5:1"
    fresh.shutdown()
