"""CompiledWrite's short path for the usual write (`_single`) builds exactly the Mutation, or
raises exactly the error, of the general path (`_general`), for every bound value shape."""

from __future__ import annotations

import asyncio
import operator

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.config import NodeConfig
from ferrosa.coordinator.execution import Execution, Session
from ferrosa.coordinator.router import ShardRouter
from ferrosa.coordinator.terms import UNSET
from ferrosa.front.node import Node
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.schema.errors import InvalidRequest

SCHEMA = [
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TABLE ks.plain (k int PRIMARY KEY, a text, b int)",
    ("CREATE TABLE ks.aged (k int, c int, s int static, v text, PRIMARY KEY (k, c)) "
     "WITH default_time_to_live = 100"),
    ("CREATE TABLE ks.two (k1 int, k2 text, c1 int, c2 text, v int, "
     "PRIMARY KEY ((k1, k2), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)"),
    "CREATE TABLE ks.blobs (k blob PRIMARY KEY, a blob, b blob)",
    "CREATE TABLE ks.wide (k int, c1 int, c2 text, v text, PRIMARY KEY (k, c1, c2))",
]
# (statement, whether it takes the short path)
STATEMENTS = [
    ("INSERT INTO ks.plain (k, a, b) VALUES (?, ?, ?)", True),
    ("UPDATE ks.plain SET a = ?, b = ? WHERE k = ?", True),
    ("INSERT INTO ks.aged (k, c, s, v) VALUES (?, ?, ?, ?)", True),
    ("INSERT INTO ks.aged (k, s) VALUES (?, ?)", True),  # the static row only
    ("UPDATE ks.aged SET v = ? WHERE k = ? AND c = ?", True),
    ("INSERT INTO ks.two (k1, k2, c1, c2, v) VALUES (?, ?, ?, ?, ?)", True),
    ("INSERT INTO ks.plain (k, a, b) VALUES (?, ?, ?) USING TTL ?", False),
    ("INSERT INTO ks.plain (k, a, b) VALUES (?, ?, ?) USING TIMESTAMP ?", False),
    ("UPDATE ks.plain SET a = ? WHERE k IN (?, ?)", False),
    ("DELETE FROM ks.plain WHERE k = ?", False),
]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    """A front's Node with no shards: enough to compile statements against a real schema."""
    async def build() -> Node:
        config = msgspec.convert({"data_dir": str(tmp_path_factory.mktemp("node")),
                                  "shard_count": 1}, NodeConfig)
        made = Node(config, ShardRouter(asyncio.get_running_loop(), [], Doorbell()))
        for query in SCHEMA:
            await made.compile_query(query, None).execute(Execution(made, Session(), []))
        return made
    return asyncio.run(build())


def test_which_statements_take_the_short_path(node: Node) -> None:
    for query, single in STATEMENTS:
        assert node.prepare(query, None).compiled.single is single, query


_INT = st.integers(-(2 ** 31), 2 ** 31 - 1).map(lambda i: i.to_bytes(4, "big", signed=True))
_BOUND = st.one_of(_INT, st.binary(max_size=8), st.none(), st.just(UNSET))


@settings(max_examples=300, deadline=None)
@given(which=st.sampled_from([q for q, single in STATEMENTS if single]),
       values=st.lists(_BOUND, min_size=5, max_size=5),
       timestamp=st.one_of(st.none(), st.integers(0, 2 ** 62)),
       batch_timestamp=st.one_of(st.none(), st.integers(0, 2 ** 62)),
       now=st.integers(0, 2 ** 31 - 1))
def test_the_short_path_builds_what_the_general_one_does(node: Node, which: str, values: list,
                                                         timestamp: int | None,
                                                         batch_timestamp: int | None,
                                                         now: int) -> None:
    compiled = node.prepare(which, None).compiled
    bound = values[:len(compiled.markers)]
    general_ex = Execution(node, Session(), bound, timestamp=timestamp, now_in_seconds=now)
    single_ex = Execution(node, Session(), bound, timestamp=timestamp, now_in_seconds=now)
    try:
        expected = compiled._general(general_ex, batch_timestamp)
    except Exception as exc:  # noqa: BLE001 - the short path must raise the same
        with pytest.raises(type(exc)) as caught:
            compiled._single(single_ex, batch_timestamp)
        assert str(caught.value) == str(exc)
        return
    got = compiled._single(single_ex, batch_timestamp)
    assert len(expected) == 1
    if timestamp is None and batch_timestamp is None:  # each drew its own from the session's clock, the second later
        assert got.timestamp >= expected[0].timestamp
        got.timestamp = expected[0].timestamp
    assert got == expected[0]


