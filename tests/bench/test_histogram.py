"""Latency histogram: bucket layout (golden table), percentiles against exact ones, merging."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.histogram import SUB_BUCKETS, Histogram, bucket_bounds, bucket_index, merged

# value -> (bucket index, lowest, highest value of that bucket)
GOLDEN = [
    (0, 0, 0, 0),
    (1, 1, 1, 1),
    (127, 127, 127, 127),
    (255, 255, 255, 255),
    (256, 256, 256, 257),
    (257, 256, 256, 257),
    (344, 300, 344, 345),
    (511, 383, 510, 511),
    (512, 384, 512, 515),
    (1000, 506, 1000, 1003),
    (1_000_000, 1780, 999_424, 1_003_519),
]


@pytest.mark.parametrize("value,index,low,high", GOLDEN)
def test_bucket_golden(value: int, index: int, low: int, high: int) -> None:
    assert bucket_index(value) == index
    assert bucket_bounds(index) == (low, high)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=1 << 60))
def test_value_lies_in_its_bucket_within_relative_error(value: int) -> None:
    low, high = bucket_bounds(bucket_index(value))
    assert low <= value <= high
    assert high - low <= max(0, value) / SUB_BUCKETS


def test_buckets_are_contiguous() -> None:
    previous_high = -1
    for index in range(8 * SUB_BUCKETS):
        low, high = bucket_bounds(index)
        assert low == previous_high + 1
        previous_high = high


def _exact(values: list[int], pct: float) -> int:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * round(pct * 1000) // 100_000))
    return ordered[rank - 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=400),
       st.sampled_from([50.0, 95.0, 99.0, 99.9, 100.0]))
def test_percentile_matches_exact_within_bucket(values: list[int], pct: float) -> None:
    h = Histogram()
    for v in values:
        h.record(v)
    exact = _exact(values, pct)
    got = h.percentile(pct)
    low, high = bucket_bounds(bucket_index(exact))
    assert low <= got <= high  # the highest equivalent value of the exact one's bucket
    assert got >= exact or got == h.max_value


def test_percentiles_of_a_known_distribution() -> None:
    h = Histogram()
    for v in range(1, 1001):
        h.record(v)
    assert h.percentile(50) == 501  # 500 shares bucket [500, 501]: the highest is reported
    assert h.percentile(99.9) == 999  # integer ranks: 99.9 % of 1000 is the 999th value
    assert h.percentile(100) == 1000
    assert h.total == 1000 and h.min_value == 1 and h.max_value == 1000
    assert h.mean() == pytest.approx(500.5, rel=0.01)


def test_merge_equals_recording_everything() -> None:
    a, b, both = Histogram(), Histogram(), Histogram()
    for v in range(0, 5000, 7):
        a.record(v)
        both.record(v)
    for v in range(100_000, 200_000, 13):
        b.record(v)
        both.record(v)
    m = merged([a, b])
    assert m.counts == both.counts[:len(m.counts)] and m.total == both.total
    assert [m.percentile(p) for p in (50, 99, 99.9)] == [both.percentile(p) for p in (50, 99, 99.9)]
    assert (m.min_value, m.max_value) == (0, both.max_value)


def test_empty_and_invalid() -> None:
    h = Histogram()
    assert h.percentile(99) == 0 and h.mean() == 0.0
    with pytest.raises(ValueError):
        h.record(-1)
    with pytest.raises(ValueError):
        h.percentile(0)
    with pytest.raises(ValueError):
        h.percentile(100.5)


def test_pickle_round_trip() -> None:
    h = Histogram()
    for v in (3, 300, 30_000):
        h.record(v)
    copy = pickle.loads(pickle.dumps(h))
    assert copy.counts == h.counts and copy.total == 3 and copy.percentile(100) == 30_000
