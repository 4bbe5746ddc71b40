"""Writer -> reader round trips: every partition comes back as written, through get and scan."""

from __future__ import annotations

import os
import tempfile
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.errors import SSTableError, SSTableOptionError, SSTableOrderError, SSTableStateError
from shards.memtable import Cell, Marker, Partition, Row
from shards.sstable import SSTableReader, SSTableWriter, list_sstables
from shards.sstable import reader as reader_module
from shards.sstable import writer as writer_module
from shards.sstable.codec import MAX_CACHED_PK, one_plain_row
from shards.sstable.reader import SUMMARY_INTERVAL
from tests.shards.sstable.helpers import (
    _KEY,
    _TOKEN,
    TABLE,
    deletions,
    dump,
    partition_lists,
    partitions,
    rows,
    sliced,
    write,
)

COMPRESSIONS = ["lz4", "zstd", "none"]


@settings(max_examples=30, deadline=None)
@given(partition_lists(max_size=5), st.sampled_from(COMPRESSIONS), st.sampled_from([4096, 65536]),
       st.data())
def test_round_trip_get_and_scan(parts, compression, chunk_bytes, data) -> None:
    with tempfile.TemporaryDirectory() as d:
        with write(d, parts, compression=compression, chunk_bytes=chunk_bytes) as reader:
            assert [dump(p) for p in reader.scan()] == [dump(p) for p in parts]
            for part in parts:
                assert reader.may_contain(part.pk)
                assert dump(reader.get(part.token, part.pk)) == dump(part)
            part = data.draw(st.sampled_from(parts))
            lo = data.draw(st.binary(max_size=3))
            hi = data.draw(st.binary(max_size=3))
            assert dump(reader.get(part.token, part.pk, lo, hi)) == dump(sliced(part, lo, hi))
            after = data.draw(st.sampled_from([(p.token, p.pk) for p in parts]
                                              + [(part.token, part.pk + b"\x00"), (0, b"")]))
            assert ([dump(p) for p in reader.scan(*after)]
                    == [dump(p) for p in parts if (p.token, p.pk) >= after])
            assert reader.get(part.token, part.pk + b"\xff\xfe") is None
            # A caller that ran the bloom filter itself (TableStore) skips it: an absent key
            # the filter let through is still found absent by the index.
            assert reader.get_prefix(part.token, part.pk + b"\xff\xfe", filtered=True) == (
                None, None)
            assert dump(reader.get_prefix(part.token, part.pk, filtered=True)[0]) == dump(part)
            assert reader.stats.partitions == len(parts)
            assert reader.token_range == (parts[0].token, parts[-1].token)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.lists(st.integers(0, 600), min_size=1, max_size=40), min_size=1, max_size=8))
def test_a_scan_reads_rows_across_chunk_boundaries(sizes) -> None:
    """Partitions of rows whose values are zero bytes, in 4 KiB chunks: rows cross chunk
    boundaries anywhere, and a stale offset into the chunk before would read a zero size (an
    end mark) there, so a scan that lost its place after a crossing cuts partitions short."""
    parts = []
    for i, row_sizes in enumerate(sizes):
        part = Partition(i, b"pk%d" % i)
        for j, size in enumerate(row_sizes):
            ck = b"@%03d" % j
            row = Row([ck[1:]])
            row.cells["a"] = Cell(1, bytes(size), 0, 0)
            part.rows[ck] = row
        parts.append(part)
    with tempfile.TemporaryDirectory() as d, write(d, parts, chunk_bytes=4096,
                                                   compression="none") as reader:
        assert [dump(found.decode()) for found in reader.scan_encoded()] == [
            dump(p) for p in parts]


