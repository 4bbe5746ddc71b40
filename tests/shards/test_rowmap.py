"""RowMap behaves as a SortedDict for everything the shard uses, small and large."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedDict

from shards import rowmap
from shards.rowmap import RowMap

_key = st.binary(min_size=0, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_key, st.integers()), max_size=60), _key, _key,
       st.tuples(st.booleans(), st.booleans()), st.booleans(), st.booleans(), st.booleans())
def test_matches_sorted_dict(items, lo, hi, inclusive, reverse, open_lo, open_hi) -> None:
    ours, reference = RowMap(), SortedDict()
    for key, value in items:
        ours[key] = value
        reference[key] = value
    assert len(ours) == len(reference)
    assert list(ours.items()) == list(reference.items())
    lo_bound = None if open_lo else lo
    hi_bound = None if open_hi else hi
    expected = list(reference.irange(lo_bound, hi_bound, inclusive, reverse))
    assert list(ours.irange(lo_bound, hi_bound, inclusive, reverse)) == expected
    assert list(ours.irange_items(lo_bound, hi_bound, inclusive, reverse)) == [
        (key, reference[key]) for key in expected]


def test_large_partitions_switch_to_a_sorted_list(monkeypatch) -> None:
    monkeypatch.setattr(rowmap, "LARGE_PARTITION_ROWS", 8)
    ours = RowMap()
    for i in reversed(range(20)):
        ours[bytes([i])] = i
    assert list(ours.values()) == list(range(20))
    assert list(ours.irange(bytes([3]), bytes([6]), (True, False), True)) == [
        bytes([5]), bytes([4]), bytes([3])]
    assert list(ours.irange_items(bytes([3]), bytes([6]), (False, True))) == [
        (bytes([4]), 4), (bytes([5]), 5), (bytes([6]), 6)]
