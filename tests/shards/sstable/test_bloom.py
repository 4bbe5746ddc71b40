"""The bloom filter: no false negatives, false positives near the 1% target."""

from __future__ import annotations

import zlib

from shards.memtable import Partition
from shards.sstable.bloom import BloomBuilder, filter_size
from tests.shards.sstable.helpers import write


def test_filter_size_matches_the_textbook_formula() -> None:
    bits, hashes = filter_size(1000, 0.01)
    assert 9500 <= bits <= 9600 and hashes == 7


def test_false_positive_rate_is_about_one_percent() -> None:
    builder = BloomBuilder()
    for i in range(20_000):
        builder.add(b"present-%d" % i)
    from shards.sstable.bloom import BloomFilter
    bits, hashes, array = builder.build()
    bloom = BloomFilter(bits, hashes, builder.seed, array)
    assert all(bloom.may_contain(b"present-%d" % i) for i in range(20_000))
    false = sum(bloom.may_contain(b"absent-%d" % i) for i in range(50_000))
    assert 0.004 < false / 50_000 < 0.02


def test_reader_skips_absent_keys_without_reading_data(tmp_path) -> None:
    parts = [Partition(i, b"p%d" % i) for i in range(2000)]
    with write(str(tmp_path), parts) as reader:
        before = reader.chunk_reads
        misses = sum(reader.get(i, b"q%d" % i) is None for i in range(2000))
        assert misses == 2000 and reader.chunk_reads - before < 60
        assert all(reader.may_contain(p.pk) for p in parts)


def _builder(keys: int) -> BloomBuilder:
    builder = BloomBuilder()
    for i in range(keys):
        builder.add(b"present-%d" % i)
    return builder


def test_the_bit_array_is_the_format_s() -> None:
    # Golden: the Filter component of SSTables already on disk must keep meaning the same keys.
    bits, hashes, array = _builder(20_000).build()
    assert (bits, hashes, zlib.crc32(array)) == (191702, 7, 2812531676)


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
