"""Conformance of write semantics with Cassandra 5.0 through the real driver: upserts, last-write-wins and
its tie-breaks, row liveness, TTLs, static columns, null/empty/unset values, batches and every form of
DELETE. Each expectation names where it comes from in Cassandra.

Reconciliation (db/rows/Cells.resolveRegular): the higher timestamp wins; on equal timestamps a tombstone
or an expiring cell wins over a live one, two expiring cells keep the later expiry, and otherwise the
greater value wins, comparing the serialized bytes unsigned (ValueAccessor.compare).

Must NOT: hold a case where Ferrosa still differs from Cassandra (reported to the lead instead), or sleep
more than a few seconds in total (every TTL case shares one sleep)."""

from __future__ import annotations

import re
import time

import pytest
from cassandra import InvalidRequest
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, SimpleStatement
from cassandra.util import OrderedMapSerializedKey, SortedSet

NODE_HOST = "127.0.0.52"
KS = "conf_dml"
# A cell written at second S with TTL t lives until S + t: between t - 1 and t seconds of wall time.
# With a 1 s TTL a slow machine saw elements expire before the first read; 3 s leaves 2 s for it.
SHORT_TTL = 3
TTL_WAIT = SHORT_TTL + 0.3  # seconds: past the TTL at second granularity, with a margin


def server_message(exc: BaseException) -> str:
    found = re.search(r'message="(.*)"', str(exc), re.S)
    return found.group(1) if found else str(exc)


def plain(value):
    if isinstance(value, (SortedSet, set)):
        return set(value)
    if isinstance(value, (OrderedMapSerializedKey, dict)):
        return dict(value)
    return value


def rows(session, query, params=None) -> list[tuple]:
    return [tuple(plain(v) for v in r) for r in session.execute(query, params)]


class TTLLeft:
    """The ttl() of a cell written with `ttl` a moment ago: ttl() counts down in whole seconds, so the
    read may land in the next second (or the one after, on a slow machine) and see one or two less."""

    SLACK = 2

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and self.ttl - self.SLACK <= other <= self.ttl

    def __repr__(self) -> str:
        return f"TTLLeft({self.ttl})"


