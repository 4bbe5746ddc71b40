"""Non-frozen collections and UDTs (one cell per element), counters and range deletions, through the
real driver against a real node, compared with what Cassandra answers."""

from __future__ import annotations

import pytest
from cassandra import InvalidRequest
from cassandra.util import OrderedMapSerializedKey, SortedSet

NODE_HOST = "127.0.0.16"


@pytest.fixture(scope="module")
def ks(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port)
    s = cluster.connect()
    s.execute("CREATE KEYSPACE coll WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TYPE coll.addr (street text, zip int)")
    s.execute("CREATE TABLE coll.t (k int PRIMARY KEY, l list<int>, s set<text>, "
              "m map<text, int>, a addr, fl frozen<list<int>>)")
    s.execute("CREATE TABLE coll.c (k int PRIMARY KEY, hits counter, misses counter)")
    s.execute("CREATE TABLE coll.r (k int, c1 int, c2 int, v text, PRIMARY KEY (k, c1, c2))")
    yield s
    cluster.shutdown()


def _row(s, k):
    return s.execute("SELECT l, s, m, a, fl FROM coll.t WHERE k = %s", (k,)).one()


def _norm(value):
    if isinstance(value, (SortedSet, set)):
        return set(value)
    if isinstance(value, OrderedMapSerializedKey):
        return dict(value)
    return value


def test_list_operations(ks):
    s = ks
    s.execute("INSERT INTO coll.t (k, l) VALUES (1, [1, 2, 3])")
    s.execute("UPDATE coll.t SET l = l + [4, 5] WHERE k = 1")
    s.execute("UPDATE coll.t SET l = [0] + l WHERE k = 1")
    assert _row(s, 1).l == [0, 1, 2, 3, 4, 5]
    s.execute("UPDATE coll.t SET l[1] = 10 WHERE k = 1")
    s.execute("DELETE l[0] FROM coll.t WHERE k = 1")
    assert _row(s, 1).l == [10, 2, 3, 4, 5]
    s.execute("UPDATE coll.t SET l = l + [2] WHERE k = 1")
    s.execute("UPDATE coll.t SET l = l - [2, 5] WHERE k = 1")
    assert _row(s, 1).l == [10, 3, 4]
    with pytest.raises(InvalidRequest, match="List index 7 out of bound, list has size 3"):
        s.execute("UPDATE coll.t SET l[7] = 1 WHERE k = 1")
    assert _row(s, 1).l == [10, 3, 4]  # the failed write changed nothing
    s.execute("UPDATE coll.t SET l = [9, 8] WHERE k = 1")  # overwrite replaces every element
    assert _row(s, 1).l == [9, 8]
    s.execute("UPDATE coll.t SET l = l - [9, 8] WHERE k = 1")
    assert _row(s, 1).l is None  # an empty multi-cell collection reads as null


def test_set_and_map_operations(ks):
    s = ks
    s.execute("INSERT INTO coll.t (k, s, m) VALUES (2, {'b', 'a'}, {'x': 1})")
    s.execute("UPDATE coll.t SET s = s + {'c'}, m = m + {'y': 2, 'z': 3} WHERE k = 2")
    s.execute("UPDATE coll.t SET s = s - {'a'}, m['x'] = 100 WHERE k = 2")
    s.execute("UPDATE coll.t SET m = m - {'z'} WHERE k = 2")
    row = _row(s, 2)
    assert _norm(row.s) == {"b", "c"} and list(row.s) == ["b", "c"]
    assert _norm(row.m) == {"x": 100, "y": 2}
    s.execute("DELETE m['y'], s['b'] FROM coll.t WHERE k = 2")
    row = _row(s, 2)
    assert _norm(row.s) == {"c"} and _norm(row.m) == {"x": 100}
    s.execute("DELETE m FROM coll.t WHERE k = 2")
    assert _row(s, 2).m is None


def test_prepared_collection_writes_and_element_ttl(ks):
    s = ks
    put = s.prepare("UPDATE coll.t USING TTL ? SET m[?] = ? WHERE k = ?")
    s.execute(put, (1000, "a", 1, 3))
    s.execute("UPDATE coll.t SET m = m + {'b': 2} WHERE k = 3")
    assert _norm(_row(s, 3).m) == {"a": 1, "b": 2}
    append = s.prepare("UPDATE coll.t SET l = l + ? WHERE k = ?")
    for i in range(5):
        s.execute(append, ([i], 3))
    assert _row(s, 3).l == [0, 1, 2, 3, 4]


