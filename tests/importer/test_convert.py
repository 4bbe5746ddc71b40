"""The loader's parts without a node: conversion (exact mutations, refusals, and the promise that the
mutations commute and are idempotent, checked on the shards' real memtable), the header check, the
discovery of SSTables and their tables, and the batch framing of the admin command.
"""

from __future__ import annotations

import base64
import io
import os
import random
import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.ctl.messages import MAX_REQUEST_BYTES, AdminRequest
from ferrosa.front.admin import IMPORT_MAX_PART_BYTES
from ferrosa.importer.errors import SchemaMismatch, Unrepresentable
from ferrosa.importer.link import BatchBuilder, Limits
from ferrosa.importer.load import Converter, Counts
from ferrosa.importer.model import (
    BoundKind,
    Cell,
    ComplexDeletion,
    DeletionTime,
    Partition,
    RangeTombstoneMarker,
    Row,
)
from ferrosa.importer.progress import Progress, summary
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.sources import find_sources, names_from_location
from ferrosa.importer.target import TargetColumn, TargetTable, check_header, value_fits
from ferrosa.ipc import messages as m
from ferrosa.partitioner import token
from ferrosa.protocol import types as T
from ferrosa.schema.bytecomparable import bound, comparable_key, encode_clustering
from shards.memtable import Cell as MemtableCell
from shards.memtable import Complex, TableData

from . import loadcases as L
from .synth import M, Schema, write_sstable

ADDR = T.UserType("imp", "addr", ["street", "num"], [T.TEXT, T.INT])
TABLE_ID = b"\x42" * 16


def _target(
    name: str,
    pk: list[tuple[str, T.CqlType]],
    ck: list[tuple[str, T.CqlType, bool]],
    columns: dict[str, tuple[str, T.CqlType]],
) -> TargetTable:
    return TargetTable(
        "imp",
        name,
        TABLE_ID,
        tuple(TargetColumn(n, "partition_key", t) for n, t in pk),
        tuple(TargetColumn(n, "clustering", t, desc) for n, t, desc in ck),
        {n: TargetColumn(n, kind, t) for n, (kind, t) in columns.items()},
    )


TARGETS = {
    "rich": _target(
        "rich",
        [("k", T.INT)],
        [("c", T.INT, False)],
        {
            "s": ("static", T.INT),
            "v": ("regular", T.TEXT),
            "l": ("regular", T.ListType(T.INT)),
            "st": ("regular", T.SetType(T.TEXT)),
            "mp": ("regular", T.MapType(T.TEXT, T.INT)),
            "u": ("regular", ADDR),
            "f": ("regular", T.ListType(T.INT, frozen=True)),
        },
    ),
    "rev": _target("rev", [("k", T.INT)], [("c", T.INT, True)], {"v": ("regular", T.INT)}),
    "comp": _target(
        "comp",
        [("a", T.INT), ("b", T.TEXT)],
        [("c1", T.INT, False), ("c2", T.TEXT, False)],
        {"v": ("regular", T.INT)},
    ),
    "cnt": _target("cnt", [("k", T.INT)], [], {"n": ("regular", T.COUNTER)}),
}


def _convert(table: str, partitions: list[Partition]) -> list[m.Mutation]:
    conv = Converter(TARGETS[table], "x-Data.db")
    return [mu for p in partitions for mu in conv.partition(p)]


# ------------------------------------------------------------------------------ exact mutations


def test_row_groups_by_timestamp_ttl_and_deletion_time() -> None:
    k, c = L.i32(1), L.i32(3)
    row = Row(
        (c,),
        L.T1,
        cells=[
            Cell("v", b"a", L.T1),
            Cell("f", b"x", L.T3, ttl=60, local_deletion_time=500),
            Cell("l", L.i32(1), L.T1, path=L.timeuuid(7)),
        ],
        complex_deletions=[ComplexDeletion("mp", DeletionTime(L.T2, 99))],
        deletion=DeletionTime(5, 6),
    )
    ck = encode_clustering([T.INT], [False], [c])
    got = _convert("rich", [Partition(k, None, None, [row])])
    tok = token(k)
    uuid = L.timeuuid(7)
    assert got == [
        m.Mutation(TABLE_ID, tok, k, ck, [c], 5, m.MUTATION_ROW_DELETE, now=6),
        m.Mutation(
            TABLE_ID,
            tok,
            k,
            ck,
            [c],
            L.T1,
            m.MUTATION_ROW_UPSERT,
            [
                m.CellWrite("v", b"a"),
                m.CellWrite("l", L.i32(1), m.CELL_SET, comparable_key(T.TIMEUUID)(uuid), uuid),
            ],
            [],
            0,
            0,
            True,
            0,
        ),
        m.Mutation(
            TABLE_ID,
            tok,
            k,
            ck,
            [c],
            L.T3,
            m.MUTATION_ROW_UPSERT,
            [m.CellWrite("f", b"x")],
            [],
            60,
            500,
            False,
            0,
        ),
        m.Mutation(
            TABLE_ID,
            tok,
            k,
            ck,
            [c],
            L.T2,
            m.MUTATION_ROW_UPSERT,
            [m.CellWrite("mp", None, m.CELL_DELETE)],
            [],
            0,
            0,
            False,
            99,
        ),
    ]


