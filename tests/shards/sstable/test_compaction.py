"""Compaction of overlapping SSTables equals merging and purging their contents; it streams in
bounded steps; size-tiered bucketing follows Cassandra's STCS."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.memtable import Cell, Partition, Row
from shards.sstable import (
    SSTableWriter,
    compact,
    compact_steps,
    list_sstables,
    purge,
    purge_bound,
    size_tiered_buckets,
)
from shards.sstable.merge import merge_into
from tests.shards.sstable.helpers import TABLE, clone, dump, partitions, write

_KEYS = [(t, b"pk%d" % i) for i, t in enumerate([-9, -4, -4, 0, 3, 8])]


@st.composite
def _tables(draw) -> list[list[Partition]]:
    """Three SSTables' contents drawn from a small key set, so they overlap."""
    tables = []
    for _ in range(3):
        keys = sorted(draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=4, unique=True)))
        tables.append([draw(partitions(t, pk, small=True, max_rows=4)) for t, pk in keys])
    return tables


def _expected(tables: list[list[Partition]], now: int, gc_grace: int) -> list[tuple]:
    merged: dict[tuple[int, bytes], Partition] = {}
    for table in tables:
        for part in table:
            key = (part.token, part.pk)
            if key in merged:
                merge_into(merged[key], part)
            else:
                merged[key] = clone(part)
    out = [purge(merged[key], now, gc_grace) for key in sorted(merged)]
    return [dump(p) for p in out if p is not None]


@settings(max_examples=30, deadline=None)
@given(_tables(), st.integers(0, 60), st.integers(0, 30))
def test_compaction_equals_merge_then_purge(tables, now, gc_grace) -> None:
    with tempfile.TemporaryDirectory() as d:
        readers = [write(d, table, generation=g) for g, table in enumerate(tables, 1)]
        out = compact(readers, lambda: SSTableWriter(d, TABLE, 9), now, gc_grace)
        expected = _expected(tables, now, gc_grace)
        if out is None:
            assert expected == [] and (TABLE, 9) not in list_sstables(d)
        else:
            assert [dump(p) for p in out.scan()] == expected
            out.close()
        for reader in readers:
            reader.close()


def _table(d: str, generation: int, keys: range, ts: int) -> object:
    parts = []
    for i in keys:
        part = Partition(i, b"k%05d" % i)
        row = Row([b"c"])
        row.cells["v"] = Cell(ts, b"gen%d" % generation, 0, 0)
        part.rows[b"\x40c"] = row
        parts.append(part)
    return write(d, parts, generation=generation)


def test_compact_steps_is_incremental_and_newest_write_wins(tmp_path) -> None:
    d = str(tmp_path)
    readers = [_table(d, 1, range(600), 1), _table(d, 2, range(300, 900), 2)]
    steps = compact_steps(readers, lambda: SSTableWriter(d, TABLE, 3), now=0,
                          gc_grace_seconds=0, step_rows=100)
    yielded = list(steps)
    assert yielded[:-1] == [None] * (len(yielded) - 1) and len(yielded) >= 9
    out = yielded[-1]
    rows = {p.pk: p.rows[b"\x40c"].cells["v"].value for p in out.scan()}
    assert len(rows) == 900 and rows[b"k00299"] == b"gen1" and rows[b"k00300"] == b"gen2"
    assert out.stats.partitions == 900


def test_closing_compaction_early_aborts_its_output(tmp_path) -> None:
    d = str(tmp_path)
    readers = [_table(d, 1, range(500), 1), _table(d, 2, range(500), 2)]
    steps = compact_steps(readers, lambda: SSTableWriter(d, TABLE, 3), 0, 0, step_rows=10)
    next(steps)
    next(steps)
    steps.close()
    assert not any("-3-" in name for name in os.listdir(d))
    assert list_sstables(d) == [(TABLE, 1), (TABLE, 2)]


def test_everything_purged_writes_nothing(tmp_path) -> None:
    d = str(tmp_path)
    part = Partition(1, b"gone")
    part.deletion, part.ldt = 5, 10
    reader = write(d, [part])
    assert compact([reader], lambda: SSTableWriter(d, TABLE, 2), now=100, gc_grace_seconds=10) \
        is None
    assert list_sstables(d) == [(TABLE, 1)]


def test_purge_bound_keeps_tombstones_over_older_data_elsewhere(tmp_path) -> None:
    d = str(tmp_path)
    old = _table(d, 1, range(10), ts=3)  # not part of the compaction
    dead = Partition(4, b"k00004")
    dead.deletion, dead.ldt = 7, 10
    compacted = write(d, [dead], generation=2)
    out = compact([compacted], lambda: SSTableWriter(d, TABLE, 3), now=10**6,
                  gc_grace_seconds=10, max_purgeable=purge_bound([old]))
    assert out.get(4, b"k00004").deletion == 7  # dropping it would resurrect the older row
    other = Partition(4, b"elsewhere")
    other.deletion, other.ldt = 7, 10
    assert compact([write(d, [other], generation=4)], lambda: SSTableWriter(d, TABLE, 5),
                   now=10**6, gc_grace_seconds=10, max_purgeable=purge_bound([old])) is None


MiB = 1024 * 1024


@pytest.mark.parametrize("sizes,expected", [
    ([], []),
    ([10] * 3, []),  # below min_threshold
    ([1, 2, 3, 4], [[0, 1, 2, 3]]),  # all "small" (< min_sstable_size): one bucket
    ([100 * MiB, 110 * MiB, 90 * MiB, 120 * MiB, 400 * MiB], [[2, 0, 1, 3]]),
    ([100 * MiB] * 4 + [1000 * MiB] * 4, [[0, 1, 2, 3], [4, 5, 6, 7]]),  # smaller average first
    ([100 * MiB, 160 * MiB, 100 * MiB, 100 * MiB, 100 * MiB], [[0, 2, 3, 4]]),  # 160 > 1.5 avg
])
def test_size_tiered_buckets(sizes, expected) -> None:
    assert size_tiered_buckets(sizes) == expected


def test_size_tiered_buckets_trim_to_max_threshold() -> None:
    sizes = [5 * MiB + i for i in range(40)]
    assert size_tiered_buckets(sizes, max_threshold=32) == [list(range(32))]
    assert size_tiered_buckets(sizes, min_threshold=2, max_threshold=2) == [[0, 1]]
    with pytest.raises(ValueError):
        size_tiered_buckets(sizes, min_threshold=1)