@st.composite
def _mostly_one_row(draw) -> list[Partition]:
    """Partitions in key order, most of them one row and nothing else (a flush's usual
    partition, the shape scan_encoded reads in one unpack), some of those deleted, the others
    anything; keys short and longer than MAX_CACHED_PK."""
    keys = draw(st.lists(st.tuples(_TOKEN, st.one_of(st.binary(max_size=6),
                                                     st.binary(min_size=MAX_CACHED_PK - 1,
                                                               max_size=MAX_CACHED_PK + 2))),
                         min_size=1, max_size=12, unique=True))
    parts = []
    for token, pk in sorted(keys):
        if draw(st.integers(0, 3)):
            part = Partition(token, pk)
            if not draw(st.integers(0, 4)):  # a deleted partition's row: the record loop's
                part.deletion, part.ldt = draw(deletions(small=False))
            ck = draw(st.one_of(st.just(b""), _KEY))
            part.rows[ck] = draw(rows(ck, small=False))
        else:
            part = draw(partitions(token, pk))
        parts.append(part)
    return parts


def _encoded(reader: SSTableReader, after: tuple) -> list[tuple]:
    """What scan_encoded gives, as bytes: each header's fields and record, each row record,
    then the partition its records decode to."""
    seen = []
    for found in reader.scan_encoded(*after):
        buf, begin, end = found.head
        seen.append((dump(found.part), buf[begin:end],
                     [rbuf[start:stop] for rbuf, start, stop in found.records],
                     dump(found.decode())))
    return seen


@settings(max_examples=40, deadline=None)
@given(_mostly_one_row(), st.sampled_from(["lz4", "none"]), st.sampled_from([4096, 65536]),
       st.data())
def test_scan_encoded_reads_a_one_row_partition_as_its_record_loop_does(parts, compression,
                                                                        chunk_bytes,
                                                                        data) -> None:
    """A plain one-row partition inside the cursor's buffer is read in one unpack
    (codec.one_plain_row): the same header, head record and row records as the general
    record loop gives, from any starting key, across chunk boundaries."""
    after = data.draw(st.one_of(st.just(()), st.sampled_from(
        [(part.token, part.pk) for part in parts])))
    with tempfile.TemporaryDirectory() as d, write(d, parts, compression=compression,
                                                   chunk_bytes=chunk_bytes) as reader:
        fast = _encoded(reader, after)
        with mock.patch.object(reader_module, "one_plain_row", lambda buf, p: None):
            assert _encoded(reader, after) == fast
    assert [entry[3] for entry in fast] == [dump(part) for part in parts
                                            if not after or (part.token, part.pk) >= after]


def test_scan_encoded_takes_most_one_row_partitions_in_one_unpack(tmp_path) -> None:
    """The test above compares both ways; this one shows the first is the usual one."""
    parts = []
    for i in range(200):
        part = Partition(i, b"key%d" % i)
        part.rows[b""] = Row((), Marker(5, 0, 0), cells={"a": Cell(5, bytes(40), 0, 0)})
        parts.append(part)
    hits = []

    def counted(buf: bytes, p: int):
        found = one_plain_row(buf, p)
        hits.append(found is not None)
        return found

    with write(str(tmp_path), parts) as reader, \
            mock.patch.object(reader_module, "one_plain_row", counted):
        assert len(list(reader.scan_encoded())) == 200
    assert sum(hits) >= 190  # a partition across a chunk boundary takes the record loop


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2 * SUMMARY_INTERVAL + 1,
                max_size=20 * SUMMARY_INTERVAL, unique=True), st.integers(0, 3), st.data())
def test_point_lookups_through_the_summary(tokens, collisions, data) -> None:
    """Index lookups bisect a summary of every SUMMARY_INTERVAL-th token, then one window:
    every partition is found, whatever window (or window edge) it sits in, partitions sharing
    a token are told apart by their key, and tokens between, before and after them find
    nothing."""
    tokens.sort()
    shared = [data.draw(st.sampled_from(tokens)) for _ in range(collisions)]
    shared.append(tokens[SUMMARY_INTERVAL - 1])  # a collision across a window edge
    keys = sorted({(t, b"k%d" % t) for t in tokens} | {(t, b"z%d" % t) for t in shared})
    parts = []
    for token, pk in keys:
        part = Partition(token, pk)
        part.static = {"a": Cell(1, pk, 0, 0)}
        parts.append(part)
    with tempfile.TemporaryDirectory() as d, write(d, parts) as reader:
        for part in parts:
            assert dump(reader.get(part.token, part.pk)) == dump(part)
        present = set(tokens)
        for token in (tokens[0] - 1, tokens[-1] + 1, data.draw(st.integers(-(2**63), 2**63 - 1))):
            if token not in present and -(2**63) <= token < 2**63:
                assert reader.get(token, b"k%d" % token) is None
                assert reader.get_prefix(token, b"k%d" % token, filtered=True) == (None, None)
        assert reader.get(tokens[0], b"absent") is None


