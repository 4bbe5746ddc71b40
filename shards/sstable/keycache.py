"""KeyCache: where each recently read partition starts in its SSTables, for one shard (Cassandra's
key cache).

What it is: an LRU of (reader number, partition key) -> the partition's Index entry, shared by
every SSTable reader of the shard's process within a byte budget (`set_key_cache`). A point read
asks it for the SSTables whose bloom filter lets the key through (Cassandra's order); a
partition found here goes straight to its header in the Data stream, skipping the summary and
the Index.

What it must NOT do: hold anything a reader did not check (an entry is put only after
`SSTableReader._entry` validated it and the header at its offset held the key), or serve an
entry once its reader's files are gone. SSTables are immutable, so an entry stays true as long
as its reader is open; reader numbers are never reused, and only an open reader looks up its
own number, so a closed reader's entries are never served again.

Theory of operation:
- The value is the entry's Data offset (an int) for a partition without a row index (most of
  them), else the pair (Data offset, row index offset): one small int per entry, not the Index
  entry's 3-tuple.
- An entry's cost is its key's length plus ENTRY_BYTES, the CPython objects that hold it
  (measured: the OrderedDict slot and node, the (number, key) tuple, the key's bytes header,
  and the int value). The budget is bytes, as Cassandra's key_cache_size.
- Only partitions that were found are kept: the bloom filter already answers "not here" cheaply.
- A closed reader's entries are not removed: they age out in LRU order, before every entry
  used since the close. Removing them at once stopped the shard's loop for about 85 ms per
  60k entries (the cache's default size) when a compaction closed the SSTables it replaced,
  and keeping an index of each reader's keys for that cost every insertion a set update.
"""

from __future__ import annotations

from typing import Union

from ferrosa.lru import OwnedLRU

# CPython bytes per entry besides the key's own bytes (tracemalloc over 50k-340k entries of
# 10-byte keys: 196-226, with where the dict table stands between resizes).
ENTRY_BYTES = 215

# An Index entry as kept: the Data offset, or (Data offset, row index offset).
KeyEntry = Union[int, tuple[int, int]]


class KeyCache(OwnedLRU):
    """(reader number, partition key) -> KeyEntry, within `budget` bytes."""

    __slots__ = ()

    def __init__(self, budget: int) -> None:
        super().__init__(budget, index_owners=False)

    def cost(self, key: bytes, value: KeyEntry) -> int:
        return len(key) + ENTRY_BYTES

    def put(self, owner: int, key: bytes, value: KeyEntry) -> None:
        """OwnedLRU.put for an entry whose cost is its key's alone: a replaced value changes
        nothing in the budget, and there is no owner index to keep (a miss of a dataset larger
        than the cache puts and evicts on nearly every read)."""
        cost = len(key) + ENTRY_BYTES
        if cost > self.budget:
            return
        entries = self._entries
        entry = (owner, key)
        if entries.pop(entry, None) is None:
            self.bytes += cost
        entries[entry] = value
        if self.bytes > self.budget:
            popitem = entries.popitem
            while self.bytes > self.budget:
                self.bytes -= len(popitem(last=False)[0][1]) + ENTRY_BYTES


# This process's KeyCache (a shard sets it up at start; None: no key cache).
_shared: KeyCache | None = None


def set_key_cache(budget: int) -> KeyCache | None:
    """Give this process's SSTable readers a shared KeyCache of `budget` bytes (0: none)."""
    global _shared
    _shared = KeyCache(budget) if budget > 0 else None
    return _shared


def key_cache() -> KeyCache | None:
    return _shared