def test_the_table_default_ttl_is_applied(node: Node) -> None:
    compiled = node.prepare("INSERT INTO ks.aged (k, c, s, v) VALUES (?, ?, ?, ?)",
                            None).compiled
    ex = Execution(node, Session(), [b"\0\0\0\1", b"\0\0\0\2", b"\0\0\0\3", b"x"],
                   timestamp=9, now_in_seconds=1_000)
    mutation = compiled._single(ex, None)
    assert (mutation.ttl, mutation.expires_at, mutation.now) == (100, 1_100, 1_000)
    assert (mutation.plain_names, mutation.plain_values) == (["v"], [b"x"])
    assert [(w.column, w.value) for w in mutation.static_cells] == [("s", b"\0\0\0\3")]


# Statements whose regular columns are all bound by markers: in one run, out of order, or one;
# with values to validate or not (blobs).
MARKER_RUNS = [
    "INSERT INTO ks.plain (k, a, b) VALUES (?, ?, ?)",
    "INSERT INTO ks.plain (a, k, b) VALUES (?, ?, ?)",  # markers 0 and 2
    "UPDATE ks.plain SET b = ?, a = ? WHERE k = ?",
    "UPDATE ks.aged SET v = ? WHERE k = ? AND c = ?",
    "INSERT INTO ks.blobs (k, a, b) VALUES (?, ?, ?)",
    "INSERT INTO ks.blobs (a, k, b) VALUES (?, ?, ?)",
    "UPDATE ks.blobs SET b = ? WHERE k = ?",
    "INSERT INTO ks.plain (k, a, b) VALUES (?, 'x', ?)",  # not all markers
]
_TEXT_OR_NOT = st.one_of(st.text(max_size=3).map(str.encode), st.just(b"\xc3\x28"))


def _bind(fn, values: list):
    try:
        return fn(values)
    except Exception as exc:  # noqa: BLE001 - compared with the other way's
        return type(exc), str(exc)


@settings(max_examples=300, deadline=None)
@given(which=st.sampled_from(MARKER_RUNS),
       values=st.lists(st.one_of(_BOUND, _TEXT_OR_NOT), min_size=3, max_size=3))
def test_markers_bound_at_once_are_each_markers_value(node: Node, which: str,
                                                      values: list) -> None:
    """`bind_all` gives the list, or raises the validation error, that calling each
    column's marker function gives."""
    compiled = node.prepare(which, None).compiled
    assert (_bind(compiled.plain_values, values)
            == _bind(lambda v: [fn(v) for fn in compiled.plain_fns], values))


def test_blob_markers_in_one_run_are_a_slice(node: Node) -> None:
    """The usual prepared INSERT of blobs binds its columns in C: no Python call per write."""
    compiled = node.prepare("INSERT INTO ks.blobs (k, a, b) VALUES (?, ?, ?)", None).compiled
    assert repr(compiled.plain_values) == repr(operator.itemgetter(slice(1, 3)))


def test_a_literal_column_binds_value_by_value(node: Node) -> None:
    compiled = node.prepare("INSERT INTO ks.plain (k, a, b) VALUES (?, 'x', ?)", None).compiled
    ex = Execution(node, Session(), [b"\0\0\0\1", b"\0\0\0\2"], timestamp=1)
    assert compiled._single(ex, None).plain_values == [b"x", b"\0\0\0\2"]


# -- a BATCH that repeats one statement: rows of one partition in one Mutation (`_batch_rows`)

def _expanded(mutations: list) -> list:
    """Each Mutation's `rows` as Mutations of their own: what a shard applies."""
    out = []
    for mutation in mutations:
        out.append(msgspec.structs.replace(mutation, rows=None))
        for row in mutation.rows or ():
            out.append(msgspec.structs.replace(mutation, ck=row.ck, ck_values=row.ck_values,
                                               plain_values=row.plain_values, rows=None))
    return out


def _batch(node: Node, query: str):
    from ferrosa.coordinator.dml import CompiledBatch
    compiled = node.prepare(query, None).compiled
    return compiled, lambda n: CompiledBatch([compiled] * n, lambda v: None, [], 1)


def _int(i: int) -> bytes:
    return i.to_bytes(4, "big", signed=True)


