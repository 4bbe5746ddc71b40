"""OwnedLRU: values kept by (owner, key) within a byte budget, least recently used out first. The
shard's read caches build on it: its decompressed SSTable chunks (shards/sstable/chunks.py) and
its blocks of evicted data read back from the object store (ferrosa/objectstore/cache.py), which
keep byte strings costing their length, and its partitions' Index entries
(shards/sstable/keycache.py), which cost what CPython spends on them.

What it must not do: copy, check or interpret what it keeps, or be shared between threads.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Hashable


class OwnedLRU:
    """(owner, key) -> value within `budget` bytes, an entry costing `cost(key, value)` of
    them (a byte string's length unless a subclass says otherwise); `drop(owner)` forgets one
    owner's entries (an SSTable that was closed).

    ``index_owners`` False: no index of each owner's keys, and `drop` forgets nothing. For a
    cache whose owners are never reused and never looked up once gone, whose entries are too
    many to drop at once: their entries age out in LRU order, before any entry used since."""

    __slots__ = ("budget", "bytes", "hits", "misses", "_entries", "_owned")

    def __init__(self, budget: int, index_owners: bool = True) -> None:
        self.budget = budget
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[Hashable, Hashable], Any] = OrderedDict()
        self._owned: dict[Hashable, set[Hashable]] | None = {} if index_owners else None

    def cost(self, key: Hashable, value: Any) -> int:
        """The bytes of the budget one entry takes."""
        return len(value)

    def __len__(self) -> int:
        return len(self._entries)

    def counts(self) -> tuple[int, int, int, int, int]:
        """(entries, bytes, budget, hits, misses): what the cache holds and how it has served."""
        return len(self._entries), self.bytes, self.budget, self.hits, self.misses

    def get(self, owner: Hashable, key: Hashable) -> Any:
        """The value kept for (owner, key), None if none is."""
        entry = (owner, key)
        value = self._entries.get(entry)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(entry)
        return value

    def put(self, owner: Hashable, key: Hashable, value: Any) -> None:
        """Keep `value` (replacing the entry's old one); a value over the budget is not kept."""
        index = self._owned
        old = self._entries.pop((owner, key), None)
        if old is not None:
            self.bytes -= self.cost(key, old)
            if index is not None:
                index[owner].discard(key)
        cost = self.cost(key, value)
        if cost > self.budget:
            return
        self._entries[(owner, key)] = value
        if index is not None:
            index.setdefault(owner, set()).add(key)
        self.bytes += cost
        while self.bytes > self.budget:
            (old_owner, old_key), evicted = self._entries.popitem(last=False)
            self.bytes -= self.cost(old_key, evicted)
            if index is not None:
                owned = index[old_owner]
                owned.discard(old_key)
                if not owned:
                    del index[old_owner]

    def drop(self, owner: Hashable) -> None:
        """Forget every entry of `owner` (nothing without an owner index: they age out)."""
        if self._owned is None:
            return
        for key in self._owned.pop(owner, ()):
            self.bytes -= self.cost(key, self._entries.pop((owner, key)))

