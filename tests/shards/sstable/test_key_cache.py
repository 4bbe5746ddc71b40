"""The shard's KeyCache: a partition found once is found again from its cached Index entry, with
the same rows, cut and row-index start; absent partitions are not kept; a closed reader's entries are
never served and age out first; the budget holds the most recently read."""

from __future__ import annotations

import tempfile
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.lru import OwnedLRU
from shards.memtable import Cell, Partition, Row
from shards.rowmap import RowMap
from shards.sstable import writer as writer_module
from shards.sstable.codec import MAX_CACHED_PK, PartitionEncoder
from shards.sstable.format import NO_ROW_INDEX
from shards.sstable.keycache import ENTRY_BYTES, KeyCache, key_cache, set_key_cache
from shards.tombstones import NO_DELETION
from tests.shards.sstable.helpers import dump, partition_lists, write


@pytest.fixture
def keys():
    cache = set_key_cache(1 << 20)
    yield cache
    set_key_cache(0)


def _found(rows) -> tuple | None:
    if rows is None:
        return None
    return dump(rows.decode()), rows.cut


@settings(max_examples=40, deadline=None)
@given(partition_lists(max_size=5), st.booleans(), st.data())
def test_cached_finds_match_index_finds(parts, dense, data) -> None:
    cache = set_key_cache(1 << 20)
    try:
        block = 1 if dense else writer_module.ROW_INDEX_BLOCK_BYTES  # 1: a row index per row
        with mock.patch.object(writer_module, "ROW_INDEX_BLOCK_BYTES", block), \
                tempfile.TemporaryDirectory() as d, write(d, parts, chunk_bytes=4096) as reader:
            for part in parts:
                assert reader.find_cached(part.token, part.pk) is None  # not read yet
                assert reader.find(part.token, part.pk) is not None
                entry = cache.get(reader.number, part.pk)
                offset, rows = (entry, NO_ROW_INDEX) if type(entry) is int else entry
                assert (rows != NO_ROW_INDEX) == (dense and len(part.rows) > 1)
                keys = list(part.rows) + [b"", b"\x40", b"\xff"]
                lo = data.draw(st.sampled_from(keys) | st.binary(max_size=3))
                hi = data.draw(st.sampled_from(keys) | st.binary(max_size=3))
                limit = data.draw(st.integers(0, 3))
                assert (_found(reader.find_cached(part.token, part.pk, lo, hi, limit))
                        == _found(reader.find(part.token, part.pk, lo, hi, limit)))
    finally:
        set_key_cache(0)


def test_absent_partitions_are_not_kept(tmp_path, keys) -> None:
    part = Partition(5, b"here")
    part.static = {"a": Cell(1, b"v", 0, 0)}
    with write(str(tmp_path), [part]) as reader:
        assert reader.find(5, b"elsewhere") is None
        assert reader.find(6, b"here") is None
        assert len(keys) == 0 and reader.find_cached(5, b"elsewhere") is None
        assert dump(reader.find(5, b"here").decode()) == dump(part)
        assert len(keys) == 1 and dump(reader.find_cached(5, b"here").decode()) == dump(part)


def test_a_closed_readers_entries_are_never_served_and_age_out_first(tmp_path) -> None:
    parts = [Partition(i, b"k%d" % i) for i in range(3)]
    for part in parts:
        part.static = {"a": Cell(1, part.pk, 0, 0)}
    entry = len(parts[0].pk) + ENTRY_BYTES
    keys = set_key_cache(4 * entry)
    try:
        first = write(str(tmp_path), parts, 1)
        for part in parts:
            first.find(part.token, part.pk)
        assert len(keys) == 3
        first.close()  # as a compaction does with the SSTables it replaced
        assert len(keys) == 3  # nothing removed at once: no pause for a large cache
        second = write(str(tmp_path), parts[:2], 2)
        assert second.number != first.number
        # The closed reader's entries are not the new reader's: its reads go through the Index,
        # and what they find pushes the oldest dead entries out.
        assert second.find_cached(parts[0].token, parts[0].pk) is None
        assert dump(second.find(parts[0].token, parts[0].pk).decode()) == dump(parts[0])
        assert dump(second.find(parts[1].token, parts[1].pk).decode()) == dump(parts[1])
        assert len(keys) == 4 and keys.bytes == 4 * entry
        assert keys.get(first.number, parts[0].pk) is None  # the least recent, evicted
        assert dump(second.find_cached(parts[1].token, parts[1].pk).decode()) == dump(parts[1])
        assert second.find_cached(parts[2].token, parts[2].pk) is None
        second.close()
    finally:
        set_key_cache(0)


