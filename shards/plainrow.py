"""Puts of a row of plain values into the memtable, by functions unrolled per column set.

What it is: for a mutation's plain_names (the columns an INSERT or a batch's rows set to whole
values), two functions generated once, as namedtuple and dataclasses generate their methods,
that put one row's values as a fixed sequence of statements: `new` into a new row, `over` over
a row whose every such cell is an older plain Cell (the usual overwrite). The loop they replace
(put_plain's) spent about 35 bytecodes a cell on a new row of five and 40 on an overwrite: the
iteration, the interning of a name decoded afresh with every mutation, the per-cell type test
and the byte tally.

What it must not do: reconcile (a cell at or after the write's timestamp, a collection or a
missing cell sends the row to put_plain's loop, which applies Cassandra's rules), or hold
anything but the column names: the functions serve every table whose mutations name the same
columns, in that order.

Theory of operation: a RowPutters dict maps a column set to its PlainPutters, made on first
lookup and kept (at most MAX_COLUMN_SETS of them); None for no names or more than
MAX_UNROLLED_CELLS. Both functions take (cells, values, ts, ttl, expires) and either put
Cell(ts, value, ttl, expires) under every name or put nothing and return -1, and the caller
takes the loop: when a value is None (a tombstone, whose local deletion time is the write's
`now`), when the values are not one per name, and for `over` when a cell is missing, is not a
Cell (a Complex has no timestamp) or is not older than `ts`. `new` returns the bytes the
memtable's estimate adds; `over` 0 (a replaced cell adds none, as in the loop). The names live
in the functions' globals (N0, N1, ...), interned, so every row of a memtable shares one string
per column; never in their source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from sys import intern
from typing import NamedTuple

from shards.generated import MAX_COLUMN_SETS, MAX_UNROLLED_CELLS, generated_function

RowPutter = Callable[[dict, Sequence[bytes | None], int, int, int], int]


class PlainPutters(NamedTuple):
    new: RowPutter  # into an empty row
    over: RowPutter  # over older plain cells of every name


class RowPutters(dict):
    """PlainPutters by column set, each made on first lookup (`putters[tuple(names)]`, a dict
    lookup in C on the write path). `cell` is the memtable's Cell and `cell_overhead` its
    per-cell estimate: given, not imported, so this module does not import the memtable."""

    def __init__(self, cell: type, cell_overhead: int) -> None:
        super().__init__()
        self.cell, self.cell_overhead = cell, cell_overhead

    def __missing__(self, names: tuple[str, ...]) -> PlainPutters | None:
        if len(self) >= MAX_COLUMN_SETS:
            self.clear()
        putters = self[names] = _generate(names, self.cell, self.cell_overhead)
        return putters


def _generate(names: tuple[str, ...], cell: type, cell_overhead: int) -> PlainPutters | None:
    count = len(names)
    if not count or count > MAX_UNROLLED_CELLS:
        return None
    each = range(count)
    unpack = ["    try:",
              f"        {''.join(f'v{i}, ' for i in each)}= values",
              "    except ValueError:  # not one value per name",
              "        return -1",
              "    if " + " or ".join(f"v{i} is None" for i in each) + ":",
              "        return -1"]
    puts = [f"    cells[N{i}] = Cell(ts, v{i}, ttl, expires)" for i in each]
    fixed = count * cell_overhead + sum(map(len, names))
    new = ["def new(cells, values, ts, ttl, expires):", *unpack, *puts,
           f"    return {fixed} + " + " + ".join(f"len(v{i})" for i in each)]
    # A missing name raises KeyError, a Complex (no timestamp) AttributeError: the loop's cases.
    over = ["def over(cells, values, ts, ttl, expires):",
            "    try:",
            "        if " + " or ".join(f"cells[N{i}].timestamp >= ts" for i in each) + ":",
            "            return -1",
            "    except (KeyError, AttributeError):",
            "        return -1",
            *unpack, *puts,
            "    return 0"]
    source = "\n".join(new) + "\n\n\n" + "\n".join(over) + "\n"
    scope: dict = {"Cell": cell, **{f"N{i}": intern(name) for i, name in enumerate(names)}}
    label = f"puts of {count} plain cells"
    return PlainPutters(generated_function(source, "new", scope, label), scope["over"])
