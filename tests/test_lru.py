"""OwnedLRU: least recently used out first within the byte budget; drop forgets one owner."""

from __future__ import annotations

from ferrosa.lru import OwnedLRU


def test_least_recently_used_out_within_the_budget() -> None:
    cache = OwnedLRU(budget=10)
    cache.put(1, 0, b"aaaa")
    cache.put(1, 1, b"bbbb")
    assert cache.get(1, 0) == b"aaaa"  # now the most recent
    cache.put(2, 0, b"cccc")  # 12 bytes: the least recent (1, 1) goes
    assert cache.get(1, 1) is None and cache.get(1, 0) == b"aaaa"
    assert cache.bytes == 8 and len(cache) == 2
    cache.put(3, 0, b"x" * 11)  # larger than the budget: not kept
    assert cache.get(3, 0) is None and cache.bytes == 8
    cache.drop(1)
    assert cache.get(1, 0) is None and cache.get(2, 0) == b"cccc" and cache.bytes == 4
    cache.put(2, 0, b"dd")  # replaces the entry: its bytes are counted once
    assert cache.get(2, 0) == b"dd" and cache.bytes == 2
    assert cache.hits > 0 and cache.misses > 0


def test_without_an_owner_index_entries_age_out_instead_of_being_dropped() -> None:
    cache = OwnedLRU(budget=12, index_owners=False)
    cache.put(1, 0, b"aaaa")
    cache.put(1, 1, b"bbbb")
    cache.drop(1)  # forgets nothing: owner 1 is simply never asked for again
    assert len(cache) == 2 and cache.bytes == 8
    cache.put(2, 0, b"cccc")
    cache.put(2, 1, b"dddd")  # over the budget: the oldest of owner 1's entries goes first
    assert len(cache) == 3 and cache.bytes == 12
    cache.put(2, 1, b"ee")  # a replaced entry is counted once
    assert cache.bytes == 10
    cache.put(3, 0, b"ffff")  # 14 bytes: (1, 1), now the least recent, goes
    assert cache.get(1, 0) is None and cache.get(1, 1) is None
    assert cache.get(2, 1) == b"ee" and len(cache) == 3 and cache.bytes == 10