@settings(max_examples=15, deadline=None)
@given(partition_lists(max_size=3), st.data())
def test_slices_through_a_dense_row_index(parts, data) -> None:
    # A tiny block size gives every multi-row partition a row index with a sample per row.
    with mock.patch.object(writer_module, "ROW_INDEX_BLOCK_BYTES", 1), \
            tempfile.TemporaryDirectory() as d, write(d, parts, chunk_bytes=4096) as reader:
        for part in parts:
            keys = list(part.rows) + [b"", b"\x40", b"\xff"]
            lo = data.draw(st.sampled_from(keys) | st.binary(max_size=3))
            hi = data.draw(st.sampled_from(keys) | st.binary(max_size=3))
            got = reader.get(part.token, part.pk, lo, hi)
            assert dump(got) == dump(sliced(part, lo, hi))


def _big_partition(rows: int) -> Partition:
    part = Partition(42, b"big")
    for i in range(rows):
        row = Row([i.to_bytes(4, "big")])
        row.marker = Marker(1000 + i, 0, 0)
        row.cells["v"] = Cell(1000 + i, b"value-%08d" % i, 0, 0)
        part.rows[b"\x40" + i.to_bytes(4, "big")] = row
    return part


def test_slice_of_a_50k_row_partition_reads_few_chunks(tmp_path) -> None:
    big = _big_partition(50_000)
    small = Partition(7, b"small")
    with write(str(tmp_path), [small, big]) as reader:
        total = reader._chunks.count
        assert total > 10
        lo, hi = b"\x40" + (30_000).to_bytes(4, "big"), b"\x40" + (30_100).to_bytes(4, "big")
        before = reader.chunk_reads
        got = reader.get(42, b"big", lo, hi)
        read = reader.chunk_reads - before
        assert list(got.rows) == [k for k in big.rows.irange(lo, hi, inclusive=(True, False))]
        assert dump(got) == dump(sliced(big, lo, hi))
        assert read <= 3 < total  # the header chunk and the one or two holding the slice
        tail = reader.get(42, b"big", b"\x40" + (49_990).to_bytes(4, "big"))
        assert len(tail.rows) == 10
        assert len(reader.get(42, b"big", b"", b"\x40" + (5).to_bytes(4, "big")).rows) == 5
        assert dump(next(reader.scan(42, b"big"))) == dump(big)


def test_a_huge_partition_is_written_a_chunk_at_a_time(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1, chunk_bytes=16 * 1024)
    writer.add(_big_partition(20_000))
    assert len(writer._data.buf) < 16 * 1024
    writer.finish().close()


def test_incompressible_chunks_are_stored_raw(tmp_path) -> None:
    part = Partition(1, b"random")
    row = Row([b"x"])
    row.cells["v"] = Cell(1, os.urandom(200_000), 0, 0)
    part.rows[b"\x40x"] = row
    with write(str(tmp_path), [part]) as reader:
        assert reader.stats.compressed_bytes < reader.stats.uncompressed_bytes + 64
        assert dump(reader.get(1, b"random")) == dump(part)


def test_add_out_of_order_raises_and_leaves_the_writer_usable(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1)
    writer.add(Partition(5, b"b"))
    for token, pk in [(5, b"b"), (5, b"a"), (4, b"z")]:
        with pytest.raises(SSTableOrderError, match="strictly increasing"):
            writer.add(Partition(token, pk))
    writer.add(Partition(5, b"c"))
    with writer.finish() as reader:
        assert [p.pk for p in reader.scan()] == [b"b", b"c"]


