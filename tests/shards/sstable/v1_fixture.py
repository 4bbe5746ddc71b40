"""The content of the format-1 SSTables kept in tests/shards/sstable/v1/, which a Ferrosa build
of format 1 (commit 99fba31) wrote: generation 1 holds `plain_partitions()` and generation 2
`clustered_partitions()`, each written by tests.shards.sstable.helpers.write. Format 1's
Filter is the classic bloom filter (docs/sstable-format.md), so these files are what a node
upgraded from such a build still finds on its disks and in its bucket. Nothing here may
change: the files hold these partitions."""

from __future__ import annotations

from ferrosa.partitioner import token
from shards.memtable import Cell, Marker, Partition, Row

# Generation 1: a table without clustering columns (every partition one plain row).
PLAIN_PARTITIONS = 600
# Generation 2: partitions of ROWS rows each, enough for a row index in the last one.
CLUSTERED_PARTITIONS = 4
ROWS = 40
WIDE_ROWS = 2000


def plain_partitions() -> list[Partition]:
    parts = []
    for i in range(PLAIN_PARTITIONS):
        pk = b"plain-%04d" % i
        part = Partition(token(pk), pk)
        part.rows[b""] = Row([], Marker(1_000 + i, 0, 0),
                             cells={"a": Cell(1_000 + i, b"a-value-%d" % i, 0, 0),
                                    "b": Cell(1_000 + i, bytes([i % 251]) * 34, 0, 0)})
        parts.append(part)
    return sorted(parts, key=lambda p: (p.token, p.pk))


def clustered_partitions() -> list[Partition]:
    parts = []
    for i in range(CLUSTERED_PARTITIONS):
        pk = b"wide-%d" % i
        part = Partition(token(pk), pk)
        for r in range(WIDE_ROWS if i == CLUSTERED_PARTITIONS - 1 else ROWS):
            ck = r.to_bytes(4, "big")
            part.rows[b"\x40" + ck] = Row([ck], Marker(5, 0, 0),
                                          cells={"a": Cell(5, b"row-%d-%d" % (i, r), 0, 0)})
        parts.append(part)
    return sorted(parts, key=lambda p: (p.token, p.pk))