def test_udt_fields(ks):
    s = ks
    s.execute("INSERT INTO coll.t (k, a) VALUES (4, {street: 'Main', zip: 12345})")
    s.execute("UPDATE coll.t SET a.zip = 54321 WHERE k = 4")
    row = _row(s, 4)
    assert (row.a.street, row.a.zip) == ("Main", 54321)
    s.execute("DELETE a.street FROM coll.t WHERE k = 4")
    row = _row(s, 4)
    assert (row.a.street, row.a.zip) == (None, 54321)
    with pytest.raises(InvalidRequest, match="does not have a field named nope"):
        s.execute("UPDATE coll.t SET a.nope = 1 WHERE k = 4")


def test_wrong_operations_are_refused_like_cassandra(ks):
    s = ks
    with pytest.raises(InvalidRequest, match="for frozen collection column fl"):
        s.execute("UPDATE coll.t SET fl = fl + [1] WHERE k = 5")
    with pytest.raises(InvalidRequest, match="for set column s"):
        s.execute("UPDATE coll.t SET s['a'] = 'b' WHERE k = 5")
    with pytest.raises(InvalidRequest, match="Attempted to set an element on a list which is null"):
        s.execute("UPDATE coll.t SET l[0] = 1 WHERE k = 5")
    with pytest.raises(InvalidRequest, match="for non list column m"):
        s.execute("UPDATE coll.t SET m = {'a': 1} + m WHERE k = 5")


def test_counters(ks):
    s = ks
    s.execute("UPDATE coll.c SET hits = hits + 5 WHERE k = 1")
    s.execute("UPDATE coll.c SET hits = hits + 2, misses = misses - 1 WHERE k = 1")
    inc = s.prepare("UPDATE coll.c SET hits = hits + ? WHERE k = ?")
    for _ in range(10):
        s.execute(inc, (1, 1))
    row = s.execute("SELECT hits, misses FROM coll.c WHERE k = 1").one()
    assert (row.hits, row.misses) == (17, -1)
    with pytest.raises(InvalidRequest, match="Cannot set the value of counter column hits"):
        s.execute("UPDATE coll.c SET hits = 3 WHERE k = 1")
    with pytest.raises(InvalidRequest, match="INSERT statements are not allowed on counter"):
        s.execute("INSERT INTO coll.c (k, hits) VALUES (2, 1)")
    with pytest.raises(InvalidRequest, match="custom timestamp for counter"):
        s.execute("UPDATE coll.c USING TIMESTAMP 5 SET hits = hits + 1 WHERE k = 1")
    with pytest.raises(InvalidRequest, match="Cannot mix counter and non counter"):
        s.execute("CREATE TABLE coll.bad (k int PRIMARY KEY, c counter, v int)")
    s.execute("BEGIN COUNTER BATCH UPDATE coll.c SET hits = hits + 1 WHERE k = 3; "
              "UPDATE coll.c SET hits = hits + 1 WHERE k = 3; APPLY BATCH")
    assert s.execute("SELECT hits FROM coll.c WHERE k = 3").one().hits == 2
    with pytest.raises(InvalidRequest, match="counter statement in a logged batch"):
        s.execute("BEGIN BATCH UPDATE coll.c SET hits = hits + 1 WHERE k = 3; APPLY BATCH")
    s.execute("DELETE hits FROM coll.c WHERE k = 3")
    # UPDATE writes no row marker: with its only cell deleted the row is gone.
    assert s.execute("SELECT hits FROM coll.c WHERE k = 3").one() is None