def test_partition_deletion_static_row_and_counters() -> None:
    k = L.i32(2)
    got = _convert(
        "rich", [Partition(k, DeletionTime(7, 8), Row((), static=True, cells=[Cell("s", L.i32(1), 9)]), [])]
    )
    assert got == [
        m.Mutation(TABLE_ID, token(k), k, b"", [], 7, m.MUTATION_PARTITION_DELETE, now=8),
        m.Mutation(
            TABLE_ID, token(k), k, b"", [], 9, m.MUTATION_ROW_UPSERT, [], [m.CellWrite("s", L.i32(1))]
        ),
    ]
    counters = _convert("cnt", L.cnt_partitions())
    assert [(mu.cells, mu.timestamp) for mu in counters] == [
        ([m.CellWrite("n", struct.pack(">q", 42))], L.T1),
        ([m.CellWrite("n", None)], L.T2),
    ]
    assert counters[1].now == L.NOW - 5


@pytest.mark.parametrize("table,partitions", [("rev", L.rev_partitions), ("comp", L.comp_partitions)])
def test_range_tombstone_bounds(table: str, partitions) -> None:
    target = TARGETS[table]
    types, desc = target.clustering_types, target.clustering_reversed
    ranges = [
        (mu.ck, mu.ck_end, mu.timestamp)
        for mu in _convert(table, partitions())
        if mu.kind == m.MUTATION_RANGE_DELETE
    ]
    if table == "rev":  # storage order: c <= 5 starts, c > 2 ends (exclusive)
        assert ranges == [
            (bound(types, desc, [L.i32(5)], True, True), bound(types, desc, [L.i32(2)], False, False), L.T2)
        ]
        assert encode_clustering(types, desc, [L.i32(5)]) < encode_clustering(types, desc, [L.i32(2)])
    else:  # [c1 = 2] then the boundary at c1 = 3 opens [c1 = 3] (prefix bounds)
        b2, b3 = [L.i32(2)], [L.i32(3)]
        assert ranges == [
            (bound(types, desc, b2, True, True), bound(types, desc, b3, False, False), L.T2),
            (bound(types, desc, b3, True, True), bound(types, desc, b3, True, False), L.T1 - 1),
        ]


def test_unbounded_range_ends_are_empty() -> None:
    d = DeletionTime(3, 4)
    part = Partition(
        L.i32(1),
        None,
        None,
        [
            RangeTombstoneMarker(BoundKind.INCL_START_BOUND, (), None, d),
            RangeTombstoneMarker(BoundKind.INCL_END_BOUND, (), d, None),
        ],
    )
    (mu,) = _convert("rev", [part])
    assert (mu.kind, mu.ck, mu.ck_end) == (m.MUTATION_RANGE_DELETE, b"", b"")


