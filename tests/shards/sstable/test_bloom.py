"""The bloom filters: no false negatives, false positives under the 1% target, the blocked
filter's bytes fixed by the format, and Filter components parsed or refused."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.errors import CorruptSSTable
from shards.memtable import Partition
from shards.sstable.bloom import (
    BITS_PER_KEY,
    HASH_SEED,
    PATTERN_BITS,
    PATTERN_COUNT,
    PATTERNS,
    BlockedBloomFilter,
    BloomBuilder,
    filter_words,
    key_hash,
)
from shards.sstable.format import FILTER_HEADER
from shards.sstable.reader import _bloom
from tests.shards.sstable.helpers import write


def _builder(keys: int, prefix: bytes = b"present-") -> BloomBuilder:
    builder = BloomBuilder()
    for i in range(keys):
        builder.add(prefix + b"%d" % i)
    return builder


def _filter(builder: BloomBuilder) -> BlockedBloomFilter:
    _, pattern_bits, data = builder.build()
    assert pattern_bits == PATTERN_BITS
    return BlockedBloomFilter(builder.seed, data)


def test_a_filter_has_the_words_its_keys_need() -> None:
    assert filter_words(1000) == -(-1000 * BITS_PER_KEY // 64) == 219
    assert filter_words(0) == filter_words(1) == 1
    bits, _, data = _builder(1000).build()
    assert bits == 219 * 64 and len(data) == 219 * 8


def test_false_positive_rate_is_under_the_target() -> None:
    bloom = _filter(_builder(20_000))
    assert all(bloom.may_contain(b"present-%d" % i) for i in range(20_000))
    false = sum(bloom.may_contain(b"absent-%d" % i) for i in range(100_000))
    assert 0.002 < false / 100_000 < 0.01


def test_the_patterns_are_the_format_s() -> None:
    # Golden: a Filter on disk means the same keys only while every pattern stays the same.
    assert len(PATTERNS) == PATTERN_COUNT
    assert all(1 <= p.bit_count() <= PATTERN_BITS for p in PATTERNS)
    assert (PATTERNS[0], PATTERNS[1], PATTERNS[PATTERN_COUNT - 1]) == (
        0x0020080A00C00000, 0x0200800000040821, 0x4400009044000000)
    assert zlib.crc32(b"".join(p.to_bytes(8, "little") for p in PATTERNS)) == 881749033


def test_the_words_are_the_format_s() -> None:
    # Golden: the Filter component of SSTables already on disk must keep meaning the same keys.
    bits, pattern_bits, data = _builder(20_000).build()
    assert (bits, pattern_bits, zlib.crc32(data)) == (4375 * 64, 6, 1830181650)


def test_a_key_s_pattern_lies_in_its_little_endian_word() -> None:
    builder = BloomBuilder()
    builder.add(b"only")
    bits, _, data = builder.build()
    h1, h2 = key_hash(b"only")
    at = 8 * (h1 % (bits // 64))
    assert int.from_bytes(data[at:at + 8], "little") == PATTERNS[h2 % PATTERN_COUNT]
    assert not any(data[:at] + data[at + 8:])  # every other word is empty


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.binary(max_size=40), min_size=1, max_size=300, unique=True))
def test_every_key_added_may_be_present(keys) -> None:
    builder = BloomBuilder()
    for key in keys:
        builder.add(key)
    bloom = _filter(builder)
    assert all(bloom.may_contain(key) for key in keys)
    assert all(bloom.may_contain_hash(*key_hash(key)) for key in keys)


def test_reader_skips_absent_keys_without_reading_data(tmp_path) -> None:
    parts = [Partition(i, b"p%d" % i) for i in range(2000)]
    with write(str(tmp_path), parts) as reader:
        assert isinstance(reader.bloom, BlockedBloomFilter)
        before = reader.chunk_reads
        misses = sum(reader.get(i, b"q%d" % i) is None for i in range(2000))
        assert misses == 2000 and reader.chunk_reads - before < 60
        assert all(reader.may_contain(p.pk) for p in parts)


def test_build_steps_builds_the_same_filter_a_block_of_keys_at_a_time() -> None:
    builder = _builder(20_000)
    steps = builder.build_steps(step_keys=4096)
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            stepped = done.value
            break
        count += 1
    assert count == 5  # ceil(20000 / 4096)
    assert stepped == builder.build()
    builder.add(b"one more")  # no buffer export of the hashes outlives the build


def _component(bits: int, pattern_bits: int, data: bytes) -> bytes:
    return FILTER_HEADER.pack(bits, pattern_bits, HASH_SEED) + data


@pytest.mark.parametrize("component, message", [
    (b"\x00" * 8, "shorter than its header"),
    (_component(0, 6, b""), "not whole 64-bit words"),
    (_component(100, 6, bytes(13)), "not whole 64-bit words"),
    (_component(128, 6, bytes(8)), "not whole 64-bit words"),
    (_component(128, 7, bytes(16)), "patterns of 7 bits"),
])
def test_a_format_2_filter_that_does_not_fit_together_is_refused(component, message) -> None:
    with pytest.raises(CorruptSSTable, match=message):
        _bloom("Filter.db", component, 2)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64), version=st.sampled_from([1, 2]),
       key=st.binary(max_size=12))
def test_any_filter_component_parses_or_is_refused(data, version, key) -> None:
    try:
        bloom = _bloom("Filter.db", data, version)
    except CorruptSSTable:
        return
    assert bloom.may_contain(key) in (True, False)
