"""SELECT semantics through the driver, table-driven: filtering, DISTINCT, PER PARTITION LIMIT,
GROUP BY, token ranges, tuple relations, element selection, paging over all of them."""

from __future__ import annotations

import struct

import pytest
from cassandra import InvalidRequest
from cassandra.cmurmur3 import murmur3
from cassandra.query import SimpleStatement

NODE_HOST = "127.0.0.18"
KEYS = range(6)
CLUSTERINGS = range(4)


def tok(k: int) -> int:
    return murmur3(struct.pack(">i", k))


BY_TOKEN = sorted(KEYS, key=tok)


@pytest.fixture(scope="module")
def s(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    session.execute("CREATE KEYSPACE sel WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    session.execute("CREATE TABLE sel.t (k int, c int, v int, st int static, "
                    "m map<text, int>, tags set<text>, PRIMARY KEY (k, c))")
    session.execute("CREATE TABLE sel.d (k int, c1 int, c2 int, v int, "
                    "PRIMARY KEY (k, c1, c2)) WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC)")
    insert = session.prepare("INSERT INTO sel.t (k, c, v, m, tags) VALUES (?, ?, ?, ?, ?)")
    for k in KEYS:
        session.execute("UPDATE sel.t SET st = %s WHERE k = %s", (k * 100, k))
        for c in CLUSTERINGS:
            session.execute(insert, (k, c, k * 10 + c, {"a": c}, {f"t{c % 2}"}))
    for c1 in range(3):
        for c2 in range(3):
            session.execute("INSERT INTO sel.d (k, c1, c2, v) VALUES (0, %s, %s, %s)",
                            (c1, c2, c1 * 3 + c2))
    yield session
    cluster.shutdown()


CASES = [
    ("SELECT k, c, v FROM sel.t WHERE v > 42 ALLOW FILTERING",
     [(k, c, k * 10 + c) for k in BY_TOKEN for c in CLUSTERINGS if k * 10 + c > 42]),
    ("SELECT k, c FROM sel.t WHERE k = 2 AND v >= 22 ALLOW FILTERING", [(2, 2), (2, 3)]),
    ("SELECT k, c FROM sel.t WHERE c = 3 ALLOW FILTERING", [(k, 3) for k in BY_TOKEN]),
    ("SELECT k, c FROM sel.t WHERE k = 1 AND c IN (0, 3)", [(1, 0), (1, 3)]),
    ("SELECT DISTINCT k, st FROM sel.t", [(k, k * 100) for k in BY_TOKEN]),
    ("SELECT DISTINCT k FROM sel.t WHERE k IN (3, 1)", [(k,) for k in sorted((1, 3), key=tok)]),
    ("SELECT k, c FROM sel.t PER PARTITION LIMIT 1", [(k, 0) for k in BY_TOKEN]),
    ("SELECT k, c FROM sel.t WHERE k = 4 PER PARTITION LIMIT 2 ", [(4, 0), (4, 1)]),
    ("SELECT k, c FROM sel.t PER PARTITION LIMIT 2 LIMIT 3",
     [(BY_TOKEN[0], 0), (BY_TOKEN[0], 1), (BY_TOKEN[1], 0)]),
    ("SELECT k, count(*) FROM sel.t GROUP BY k", [(k, 4) for k in BY_TOKEN]),
    ("SELECT k, c, count(*) FROM sel.t WHERE k = 0 GROUP BY k, c",
     [(0, c, 1) for c in CLUSTERINGS]),
    ("SELECT count(*) FROM sel.t WHERE c = 2 ALLOW FILTERING", [(6,)]),
    ("SELECT count(*) FROM sel.t WHERE v > 1000 ALLOW FILTERING", [(0,)]),
    ("SELECT k FROM sel.t GROUP BY k LIMIT 2", [(k,) for k in BY_TOKEN[:2]]),
    ("SELECT k, c, m['a'] FROM sel.t WHERE m CONTAINS KEY 'a' AND c = 3 ALLOW FILTERING",
     [(k, 3, 3) for k in BY_TOKEN]),
    ("SELECT k, c FROM sel.t WHERE tags CONTAINS 't1' AND k = 5 ALLOW FILTERING",
     [(5, 1), (5, 3)]),
    ("SELECT k, c FROM sel.t WHERE m['a'] = 2 ALLOW FILTERING", [(k, 2) for k in BY_TOKEN]),
    (f"SELECT k FROM sel.t WHERE token(k) > {tok(BY_TOKEN[3])} PER PARTITION LIMIT 1",
     [(k,) for k in BY_TOKEN[4:]]),
    (f"SELECT k FROM sel.t WHERE token(k) >= {tok(BY_TOKEN[1])} AND token(k) <= "
     f"{tok(BY_TOKEN[2])} PER PARTITION LIMIT 1", [(BY_TOKEN[1],), (BY_TOKEN[2],)]),
    ("SELECT k, c FROM sel.t WHERE k = 1 AND (c) > (1)", [(1, 2), (1, 3)]),
    # Tuple relations compare values, whatever the clustering order (c2 is DESC).
    ("SELECT c1, c2 FROM sel.d WHERE k = 0 AND (c1, c2) > (1, 1)",
     [(1, 2), (2, 2), (2, 1), (2, 0)]),
    ("SELECT c1, c2 FROM sel.d WHERE k = 0 AND (c1, c2) IN ((0, 1), (2, 2))", [(0, 1), (2, 2)]),
    ("SELECT c1, c2 FROM sel.d WHERE k = 0 AND c2 = 1 ALLOW FILTERING",
     [(0, 1), (1, 1), (2, 1)]),
    # Aggregates (with Cassandra's integer avg), GROUP BY taking the first row's other columns.
    ("SELECT k, c, sum(v), min(v), max(v), avg(v), count(v) FROM sel.t WHERE k = 1 GROUP BY k",
     [(1, 0, 46, 10, 13, 11, 4)]),
    ("SELECT max(v), min(c) FROM sel.t", [(53, 0)]),
    ("SELECT k, sum(v) FROM sel.t WHERE k IN (2, 3) GROUP BY k",
     [(k, sum(k * 10 + c for c in CLUSTERINGS)) for k in sorted((2, 3), key=tok)]),
    ("SELECT CAST(v AS text), CAST(v AS double) FROM sel.t WHERE k = 1 AND c = 2",
     [("12", 12.0)]),
    ("SELECT token(k) FROM sel.t WHERE k = 3 LIMIT 1", [(tok(3),)]),
    ("SELECT blobAsInt(intAsBlob(v)), abs(-v) FROM sel.t WHERE k = 0 AND c = 1", None),
    ("SELECT blobAsInt(intAsBlob(v)) FROM sel.t WHERE k = 0 AND c = 1", [(1,)]),
    ("SELECT map_keys(m), collection_count(tags) FROM sel.t WHERE k = 0 AND c = 0",
     [({"a"}, 1)]),
]


CASES = [case for case in CASES if case[1] is not None]


@pytest.mark.parametrize("query,expected", CASES)
def test_select(s, query, expected):
    assert [tuple(r) for r in s.execute(query)] == expected


@pytest.mark.parametrize("query,expected", CASES)
def test_select_pages_return_the_same_rows(s, query, expected):
    got = [tuple(r) for r in s.execute(SimpleStatement(query, fetch_size=2))]
    assert got == expected


ERRORS = [
    ("SELECT k FROM sel.t WHERE v = 1", "ALLOW FILTERING"),
    ("SELECT k FROM sel.t WHERE c = 1", "ALLOW FILTERING"),
    ("SELECT DISTINCT k, v FROM sel.t", "only request partition key columns and/or static"),
    ("SELECT DISTINCT st FROM sel.t", "must request all the partition key columns"),
    ("SELECT k FROM sel.t GROUP BY v", "only supported on the columns of the PRIMARY KEY"),
    ("SELECT k FROM sel.t GROUP BY c", "following their declared order"),
    ("SELECT k FROM sel.t WHERE v != 1 ALLOW FILTERING", "Unsupported \"!=\" relation"),
    ("SELECT k FROM sel.t WHERE token(c) > 0", "partition key"),
    ("SELECT k FROM sel.t PER PARTITION LIMIT 0", "PER PARTITION LIMIT must be strictly"),
    ("SELECT k FROM sel.t WHERE v CONTAINS 1 ALLOW FILTERING", "Cannot use CONTAINS on non-"),
    ("SELECT nosuchfn(v) FROM sel.t", "Unknown function 'nosuchfn'"),
    ("SELECT CAST(m AS int) FROM sel.t", "none of its type signatures match"),
    ("INSERT INTO sel.t (k, c, v) VALUES (1, 1, 1 + 2)", "Arithmetic operations"),
    ("SELECT v + 1 FROM sel.t", "not supported yet"),
]


def test_result_column_names_follow_cassandra(s):
    result = s.execute("SELECT count(*), max(v), CAST(v AS text), toJson(k), writetime(v) "
                       "FROM sel.t WHERE k = 1 AND c = 1")
    assert result.column_names == ["count", "system.max(v)", "cast(v as text)",
                                   "system.tojson(k)", "writetime(v)"]


def test_functions_as_values(s):
    s.execute("CREATE TABLE IF NOT EXISTS sel.fn (k int, t timeuuid, ts timestamp, d date, "
              "b blob, PRIMARY KEY (k, t))")
    s.execute("INSERT INTO sel.fn (k, t, ts, d, b) VALUES (1, now(), toTimestamp(now()), "
              "currentDate(), intAsBlob(7))")
    row = s.execute("SELECT t, ts, d, blobAsInt(b) AS i, toUnixTimestamp(t) AS ms FROM sel.fn "
                    "WHERE k = 1").one()
    assert row.i == 7 and abs(row.ms - row.ts.timestamp() * 1000) < 5000
    later = s.execute("SELECT count(*) FROM sel.fn WHERE k = 1 AND t < maxTimeuuid("
                      "'2100-01-01 00:00:00+0000')").one()[0]
    assert later == 1
    with pytest.raises(InvalidRequest, match="Type error|cannot assign|of type"):
        s.execute("INSERT INTO sel.fn (k, t, d) VALUES (2, now(), now())")


@pytest.mark.parametrize("query,message", ERRORS)
def test_select_errors(s, query, message):
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        s.execute(query)


def test_select_json_and_insert_json(s):
    s.execute("CREATE TABLE IF NOT EXISTS sel.j (k int PRIMARY KEY, name text, tags set<text>, "
              "m map<text, int>, ts timestamp, \"Mixed\" int)")
    s.execute("INSERT INTO sel.j JSON '{\"k\": 1, \"name\": \"a\", \"tags\": [\"x\", \"y\"], "
              "\"m\": {\"q\": 2}, \"ts\": \"2020-01-02 03:04:05.678Z\", \"\\\"Mixed\\\"\": 7}'")
    row = s.execute("SELECT JSON k, name, tags, m, ts, \"Mixed\" FROM sel.j WHERE k = 1").one()
    assert row[0] == ('{"k": 1, "name": "a", "tags": ["x", "y"], "m": {"q": 2}, '
                      '"ts": "2020-01-02 03:04:05.678Z", "\\"Mixed\\"": 7}')
    assert s.execute("SELECT JSON * FROM sel.j WHERE k = 1").column_names == ["[json]"]
    # DEFAULT UNSET leaves other columns alone; DEFAULT NULL (the default) clears them.
    s.execute("INSERT INTO sel.j JSON '{\"k\": 1, \"name\": \"b\"}' DEFAULT UNSET")
    row = s.execute("SELECT name, tags FROM sel.j WHERE k = 1").one()
    assert (row.name, set(row.tags)) == ("b", {"x", "y"})
    s.execute("INSERT INTO sel.j JSON '{\"k\": 1, \"name\": \"c\"}'")
    row = s.execute("SELECT name, tags FROM sel.j WHERE k = 1").one()
    assert (row.name, row.tags) == ("c", None)
    insert = s.prepare("INSERT INTO sel.j JSON ?")
    s.execute(insert, ['{"k": 2, "m": {"a": 1, "b": 2}}'])
    assert dict(s.execute("SELECT m FROM sel.j WHERE k = 2").one().m) == {"a": 1, "b": 2}
    with pytest.raises(InvalidRequest, match="unrecognized column"):
        s.execute("INSERT INTO sel.j JSON '{\"k\": 3, \"nope\": 1}'")
    with pytest.raises(InvalidRequest, match="Invalid null value in condition for column k"):
        s.execute("INSERT INTO sel.j JSON '{\"name\": \"x\"}'")


def test_order_by_over_an_in_sorts_partitions_together(s):
    # SelectStatement: post-query ordering, refused while paging (CASSANDRA-6722).
    query = "SELECT k, c FROM sel.t WHERE k IN (1, 2) ORDER BY c DESC"
    unpaged = SimpleStatement(query, fetch_size=None)
    got = [tuple(r) for r in s.execute(unpaged)]
    assert sorted(got) == [(k, c) for k in (1, 2) for c in CLUSTERINGS]
    assert [c for _k, c in got] == [3, 3, 2, 2, 1, 1, 0, 0]
    limited = [tuple(r) for r in s.execute(query + " LIMIT 3")]
    assert [c for _k, c in limited] == [3, 3, 2]
    with pytest.raises(InvalidRequest, match="Cannot page queries with both ORDER BY and a IN"):
        s.execute(query)
