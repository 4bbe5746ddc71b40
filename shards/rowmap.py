"""The rows of one partition: a map from byte-comparable clustering key to row, iterated in order.

What it is: a sorted map built for the sizes a memtable sees. Most partitions hold one row (every
table without clustering columns) or a few, and a shard creates one map per new partition on the
write path: sortedcontainers.SortedDict costs ~10 µs to create, this costs well under 1 µs.

What it must not do: be shared between processes or threads, or allow a key to be removed while a
range iterator over it is live (iterators walk the key list as it is).

Theory of operation: the map has three representations, in two slots.
  - empty: `_keys` and `_rows` are None;
  - one row: `_keys` is that row's key (bytes) and `_rows` the row itself. No container at all: a
    memtable of one-row partitions holds a dict and a key list less per partition (about 300
    bytes), and the list was an object every full collection of the garbage collector walked;
  - several rows: `_rows` is a dict key -> row and `_keys` the sorted list of its keys. Appends in
    key order (time series) are O(1); other inserts are a bisection plus a list insert, which stays
    cheap up to a few thousand keys; beyond LARGE_PARTITION_ROWS the keys move to a SortedList
    (O(log n) inserts).
A map that grew to several rows keeps that representation when rows are removed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from itertools import islice
from operator import lt
from typing import Any, Iterator

import msgspec
from sortedcontainers import SortedList

# Past this many rows a plain list insert (a memmove of the key array) costs more than SortedList's
# balanced sublists.
LARGE_PARTITION_ROWS = 4096


class RowMap(msgspec.Struct, gc=False, eq=False):
    """Untracked by the cyclic collector (gc=False), as the memtable's other objects: see
    shards/memtable.py. It holds rows, never anything that refers back to it."""

    _rows: Any = None  # None, the one row, or dict[bytes, Any]
    _keys: bytes | list[bytes] | SortedList | None = None

    def __len__(self) -> int:
        keys = self._keys
        if type(keys) is bytes:
            return 1
        return 0 if keys is None else len(self._rows)

    def __contains__(self, key: bytes) -> bool:
        keys = self._keys
        if type(keys) is bytes:
            return key == keys
        return keys is not None and key in self._rows

    def __getitem__(self, key: bytes) -> Any:
        keys = self._keys
        if type(keys) is bytes:
            if key == keys:
                return self._rows
            raise KeyError(key)
        if keys is None:
            raise KeyError(key)
        return self._rows[key]

    def get(self, key: bytes, default: Any = None) -> Any:
        keys = self._keys
        if type(keys) is bytes:
            return self._rows if key == keys else default
        if keys is None:
            return default
        return self._rows.get(key, default)

    def get_all(self, keys: list[bytes]) -> list[Any]:
        """The row of each key, or None, in order: one map in C over the dict of a map of
        several rows (a batch's rows into a partition of many)."""
        held = self._keys
        if type(held) is bytes:
            row = self._rows
            return [row if key == held else None for key in keys]
        if held is None:
            return [None] * len(keys)
        return list(map(self._rows.get, keys))

    def __setitem__(self, key: bytes, row: Any) -> None:
        keys = self._keys
        if keys is None:
            self._keys, self._rows = key, row
            return
        if type(keys) is bytes:
            if key == keys:
                self._rows = row
            else:
                self._rows = {keys: self._rows, key: row}
                self._keys = [keys, key] if key > keys else [key, keys]
            return
        rows = self._rows
        if key not in rows:
            if type(keys) is list:
                if not keys or key > keys[-1]:
                    keys.append(key)
                else:
                    insort(keys, key)
                if len(keys) > LARGE_PARTITION_ROWS:
                    self._keys = SortedList(keys)
            else:
                keys.add(key)
        rows[key] = row

    def appends(self, keys: list[bytes]) -> bool:
        """Whether `keys` are strictly ascending and all above every key held: then `extend`
        may add them (a batch's rows in clustering order, the usual time-series write)."""
        if not keys:
            return True
        held = self._keys
        if type(held) is bytes:  # one row, whose key may be b"" (no clustering columns)
            if keys[0] <= held:
                return False
        elif held and keys[0] <= held[-1]:  # held: None, or a list or SortedList, maybe empty
            return False
        return len(keys) == 1 or all(map(lt, keys, islice(keys, 1, None)))

    def extend(self, keys: list[bytes], rows: list[Any]) -> None:
        """Add `rows` under `keys`, which `appends` said come after every key held, in order:
        one list extend and one dict update, where a set per row bisects or compares."""
        if not keys:
            return
        held = self._keys
        if held is None:
            if len(keys) == 1:
                self._keys, self._rows = keys[0], rows[0]
                return
            self._keys, self._rows = list(keys), dict(zip(keys, rows))
            held = self._keys
        elif type(held) is bytes:
            self._rows = {held: self._rows, **dict(zip(keys, rows))}
            self._keys = held = [held, *keys]
        else:
            self._rows.update(zip(keys, rows))
            if type(held) is list:
                held.extend(keys)
            else:
                held.update(keys)
        if type(held) is list and len(held) > LARGE_PARTITION_ROWS:
            self._keys = SortedList(held)

    def __delitem__(self, key: bytes) -> None:
        keys = self._keys
        if type(keys) is bytes:
            if key != keys:
                raise KeyError(key)
            self._keys = self._rows = None
            return
        if keys is None:
            raise KeyError(key)
        del self._rows[key]
        if type(keys) is list:
            del keys[bisect_left(keys, key)]
        else:
            keys.remove(key)

    def update(self, pairs) -> None:
        for key, row in (pairs.items() if hasattr(pairs, "items") else pairs):
            self[key] = row

    def copy(self) -> RowMap:
        """A shallow copy (rows are shared, the key order is not)."""
        other = RowMap()
        keys = self._keys
        if keys is None or type(keys) is bytes:
            other._keys, other._rows = keys, self._rows
        else:
            other._keys, other._rows = keys.copy(), dict(self._rows)
        return other

    def __iter__(self) -> Iterator[bytes]:
        return self.keys()

    def keys(self) -> Iterator[bytes]:
        keys = self._keys
        if type(keys) is bytes:
            return iter((keys,))
        return iter(()) if keys is None else iter(keys)

    def only_item(self) -> tuple[bytes, Any] | None:
        """(key, row) when the map holds exactly one row, else None: a point read's test and
        lookup in one call."""
        keys = self._keys
        return (keys, self._rows) if type(keys) is bytes else None

    def first_item(self) -> tuple[bytes, Any]:
        """(key, row) of the lowest key; IndexError when empty."""
        keys = self._keys
        if type(keys) is bytes:
            return keys, self._rows
        if keys is None:
            raise IndexError("first_item of an empty RowMap")
        key = keys[0]
        return key, self._rows[key]

    def items(self) -> Iterator[tuple[bytes, Any]]:
        keys = self._keys
        if type(keys) is bytes:
            return iter(((keys, self._rows),))
        if keys is None:
            return iter(())
        rows = self._rows
        return ((key, rows[key]) for key in keys)

    def values(self) -> Iterator[Any]:
        keys = self._keys
        if type(keys) is bytes:
            return iter((self._rows,))
        if keys is None:
            return iter(())
        rows = self._rows
        return (rows[key] for key in keys)

    def irange(self, minimum: bytes | None = None, maximum: bytes | None = None,
               inclusive: tuple[bool, bool] = (True, True),
               reverse: bool = False) -> Iterator[bytes]:
        """Keys within [minimum, maximum] (bounds None = open), as SortedList.irange."""
        keys = self._keys
        if type(keys) is bytes:
            return iter((keys,) if _within(keys, minimum, maximum, inclusive) else ())
        if keys is None:
            return iter(())
        if type(keys) is not list:
            return keys.irange(minimum, maximum, inclusive, reverse)
        return map(keys.__getitem__, self._positions(keys, minimum, maximum, inclusive, reverse))

    def irange_items(self, minimum: bytes | None = None, maximum: bytes | None = None,
                     inclusive: tuple[bool, bool] = (True, True),
                     reverse: bool = False) -> Iterator[tuple[bytes, Any]]:
        """(key, row) pairs of irange's keys, in its order, with no Python call per row."""
        keys, rows = self._keys, self._rows
        if type(keys) is bytes:
            return iter(((keys, rows),) if _within(keys, minimum, maximum, inclusive) else ())
        if keys is None:
            return iter(())
        if type(keys) is not list:
            return ((key, rows[key]) for key in keys.irange(minimum, maximum, inclusive, reverse))
        positions = self._positions(keys, minimum, maximum, inclusive, reverse)
        at = keys.__getitem__
        return zip(map(at, positions), map(rows.__getitem__, map(at, positions)))

    @staticmethod
    def _positions(keys: list[bytes], minimum: bytes | None, maximum: bytes | None,
                   inclusive: tuple[bool, bool], reverse: bool) -> range:
        """The indexes of irange's keys in the (plain list) key order, lazily."""
        if minimum is None:
            start = 0
        else:
            start = (bisect_left if inclusive[0] else bisect_right)(keys, minimum)
        if maximum is None:
            stop = len(keys)
        else:
            stop = (bisect_right if inclusive[1] else bisect_left)(keys, maximum)
        if start >= stop:
            return range(0)
        return range(stop - 1, start - 1, -1) if reverse else range(start, stop)


def _within(key: bytes, minimum: bytes | None, maximum: bytes | None,
            inclusive: tuple[bool, bool]) -> bool:
    """Whether `key` lies within irange's bounds."""
    if minimum is not None and (key < minimum if inclusive[0] else key <= minimum):
        return False
    return maximum is None or (key <= maximum if inclusive[1] else key < maximum)