def test_least_recently_read_out_within_the_budget() -> None:
    cache = KeyCache(2 * (ENTRY_BYTES + 2))
    cache.put(1, b"aa", 10)
    cache.put(1, b"bb", (20, 7))
    assert cache.get(1, b"aa") == 10  # now the most recent
    cache.put(2, b"cc", 30)  # over the budget: (1, b"bb") goes
    assert cache.get(1, b"bb") is None and cache.get(2, b"cc") == 30
    assert cache.bytes == 2 * (ENTRY_BYTES + 2) and len(cache) == 2


_OPERATIONS = st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.binary(max_size=6),
                                  st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3),
                                                                         st.integers(0, 3)))),
                       max_size=60)


@given(ops=_OPERATIONS, room=st.integers(0, 5))
def test_put_keeps_what_the_generic_lru_put_keeps(ops, room) -> None:
    # KeyCache.put is OwnedLRU.put specialised (the cost is the key's, no owner index): after
    # every put or get both hold the same entries in the same LRU order, within the same bytes.
    budget = room * (ENTRY_BYTES + 3)
    lean, generic = KeyCache(budget), KeyCache(budget)
    for is_put, owner, key, value in ops:
        if is_put:
            lean.put(owner, key, value)
            OwnedLRU.put(generic, owner, key, value)
        else:
            assert lean.get(owner, key) == generic.get(owner, key)
        assert list(lean._entries.items()) == list(generic._entries.items())
        assert lean.bytes == generic.bytes <= budget


def test_without_a_key_cache_every_find_goes_through_the_index(tmp_path) -> None:
    assert key_cache() is None
    part = Partition(5, b"here")
    with write(str(tmp_path), [part]) as reader:
        assert reader.find(5, b"here") is not None
        assert reader.find_cached(5, b"here") is None


def test_an_entry_for_the_same_key_under_another_token_is_a_miss(tmp_path, keys) -> None:
    # Keys are cached by pk alone; a real partitioner gives a key one token, but a reader must
    # not answer a lookup of (token, pk) with the partition of (other token, pk).
    parts = [Partition(1, b"same"), Partition(2, b"same")]
    for part in parts:
        part.static = {"a": Cell(part.token, b"v", 0, 0)}
    with write(str(tmp_path), parts) as reader:
        reader.find(1, b"same")
        reader.find(2, b"same")  # replaces the entry of token 1
        assert reader.find_cached(1, b"same") is None
        assert dump(reader.find_cached(2, b"same").decode()) == dump(parts[1])
        assert dump(reader.find(1, b"same").decode()) == dump(parts[0])