REFUSED = {
    "shadowable": Row((L.i32(1),), deletion=DeletionTime(1, 1), shadowable=True),
    "expired liveness": Row((L.i32(1),), 5, ttl=(1 << 31) - 1, local_expiration_time=9),
    "udt field": Row((L.i32(1),), cells=[Cell("u", b"x", 1, path=b"\x00\x05")]),
    "list path": Row((L.i32(1),), cells=[Cell("l", b"x", 1, path=b"\x01")]),
    "missing path": Row((L.i32(1),), cells=[Cell("mp", b"x", 1)]),
    "simple with path": Row((L.i32(1),), cells=[Cell("v", b"x", 1, path=b"p")]),
    "unknown column": Row((L.i32(1),), cells=[Cell("zz", b"x", 1)]),
    "bad clustering": Row((b"\x01\x02",), 1),
    "open range": RangeTombstoneMarker(BoundKind.INCL_START_BOUND, (L.i32(1),), None, DeletionTime(1, 1)),
    "close unopened": RangeTombstoneMarker(BoundKind.INCL_END_BOUND, (L.i32(1),), DeletionTime(1, 1), None),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unrepresentable_data_is_refused_by_name(case: str) -> None:
    conv = Converter(TARGETS["rich"], "/some/ks/t/nb-1-big-Data.db")
    with pytest.raises(Unrepresentable) as info:
        conv.partition(Partition(b"\x00\x00\x00\x07", None, None, [REFUSED[case]], position=123))
    assert info.value.path == "/some/ks/t/nb-1-big-Data.db" and info.value.offset == 123
    assert "partition 0x00000007" in str(info.value)
    with pytest.raises(Unrepresentable, match="static row has a liveness"):
        conv.partition(Partition(b"k", None, Row((), 5, static=True), []))


# ------------------------------------------------------------------------------ commute + idempotent


def _state(table: TableData) -> dict:
    def cells(d: dict) -> dict:
        return {
            n: (c if type(c) is MemtableCell else (c.deletion, c.ldt, list(c.cells.items()))) for n, c in d.items()
        }

    out = {}
    for pk, p in table.partitions.items():
        rows = {ck: (r.ck_values, r.marker, r.deletion, r.ldt, cells(r.cells)) for ck, r in p.rows.items()}
        out[pk] = (p.token, p.deletion, p.ldt, cells(p.static), rows, list(p.ranges or []))
    return out


ALL_MUTATIONS = [mu for table, (_s, parts, _v) in L.CASES.items() for mu in _convert(table, parts())]


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_mutations_commute_and_are_idempotent(rnd: random.Random) -> None:
    once = TableData()
    for mu in ALL_MUTATIONS:
        once.apply(mu)
    shuffled = TableData()
    twice = ALL_MUTATIONS + ALL_MUTATIONS
    rnd.shuffle(twice)
    for mu in twice:
        shuffled.apply(msgspec.msgpack.decode(msgspec.msgpack.encode(mu), type=m.Mutation))
    assert _state(shuffled) == _state(once)
    assert any(
        type(c) is Complex
        for p in once.partitions.values()
        for r in p.rows.values()
        for c in r.cells.values()
    )


# ------------------------------------------------------------------------------ header check


def test_value_fits() -> None:
    assert value_fits(T.ASCII, T.TEXT) and not value_fits(T.TEXT, T.ASCII)
    assert value_fits(T.TIMEUUID, T.UUID, key=True) and not value_fits(T.INT, T.BIGINT)
    assert value_fits(T.INT, T.BLOB) and not value_fits(T.INT, T.BLOB, key=True)
    assert not value_fits(T.ListType(T.INT), T.BLOB)  # multi-cell stays multi-cell
    assert not value_fits(T.ListType(T.INT), T.ListType(T.INT, frozen=True))
    assert value_fits(T.MapType(T.TEXT, T.ListType(T.INT, True)), T.MapType(T.TEXT, T.ListType(T.INT, True)))
    wider = T.UserType("other", "addr2", ["street", "num", "zip"], [T.TEXT, T.INT, T.TEXT])
    assert value_fits(ADDR, wider) and not value_fits(wider, ADDR) and not value_fits(ADDR, wider, key=True)
    renamed = T.UserType("imp", "addr", ["road", "num"], [T.TEXT, T.INT])
    assert not value_fits(ADDR, renamed)


def test_header_check_lists_every_difference(tmp_path) -> None:
    path = write_sstable(str(tmp_path / "imp" / "rich"), "da", L.RICH, [])
    with SSTableReader(path) as r:
        check_header(r.decoder, TARGETS["rich"], path)  # fits
        other = _target(
            "rich",
            [("k", T.BIGINT)],
            [("c", T.INT, True)],
            {
                "s": ("regular", T.INT),
                "v": ("regular", T.INT),
                "l": ("regular", T.ListType(T.INT, frozen=True)),
                "st": ("regular", T.SetType(T.TEXT)),
                "mp": ("regular", T.MapType(T.TEXT, T.INT)),
                "u": ("regular", ADDR),
            },
        )
        with pytest.raises(SchemaMismatch) as info:
            check_header(r.decoder, other, path)
    text = str(info.value)
    assert text.startswith(path) and "does not fit table imp.rich" in text
    for problem in (
        "partition key column k is bigint, the SSTable has int",
        "clustering column c is DESC in the table and ASC in the SSTable",
        "column s is regular in the table and static in the SSTable",
        "column v is int in the table, the SSTable has text",
        "column l is frozen<list<int>> in the table, the SSTable has list<int>",
        "regular column f (frozen<list<int>>) is not in the table",
    ):
        assert problem in text


# ------------------------------------------------------------------------------ finding SSTables


def test_names_from_location() -> None:
    uid = "0" * 31 + "1"
    assert names_from_location(f"/d/ks/tab-{uid}/nb-1-big-Data.db") == ("ks", "tab")
    assert names_from_location("/d/ks/my-tab/nb-1-big-Data.db") == ("ks", "my-tab")
    assert names_from_location(f"/d/ks/tab-{uid}/snapshots/before/nb-1-big-Data.db") == ("ks", "tab")
    assert names_from_location(f"/d/ks/tab-{uid}/backups/nb-1-big-Data.db") == ("ks", "tab")


def test_find_sources_walks_a_data_directory(tmp_path) -> None:
    simple = Schema(key_type=f"{M}Int32Type", clustering=[], regulars=[("v", f"{M}Int32Type")])
    uid = "ab" * 16
    for rel in (
        f"ks/t-{uid}",
        f"ks/t-{uid}/snapshots/s1",
        f"ks/t-{uid}/backups",
        f"ks/t-{uid}/.t_idx",
        f"ks/u-{uid}",
        f"system/local-{uid}",
        f"system_schema/tables-{uid}",
    ):
        write_sstable(str(tmp_path / rel), "nb", simple, [])
    sources, skipped = find_sources([str(tmp_path)])
    assert [(os.path.relpath(s.data_path, tmp_path), s.keyspace, s.table) for s in sources] == [
        (f"ks/t-{uid}/nb-1-big-Data.db", "ks", "t"),
        (f"ks/u-{uid}/nb-1-big-Data.db", "ks", "u"),
    ]
    assert skipped == 2
    # Named directly, a snapshot or a system table is imported; a PATH named twice once.
    snapshot = str(tmp_path / f"ks/t-{uid}/snapshots/s1")
    sources, skipped = find_sources([snapshot, str(tmp_path / "system"), snapshot + "/nb-1-big-TOC.txt"])
    assert [(s.keyspace, s.table) for s in sources] == [("ks", "t"), ("system", "local")] and skipped == 0
    with pytest.raises(FileNotFoundError):
        find_sources([str(tmp_path / "nothing")])


# ------------------------------------------------------------------------------ batch framing


def _unframe(lines: list[bytes]) -> list[m.Mutation]:
    parts = []
    for line in lines:
        assert len(line) <= MAX_REQUEST_BYTES and line.endswith(b"\n")
        request = msgspec.json.decode(line, type=AdminRequest)
        assert request.op == "import"
        parts.append(base64.b64decode(request.args["data"], validate=True))
        if len(lines) > 1:
            assert request.args["part"] == len(parts) - 1 and request.args["more"] == (
                len(parts) < len(lines)
            )
    return msgspec.msgpack.decode(b"".join(parts), type=list[m.Mutation])


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 150_000), min_size=1, max_size=40), batch_kib=st.sampled_from([1, 47, 300])
)
def test_batches_carry_exactly_the_mutations(sizes: list[int], batch_kib: int) -> None:
    limits = Limits(1 << 20, IMPORT_MAX_PART_BYTES, 2)
    builder = BatchBuilder(batch_kib * 1024, limits)
    mutations = [
        m.Mutation(
            TABLE_ID,
            token(b"k%d" % i),
            b"k%d" % i,
            b"",
            [],
            i,
            m.MUTATION_ROW_UPSERT,
            [m.CellWrite("v", b"x" * n)],
        )
        for i, n in enumerate(sizes)
    ]
    batches = []
    for mu in mutations:
        encoded = msgspec.msgpack.encode(mu)
        if len(encoded) > builder.max_mutation_bytes:
            continue
        if (done := builder.add(encoded)) is not None:
            batches.append(done)
    if (last := builder.finish()) is not None:
        batches.append(last)
    sent = [mu for b in batches for mu in _unframe(b.lines)]
    assert sent == [mu for mu in mutations if len(msgspec.msgpack.encode(mu)) <= builder.max_mutation_bytes]
    for b in batches:
        payload = sum(
            len(base64.b64decode(msgspec.json.decode(x, type=AdminRequest).args["data"])) for x in b.lines
        )
        assert payload <= builder.batch_bytes
        assert b.mutations == len(_unframe(b.lines))


