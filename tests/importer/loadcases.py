"""Test helper: small SSTables (written by synth.py) covering what the loader converts, with their
CQL schema and the rows a SELECT must return once they are imported.

Tables of keyspace ``imp``:

* ``rich``: static column, text, frozen list, non-frozen list/set/map/UDT; rows with TTL (live and
  expired), row deletion, cell tombstone, collection deletion, an element tombstone, a partial UDT,
  a range tombstone (rows inside it older and newer), a partition deletion, a static-only partition;
* ``rev``: a DESC clustering column with a range tombstone (bounds in storage order);
* ``comp``: a composite partition key, two clustering columns, prefix range tombstones joined by a
  boundary;
* ``cnt``: counters (a multi-shard context and a deleted counter).

This module must NOT be imported by the package; it exists for the importer's tests.
"""

from __future__ import annotations

import os
import struct
import time

from ferrosa.importer.model import (
    BoundKind,
    Cell,
    ComplexDeletion,
    DeletionTime,
    Partition,
    RangeTombstoneMarker,
    Row,
)
from ferrosa.partitioner import compose_partition_key

from .synth import M, Schema, write_sstable

T1 = 1_700_000_000_000_000
T2, T3 = T1 + 1_000, T1 + 2_000
NOW = int(time.time())
GONE = DeletionTime(T2, NOW - 5)

SCHEMA_CQL = [
    "CREATE KEYSPACE imp WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TYPE imp.addr (street text, num int)",
    "CREATE TABLE imp.rich (k int, c int, s int static, v text, l list<int>, st set<text>, "
    "mp map<text, int>, u addr, f frozen<list<int>>, PRIMARY KEY (k, c))",
    "CREATE TABLE imp.rev (k int, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)",
    "CREATE TABLE imp.comp (a int, b text, c1 int, c2 text, v int, PRIMARY KEY ((a, b), c1, c2))",
    "CREATE TABLE imp.cnt (k int PRIMARY KEY, n counter)",
]


def i32(n: int) -> bytes:
    return struct.pack(">i", n)


def timeuuid(ticks: int) -> bytes:
    """A version-1 UUID at ``ticks`` (100 ns units): list cell paths sort by it."""
    return struct.pack(
        ">IHH", ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, ((ticks >> 48) & 0x0FFF) | 0x1000
    ) + bytes.fromhex("8000aabbccddeeff")


def frozen_list(*items: int) -> bytes:
    return struct.pack(">i", len(items)) + b"".join(struct.pack(">i", 4) + i32(x) for x in items)


def counter_context(*counts: int) -> bytes:
    """A counter context of global shards only: empty header, then (id, clock, count) per shard."""
    return b"\x00\x00" + b"".join(
        bytes([i + 1]) * 16 + struct.pack(">qq", 1, c) for i, c in enumerate(counts)
    )


UDT = f"{M}UserType(imp,61646472,737472656574:{M}UTF8Type,6e756d:{M}Int32Type)"
RICH = Schema(
    key_type=f"{M}Int32Type",
    clustering=[f"{M}Int32Type"],
    statics=[("s", f"{M}Int32Type")],
    regulars=[
        ("v", f"{M}UTF8Type"),
        ("f", f"{M}FrozenType({M}ListType({M}Int32Type))"),
        ("l", f"{M}ListType({M}Int32Type)"),
        ("mp", f"{M}MapType({M}UTF8Type,{M}Int32Type)"),
        ("st", f"{M}SetType({M}UTF8Type)"),
        ("u", UDT),
    ],
    min_ts=T1 - 10_000,
    min_ldt=NOW - 1000,
    min_ttl=0,
)
REV = Schema(
    key_type=f"{M}Int32Type",
    clustering=[f"{M}ReversedType({M}Int32Type)"],
    regulars=[("v", f"{M}Int32Type")],
    min_ts=T1 - 10_000,
    min_ldt=NOW - 1000,
)
COMP = Schema(
    key_type=f"{M}CompositeType({M}Int32Type,{M}UTF8Type)",
    clustering=[f"{M}Int32Type", f"{M}UTF8Type"],
    regulars=[("v", f"{M}Int32Type")],
    min_ts=T1 - 10_000,
    min_ldt=NOW - 1000,
)
CNT = Schema(
    key_type=f"{M}Int32Type",
    clustering=[],
    regulars=[("n", f"{M}CounterColumnType")],
    min_ts=T1 - 10_000,
    min_ldt=NOW - 1000,
)


def _v(text: str, ts: int = T1, **kw) -> Cell:
    return Cell("v", text.encode(), ts, **kw)


