"""Puts of a row of plain values into the memtable, by functions unrolled per column set.

What it is: for a mutation's plain_names (the columns an INSERT or a batch's rows set to whole
values), a function generated once, as namedtuple and dataclasses generate their methods, that
puts one row's values into a new row's cells as a fixed sequence of statements. The loop it
replaces (put_plain's) spent about 35 bytecodes a cell on a row of five: the iteration, the
interning of a name decoded afresh with every mutation, and the byte tally.

What it must not do: reconcile with cells already there (the functions fill an empty row only),
or hold anything but the column names: a function serves every table whose mutations name the
same columns, in that order.

Theory of operation: a NewRowPutters dict maps a column set to its function, made on first
lookup and kept (at most MAX_COLUMN_SETS of them). The function takes (cells, values, ts, ttl,
expires): when every value is present it puts Cell(ts, value, ttl, expires) under each name and
returns the bytes the memtable's estimate adds; when a value is None (a tombstone, whose local deletion time is the
write's `now`) or the values are not one per name, it puts nothing and returns -1, and the caller
takes put_plain's loop. The names live in the function's globals (N0, N1, ...), interned, so
every row of a memtable shares one string per column; never in its source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from sys import intern

from shards.generated import generated_function

# Column sets wider than this keep the loop: the generated source and its compile grow with the
# width, and a row of so many plain values spends its time on the values, not the loop.
MAX_UNROLLED_CELLS = 64
# Distinct column sets kept. A schema holds a few per table (one per INSERT shape); past this the
# cache is cleared rather than grown, so a client that writes ever new shapes costs a compile per
# write at worst, never unbounded memory.
MAX_COLUMN_SETS = 1024

NewRowPutter = Callable[[dict, Sequence[bytes | None], int, int, int], int]


class NewRowPutters(dict):
    """Putters by column set, each made on first lookup (`putters[tuple(names)]`, a dict
    lookup in C on the write path); None for no names or more than MAX_UNROLLED_CELLS. `cell`
    is the memtable's Cell and `cell_overhead` its per-cell estimate: given, not imported, so
    this module does not import the memtable that uses it."""

    def __init__(self, cell: type, cell_overhead: int) -> None:
        super().__init__()
        self.cell, self.cell_overhead = cell, cell_overhead

    def __missing__(self, names: tuple[str, ...]) -> NewRowPutter | None:
        if len(self) >= MAX_COLUMN_SETS:
            self.clear()
        putter = self[names] = _generate(names, self.cell, self.cell_overhead)
        return putter


def _generate(names: tuple[str, ...], cell: type, cell_overhead: int) -> NewRowPutter | None:
    count = len(names)
    if not count or count > MAX_UNROLLED_CELLS:
        return None
    values = ", ".join(f"v{i}" for i in range(count)) + ","
    fixed = count * cell_overhead + sum(map(len, names))
    body = ["    try:",
            f"        {values} = values",
            "    except ValueError:  # not one value per name",
            "        return -1",
            "    if " + " or ".join(f"v{i} is None" for i in range(count)) + ":",
            "        return -1",
            *(f"    cells[N{i}] = Cell(ts, v{i}, ttl, expires)" for i in range(count)),
            f"    return {fixed} + " + " + ".join(f"len(v{i})" for i in range(count))]
    source = "def put_new(cells, values, ts, ttl, expires):\n" + "\n".join(body) + "\n"
    scope: dict = {"Cell": cell, **{f"N{i}": intern(name) for i, name in enumerate(names)}}
    return generated_function(source, "put_new", scope, f"new row of {count} plain cells")
