"""The layouts of bound values seen before: a list of [value]s read in one unpack.

What it is: the cache behind `Reader.read_values`' fast path. A prepared statement's values
usually have the same lengths request after request (keys, numbers, uuids, timestamps,
fixed-size blobs), so the bytes of the value list have a layout that repeats. Once a list of
`count` values has been read field by field, its lengths make a `ValuesShape`: one Struct that
unpacks the next list of `count` values whole, accepted only when the lengths it unpacked are
the learnt ones.

What it must not do: read anything else than what the field-by-field loop reads (a null, an
unset value or any other length misses the shape and takes the loop, which also reports the
errors), or grow without bound (MAX_VALUE_SHAPES, MAX_SHAPED_VALUES). Sans-IO, like the rest
of protocol/.

Theory of operation: per value count there is one `CountState`: the shape last learnt for that
count and a back-off. A hit resets the back-off. A miss (another statement with as many values,
or a text value of another length) learns the layout just read and skips the next `backoff`
lists of that count, the back-off doubling up to MAX_SHAPE_BACKOFF, so values whose lengths
never repeat cost one failed unpack per MAX_SHAPE_BACKOFF lists and no more.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from operator import itemgetter
from typing import Any

# Distinct value layouts kept (each a Struct, its lengths and two getters: well under a KiB).
MAX_VALUE_SHAPES = 256
# Lists of more values than this are always read field by field (a Struct per layout of a
# long list would rarely repeat and the loop's cost per value is what the shape saves).
MAX_SHAPED_VALUES = 32
# The most lists of one count read field by field, after misses, before the shape is tried
# again.
MAX_SHAPE_BACKOFF = 1024


class ValuesShape:
    """One layout of `len(expected)` values: ([int] length, bytes) each, big-endian."""

    __slots__ = ("expected", "lengths", "size", "unpack", "values")

    def __init__(self, lengths: tuple[int, ...]) -> None:
        layout = struct.Struct(">" + "".join(f"i{n}s" for n in lengths))
        self.unpack: Callable[[bytes, int], tuple] = layout.unpack_from
        self.size = layout.size
        self.expected = lengths
        count = len(lengths)
        # A tuple of one value's fields has two items, so both getters return tuples.
        self.lengths = itemgetter(*range(0, 2 * count, 2)) if count > 1 else _first
        self.values = itemgetter(*range(1, 2 * count, 2)) if count > 1 else _second


def _first(t: tuple) -> tuple:
    return (t[0],)


def _second(t: tuple) -> tuple:
    return (t[1],)


class CountState:
    """The shape tried for lists of one value count, and its back-off."""

    __slots__ = ("backoff", "shape", "skip")

    def __init__(self) -> None:
        self.shape: ValuesShape | None = None
        self.skip = 0  # lists of this count still to read field by field
        self.backoff = 0

    def missed(self) -> None:
        self.backoff = min(MAX_SHAPE_BACKOFF, 2 * self.backoff + 1)
        self.skip = self.backoff

    def learn(self, values: list[Any]) -> None:
        """Make the layout of `values` (just read field by field) the one tried next."""
        try:
            lengths = tuple(map(len, values))  # None and UNSET have no length: no shape
        except TypeError:
            return
        shape = _SHAPES.get(lengths)
        if shape is None:
            if len(_SHAPES) >= MAX_VALUE_SHAPES:
                return
            shape = _SHAPES[lengths] = ValuesShape(lengths)
        self.shape = shape


_SHAPES: dict[tuple[int, ...], ValuesShape] = {}
_STATES: dict[int, CountState] = {}


def state_for(count: int) -> CountState | None:
    """The CountState of lists of `count` values (made at the first), None when such lists
    are always read field by field."""
    state = _STATES.get(count)
    if state is None and 0 < count <= MAX_SHAPED_VALUES:
        state = _STATES[count] = CountState()
    return state


def forget() -> None:
    """Drop every learnt layout (tests)."""
    _SHAPES.clear()
    _STATES.clear()