# ------------------------------------------------------------------------------ progress


def test_progress_line_and_summary() -> None:
    stream = io.StringIO()
    progress = Progress(stream, total_bytes=1000, passes=2, sstables=3, enabled=True)
    progress.start("validating", "ks.t", 1)
    progress.validated(100, 500)
    progress.tick(force=True)
    progress.loaded(40, 250, 50)
    progress.phase = "loading"
    assert progress.line().startswith("loading ks.t (1/3 SSTables)  40 rows  0.0 MiB  ")
    progress.clear()
    drawn = stream.getvalue().split("\r")
    assert drawn[2].startswith("validating ks.t (1/3 SSTables)  100 rows") and "ETA 0:0" in drawn[2]
    assert drawn[-1] == ""  # cleared
    quiet = io.StringIO()
    Progress(quiet, 1000, 2, 3, enabled=False).tick(force=True)
    assert quiet.getvalue() == ""
    text = summary(_counts(), 3, 2048, 1, progress)
    assert text.startswith("sstables 3, partitions 2, rows 5, cells 7, tombstones 1, bytes 2,048")
    assert "errors 1" in text and "loaded 40 rows as 50 mutations" in text


def _counts() -> Counts:
    counts = Counts()
    counts.partitions, counts.rows, counts.cells, counts.tombstones = 2, 5, 7, 1
    return counts
