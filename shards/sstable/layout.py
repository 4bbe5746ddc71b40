"""The byte layouts of the Data stream's records: flags, Structs and the cached header Structs
that shards/sstable/codec.py's encoder and decoder and shards/sstable/rowshape.py share.

What it is: constants only (and the per-key-length Struct caches). The formats themselves, field
by field, are described in codec.py's theory of operation and docs/sstable-format.md.

What it must not do: encode or decode anything itself.
"""

from __future__ import annotations

import struct

VALUE, TTL, LDT, COMPLEX = 1, 2, 4, 8
ROW_MARKER, ROW_DELETION = 1, 2
# Column ids are u16: Cassandra tables are far below 65 535 columns.
MAX_COLUMNS = 0xFFFF

U32 = struct.Struct("<I")
_U32_AT = U32.unpack_from
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")
_LIVE = struct.Struct("<HBqI")  # the common case: column, flags = VALUE, timestamp, value length
_COLUMN_FLAGS = struct.Struct("<HB")
_COMPLEX = struct.Struct("<qqI")
_HEADER = struct.Struct("<qqqI")  # token, deletion, ldt, static count
_HEADER_AND_RANGES = struct.Struct("<qqqII")  # ... and the range count, when no static cells
_MARKER = struct.Struct("<qiq")
_DELETION = struct.Struct("<qq")
_RANGE_END = struct.Struct("<qq")
_END = U32.pack(0)
_FLAG_BYTES = [bytes((flags,)) for flags in range((ROW_MARKER | ROW_DELETION) + 1)]
# Partition keys up to this long get a cached Struct that packs the whole header of a plain
# partition in one call (one Struct per key length seen: a table has a few key lengths at most).
MAX_CACHED_PK = 64
_PLAIN_HEADERS: dict[int, struct.Struct] = {}


def _plain_header(pk_length: int) -> struct.Struct:
    """header size, pk length, pk, token, deletion, ldt, 0 static cells, 0 range tombstones."""
    return _PLAIN_HEADERS.get(pk_length) or _header_layout(_PLAIN_HEADERS, pk_length, "")


_SINGLE_PLAIN: dict[int, struct.Struct] = {}
# A row without clustering values, with a marker and no deletion, up to its cells: clustering
# key length (0), value count (0), flags, marker, cell count.
_USUAL_ROW = "IHBqiqI"
_USUAL_ROW_FIXED = struct.calcsize("<" + _USUAL_ROW)
_USUAL_ROWS: dict[int, struct.Struct] = {}


def _usual_row_head(pk_length: int) -> struct.Struct:
    """A plain header's record (_plain_header), the size of the row record after it, and that
    row's fields up to its cells (_USUAL_ROW)."""
    return _USUAL_ROWS.get(pk_length) or _header_layout(_USUAL_ROWS, pk_length, "I" + _USUAL_ROW)


def _single_plain(pk_length: int) -> struct.Struct:
    """A plain header's record (_plain_header) and the size prefix of the row record after it."""
    return _SINGLE_PLAIN.get(pk_length) or _header_layout(_SINGLE_PLAIN, pk_length, "I")


def _header_layout(cache: dict[int, struct.Struct], pk_length: int,
                   then: str) -> struct.Struct:
    """Make and keep in `cache` the plain header's Struct for keys of `pk_length` bytes,
    followed by the fields `then`."""
    layout = cache[pk_length] = struct.Struct(f"<II{pk_length}sqqqII{then}")
    return layout


def _cell_struct(flags: int) -> struct.Struct:
    return struct.Struct("<HBq" + ("i" if flags & TTL else "") + ("q" if flags & LDT else "")
                         + ("I" if flags & VALUE else ""))


# Fixed part of a simple cell for each combination of VALUE/TTL/LDT: a table, not an if-chain.
_CELL = [_cell_struct(flags) for flags in range(8)]
