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
lists of that count, as does a list that gives no layout (a null or an unset value); the
back-off doubles up to MAX_SHAPE_BACKOFF, so values whose lengths never repeat cost one failed
unpack per MAX_SHAPE_BACKOFF lists and no more, and lists that always hold a null are not
measured for a layout each time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
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
    """One layout of `len(expected)` values: ([int] length, bytes) each, big-endian. An
    unpacked list holds the lengths at its even places and the values at its odd ones."""

    __slots__ = ("expected", "size", "unpack")

    def __init__(self, lengths: tuple[int, ...]) -> None:
        layout = struct.Struct(">" + "".join(f"i{n}s" for n in lengths))
        self.unpack: Callable[[bytes, int], tuple] = layout.unpack_from
        self.size = layout.size
        self.expected = lengths


class CountState:
    """The shape tried for lists of one value count, and its back-off."""

    __slots__ = ("backoff", "shape", "skip")

    def __init__(self) -> None:
        self.shape: ValuesShape | None = None
        self.skip = 0  # lists of this count still to read field by field
        self.backoff = 0

    def read_by_loop(self, values: list[Any], missed: bool) -> None:
        """`values` were just read field by field, after the shape `missed` them or with no
        shape yet: their layout is the one tried next, and a miss, or values that give no
        layout (a null, an unset value, no room for another shape), back off."""
        if not self._learn(values) or missed:
            self.backoff = min(MAX_SHAPE_BACKOFF, 2 * self.backoff + 1)
            self.skip = self.backoff

    def _learn(self, values: list[Any]) -> bool:
        try:
            lengths = tuple(map(len, values))  # None and UNSET have no length: no shape
        except TypeError:
            return False
        shape = _SHAPES.get(lengths)
        if shape is None:
            if len(_SHAPES) >= MAX_VALUE_SHAPES:
                return False
            shape = _SHAPES[lengths] = ValuesShape(lengths)
        self.shape = shape
        return True


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