@pytest.fixture(scope="module")
def s(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    session.execute(f"CREATE KEYSPACE {KS} WITH replication = {{'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    session.execute(f"CREATE TABLE {KS}.t (k int, c int, v int, w text, PRIMARY KEY (k, c))")
    session.execute(f"CREATE TABLE {KS}.st (k int, c int, v int, s int static, s2 text static, "
                    "PRIMARY KEY (k, c))")
    session.execute(f"CREATE TABLE {KS}.cnt (k int PRIMARY KEY, n counter)")
    session.execute(f"CREATE TABLE {KS}.coll (k int PRIMARY KEY, l list<int>, m map<int, int>, "
                    "st set<int>)")
    yield session
    cluster.shutdown()


# ---------------------------------------------------------------------------------------------------
# Upsert and last-write-wins: (statements, query, expected rows).
# ---------------------------------------------------------------------------------------------------

T = f"{KS}.t"
LWW = [
    # INSERT and UPDATE are both upserts: columns merge.
    ([f"INSERT INTO {T} (k, c, v) VALUES (1, 1, 1)", f"INSERT INTO {T} (k, c, w) VALUES (1, 1, 'a')",
      f"UPDATE {T} SET v = 2 WHERE k = 1 AND c = 1"],
     f"SELECT v, w FROM {T} WHERE k = 1", [(2, "a")]),
    ([f"UPDATE {T} SET w = 'u' WHERE k = 2 AND c = 1"], f"SELECT k, c, v, w FROM {T} WHERE k = 2",
     [(2, 1, None, "u")]),
    # An older write loses whatever its arrival order.
    ([f"INSERT INTO {T} (k, c, v) VALUES (3, 1, 10) USING TIMESTAMP 200",
      f"INSERT INTO {T} (k, c, v) VALUES (3, 1, 20) USING TIMESTAMP 100"],
     f"SELECT v, writetime(v) FROM {T} WHERE k = 3", [(10, 200)]),
    # Equal timestamps: the greater value wins, bytes compared unsigned.
    ([f"INSERT INTO {T} (k, c, v) VALUES (4, 1, 5) USING TIMESTAMP 100",
      f"INSERT INTO {T} (k, c, v) VALUES (4, 1, 3) USING TIMESTAMP 100"],
     f"SELECT v FROM {T} WHERE k = 4", [(5,)]),
    ([f"INSERT INTO {T} (k, c, v) VALUES (5, 1, 3) USING TIMESTAMP 100",
      f"INSERT INTO {T} (k, c, v) VALUES (5, 1, 5) USING TIMESTAMP 100"],
     f"SELECT v FROM {T} WHERE k = 5", [(5,)]),
    ([f"INSERT INTO {T} (k, c, v) VALUES (6, 1, -1) USING TIMESTAMP 100",
      f"INSERT INTO {T} (k, c, v) VALUES (6, 1, 1) USING TIMESTAMP 100"],
     f"SELECT v FROM {T} WHERE k = 6", [(-1,)]),  # 0xffffffff > 0x00000001 unsigned
    ([f"INSERT INTO {T} (k, c, w) VALUES (7, 1, 'b') USING TIMESTAMP 100",
      f"INSERT INTO {T} (k, c, w) VALUES (7, 1, 'ab') USING TIMESTAMP 100"],
     f"SELECT w FROM {T} WHERE k = 7", [("b",)]),
    # Equal timestamps: a tombstone wins over a value, in either order.
    ([f"INSERT INTO {T} (k, c, v) VALUES (8, 1, 7) USING TIMESTAMP 100",
      f"DELETE v FROM {T} USING TIMESTAMP 100 WHERE k = 8 AND c = 1"],
     f"SELECT c, v FROM {T} WHERE k = 8", [(1, None)]),
    ([f"DELETE v FROM {T} USING TIMESTAMP 100 WHERE k = 9 AND c = 1",
      f"INSERT INTO {T} (k, c, v) VALUES (9, 1, 7) USING TIMESTAMP 100"],
     f"SELECT c, v FROM {T} WHERE k = 9", [(1, None)]),
    # null written is a tombstone too: it beats '' at the same timestamp.
    ([f"INSERT INTO {T} (k, c, w) VALUES (10, 1, '') USING TIMESTAMP 5",
      f"INSERT INTO {T} (k, c, w) VALUES (10, 1, null) USING TIMESTAMP 5"],
     f"SELECT w FROM {T} WHERE k = 10", [(None,)]),
    # A row deletion shadows everything at or below its timestamp, not what is newer.
    ([f"INSERT INTO {T} (k, c, v, w) VALUES (11, 1, 1, 'x') USING TIMESTAMP 100",
      f"DELETE FROM {T} USING TIMESTAMP 200 WHERE k = 11 AND c = 1",
      f"INSERT INTO {T} (k, c, v) VALUES (11, 1, 2) USING TIMESTAMP 200"],
     f"SELECT * FROM {T} WHERE k = 11", []),
    ([f"DELETE FROM {T} USING TIMESTAMP 200 WHERE k = 12 AND c = 1",
      f"INSERT INTO {T} (k, c, v) VALUES (12, 1, 3) USING TIMESTAMP 201"],
     f"SELECT k, c, v, w FROM {T} WHERE k = 12", [(12, 1, 3, None)]),
    # A partition deletion likewise.
    ([f"INSERT INTO {T} (k, c, v) VALUES (13, 1, 1) USING TIMESTAMP 100",
      f"INSERT INTO {T} (k, c, v) VALUES (13, 2, 2) USING TIMESTAMP 300",
      f"DELETE FROM {T} USING TIMESTAMP 200 WHERE k = 13"],
     f"SELECT c, v FROM {T} WHERE k = 13", [(2, 2)]),
    # Equal timestamps: an expiring cell wins over a plain one; two expiring cells keep the later expiry.
    ([f"INSERT INTO {T} (k, c, v) VALUES (14, 1, 9) USING TIMESTAMP 300",
      f"INSERT INTO {T} (k, c, v) VALUES (14, 1, 1) USING TIMESTAMP 300 AND TTL 1000"],
     f"SELECT v, ttl(v) FROM {T} WHERE k = 14", [(1, TTLLeft(1000))]),
    ([f"INSERT INTO {T} (k, c, v) VALUES (15, 1, 1) USING TIMESTAMP 300 AND TTL 1000",
      f"INSERT INTO {T} (k, c, v) VALUES (15, 1, 9) USING TIMESTAMP 300 AND TTL 100"],
     f"SELECT v, ttl(v) FROM {T} WHERE k = 15", [(1, TTLLeft(1000))]),
    # Negative timestamps are allowed.
    ([f"INSERT INTO {T} (k, c, v) VALUES (16, 1, 1) USING TIMESTAMP -5"],
     f"SELECT writetime(v) FROM {T} WHERE k = 16", [(-5,)]),
]


@pytest.mark.parametrize("statements,query,expected", LWW, ids=[f"lww-{i}" for i in range(len(LWW))])
def test_last_write_wins(s, statements, query, expected):
    for statement in statements:
        s.execute(statement)
    assert rows(s, query) == expected


# ---------------------------------------------------------------------------------------------------
# Row liveness: an INSERT writes a row marker, an UPDATE does not.
# ---------------------------------------------------------------------------------------------------

def test_inserted_row_outlives_its_columns(s):
    s.execute(f"INSERT INTO {T} (k, c) VALUES (20, 1)")
    s.execute(f"INSERT INTO {T} (k, c, v) VALUES (20, 2, 1)")
    s.execute(f"DELETE v FROM {T} WHERE k = 20 AND c = 2")
    assert rows(s, f"SELECT * FROM {T} WHERE k = 20") == [(20, 1, None, None), (20, 2, None, None)]
    assert rows(s, f"SELECT count(*) FROM {T} WHERE k = 20") == [(2,)]


def test_updated_row_disappears_with_its_last_column(s):
    s.execute(f"UPDATE {T} SET v = 1, w = 'x' WHERE k = 21 AND c = 1")
    s.execute(f"DELETE v FROM {T} WHERE k = 21 AND c = 1")
    assert rows(s, f"SELECT k, c, v, w FROM {T} WHERE k = 21") == [(21, 1, None, "x")]
    s.execute(f"DELETE w FROM {T} WHERE k = 21 AND c = 1")
    assert rows(s, f"SELECT * FROM {T} WHERE k = 21") == []
    s.execute(f"UPDATE {T} SET v = null WHERE k = 22 AND c = 1")  # a tombstone creates no row
    assert rows(s, f"SELECT * FROM {T} WHERE k = 22") == []


# ---------------------------------------------------------------------------------------------------
# TTL: everything that must expire is written first, then one shared sleep.
# ---------------------------------------------------------------------------------------------------

def test_ttl_expiry_and_reporting(s):
    s.execute(f"CREATE TABLE {KS}.dttl (k int PRIMARY KEY, v int) WITH default_time_to_live = {SHORT_TTL}")
    writes = [
        f"INSERT INTO {T} (k, c, v, w) VALUES (30, 1, 1, 'a') USING TTL {SHORT_TTL}",  # whole row expires
        f"UPDATE {T} USING TTL {SHORT_TTL} SET w = 'b' WHERE k = 30 AND c = 2",  # no marker: row goes
        f"INSERT INTO {T} (k, c, v) VALUES (30, 3, 1)",
        f"UPDATE {T} USING TTL {SHORT_TTL} SET v = 2 WHERE k = 30 AND c = 3",  # marker stays, v goes
        f"INSERT INTO {T} (k, c, v, w) VALUES (30, 4, 4, 'd') USING TTL 0",  # TTL 0 means no TTL
        f"INSERT INTO {KS}.coll (k, l, m, st) VALUES (1, [0], {{0: 0}}, {{0}})",
        f"UPDATE {KS}.coll USING TTL {SHORT_TTL} SET l = l + [1], m = m + {{1: 1}}, st = st + {{1}} "
        "WHERE k = 1",
        f"INSERT INTO {KS}.dttl (k, v) VALUES (1, 1)",  # the table default applies
        f"INSERT INTO {KS}.dttl (k, v) VALUES (2, 2) USING TTL 0",  # TTL 0 overrides the default
        f"INSERT INTO {KS}.dttl (k, v) VALUES (3, 3) USING TTL 100",
    ]
    for statement in writes:
        s.execute(statement)
    # A prepared write takes the front's short path: the table default applies there too.
    s.execute(s.prepare(f"INSERT INTO {KS}.dttl (k, v) VALUES (?, ?)"), (4, 4))
    assert short(rows(s, f"SELECT c, ttl(v), ttl(w) FROM {T} WHERE k = 30")) == [
        (1, "short", "short"), (2, None, "short"), (3, "short", None), (4, None, None)]
    assert sorted(short(rows(s, f"SELECT k, ttl(v) FROM {KS}.dttl WHERE k IN (1, 2, 3, 4)")),
                  key=str) == [(1, "short"), (2, None), (3, TTLLeft(100)), (4, "short")]
    assert rows(s, f"SELECT l, m, st FROM {KS}.coll WHERE k = 1") == [([0, 1], {0: 0, 1: 1}, {0, 1})]
    time.sleep(TTL_WAIT)
    assert rows(s, f"SELECT k, c, v, w FROM {T} WHERE k = 30") == [(30, 3, None, None), (30, 4, 4, "d")]
    assert rows(s, f"SELECT l, m, st FROM {KS}.coll WHERE k = 1") == [([0], {0: 0}, {0})]
    assert sorted(rows(s, f"SELECT k, v FROM {KS}.dttl WHERE k IN (1, 2, 3, 4)")) == [(2, 2), (3, 3)]


def short(found: list[tuple]) -> list[tuple]:
    """Rows of (key, ttl...) with SHORT_TTL's remaining TTLs read as "short".

    ttl() counts down in whole seconds, so a cell read a moment after its write reports SHORT_TTL or
    less; 100 and None (no TTL) stay as they are."""
    def mark(ttl):
        return "short" if isinstance(ttl, int) and 0 < ttl <= SHORT_TTL else ttl
    return [(row[0], *map(mark, row[1:])) for row in found]


TTL_ERRORS = [
    # Attributes.getTimeToLive and ModificationStatement's selection checks.
    (f"INSERT INTO {T} (k, c, v) VALUES (1, 1, 1) USING TTL -1",
     "A TTL must be greater or equal to 0, but was -1"),
    (f"INSERT INTO {T} (k, c, v) VALUES (1, 1, 1) USING TTL 630720001",
     "ttl is too large. requested (630720001) maximum (630720000)"),
    (f"SELECT ttl(k) FROM {T} WHERE k = 1", "Cannot use selection function ttl on PRIMARY KEY part k"),
    (f"SELECT writetime(c) FROM {T} WHERE k = 1",
     "Cannot use selection function writetime on PRIMARY KEY part c"),
]


@pytest.mark.parametrize("statement,message", TTL_ERRORS, ids=[m[:40] for _, m in TTL_ERRORS])
def test_ttl_and_writetime_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# Static columns (validation/entities/StaticColumnsTest).
# ---------------------------------------------------------------------------------------------------

ST = f"{KS}.st"


def test_static_only_partition(s):
    s.execute(f"UPDATE {ST} SET s = 1 WHERE k = 1")
    assert rows(s, f"SELECT * FROM {ST} WHERE k = 1") == [(1, None, 1, None, None)]
    assert rows(s, f"SELECT k, s FROM {ST} WHERE k = 1") == [(1, 1)]
    assert rows(s, f"SELECT count(*) FROM {ST} WHERE k = 1") == [(1,)]
    assert rows(s, f"SELECT DISTINCT k, s FROM {ST} WHERE k = 1") == [(1, 1)]
    # Restricting the clustering columns selects rows, and there are none.
    assert rows(s, f"SELECT * FROM {ST} WHERE k = 1 AND c = 5") == []
    assert rows(s, f"SELECT k, c, s FROM {ST} WHERE k = 1 AND c > 0") == []


def test_static_shared_by_rows_and_kept_when_rows_go(s):
    s.execute(f"INSERT INTO {ST} (k, c, v, s) VALUES (2, 1, 1, 20)")
    s.execute(f"INSERT INTO {ST} (k, c, v) VALUES (2, 2, 2)")
    assert rows(s, f"SELECT k, c, s, v FROM {ST} WHERE k = 2") == [(2, 1, 20, 1), (2, 2, 20, 2)]
    assert rows(s, f"SELECT k, c, s, v FROM {ST} WHERE k = 2 AND c = 2") == [(2, 2, 20, 2)]
    s.execute(f"DELETE FROM {ST} WHERE k = 2 AND c = 1")
    s.execute(f"DELETE FROM {ST} WHERE k = 2 AND c = 2")
    assert rows(s, f"SELECT * FROM {ST} WHERE k = 2") == [(2, None, 20, None, None)]


def test_delete_static_keeps_rows(s):
    s.execute(f"INSERT INTO {ST} (k, c, v, s, s2) VALUES (3, 1, 1, 30, 'x')")
    s.execute(f"DELETE s FROM {ST} WHERE k = 3")
    assert rows(s, f"SELECT k, c, s, s2, v FROM {ST} WHERE k = 3") == [(3, 1, None, "x", 1)]
    s.execute(f"DELETE s2 FROM {ST} WHERE k = 3")
    s.execute(f"DELETE FROM {ST} WHERE k = 3 AND c = 1")
    assert rows(s, f"SELECT * FROM {ST} WHERE k = 3") == []


def test_insert_with_clustering_and_only_static_creates_the_row(s):
    s.execute(f"INSERT INTO {ST} (k, c, s) VALUES (4, 1, 40)")
    assert rows(s, f"SELECT k, c, s, v FROM {ST} WHERE k = 4") == [(4, 1, 40, None)]
    s.execute(f"UPDATE {ST} SET s = 41, v = 1 WHERE k = 4 AND c = 2")
    assert rows(s, f"SELECT k, c, s, v FROM {ST} WHERE k = 4") == [(4, 1, 41, None), (4, 2, 41, 1)]


STATIC_ERRORS = [
    # ModificationStatement: non-static columns need the full primary key.
    (f"UPDATE {ST} SET v = 1 WHERE k = 6", "Some clustering keys are missing: c"),
    (f"INSERT INTO {ST} (k, v) VALUES (6, 1)", "Some clustering keys are missing: c"),
]


@pytest.mark.parametrize("statement,message", STATIC_ERRORS, ids=[s[:40] for s, _ in STATIC_ERRORS])
def test_static_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# null, empty and unset values.
# ---------------------------------------------------------------------------------------------------

def test_empty_string_is_a_value_null_is_not(s):
    s.execute(f"CREATE TABLE {KS}.e (k text, c text, b blob, v text, PRIMARY KEY (k, c))")
    s.execute(f"INSERT INTO {KS}.e (k, c, v, b) VALUES ('a', '', '', 0x)")
    s.execute(f"INSERT INTO {KS}.e (k, c, v) VALUES ('a', 'z', null)")
    assert rows(s, f"SELECT c, v, b FROM {KS}.e WHERE k = 'a'") == [("", "", b""), ("z", None, None)]
    assert rows(s, f"SELECT c FROM {KS}.e WHERE k = 'a' AND c = ''") == [("",)]


def test_empty_blob_clustering_sorts_first(s):
    s.execute(f"CREATE TABLE {KS}.eb (k int, c blob, v int, PRIMARY KEY (k, c))")
    for c, v in (("0x00", 2), ("0x", 1), ("0xff", 3)):
        s.execute(f"INSERT INTO {KS}.eb (k, c, v) VALUES (1, {c}, {v})")
    assert rows(s, f"SELECT c, v FROM {KS}.eb WHERE k = 1") == [(b"", 1), (b"\x00", 2), (b"\xff", 3)]
    assert rows(s, f"SELECT v FROM {KS}.eb WHERE k = 1 AND c = 0x") == [(1,)]
    assert rows(s, f"SELECT v FROM {KS}.eb WHERE k = 1 AND c > 0x") == [(2,), (3,)]


KEY_ERRORS = [
    (f"INSERT INTO {KS}.e (k, c, v) VALUES ('', 'a', 'x')", "Key may not be empty"),
    (f"INSERT INTO {KS}.e (k, c, v) VALUES ('a', null, 'x')", "Invalid null value in condition for column c"),
    (f"INSERT INTO {KS}.e (k, c, v) VALUES (null, 'a', 'x')", "Invalid null value in condition for column k"),
]


@pytest.mark.parametrize("statement,message", KEY_ERRORS, ids=[m[:40] for _, m in KEY_ERRORS])
def test_null_and_empty_key_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


def test_unset_values_leave_columns_alone(s):
    insert = s.prepare(f"INSERT INTO {T} (k, c, v, w) VALUES (?, ?, ?, ?)")
    s.execute(insert, (40, 1, 1, "a"))
    s.execute(insert, (40, 1, UNSET_VALUE, "b"))
    assert rows(s, f"SELECT v, w FROM {T} WHERE k = 40") == [(1, "b")]
    s.execute(insert, (40, 1, None, UNSET_VALUE))  # null deletes, unset does nothing
    assert rows(s, f"SELECT v, w FROM {T} WHERE k = 40") == [(None, "b")]
    update = s.prepare(f"UPDATE {T} SET v = ?, w = ? WHERE k = ? AND c = ?")
    s.execute(update, (UNSET_VALUE, UNSET_VALUE, 40, 2))  # writes nothing: no row appears
    assert rows(s, f"SELECT c FROM {T} WHERE k = 40") == [(1,)]


def test_unset_ttl_timestamp_and_limit(s):
    s.execute(f"CREATE TABLE {KS}.ut (k int, c int, v int, PRIMARY KEY (k, c)) "
              "WITH default_time_to_live = 1000")
    insert = s.prepare(f"INSERT INTO {KS}.ut (k, c, v) VALUES (?, ?, ?) USING TTL ? AND TIMESTAMP ?")
    s.execute(insert, (1, 1, 1, UNSET_VALUE, UNSET_VALUE))  # unset TTL: the table default
    s.execute(insert, (1, 2, 2, 0, 123))  # TTL 0 on a table with a default: no TTL
    s.execute(insert, (1, 3, 3, 5000, 124))
    assert rows(s, f"SELECT c, ttl(v), writetime(v) FROM {KS}.ut WHERE k = 1")[1:] == [
        (2, None, 123), (3, 5000, 124)]
    first = rows(s, f"SELECT ttl(v) FROM {KS}.ut WHERE k = 1 AND c = 1")[0][0]
    assert 990 <= first <= 1000
    limited = s.prepare(f"SELECT c FROM {KS}.ut WHERE k = ? LIMIT ?")
    assert rows(s, limited, (1, UNSET_VALUE)) == [(1,), (2,), (3,)]  # unset LIMIT: no limit


def test_unset_key_is_refused(s):
    insert = s.prepare(f"INSERT INTO {T} (k, c, v) VALUES (?, ?, ?)")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(insert, (41, UNSET_VALUE, 1))
    assert server_message(caught.value) == "Invalid unset value for column c"
    select = s.prepare(f"SELECT * FROM {T} WHERE k = ? AND c = ?")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(select, (41, UNSET_VALUE))
    assert server_message(caught.value) == "Invalid unset value for column c"


# ---------------------------------------------------------------------------------------------------
# Batches (cql3/statements/BatchStatement, validation/operations/BatchTest).
# ---------------------------------------------------------------------------------------------------

def test_batch_timestamps(s):
    s.execute(f"BEGIN BATCH INSERT INTO {T} (k, c, v) VALUES (50, 1, 1) USING TIMESTAMP 10; "
              f"INSERT INTO {T} (k, c, v) VALUES (51, 1, 2) USING TIMESTAMP 20; APPLY BATCH")
    assert sorted(rows(s, f"SELECT k, writetime(v) FROM {T} WHERE k IN (50, 51)")) == [(50, 10), (51, 20)]
    s.execute(f"BEGIN BATCH USING TIMESTAMP 50 INSERT INTO {T} (k, c, v) VALUES (52, 1, 1); "
              f"UPDATE {T} SET v = 3 WHERE k = 53 AND c = 1; DELETE FROM {T} WHERE k = 50 AND c = 1; "
              "APPLY BATCH")
    assert sorted(rows(s, f"SELECT k, v, writetime(v) FROM {T} WHERE k IN (50, 52, 53)")) == [
        (52, 1, 50), (53, 3, 50)]


def test_batch_statements_share_one_timestamp(s):
    # Same timestamp for all statements: the order inside the batch does not matter, the greater value
    # wins and a deletion beats a write of the same cell.
    s.execute(f"BEGIN BATCH INSERT INTO {T} (k, c, v) VALUES (54, 1, 2); "
              f"INSERT INTO {T} (k, c, v) VALUES (54, 1, 1); APPLY BATCH")
    s.execute(f"BEGIN BATCH INSERT INTO {T} (k, c, v) VALUES (54, 2, 2); "
              f"DELETE FROM {T} WHERE k = 54 AND c = 2; APPLY BATCH")
    s.execute(f"BEGIN BATCH DELETE FROM {T} WHERE k = 54 AND c = 3; "
              f"INSERT INTO {T} (k, c, v) VALUES (54, 3, 3); APPLY BATCH")
    assert rows(s, f"SELECT c, v FROM {T} WHERE k = 54") == [(1, 2)]


def test_batch_across_partitions_and_shards(s):
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    insert = s.prepare(f"INSERT INTO {T} (k, c, v) VALUES (?, ?, ?)")
    for i in range(30):
        batch.add(insert, (1000 + i, i, i))
    batch.add(SimpleStatement(f"UPDATE {T} SET v = %s WHERE k = %s AND c = %s"), (99, 1000, 0))
    s.execute(batch)
    got = rows(s, f"SELECT k, c, v FROM {T} WHERE k IN ({', '.join(str(1000 + i) for i in range(30))})")
    assert sorted(got) == [(1000, 0, 99)] + [(1000 + i, i, i) for i in range(1, 30)]
    unlogged = BatchStatement(batch_type=BatchType.UNLOGGED)
    for i in range(10):
        unlogged.add(insert, (2000 + i, 0, -i))
    s.execute(unlogged)
    assert sorted(rows(s, f"SELECT k, v FROM {T} WHERE k IN ({', '.join(str(2000 + i) for i in range(10))})")) \
        == [(2000 + i, -i) for i in range(10)]


def test_protocol_batch_into_one_partition(s):
    # A BATCH message whose rows all belong to one shard takes the front's short path (answered
    # from the shard's reply): its rows, its one timestamp and its errors are any batch's.
    insert = s.prepare(f"INSERT INTO {T} (k, c, v, w) VALUES (?, ?, ?, ?)")
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for c in range(10):
        batch.add(insert, (60, c, c * c, f"w{c}"))
    batch.add(SimpleStatement(f"DELETE w FROM {T} WHERE k = %s AND c = %s"), (60, 3))
    s.execute(batch)
    got = rows(s, f"SELECT c, v, w, writetime(v) FROM {T} WHERE k = 60")
    assert [(c, v, w) for c, v, w, _ in got] == [
        (c, c * c, None if c == 3 else f"w{c}") for c in range(10)]
    assert len({t for *_, t in got}) == 1
    refused = BatchStatement(batch_type=BatchType.UNLOGGED)
    refused.add(insert, (61, 0, 1, "a"))
    refused.add(insert, (61, None, 1, "b"))
    with pytest.raises(InvalidRequest) as caught:
        s.execute(refused)
    assert server_message(caught.value) == "Invalid null value in condition for column c"
    not_a_write = BatchStatement(batch_type=BatchType.UNLOGGED)
    not_a_write.add(insert, (61, 1, 1, "c"))
    not_a_write.add(s.prepare(f"SELECT v FROM {T} WHERE k = ?"), (61,))
    with pytest.raises(InvalidRequest) as caught:
        s.execute(not_a_write)
    assert server_message(caught.value) == ("Invalid statement in batch: only UPDATE, INSERT "
                                            "and DELETE statements are allowed.")
    assert rows(s, f"SELECT c FROM {T} WHERE k = 61") == []  # nothing of a refused batch


PROTOCOL_BATCH_COUNTER_ERRORS = [
    (BatchType.LOGGED, ("counter",), "Cannot include a counter statement in a logged batch"),
    (BatchType.UNLOGGED, ("counter", "insert"),
     "Counter and non-counter mutations cannot exist in the same batch"),
    (BatchType.COUNTER, ("insert",), "Cannot include non-counter statement in a counter batch"),
]


@pytest.mark.parametrize("batch_type,kinds,message", PROTOCOL_BATCH_COUNTER_ERRORS,
                         ids=["logged", "mixed", "counter"])
def test_protocol_batch_counter_rules(s, batch_type, kinds, message):
    # BATCH messages follow BatchStatement.validate's counter rules as BEGIN BATCH does.
    statements = {"counter": (s.prepare(f"UPDATE {KS}.cnt SET n = n + ? WHERE k = ?"), (1, 70)),
                  "insert": (s.prepare(f"INSERT INTO {T} (k, c, v) VALUES (?, ?, ?)"), (70, 1, 1))}
    batch = BatchStatement(batch_type=batch_type)
    for kind in kinds:
        batch.add(*statements[kind])
    with pytest.raises(InvalidRequest) as caught:
        s.execute(batch)
    assert server_message(caught.value) == message
    assert rows(s, f"SELECT n FROM {KS}.cnt WHERE k = 70") == []
    assert rows(s, f"SELECT c FROM {T} WHERE k = 70") == []


def test_counter_batch(s):
    s.execute(f"BEGIN COUNTER BATCH UPDATE {KS}.cnt SET n = n + 1 WHERE k = 1; "
              f"UPDATE {KS}.cnt SET n = n + 2 WHERE k = 1; UPDATE {KS}.cnt SET n = n - 5 WHERE k = 2; "
              "APPLY BATCH")
    assert sorted(rows(s, f"SELECT k, n FROM {KS}.cnt WHERE k IN (1, 2)")) == [(1, 3), (2, -5)]
    batch = BatchStatement(batch_type=BatchType.COUNTER)
    increment = s.prepare(f"UPDATE {KS}.cnt SET n = n + ? WHERE k = ?")
    for _ in range(4):
        batch.add(increment, (10, 1))
    s.execute(batch)
    assert rows(s, f"SELECT n FROM {KS}.cnt WHERE k = 1") == [(43,)]
    s.execute(f"DELETE n FROM {KS}.cnt WHERE k = 2")
    assert rows(s, f"SELECT n FROM {KS}.cnt WHERE k = 2") == []


def test_counter_values(s):
    # Counter totals are Java longs: they wrap (db/context/CounterContext.total).
    s.execute(f"UPDATE {KS}.cnt SET n = n + 9223372036854775807 WHERE k = 3")
    s.execute(f"UPDATE {KS}.cnt SET n = n + 1 WHERE k = 3")
    assert rows(s, f"SELECT n FROM {KS}.cnt WHERE k = 3") == [(-9223372036854775808,)]
    for operator in ("+", "-"):  # Constants.Adder / Substracter with a bound null
        statement = s.prepare(f"UPDATE {KS}.cnt SET n = n {operator} ? WHERE k = 3")
        with pytest.raises(InvalidRequest) as caught:
            s.execute(statement, (None,))
        assert server_message(caught.value) == "Invalid null value for counter increment"
    s.execute(s.prepare(f"UPDATE {KS}.cnt SET n = n + ? WHERE k = 3"), (UNSET_VALUE,))  # unset: no-op
    assert rows(s, f"SELECT n FROM {KS}.cnt WHERE k = 3") == [(-9223372036854775808,)]


BATCH_ERRORS = [
    (f"BEGIN BATCH UPDATE {KS}.cnt SET n = n + 1 WHERE k = 1; APPLY BATCH",
     "Cannot include a counter statement in a logged batch"),
    (f"BEGIN COUNTER BATCH INSERT INTO {T} (k, c, v) VALUES (1, 1, 1); APPLY BATCH",
     "Cannot include non-counter statement in a counter batch"),
    (f"BEGIN BATCH UPDATE {KS}.cnt SET n = n + 1 WHERE k = 1; INSERT INTO {T} (k, c, v) VALUES (1, 1, 1); "
     "APPLY BATCH", "Counter and non-counter mutations cannot exist in the same batch"),
    (f"BEGIN COUNTER BATCH USING TIMESTAMP 5 UPDATE {KS}.cnt SET n = n + 1 WHERE k = 1; APPLY BATCH",
     "Cannot provide custom timestamp for counter BATCH"),
    # Counter statements (UpdateStatement, Operation.Setter).
    (f"UPDATE {KS}.cnt USING TIMESTAMP 5 SET n = n + 1 WHERE k = 1",
     "Cannot provide custom timestamp for counter updates"),
    (f"UPDATE {KS}.cnt USING TTL 5 SET n = n + 1 WHERE k = 1", "Cannot provide custom TTL for counter updates"),
    (f"UPDATE {KS}.cnt SET n = 5 WHERE k = 1",
     "Cannot set the value of counter column n (counters can only be incremented/decremented, not set)"),
    (f"INSERT INTO {KS}.cnt (k, n) VALUES (1, 1)",
     "INSERT statements are not allowed on counter tables, use UPDATE instead"),
]


@pytest.mark.parametrize("statement,message", BATCH_ERRORS, ids=[m[:40] for _, m in BATCH_ERRORS])
def test_batch_and_counter_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# DELETE (validation/operations/DeleteTest).
# ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def grid(s):
    """A partition per test area with clustering (a, b) in 0..4 x 0..4 and v = 5a + b."""
    s.execute(f"CREATE TABLE {KS}.del (k int, a int, b int, v int, l list<int>, m map<int, int>, "
              "st set<int>, PRIMARY KEY (k, a, b))")
    insert = s.prepare(f"INSERT INTO {KS}.del (k, a, b, v) VALUES (?, ?, ?, ?)")
    for k in range(1, 6):
        for a in range(5):
            for b in range(5):
                s.execute(insert, (k, a, b, 5 * a + b))
    return f"{KS}.del"


def keys(session, table, k) -> list[tuple[int, int]]:
    return rows(session, f"SELECT a, b FROM {table} WHERE k = {k}")


def test_delete_row_and_prefix_ranges(s, grid):
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a = 1")  # every row with a = 1
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a = 0 AND b = 0")  # one row
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a = 0 AND b >= 3")
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a >= 3")
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a = 2 AND b > 1 AND b < 4")
    s.execute(f"DELETE FROM {grid} WHERE k = 1 AND a = 2 AND b < 3 AND b > 5")  # an empty slice
    assert keys(s, grid, 1) == [(0, 1), (0, 2), (2, 0), (2, 1), (2, 4)]


def test_delete_in_and_whole_partitions(s, grid):
    s.execute(f"DELETE FROM {grid} WHERE k IN (2, 3) AND a = 0 AND b IN (0, 4)")
    assert keys(s, grid, 2)[:4] == [(0, 1), (0, 2), (0, 3), (1, 0)]
    assert keys(s, grid, 3)[:4] == [(0, 1), (0, 2), (0, 3), (1, 0)]
    s.execute(f"DELETE FROM {grid} WHERE k = 3")
    assert keys(s, grid, 3) == []
    s.execute(f"DELETE FROM {grid} WHERE k IN (2, 3)")
    assert keys(s, grid, 2) == []


def test_delete_columns_and_elements(s, grid):
    s.execute(f"UPDATE {grid} SET l = [1, 2, 3], m = {{1: 1, 2: 2}}, st = {{1, 2}} WHERE k = 4 AND a = 0 "
              "AND b = 0")
    s.execute(f"DELETE l[1], m[2], st[1] FROM {grid} WHERE k = 4 AND a = 0 AND b = 0")
    assert rows(s, f"SELECT v, l, m, st FROM {grid} WHERE k = 4 AND a = 0 AND b = 0") == [
        (0, [1, 3], {1: 1}, {2})]
    s.execute(f"DELETE v, l FROM {grid} WHERE k = 4 AND a = 0 AND b = 0")
    assert rows(s, f"SELECT v, l, m, st FROM {grid} WHERE k = 4 AND a = 0 AND b = 0") == [
        (None, None, {1: 1}, {2})]
    s.execute(f"DELETE m, st FROM {grid} WHERE k = 4 AND a = 0 AND b = 0")
    assert rows(s, f"SELECT a, b, v FROM {grid} WHERE k = 4 AND a = 0 AND b = 0") == [(0, 0, None)]


DELETE_ERRORS = [
    (f"DELETE FROM {KS}.del WHERE k = 1 AND a > 1 AND a <= 2 AND b = 1",
     'Clustering column "b" cannot be restricted (preceding column "a" is restricted by a non-EQ relation)'),
    (f"DELETE FROM {KS}.del WHERE k = 1 AND b = 0",
     'PRIMARY KEY column "b" cannot be restricted as preceding column "a" is not restricted'),
    (f"DELETE FROM {KS}.del WHERE a = 0", "Some partition key parts are missing: k"),
    (f"DELETE v FROM {KS}.del WHERE k = 1 AND a = 2", "Range deletions are not supported for specific columns"),
    (f"DELETE nope FROM {KS}.del WHERE k = 1 AND a = 0 AND b = 0",
     f"Undefined column name nope in table {KS}.del"),
    (f"DELETE k FROM {KS}.del WHERE k = 1",
     "Invalid identifier k for deletion (should not be a PRIMARY KEY part)"),
    (f"DELETE FROM {KS}.del WHERE k = 1 AND v = 1", "Non PRIMARY KEY columns found in where clause: v "),
    (f"DELETE l[10] FROM {KS}.del WHERE k = 4 AND a = 0 AND b = 0",
     "Attempted to delete an element from a list which is null"),
]


@pytest.mark.parametrize("statement,message", DELETE_ERRORS, ids=[m[:40] for _, m in DELETE_ERRORS])
def test_delete_errors(s, grid, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# Cases the conformance run found and the lead fixed (expected values from Cassandra's sources,
# cited per case).
# ---------------------------------------------------------------------------------------------------


def test_insert_of_statics_only_writes_the_static_row(s):
    # InsertUpdateIfConditionStaticsTest: INSERT with the partition key and statics only.
    s.execute(f"INSERT INTO {KS}.st (k, s) VALUES (900, 2)")
    assert rows(s, f"SELECT k, c, s FROM {KS}.st WHERE k = 900") == [(900, None, 2)]
    s.execute(f"DELETE s FROM {KS}.st WHERE k = 900")
    assert rows(s, f"SELECT k, c, s FROM {KS}.st WHERE k = 900") == []  # no row marker


FIXED_ERRORS = [
    # StatementRestrictions: statics only with a clustering restriction.
    (f"UPDATE {KS}.st SET s = 4 WHERE k = 4 AND c = 1",
     "Invalid restrictions on clustering columns since the UPDATE statement modifies only "
     "static columns"),
    (f"DELETE s FROM {KS}.st WHERE k = 4 AND c = 1",
     "Invalid restrictions on clustering columns since the DELETE statement modifies only "
     "static columns"),
    # BatchStatement.validate.
    (f"BEGIN BATCH USING TIMESTAMP 50 INSERT INTO {KS}.t (k, c) VALUES (1, 1) USING TIMESTAMP 3; "
     "APPLY BATCH", "Timestamp must be set either on BATCH or individual statements"),
    (f"BEGIN BATCH USING TTL 1 INSERT INTO {KS}.t (k, c) VALUES (1, 1); APPLY BATCH",
     "Global TTL on the BATCH statement is not supported."),
    # Constants.Substracter and NullLiteral for counters.
    (f"UPDATE {KS}.cnt SET n = n - -9223372036854775808 WHERE k = 1",
     "The negation of -9223372036854775808 overflows supported counter precision"),
    (f"UPDATE {KS}.cnt SET n = n + null WHERE k = 1",
     "Invalid null value for counter increment/decrement"),
    # UpdateStatement.ParsedInsert; DeleteTest.
    (f"INSERT INTO {KS}.t (k, k) VALUES (1, 1)", "The column names contains duplicates"),
    (f"DELETE v FROM {KS}.t WHERE k = 1", "Range deletions are not supported for specific columns"),
]


@pytest.mark.parametrize("statement,message", FIXED_ERRORS)
def test_fixed_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as info:
        s.execute(statement)
    assert message in server_message(info.value)


def test_null_bound_timestamp_and_ttl(s):
    # Attributes.getTimestamp / getTimeToLive: a null timestamp is an error, a null TTL is 0.
    s.execute(f"CREATE TABLE IF NOT EXISTS {KS}.dttl2 (k int PRIMARY KEY, v int) "
              "WITH default_time_to_live = 1000")
    insert = s.prepare(f"INSERT INTO {KS}.dttl2 (k, v) VALUES (?, ?) USING TIMESTAMP ?")
    with pytest.raises(InvalidRequest) as info:
        s.execute(insert, (1, 1, None))
    assert "Invalid null value of timestamp" in server_message(info.value)
    with_ttl = s.prepare(f"INSERT INTO {KS}.dttl2 (k, v) VALUES (?, ?) USING TTL ?")
    s.execute(with_ttl, (2, 2, None))
    assert rows(s, f"SELECT TTL(v) FROM {KS}.dttl2 WHERE k = 2") == [(None,)]