def test_writer_options_and_states(tmp_path) -> None:
    d = str(tmp_path)
    with pytest.raises(SSTableOptionError, match="snappy"):
        SSTableWriter(d, TABLE, 1, compression="snappy")
    with pytest.raises(SSTableOptionError, match="chunk_bytes"):
        SSTableWriter(d, TABLE, 1, chunk_bytes=100)
    empty = SSTableWriter(d, TABLE, 1)
    with pytest.raises(SSTableStateError, match="at least one partition"):
        empty.finish()
    empty.abort()
    assert os.listdir(d) == []
    write(d, [Partition(1, b"x")], generation=3).close()
    with pytest.raises(Exception, match="already exists"):
        SSTableWriter(d, TABLE, 3)
    assert list_sstables(d) == [(TABLE, 3)]
    reader = SSTableReader.open(d, TABLE, 3)
    reader.close()
    with pytest.raises(Exception, match="closed"):
        reader.get(1, b"x")


def test_aborted_writer_leaves_nothing(tmp_path) -> None:
    with pytest.raises(RuntimeError), SSTableWriter(str(tmp_path), TABLE, 1) as writer:
        writer.add(_big_partition(100))
        raise RuntimeError("flush failed")
    assert os.listdir(tmp_path) == []


def test_unstorable_value_aborts_the_writer(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1)
    writer.add(Partition(1, b"fine"))
    part = Partition(2, b"bad")
    part.static["s"] = Cell(1, b"v", 2**40, 5)  # a TTL beyond the i32 Cassandra (and we) store
    with pytest.raises(SSTableError, match="cannot store"):
        writer.add(part)
    assert os.listdir(tmp_path) == []
    with pytest.raises(SSTableStateError, match="aborted"):
        writer.add(Partition(3, b"more"))


def test_closed_reader_refuses_reads(tmp_path) -> None:
    reader = write(str(tmp_path), [Partition(1, b"x")])
    reader.close()
    reader.close()  # idempotent
    for call in (lambda: reader.get(1, b"x"), lambda: list(reader.scan())):
        with pytest.raises(SSTableStateError, match="closed"):
            call()


def test_a_slice_starts_at_the_last_row_index_sample_at_or_below_its_start(tmp_path) -> None:
    """The bisection of the row index: the sample a slice starts from is the last whose key is
    <= lo (an earlier one reads the same rows, slower), checked against every sample."""
    from shards.sstable.format import ROW_INDEX_COUNT, ROW_INDEX_ENTRY
    from shards.sstable.reader import SSTableReader as Reader

    part = _big_partition(300)
    starts: list[tuple[int, bytes, int]] = []
    original = Reader._row_index_start

    def spy(self, offset: int, lo: bytes) -> int:
        start = original(self, offset, lo)
        starts.append((offset, lo, start))
        return start

    with mock.patch.object(writer_module, "ROW_INDEX_BLOCK_BYTES", 64), \
            mock.patch.object(Reader, "_row_index_start", spy), \
            write(str(tmp_path), [part], chunk_bytes=4096) as reader:
        keys = list(part.rows)
        probes = keys + [k + b"\x00" for k in keys] + [b"\x3f", b"\x41"]
        for lo in probes:
            assert dump(reader.get(part.token, part.pk, lo, b"\xff")) == dump(
                sliced(part, lo, b"\xff"))
        mm = reader._row_index
        for offset, lo, start in starts:
            count = ROW_INDEX_COUNT.unpack_from(mm, offset)[0]
            samples = []
            for k in range(count):
                at = offset + ROW_INDEX_COUNT.unpack_from(mm, offset + 4 + 4 * k)[0]
                data_offset, n = ROW_INDEX_ENTRY.unpack_from(mm, at)
                key = bytes(mm[at + ROW_INDEX_ENTRY.size:at + ROW_INDEX_ENTRY.size + n])
                samples.append((key, data_offset))
            assert count > 20
            below = [data_offset for key, data_offset in samples if key <= lo]
            assert start == (below[-1] if below else samples[0][1]), lo
    assert len(starts) == len(probes)
