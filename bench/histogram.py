"""Latency histogram with log-linear buckets (the HdrHistogram layout, in pure Python).

Theory of operation
-------------------
A value ``v`` (an integer, microseconds in this harness) falls in bucket
``index = SUB_BUCKETS * e + (v >> e)`` where ``e = max(0, v.bit_length() - SIGNIFICANT_BITS - 1)``.
Values below ``2 * SUB_BUCKETS`` get a bucket each (exact); above that every power-of-two
range is split into ``SUB_BUCKETS`` equal buckets, so a bucket's width is at most
``1 / SUB_BUCKETS`` of its values: the relative error of any reported percentile is below
0.8 %. Counts live in a list indexed by bucket, grown on demand; merging adds lists.
A percentile is answered with the highest value of the bucket holding that rank (as
HdrHistogram's ``getValueAtPercentile`` does), so reported latencies never understate.

This module must NOT measure time or know about workloads: callers record integers.
"""

from __future__ import annotations

from typing import Iterable

# 2**7 sub-buckets per power of two: < 0.8 % relative error, ~1.5 k buckets up to a minute in µs.
SIGNIFICANT_BITS = 7
SUB_BUCKETS = 1 << SIGNIFICANT_BITS
# Record() clamps here so one absurd value cannot grow the list without bound (about 73 years in µs).
MAX_VALUE = (1 << 61) - 1
# Percentiles are resolved to 1/1000 of a percent (p99.999 is the finest anyone asks for).
PCT_SCALE = 1000


def bucket_index(value: int) -> int:
    """The bucket of a non-negative integer value."""
    e = value.bit_length() - SIGNIFICANT_BITS - 1
    if e < 0:
        return value
    return SUB_BUCKETS * e + (value >> e)


def bucket_bounds(index: int) -> tuple[int, int]:
    """(lowest, highest) value that falls in bucket ``index``."""
    if index < 2 * SUB_BUCKETS:
        return index, index
    e = index // SUB_BUCKETS - 1
    mantissa = index - SUB_BUCKETS * e
    return mantissa << e, ((mantissa + 1) << e) - 1


class Histogram:
    """Counts of integer values in log-linear buckets; mergeable and picklable."""

    __slots__ = ("counts", "total", "max_value", "min_value")

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.total = 0
        self.max_value = 0
        self.min_value = MAX_VALUE

    def record(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"histogram values must be >= 0, got {value}")
        if value > MAX_VALUE:
            value = MAX_VALUE
        index = bucket_index(value)
        counts = self.counts
        if index >= len(counts):
            counts.extend([0] * (index + 1 - len(counts)))
        counts[index] += 1
        self.total += 1
        if value > self.max_value:
            self.max_value = value
        if value < self.min_value:
            self.min_value = value

    def merge(self, other: Histogram) -> None:
        counts = self.counts
        if len(other.counts) > len(counts):
            counts.extend([0] * (len(other.counts) - len(counts)))
        for i, c in enumerate(other.counts):
            if c:
                counts[i] += c
        self.total += other.total
        self.max_value = max(self.max_value, other.max_value)
        self.min_value = min(self.min_value, other.min_value)

    def percentile(self, pct: float) -> int:
        """The value at percentile ``pct`` (0 < pct <= 100); 0 for an empty histogram."""
        if not 0 < pct <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {pct}")
        if self.total == 0:
            return 0
        # rank of the wanted value, 1-based: the smallest r with r / total >= pct / 100, in
        # integer arithmetic (pct in thousandths) so 99.9 % of 1000 is rank 999, not 1000.
        rank = max(1, -(-self.total * round(pct * PCT_SCALE) // (100 * PCT_SCALE)))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return min(bucket_bounds(index)[1], self.max_value)
        return self.max_value

    def percentiles(self, pcts: Iterable[float]) -> dict[float, int]:
        return {p: self.percentile(p) for p in pcts}

    def mean(self) -> float:
        if self.total == 0:
            return 0.0
        acc = 0
        for index, count in enumerate(self.counts):
            if count:
                low, high = bucket_bounds(index)
                acc += count * (low + high) / 2
        return acc / self.total

    def __getstate__(self) -> tuple:
        return (self.counts, self.total, self.max_value, self.min_value)

    def __setstate__(self, state: tuple) -> None:
        self.counts, self.total, self.max_value, self.min_value = state


def merged(histograms: Iterable[Histogram]) -> Histogram:
    out = Histogram()
    for h in histograms:
        out.merge(h)
    return out
