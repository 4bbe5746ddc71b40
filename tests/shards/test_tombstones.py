"""RangeTombstoneList against a brute-force model: the covering deletion of every key."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shards.tombstones import NO_DELETION, TOP, RangeTombstoneList

KEYS = [bytes([0x40, i]) for i in range(0, 40, 2)]
_bound = st.sampled_from([bytes([0x40, i]) for i in range(0, 41)] + [b""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_bound, _bound, st.integers(0, 6), st.integers(0, 3)), max_size=12))
def test_matches_brute_force(ranges) -> None:
    rts = RangeTombstoneList()
    for lo, hi, ts, ldt in ranges:
        rts.add(lo, hi, ts, ldt)
    for key in KEYS:
        covering = [(ts, ldt) for lo, hi, ts, ldt in ranges if lo <= key < (hi or TOP)]
        expected = max(covering)[0] if covering else NO_DELETION
        assert rts.covering(key) == expected
    items = list(rts)
    assert all(a[1] <= b[0] for a, b in zip(items, items[1:]))  # sorted, disjoint
    assert all(a[1] != b[0] or a[2:] != b[2:] for a, b in zip(items, items[1:]))  # merged


def test_unbounded_and_empty_ranges() -> None:
    rts = RangeTombstoneList()
    rts.add(b"\x40\x05", b"", 10, 1)
    rts.add(b"\x40\x09", b"\x40\x03", 99, 1)  # empty: ignored
    assert rts.covering(b"\x40\x04") == NO_DELETION
    assert rts.covering(b"\x40\x05") == 10
    assert rts.covering(b"\x40\xfe\x00") == 10
    assert len(rts) == 1 and rts.max_timestamp() == 10