def test_rows_of_one_partition_make_one_mutation(node: Node) -> None:
    compiled, batch = _batch(node, "INSERT INTO ks.two (k1, k2, c1, c2, v) VALUES (?, ?, ?, ?, ?)")
    rows = [[_int(1), b"p", _int(c), b"x", _int(c * 10)] for c in range(10)]
    ex = Execution(node, Session(), [], timestamp=5, now_in_seconds=7)
    [mutation] = batch(10).collect(ex, rows)
    assert len(mutation.rows) == 9
    assert [r.plain_values for r in mutation.rows] == [[_int(c * 10)] for c in range(1, 10)]
    singles = [compiled._single(Execution(node, Session(), values, now_in_seconds=7), 5)
               for values in rows]
    assert _expanded([mutation]) == singles


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3),
                               st.one_of(st.text(max_size=3).map(str.encode), st.just(UNSET),
                                         st.none())),
                     min_size=1, max_size=12),
       which=st.sampled_from(["INSERT INTO ks.aged (k, c, v) VALUES (?, ?, ?)",
                              "INSERT INTO ks.aged (k, c, s, v) VALUES (?, ?, ?, ?)",
                              "UPDATE ks.aged SET v = ? WHERE k = ? AND c = ?",
                              "INSERT INTO ks.wide (k, c1, c2, v) VALUES (?, ?, ?, ?)"]))
def test_batch_rows_apply_what_each_row_alone_does(node: Node, rows: list, which: str) -> None:
    """Any run of partitions, with unset values and static columns: expanded, the batch's
    Mutations are the rows' own, in order; a Mutation gathers rows of one partition only."""
    compiled, batch = _batch(node, which)
    per_row = []
    for k, c, v in rows:
        if which.startswith("UPDATE"):
            per_row.append([v, _int(k), _int(c)])
        elif "s," in which:
            per_row.append([_int(k), _int(c), _int(k), v])
        elif "wide" in which:
            per_row.append([_int(k), _int(c), b"c%d" % c, v])
        else:
            per_row.append([_int(k), _int(c), v])
    ex = Execution(node, Session(), [], timestamp=11, now_in_seconds=3)
    got = batch(len(per_row)).collect(ex, per_row)
    singles = [compiled._single(Execution(node, Session(), values, now_in_seconds=3), 11)
               for values in per_row]
    assert _expanded(got) == singles
    for mutation in got:
        assert not (mutation.rows and mutation.static_cells)
    if "s," in which:
        assert all(m.rows is None for m in got)


_BAD = {"short": b"\0\0\1", "null": None, "unset": UNSET}


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("bad", ["k", "c"])
@pytest.mark.parametrize("how", sorted(_BAD))
def test_a_bad_key_in_a_row_that_would_join_the_last(node: Node, wide: bool, bad: str,
                                                      how: str) -> None:
    """The second row of one partition, which joins the first's Mutation when it is good."""
    _check_batch(node, [(0, 0, "", ""), (0, 1, bad, how)], wide)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 3),
                               st.sampled_from(["", "k", "c"]),
                               st.sampled_from(sorted(_BAD))),
                     min_size=1, max_size=8),
       wide=st.booleans())
def test_a_bad_key_in_any_row_of_a_batch_fails_as_that_row_alone(node: Node, rows: list,
                                                                  wide: bool) -> None:
    """A batch raises the error of its first row that fails alone, whether that row would
    join the previous row's Mutation or not; with none, its Mutations are the rows' own."""
    _check_batch(node, rows, wide)


def _check_batch(node: Node, rows: list, wide: bool) -> None:
    query = ("INSERT INTO ks.wide (k, c1, c2, v) VALUES (?, ?, ?, ?)" if wide else
             "INSERT INTO ks.aged (k, c, v) VALUES (?, ?, ?)")
    compiled, batch = _batch(node, query)
    per_row = []
    for k, c, bad, how in rows:
        key, ck = _int(k), _int(c)
        if bad == "k":
            key = _BAD[how]
        elif bad == "c":
            ck = _BAD[how]
        per_row.append([key, ck, b"c", b"v"] if wide else [key, ck, b"v"])
    expected = None
    singles = []
    for values in per_row:
        try:
            singles.append(compiled._single(Execution(node, Session(), values,
                                                      now_in_seconds=3), 11))
        except InvalidRequest as exc:
            expected = str(exc)
            break
    ex = Execution(node, Session(), [], timestamp=11, now_in_seconds=3)
    if expected is None:
        assert _expanded(batch(len(per_row)).collect(ex, per_row)) == singles
    else:
        with pytest.raises(InvalidRequest) as info:
            batch(len(per_row)).collect(ex, per_row)
        assert str(info.value) == expected