def test_range_deletions(ks):
    s = ks
    insert = s.prepare("INSERT INTO coll.r (k, c1, c2, v) VALUES (?, ?, ?, 'x')")
    for c1 in range(4):
        for c2 in range(4):
            s.execute(insert, (1, c1, c2))

    def keys():
        return [(r.c1, r.c2) for r in s.execute("SELECT c1, c2 FROM coll.r WHERE k = 1")]
    s.execute("DELETE FROM coll.r WHERE k = 1 AND c1 = 1")
    assert (1, 0) not in keys() and len(keys()) == 12
    s.execute("DELETE FROM coll.r WHERE k = 1 AND c1 = 2 AND c2 >= 2")
    assert [k for k in keys() if k[0] == 2] == [(2, 0), (2, 1)]
    s.execute("DELETE FROM coll.r WHERE k = 1 AND c1 > 2")
    assert keys() == [(0, 0), (0, 1), (0, 2), (0, 3), (2, 0), (2, 1)]
    # A write newer than the range tombstone is visible again.
    s.execute(insert, (1, 1, 1))
    assert (1, 1) in keys()
    # An older one (explicit timestamp in the past) stays deleted.
    s.execute("INSERT INTO coll.r (k, c1, c2, v) VALUES (1, 3, 0, 'y') USING TIMESTAMP 1")
    assert (3, 0) not in keys()
    with pytest.raises(InvalidRequest, match="Range deletions are not supported for specific"):
        s.execute("DELETE v FROM coll.r WHERE k = 1 AND c1 = 0")


def test_writetime_and_ttl_of_collections_are_lists(ks):
    # Cassandra 5.0: one entry per element (per field for UDTs); TTL entries of elements without
    # a TTL are null, which the Python driver cannot decode, so TTL is checked on TTL'd elements.
    s = ks
    s.execute("INSERT INTO coll.t (k, l) VALUES (9, [1, 2]) USING TIMESTAMP 1000")
    s.execute("UPDATE coll.t USING TIMESTAMP 2000 SET l = l + [3] WHERE k = 9")
    s.execute("UPDATE coll.t USING TIMESTAMP 3000 AND TTL 500 SET m = {'a': 1, 'b': 2} "
              "WHERE k = 9")
    row = s.execute("SELECT writetime(l), maxwritetime(l), ttl(m), writetime(m) FROM coll.t "
                    "WHERE k = 9").one()
    assert row[0] == [1000, 1000, 2000]
    assert row[1] == 2000
    assert len(row[2]) == 2 and all(0 < t <= 500 for t in row[2])
    assert row[3] == [3000, 3000]
    # The general path (here: with a filter) answers the same.
    row = s.execute("SELECT writetime(l) FROM coll.t WHERE k = 9 AND l CONTAINS 3 "
                    "ALLOW FILTERING").one()
    assert row[0] == [1000, 1000, 2000]


def test_bind_markers_inside_collection_literals(ks):
    s = ks
    insert = s.prepare("INSERT INTO coll.t (k, l, s, m, a) VALUES (?, [?, ?], {?, ?}, {'x': ?}, "
                       "{street: ?, zip: ?})")
    s.execute(insert, (20, 5, 6, "b", "a", 7, "Elm", 1))
    row = _row(s, 20)
    assert row.l == [5, 6] and list(row.s) == ["a", "b"] and dict(row.m) == {"x": 7}
    assert (row.a.street, row.a.zip) == ("Elm", 1)
    append = s.prepare("UPDATE coll.t SET l = l + [?] WHERE k = ?")
    s.execute(append, (7, 20))
    assert _row(s, 20).l == [5, 6, 7]
    with pytest.raises(InvalidRequest, match="null is not supported inside collections"):
        s.execute(insert, (21, None, 6, "b", "a", 7, "Elm", 1))


def test_tuple_relations_in_writes(ks):
    s = ks
    insert = s.prepare("INSERT INTO coll.r (k, c1, c2, v) VALUES (?, ?, ?, 'x')")
    for c1 in range(3):
        for c2 in range(3):
            s.execute(insert, (7, c1, c2))
    s.execute("DELETE FROM coll.r WHERE k = 7 AND (c1, c2) > (1, 0) AND (c1, c2) <= (2, 1)")
    left = [(r.c1, r.c2) for r in s.execute("SELECT c1, c2 FROM coll.r WHERE k = 7")]
    assert left == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)]
    s.execute("UPDATE coll.r SET v = 'y' WHERE k = 7 AND (c1, c2) = (0, 1)")
    assert s.execute("SELECT v FROM coll.r WHERE k = 7 AND c1 = 0 AND c2 = 1").one().v == "y"
