"""BytesLRU: byte strings kept by (owner, index) within a byte budget, least recently used out
first. The caches of SSTable data build on it: a shard's decompressed chunks
(shards/sstable/chunks.py) and its blocks of evicted data read back from the object store
(ferrosa/objectstore/cache.py).

What it must not do: copy, check or interpret what it keeps, or be shared between threads.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable


class BytesLRU:
    """(owner, index) -> bytes within `budget` bytes; `drop(owner)` forgets one owner's."""

    __slots__ = ("budget", "bytes", "hits", "misses", "_entries", "_owned")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[Hashable, int], bytes] = OrderedDict()
        self._owned: dict[Hashable, set[int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, owner: Hashable, index: int) -> bytes | None:
        value = self._entries.get((owner, index))
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end((owner, index))
        return value

    def put(self, owner: Hashable, index: int, value: bytes) -> None:
        """Keep `value` (replacing the entry's old one); a value over the budget is not kept."""
        old = self._entries.pop((owner, index), None)
        if old is not None:
            self.bytes -= len(old)
            self._owned[owner].discard(index)
        if len(value) > self.budget:
            return
        self._entries[(owner, index)] = value
        self._owned.setdefault(owner, set()).add(index)
        self.bytes += len(value)
        while self.bytes > self.budget:
            (old_owner, old_index), evicted = self._entries.popitem(last=False)
            self.bytes -= len(evicted)
            owned = self._owned[old_owner]
            owned.discard(old_index)
            if not owned:
                del self._owned[old_owner]

    def drop(self, owner: Hashable) -> None:
        """Forget every entry of `owner`."""
        for index in self._owned.pop(owner, ()):
            self.bytes -= len(self._entries.pop((owner, index)))