@settings(max_examples=40, deadline=None)
@given(partition_lists(max_size=6), st.booleans(), st.data())
def test_plain_records_are_the_rows_find_cached_reads(parts, small_chunks, data) -> None:
    """plain_record gives the one row's record of a plain one-row partition, as find_cached
    reads it, and None for any other partition: more rows, static cells, deletions, or
    records that cross into the next chunk."""
    for part in parts:  # most drawn partitions are not plain: make about half of them so
        if part.rows and data.draw(st.booleans()):
            _make_plain(part)
    cache = set_key_cache(1 << 20)
    try:
        with tempfile.TemporaryDirectory() as d, \
                write(d, parts, chunk_bytes=4096 if small_chunks else 65536) as reader:
            for part in parts:
                assert reader.find(part.token, part.pk) is not None  # fills the cache
                entry = cache.get(reader.number, part.pk)
                record = reader.plain_record(entry, part.token, part.pk)
                assert reader.plain_record(entry, part.token ^ 1, part.pk) is None
                found = reader.find_cached(part.token, part.pk)
                plain = (len(part.rows) == 1 and not part.static and not part.ranges
                         and part.deletion == NO_DELETION)  # (an empty range list writes none)
                if record is None:
                    assert not plain or len(part.pk) > MAX_CACHED_PK or _crosses(
                        reader, entry, part)
                    continue
                assert plain
                buf, start, end = record
                ((rbuf, rstart, rend),) = found.records
                assert buf[start:end] == rbuf[rstart:rend]
    finally:
        set_key_cache(0)


def _make_plain(part: Partition) -> None:
    """Keep only the first row: no static cells, range tombstones or partition deletion."""
    ck, row = part.rows.first_item()
    part.rows = RowMap()
    part.rows[ck] = row
    part.static, part.ranges, part.deletion, part.ldt = {}, None, NO_DELETION, 0


def _crosses(reader, offset: int, part: Partition) -> bool:
    """Whether the plain partition's records at `offset` run into the next chunk."""
    ((ck, row),) = part.rows.items()
    size = len(PartitionEncoder().plain_partition(part, ck, row))
    chunk = reader._chunks.chunk_bytes
    return offset % chunk + size > chunk


@settings(max_examples=40, deadline=None)
@given(partition_lists(max_size=6), st.booleans(), st.data())
def test_locate_plain_answers_what_locate_and_plain_record_answer(parts, small_chunks,
                                                                  data) -> None:
    """The first read's lookup (locate_plain) finds what the Index search (locate) finds and
    the record plain_record then gives, and teaches the KeyCache the same entry: for plain
    and other partitions, keys sharing a token (drawn tokens are often equal), records that
    cross into the next chunk, and keys the SSTable does not hold."""
    for part in parts:
        if part.rows and data.draw(st.booleans()):
            _make_plain(part)
    lookups = [(part.token, part.pk) for part in parts]
    lookups += [(token, pk + b"?") for token, pk in lookups] + [(7, b"absent")]
    cache = set_key_cache(1 << 20)
    try:
        with tempfile.TemporaryDirectory() as d, \
                write(d, parts, chunk_bytes=4096 if small_chunks else 65536) as reader:
            for token, pk in lookups:
                cache._entries.clear()
                entry = reader.locate(token, pk)
                expected = None if entry is None else (
                    entry, reader.plain_record(entry, token, pk))
                kept = dict(cache._entries)
                cache._entries.clear()
                assert reader.locate_plain(token, pk) == expected
                assert dict(cache._entries) == kept
    finally:
        set_key_cache(0)


def test_locate_plain_compares_the_key_before_trusting_a_record(tmp_path, keys,
                                                               monkeypatch) -> None:
    """Two plain partitions share a token: the second key's lookup passes over the record of
    the first (its framing names another key) to the Index search, which finds the second."""
    parts = [Partition(9, b"first"), Partition(9, b"second")]
    for part in parts:
        part.rows = RowMap()
        part.rows[b""] = _plain_row(part.pk)
    searched = []
    with write(str(tmp_path), parts) as reader:
        real = reader.locate
        monkeypatch.setattr(reader, "locate", lambda *a: searched.append(a) or real(*a))
        first = reader.locate_plain(9, b"first")
        assert searched == [] and first is not None and first[1] is not None
        second = reader.locate_plain(9, b"second")
        assert searched == [(9, b"second")]
        buf, start, end = second[1]
        assert b"second" in buf[start:end]
        assert keys.get(reader.number, b"second") == second[0] != first[0]


def _plain_row(value: bytes) -> Row:
    return Row([], cells={"v": Cell(5, value, 0, 0)})
