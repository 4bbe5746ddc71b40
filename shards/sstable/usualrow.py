"""A flush's usual partition encoded by a function unrolled per column set.

What it is: `UsualEncoders`, a PartitionEncoder's functions that encode the usual flushed
partition (no clustering columns, a row INSERTs wrote whole: PartitionEncoder._usual_partition's
case) as one fixed sequence of statements per column set, generated once per set of column ids,
as namedtuple and dataclasses generate their methods (shards/generated.py). The loop it
replaces (`_plain_cells_into`) spent about 56 bytecodes a cell: the iteration, the column id's
lookup, the timestamp's two comparisons and the list's extension; unrolled, a standard1
partition (five cells) takes about 80% of the time the loop's path took (`plain_partition`
over a 63k-partition memtable: 2.34-2.44 against 2.94-3.05 us).

What it must not do: encode anything but what `_usual_partition` would, byte for byte and
statistic for statistic: the caller hands it only rows whose floor is set (every cell a live
plain Cell without a TTL or deletion time: memtable.Row.floor). It must not hold column names
or values in the generated source: column ids are integers this process assigned, and
everything else reaches the function as an argument or through its globals.

Theory of operation: a PartitionEncoder's UsualEncoders maps a row's column names, in the
order of its cells dict (`tuple(cells)`, one C call), to the function for their column ids,
assigning ids in that order as the loop would (so the SSTable's column dictionary is the
same). The functions themselves are kept per tuple of ids in a module-wide cache, since every
flush of a table whose writes name the same columns in the same order assigns the same ids.
A function unpacks `cells.values()` into locals, compares every timestamp with the marker's
in one chained comparison (the usual row: one INSERT wrote them all), falls back to min and
max otherwise, tallies the encoder's statistics, and joins the header record, the row's
fixed fields, each cell's pack and value, and the end mark in one call. None (no unrolled
function) for a row without cells or wider than MAX_UNROLLED_CELLS: the loop encodes those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shards.generated import MAX_COLUMN_SETS, MAX_UNROLLED_CELLS, generated_function
from shards.sstable.layout import (
    _END,
    _HEADER,
    _LIVE,
    _USUAL_ROW_FIXED,
    ROW_MARKER,
    VALUE,
    _usual_row_head,
)

if TYPE_CHECKING:
    from shards.sstable.codec import PartitionEncoder

# A plain live cell's encoding without its value: column u16, flags u8, timestamp i64, length u32.
_LIVE_CELL_BYTES = _LIVE.size

UsualEncoder = Callable[..., bytes]
_BY_IDS: dict[tuple[int, ...], UsualEncoder] = {}


class UsualEncoders(dict):
    """The usual-partition function of each column set one PartitionEncoder has met, by the
    names' tuple (`encoders[tuple(cells)]`, a dict lookup in C); None past MAX_UNROLLED_CELLS
    or for no cells. It and the functions' cache by column ids keep at most MAX_COLUMN_SETS."""

    def __init__(self, encoder: PartitionEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def __missing__(self, names: tuple[str, ...]) -> UsualEncoder | None:
        if len(self) >= MAX_COLUMN_SETS:
            self.clear()
        ids = self.encoder.ids
        new_column = self.encoder.new_column
        cols = tuple(ids[name] if name in ids else new_column(name) for name in names)
        function = self[names] = usual_encoder(cols)
        return function


def usual_encoder(cols: tuple[int, ...]) -> UsualEncoder | None:
    """The unrolled encoding of a usual partition whose cells have the column ids `cols`, in
    order: `(encoder, part, marker, cells, pk_length) -> bytes`; None for no cells or more than
    MAX_UNROLLED_CELLS."""
    if not cols or len(cols) > MAX_UNROLLED_CELLS:
        return None
    function = _BY_IDS.get(cols)
    if function is None:
        if len(_BY_IDS) >= MAX_COLUMN_SETS:
            _BY_IDS.clear()
        function = _BY_IDS[cols] = _generate(cols)
    return function


def _generate(cols: tuple[int, ...]) -> UsualEncoder:
    count = len(cols)
    each = range(count)
    stamps = ", ".join(f"t{i}" for i in each)
    lengths = " + ".join(f"n{i}" for i in each)
    cells = ", ".join(f"L({col}, VALUE, t{i}, n{i}), v{i}" for i, col in enumerate(cols))
    source = "\n".join([
        "def usual(enc, part, marker, cells, size):",
        f"    {''.join(f'c{i}, ' for i in each)}= cells.values()",
        *(f"    t{i} = c{i}.timestamp; v{i} = c{i}.value; n{i} = len(v{i})" for i in each),
        "    ts = marker.timestamp",
        f"    if {' == '.join(f't{i}' for i in each)} == ts:",
        "        low = high = ts",
        "    else:  # cells updated after the INSERT: the row's timestamps differ",
        f"        low = min(ts, {stamps})",
        f"        high = max(ts, {stamps})",
        "    if low < enc.min_ts:",
        "        enc.min_ts = low",
        "    if high > enc.max_ts:",
        "        enc.max_ts = high",
        f"    enc.cells += {count}",
        "    enc.rows += 1",
        "    head = HEAD(size).pack(size + HEADER_FIXED, size, part.pk, part.token, part.deletion,",
        f"        part.ldt, 0, 0, {_USUAL_ROW_FIXED + count * _LIVE_CELL_BYTES} + {lengths}, 0, 0,",
        f"        ROW_MARKER, ts, marker.ttl, marker.expires, {count})",
        f"    return b''.join((head, {cells}, END))",
        ""])
    scope = {"HEAD": _usual_row_head, "HEADER_FIXED": _HEADER.size + 8, "L": _LIVE.pack,
             "VALUE": VALUE, "ROW_MARKER": ROW_MARKER, "END": _END}
    return generated_function(source, "usual", scope, f"usual partition of {count} cells")
