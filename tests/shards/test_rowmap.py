"""RowMap behaves as a SortedDict for everything the shard uses, small and large."""

from __future__ import annotations

from itertools import pairwise

import pytest
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


# Few distinct keys, so that deletes hit, maps empty and fill again.
_few_keys = st.sampled_from([b"", b"a", b"b", b"c", b"\x00\xff"])
_ops = st.lists(st.one_of(
    st.tuples(st.just("set"), _few_keys, st.integers()),
    st.tuples(st.just("del"), _few_keys, st.none()),
    st.tuples(st.just("copy"), st.none(), st.none()),
    st.tuples(st.just("extend"), st.lists(_few_keys, max_size=4), st.integers())), max_size=40)


def _same(ours: RowMap, reference: SortedDict, lo, hi, inclusive, reverse) -> None:
    assert len(ours) == len(reference)
    assert bool(ours) == bool(reference)
    assert list(ours) == list(reference) == list(ours.keys())
    assert list(ours.items()) == list(reference.items())
    assert list(ours.values()) == list(reference.values())
    for key in {lo, hi}:
        assert (key in ours) == (key in reference)
        assert ours.get(key, "absent") == reference.get(key, "absent")
    asked = [key for key in (lo, hi, *reference.keys(), lo) if key is not None]
    assert ours.get_all(asked) == [reference.get(key) for key in asked]
    if reference:
        assert ours.first_item() == reference.peekitem(0)
    expected = list(reference.irange(lo, hi, inclusive, reverse))
    assert list(ours.irange(lo, hi, inclusive, reverse)) == expected
    assert list(ours.irange_items(lo, hi, inclusive, reverse)) == [
        (key, reference[key]) for key in expected]


@settings(max_examples=300, deadline=None)
@given(_ops, st.one_of(st.none(), _few_keys, _key), st.one_of(st.none(), _few_keys, _key),
       st.tuples(st.booleans(), st.booleans()), st.booleans())
def test_any_sequence_of_changes_matches_sorted_dict(ops, lo, hi, inclusive, reverse) -> None:
    """Every representation (empty, one row, several) and every move between them: inserts,
    overwrites, deletes (down to empty and back), copies that must not share key order."""
    ours, reference = RowMap(), SortedDict()
    copies: list[tuple[RowMap, SortedDict]] = []
    for op, key, value in ops:
        if op == "set":
            ours[key] = value
            reference[key] = value
        elif op == "del":
            if key in reference:
                del ours[key]
                del reference[key]
            else:
                with pytest.raises(KeyError):
                    del ours[key]
                with pytest.raises(KeyError):
                    ours[key]
        elif op == "extend":
            # A batch's rows appended: only keys strictly ascending, past every key held.
            appends = (all(a < b for a, b in pairwise(key))
                       and (not key or not reference or key[0] > reference.peekitem(-1)[0]))
            assert ours.appends(key) == appends
            if appends:
                ours.extend(key, [value + i for i in range(len(key))])
                reference.update((k, value + i) for i, k in enumerate(key))
        else:
            copies.append((ours.copy(), reference.copy()))
        _same(ours, reference, lo, hi, inclusive, reverse)
    for copied, snapshot in copies:
        _same(copied, snapshot, lo, hi, inclusive, reverse)
    if not reference:
        with pytest.raises(IndexError):
            ours.first_item()


def test_appended_rows_past_the_large_partition_size_switch_to_a_sorted_list(
        monkeypatch) -> None:
    monkeypatch.setattr(rowmap, "LARGE_PARTITION_ROWS", 8)
    ours = RowMap()
    ours[b"\x00"] = 0
    for start in (1, 5, 9):
        keys = [bytes([i]) for i in range(start, start + 4)]
        assert ours.appends(keys)
        ours.extend(keys, list(range(start, start + 4)))
    assert type(ours._keys) is not list
    assert list(ours.items()) == [(bytes([i]), i) for i in range(13)]
    assert not ours.appends([b"\x0c"]) and ours.appends([b"\x0d"])


def test_one_row_holds_no_container() -> None:
    """A one-row map keeps the row in its own slot: no dict or key list for the collector."""
    ours = RowMap()
    ours[b"k"] = row = object()
    assert ours._rows is row and ours._keys == b"k"
    ours[b"j"] = 2
    assert list(ours.items()) == [(b"j", 2), (b"k", row)]
