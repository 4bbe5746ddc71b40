"""Range tombstones of one partition: which deletion covers a clustering key.

What it is: Cassandra's RangeTombstoneList reduced to byte-comparable keys. Clustering bounds are
byte strings (ferrosa/schema/bytecomparable.py: a slice `start <= K < end`), so every range
tombstone is a half-open interval [lo, hi) of keys; `hi` = TOP means unbounded above.

Theory of operation: the list is kept *normalized*: sorted, non-overlapping intervals, each with the
deletion (timestamp, local deletion time) that wins over that stretch. Adding a range splits the
intervals it overlaps and keeps, piece by piece, the deletion that supersedes the other (higher
timestamp; on a tie, higher local deletion time: Cassandra's DeletionTime.supersedes); adjacent
pieces with equal deletions merge. A lookup is then one bisection.

What it must not do: know about rows or cells (the memtable asks `covering(key)`), or mutate a list
a reader may be iterating (a read never interleaves with a write in a shard's single thread).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterator

# Greater than every byte-comparable clustering key (keys start with a marker byte < 0xFF).
TOP = b"\xff\xff"
# The "no deletion" timestamp: a deletion at t shadows writes at timestamps <= t.
NO_DELETION = -(1 << 63)

Deletion = tuple[int, int]  # (timestamp, local deletion time in seconds)


class RangeTombstoneList:
    __slots__ = ("los", "items")

    def __init__(self) -> None:
        self.los: list[bytes] = []
        self.items: list[tuple[bytes, bytes, int, int]] = []  # (lo, hi, timestamp, ldt)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[bytes, bytes, int, int]]:
        return iter(self.items)

    def add(self, lo: bytes, hi: bytes, timestamp: int, ldt: int) -> None:
        """Delete [lo, hi) at `timestamp` (hi = TOP or b"" for unbounded)."""
        hi = hi or TOP
        if lo >= hi:
            return
        kept: list[tuple[bytes, bytes, int, int]] = []
        overlapping: list[tuple[bytes, bytes, int, int]] = []
        cuts = {lo, hi}
        for item in self.items:
            a, b, ts, d = item
            if b <= lo or a >= hi:
                kept.append(item)
                continue
            overlapping.append(item)
            if a < lo:
                kept.append((a, lo, ts, d))
            if b > hi:
                kept.append((hi, b, ts, d))
            cuts.add(max(a, lo))
            cuts.add(min(b, hi))
        points = sorted(cuts)
        for start, end in zip(points, points[1:]):
            best = (timestamp, ldt)
            for a, b, ts, d in overlapping:
                if a <= start and end <= b and (ts, d) > best:
                    best = (ts, d)
            kept.append((start, end, best[0], best[1]))
        kept.sort()
        merged: list[tuple[bytes, bytes, int, int]] = []
        for item in kept:
            if merged and merged[-1][1] == item[0] and merged[-1][2:] == item[2:]:
                merged[-1] = (merged[-1][0], item[1], item[2], item[3])
            else:
                merged.append(item)
        self.items = merged
        self.los = [item[0] for item in merged]

    def covering(self, key: bytes) -> int:
        """Timestamp of the range deletion covering `key`, or NO_DELETION."""
        i = bisect_right(self.los, key) - 1
        if i >= 0:
            item = self.items[i]
            if key < item[1]:
                return item[2]
        return NO_DELETION

    def max_timestamp(self) -> int:
        return max((item[2] for item in self.items), default=NO_DELETION)