def rich_partitions() -> list[Partition]:
    u0, u1 = b"\x00\x00", b"\x00\x01"
    return [
        Partition(
            i32(1),
            None,
            Row((), static=True, cells=[Cell("s", i32(7), T1)]),
            [
                Row(
                    (i32(1),),
                    T1,
                    cells=[
                        _v("a"),
                        Cell("f", frozen_list(1, 2), T1),
                        Cell("l", i32(10), T1, path=timeuuid(1000)),
                        Cell("l", i32(20), T1, path=timeuuid(2000)),
                        Cell("mp", i32(1), T1, path=b"a"),
                        Cell("st", b"", T1, path=b"x"),
                        Cell("st", b"", T1, path=b"y"),
                        Cell("u", b"main st", T1, path=u0),
                        Cell("u", i32(5), T1, path=u1),
                    ],
                ),
                Row(
                    (i32(2),),
                    T1,
                    ttl=3600,
                    local_expiration_time=NOW + 3600,
                    cells=[_v("ttl", ttl=3600, local_deletion_time=NOW + 3600)],
                ),
                Row((i32(3),), T1, deletion=GONE, cells=[_v("deleted row")]),
                Row((i32(4),), T1, cells=[Cell("v", None, T2, local_deletion_time=NOW - 5)]),
                Row(
                    (i32(5),),
                    T1,
                    cells=[
                        Cell("l", i32(99), T1, path=timeuuid(500)),
                        Cell("l", i32(30), T3, path=timeuuid(3000)),
                    ],
                    complex_deletions=[ComplexDeletion("l", GONE)],
                ),
                RangeTombstoneMarker(BoundKind.INCL_START_BOUND, (i32(6),), None, GONE),
                Row((i32(6),), T1, cells=[_v("hidden by the range")]),
                Row((i32(7),), T3, cells=[_v("kept", T3)]),
                RangeTombstoneMarker(BoundKind.EXCL_END_BOUND, (i32(8),), GONE, None),
                Row((i32(8),), T1, cells=[_v("after")]),
                Row(
                    (i32(9),),
                    T1,
                    cells=[
                        Cell("mp", None, T2, local_deletion_time=NOW - 5, path=b"b"),
                        Cell("mp", i32(3), T1, path=b"c"),
                        Cell("u", i32(9), T1, path=u1),
                    ],
                ),
            ],
        ),
        Partition(
            i32(2),
            GONE,
            Row((), static=True, cells=[Cell("s", i32(70), T1)]),
            [
                Row((i32(1),), T1, cells=[_v("before the partition deletion")]),
                Row((i32(2),), T3, cells=[_v("new", T3)]),
            ],
        ),
        Partition(
            i32(3),
            None,
            None,
            [
                Row(
                    (i32(1),),
                    T1,
                    ttl=60,
                    local_expiration_time=NOW - 1,
                    cells=[_v("expired", ttl=60, local_deletion_time=NOW - 1)],
                ),
            ],
        ),
        Partition(i32(4), None, Row((), static=True, cells=[Cell("s", i32(8), T1)]), []),
    ]


# (k, c, s, v, l, st, mp, u, f) with u as (street, num), sorted by (k, c).
RICH_ROWS = [
    (1, 1, 7, "a", [10, 20], {"x", "y"}, {"a": 1}, ("main st", 5), [1, 2]),
    (1, 2, 7, "ttl", None, None, None, None, None),
    (1, 4, 7, None, None, None, None, None, None),
    (1, 5, 7, None, [30], None, None, None, None),
    (1, 7, 7, "kept", None, None, None, None, None),
    (1, 8, 7, "after", None, None, None, None, None),
    (1, 9, 7, None, None, None, {"c": 3}, (None, 9), None),
    (2, 2, None, "new", None, None, None, None, None),
    (4, None, 8, None, None, None, None, None, None),
]


def rev_partitions() -> list[Partition]:
    rows = {c: Row((i32(c),), T1, cells=[Cell("v", i32(c * 10), T1)]) for c in range(1, 10)}
    return [
        Partition(
            i32(1),
            None,
            None,
            [
                rows[9],
                rows[8],
                rows[7],
                rows[6],
                RangeTombstoneMarker(
                    BoundKind.INCL_START_BOUND, (i32(5),), None, GONE
                ),  # c <= 5 (DESC: a start)
                rows[5],
                rows[4],
                rows[3],
                RangeTombstoneMarker(BoundKind.EXCL_END_BOUND, (i32(2),), GONE, None),  # and c > 2
                rows[2],
                rows[1],
            ],
        )
    ]


REV_ROWS = [(1, c, c * 10) for c in (9, 8, 7, 6, 2, 1)]


def comp_partitions() -> list[Partition]:
    older = DeletionTime(T1 - 1, NOW - 5)

    def row(c1: int, c2: str, ts: int = T1) -> Row:
        return Row((i32(c1), c2.encode()), ts, cells=[Cell("v", i32(c1), ts)])

    return [
        Partition(
            compose_partition_key([i32(1), b"x"]),
            None,
            None,
            [
                row(1, "a"),
                RangeTombstoneMarker(BoundKind.INCL_START_BOUND, (i32(2),), None, GONE),
                row(2, "a"),
                row(2, "b"),
                RangeTombstoneMarker(BoundKind.EXCL_END_INCL_START_BOUNDARY, (i32(3),), GONE, older),
                row(3, "a"),
                row(3, "z", T1 - 5),
                RangeTombstoneMarker(BoundKind.INCL_END_BOUND, (i32(3),), older, None),
                row(4, "a"),
            ],
        )
    ]


COMP_ROWS = [(1, "x", 1, "a", 1), (1, "x", 3, "a", 3), (1, "x", 4, "a", 4)]


def cnt_partitions() -> list[Partition]:
    return [
        Partition(i32(1), None, None, [Row((), cells=[Cell("n", counter_context(5, 37), T1)])]),
        Partition(i32(2), None, None, [Row((), cells=[Cell("n", None, T2, local_deletion_time=NOW - 5)])]),
    ]


CNT_ROWS = [(1, 42)]

CASES = {  # table -> (schema, partitions, SSTable version)
    "rich": (RICH, rich_partitions, "da"),
    "rev": (REV, rev_partitions, "nb"),
    "comp": (COMP, comp_partitions, "oa"),
    "cnt": (CNT, cnt_partitions, "nb"),
}


def write_cases(root: str) -> str:
    """Write every case as <root>/imp/<table>-<id>/...; returns <root>."""
    for table, (schema, partitions, version) in CASES.items():
        directory = os.path.join(root, "imp", f"{table}-{'0' * 31}{len(table)}")
        write_sstable(directory, version, schema, partitions())
    return root
