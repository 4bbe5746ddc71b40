"""Partitions as bytes: the encoding of a partition header, rows and cells in the Data stream.

What it is: `PartitionEncoder` (memtable objects -> bytes, counting the statistics on the way)
and `PartitionDecoder` (bytes -> memtable objects: Partition, Row, Complex, Cell; or a plain
row's values alone, read by its length's `RowShape` (shards/sstable/rowshape.py) when it has
the learnt layout). The records' Structs and flags are shards/sstable/layout.py's. Whether
compaction would keep a record byte for byte is shards/sstable/livewalk.py's.

What it must NOT do: know about chunks, compression, files or indexes. It sees one contiguous
`bytes` object per header or row; the caller (writer/reader) frames them in the logical stream as

    header_size u32 | header | (row_size u32 | row)* | 0 u32

and guarantees the decoder gets whole headers and rows. A row is never empty (it starts with its
clustering-key length), so a zero size ends the partition.

Theory of operation (little-endian; the byte tables are in docs/sstable-format.md):
- Column names are replaced by u16 ids into a per-SSTable dictionary (Stats.columns), assigned in
  order of first appearance while writing.
- A cell is `column u16 | flags u8 | timestamp i64 | [ttl i32] | [ldt i64] | [len u32 | value]`;
  each optional field is present iff its flag is set: VALUE (the value is not None, i.e. not a
  tombstone), TTL (ttl != 0), LDT (ldt != 0). A plain live cell is 15 bytes + its value. Flag
  COMPLEX instead introduces a multi-cell column: `deletion i64 | ldt i64 | count u32` and count
  elements `path_len u32 | path | key_len u32 | key | cell` (element cells carry column id 0).
- Decoding errors (short buffers, unknown flags, bad ids) surface as `DecodeError` with a reason;
  the reader turns them into CorruptSSTable naming the file and the logical offset. They only
  happen when a chunk checksum was defeated, or on a bug.
"""

from __future__ import annotations

import struct

from shards.errors import SSTableError
from shards.memtable import Cell, Complex, Marker, Partition, Row
from shards.rowmap import RowMap
from shards.sstable.format import NO_LOCAL_DELETION_TIME
from shards.sstable.layout import (
    _CELL,
    _COLUMN_FLAGS,
    _COMPLEX,
    _DELETION,
    _END,
    _FLAG_BYTES,
    _HEADER,
    _HEADER_AND_RANGES,
    _I32,
    _LIVE,
    _MARKER,
    _RANGE_END,
    _U16,
    _U32_AT,
    _USUAL_ROW_FIXED,
    COMPLEX,
    LDT,
    MAX_CACHED_PK,
    MAX_COLUMNS,
    ROW_DELETION,
    ROW_MARKER,
    TTL,
    U32,
    VALUE,
    _plain_header,
    _single_plain,
    _usual_row_head,
)
from shards.sstable.rowshape import (
    MAX_ROW_SHAPES,
    MAX_SHAPE_MISSES,
    RowShape,
    row_shape,
)
from shards.sstable.usualrow import UsualEncoders
from shards.tombstones import NO_DELETION, RangeTombstoneList


def single_plain_row(buf: bytes, p: int, token: int, pk: bytes) -> tuple[int, int] | None:
    """(start, end) of the only row of the partition (token, pk) whose header record starts at
    buf[p], when the partition is plain (no deletion, static cells or range tombstones), holds
    one row, and its three records (header, row, end mark) lie inside `buf`; else None, and
    the caller reads the partition the general way (which also reports a corrupt one).

    Most point reads find such a partition: this reads its framing in one unpack instead of
    building a Partition and walking its records."""
    one = one_plain_row(buf, p)
    if one is None or one[0] != token or one[1] != pk:
        return None
    return one[3], one[4]


def one_plain_row(buf: bytes, p: int) -> tuple[int, bytes, int, int, int] | None:
    """(token, pk, ldt, start, end) of the partition whose header record starts at buf[p],
    `start` and `end` its only row's span, when single_plain_row's conditions hold (whatever
    its key); else None. A scan's usual partition (compaction's), read in one unpack."""
    try:
        n = _U32_AT(buf, p + 4)[0]
        if n > MAX_CACHED_PK:
            return None
        layout = _single_plain(n)
        size, _n, pk, token, deletion, ldt, statics, ranges, row_size = layout.unpack_from(buf, p)
        start = p + layout.size
        end = start + row_size
        if (size != n + _HEADER.size + 8 or deletion != NO_DELETION or statics or ranges
                or not row_size or _U32_AT(buf, end)[0]):
            return None
    except struct.error:  # the records run past the buffer (into the next chunk)
        return None
    return token, pk, ldt, start, end



class DecodeError(Exception):
    """Bytes that are not a valid header/row encoding (converted to CorruptSSTable by callers)."""



class PartitionEncoder:
    """Encodes partitions for one SSTable and tallies what SSTableStats reports."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.columns: list[str] = []
        self.rows = self.cells = self.expiring = self.cell_tombstones = 0
        self.row_tombstones = self.range_tombstones = self.partition_tombstones = 0
        self.complex_deletions = 0
        self.min_ts = (1 << 63) - 1
        self.max_ts = NO_DELETION
        self.min_ldt = NO_LOCAL_DELETION_TIME
        self._usual = UsualEncoders(self)

    def new_column(self, name: str) -> int:
        if len(self.columns) >= MAX_COLUMNS:
            raise SSTableError(f"more than {MAX_COLUMNS} distinct column names in one SSTable")
        col = self.ids[name] = len(self.columns)
        self.columns.append(name)
        return col

    def count_copy(self, rows: int, cells: int, min_ts: int, max_ts: int) -> None:
        """Tally a partition copied as bytes (live rows and cells only: see live_row)."""
        self.rows += rows
        self.cells += cells
        if min_ts < self.min_ts:
            self.min_ts = min_ts
        if max_ts > self.max_ts:
            self.max_ts = max_ts

    def _seen(self, ts: int, ldt: int) -> None:
        if ts < self.min_ts:
            self.min_ts = ts
        if ts > self.max_ts:
            self.max_ts = ts
        if ldt and ldt < self.min_ldt:
            self.min_ldt = ldt

    def header(self, part: Partition) -> bytes:
        out = [U32.pack(len(part.pk)), part.pk,
               _HEADER.pack(part.token, part.deletion, part.ldt, len(part.static))]
        if part.deletion != NO_DELETION:
            self.partition_tombstones += 1
            self._seen(part.deletion, part.ldt)
        self.cells_into(part.static, out)
        ranges = part.ranges.items if part.ranges is not None else ()
        out.append(U32.pack(len(ranges)))
        pack_len, pack_end = U32.pack, _RANGE_END.pack
        for lo, hi, ts, ldt in ranges:
            out += (pack_len(len(lo)), lo, pack_len(len(hi)), hi, pack_end(ts, ldt))
            self._seen(ts, ldt)
        self.range_tombstones += len(ranges)
        return b"".join(out)

    def plain_partition(self, part: Partition, ck: bytes, row: Row) -> bytes:
        """The whole framed record (header, the row, the end mark) of a partition whose only
        content is one row: no static cells, range tombstones or partition deletion. Most
        flushed partitions have this shape; it costs one header pack instead of a list of parts.
        """
        pk = part.pk
        size = len(pk)
        marker = row.marker
        if (marker is not None and row.floor != NO_DELETION and not ck and not row.ck_values
                and row.deletion == NO_DELETION and not row.ldt and size <= MAX_CACHED_PK):
            cells = row.cells
            usual = self._usual[tuple(cells)]  # unrolled for its column set (most rows)
            if usual is not None:
                return usual(self, part, marker, cells, size)
            return self._usual_partition(part, marker, cells, size)
        body = self.row(ck, row)
        if size > MAX_CACHED_PK:
            header = self.header(part)
            return b"".join((U32.pack(len(header)), header, U32.pack(len(body)), body, _END))
        return b"".join((_plain_header(size).pack(size + _HEADER.size + 8, size, pk, part.token,
                                                  part.deletion, part.ldt, 0, 0),
                         U32.pack(len(body)), body, _END))

    def _usual_partition(self, part: Partition, marker: Marker, cells: dict,
                         size: int) -> bytes:
        """plain_partition of a table without clustering columns, for a row INSERTs wrote
        whole (a marker and its floor set: memtable.Row.floor), a flush's usual partition:
        everything before the cells (header record, row size, empty clustering, flags, marker,
        cell count) in one pack, then the cells (_plain_cells_into), the row's size counted
        from their values' instead of joined first. plain_partition encodes a column set with
        an unrolled function (shards/sstable/usualrow.py, most rows) by it instead, to the
        same bytes: this is the loop for the others (no cells, or very many)."""
        ts = marker.timestamp
        if ts < self.min_ts:
            self.min_ts = ts
        if ts > self.max_ts:
            self.max_ts = ts
        out = [b""]
        values = self._plain_cells_into(cells, out)
        out[0] = _usual_row_head(size).pack(
            size + _HEADER.size + 8, size, part.pk, part.token, part.deletion, part.ldt, 0, 0,
            _USUAL_ROW_FIXED + 15 * len(cells) + values, 0, 0, ROW_MARKER, ts, marker.ttl,
            marker.expires, len(cells))
        out.append(_END)
        self.rows += 1
        return b"".join(out)

    def row(self, ck: bytes, row: Row) -> bytes:
        """The row's encoding, without its size prefix."""
        self.rows += 1
        out = [U32.pack(len(ck)), ck, _U16.pack(len(row.ck_values))]
        pack_i32 = _I32.pack
        for value in row.ck_values:
            if value is None:
                out.append(pack_i32(-1))
            else:
                out += (pack_i32(len(value)), value)
        flags = 0
        marker = row.marker
        if marker is not None:
            flags = ROW_MARKER
        if row.deletion != NO_DELETION or row.ldt:
            flags |= ROW_DELETION
        out.append(_FLAG_BYTES[flags])
        if marker is not None:
            out.append(_MARKER.pack(marker.timestamp, marker.ttl, marker.expires))
            self._seen(marker.timestamp, marker.expires if marker.ttl else 0)
        if flags & ROW_DELETION:
            out.append(_DELETION.pack(row.deletion, row.ldt))
            self.row_tombstones += 1
            self._seen(row.deletion, row.ldt)
        out.append(U32.pack(len(row.cells)))
        if row.floor != NO_DELETION:
            self._plain_cells_into(row.cells, out)
        else:
            self.cells_into(row.cells, out)
        return b"".join(out)

    def _plain_cells_into(self, cells: dict, out: list) -> int:
        """cells_into for a memtable row whose floor is set (memtable.Row.floor): each cell is
        then a live plain value without a TTL or a deletion time, so its encoding needs only
        its column id and timestamp looked at (a flush's usual row). Returns the values'
        bytes (each cell's encoding is 15 bytes more)."""
        ids = self.ids
        pack_live = _LIVE.pack
        low, high = self.min_ts, self.max_ts
        values = 0
        for name, cell in cells.items():
            col = ids.get(name)
            if col is None:
                col = self.new_column(name)
            ts, value = cell.timestamp, cell.value
            if ts < low:
                low = ts
            if ts > high:
                high = ts
            n = len(value)
            out += (pack_live(col, VALUE, ts, n), value)
            values += n
        self.cells += len(cells)
        self.min_ts, self.max_ts = low, high
        return values

    def cells_into(self, cells: dict, out: list) -> None:
        ids = self.ids
        pack_live = _LIVE.pack
        min_ts, max_ts = self.min_ts, self.max_ts
        count = 0
        for name, cell in cells.items():
            col = ids.get(name)
            if col is None:
                col = self.new_column(name)
            if type(cell) is Cell:
                count += 1
                ts, value = cell.timestamp, cell.value
                if ts < min_ts:
                    min_ts = ts
                if ts > max_ts:
                    max_ts = ts
                if value is not None and not cell.ttl and not cell.ldt:
                    out += (pack_live(col, VALUE, ts, len(value)), value)
                else:
                    self._odd_cell(col, cell, out)
            else:
                count += self._complex(col, cell, out)
        self.cells += count
        self.min_ts = min(self.min_ts, min_ts)
        self.max_ts = max(self.max_ts, max_ts)

    def _odd_cell(self, col: int, cell: Cell, out: list) -> None:
        """A tombstone, an expiring cell or any other cell that is not plain live."""
        ts, value, ttl, ldt = cell.timestamp, cell.value, cell.ttl, cell.ldt
        flags = (VALUE if value is not None else 0) | (TTL if ttl else 0) | (LDT if ldt else 0)
        fields = [col, flags, ts]
        if ttl:
            fields.append(ttl)
        if ldt:
            fields.append(ldt)
            if ldt < self.min_ldt:
                self.min_ldt = ldt
        if value is None:
            self.cell_tombstones += 1
            out.append(_CELL[flags].pack(*fields))
            return
        if ttl:
            self.expiring += 1
        fields.append(len(value))
        out += (_CELL[flags].pack(*fields), value)

    def _complex(self, col: int, column: Complex, out: list) -> int:
        out += (_COLUMN_FLAGS.pack(col, COMPLEX),
                _COMPLEX.pack(column.deletion, column.ldt, len(column.cells)))
        if column.deletion != NO_DELETION:
            self.complex_deletions += 1
            self._seen(column.deletion, column.ldt)
        pack_len = U32.pack
        for path, (key, cell) in column.cells.items():
            out += (pack_len(len(path)), path, pack_len(len(key)), key)
            ts, value = cell.timestamp, cell.value
            self._seen(ts, 0)
            if value is not None and not cell.ttl and not cell.ldt:
                out += (_LIVE.pack(0, VALUE, ts, len(value)), value)
            else:
                self._odd_cell(0, cell, out)
        return len(column.cells)


class PartitionDecoder:
    """Decodes headers and rows of one SSTable (whose column dictionary is `columns`)."""

    __slots__ = ("columns", "columns_key", "shapes")

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        # Hashable: readers of the encoded rows key what they derive from the dictionary by it.
        self.columns_key = tuple(columns)
        # Row length -> the shape plain_row learnt (False: none, the length varies in layout).
        self.shapes: dict[int, RowShape | bool] = {}

    def header(self, buf: bytes, p: int, end: int) -> Partition:
        try:
            n = U32.unpack_from(buf, p)[0]
            p += 4
            pk = buf[p:p + n]
            p += n
            # The range count is read with the header: it follows it when there are no static
            # cells (most partitions), and a header always has 4 more bytes to read either way.
            token, deletion, ldt, statics, ranges = _HEADER_AND_RANGES.unpack_from(buf, p)
            part = Partition(token, pk, deletion, ldt)
            if statics or ranges:
                p = self.cells(buf, p + _HEADER.size, statics, part.static)
                p = _ranges(buf, p, part)
            else:
                p += _HEADER_AND_RANGES.size
        except (struct.error, IndexError, ValueError) as exc:
            raise DecodeError(f"bad partition header: {exc}") from None
        if p != end:
            raise DecodeError(f"partition header is {end - p} bytes longer than its contents")
        return part

    def row(self, buf: bytes, p: int, end: int) -> tuple[bytes, Row]:
        try:
            ck, values, p = _clustering(buf, p)
            row = Row(values)
            flags = buf[p]
            p += 1
            if flags & ROW_MARKER:
                row.marker = Marker(*_MARKER.unpack_from(buf, p))
                p += _MARKER.size
            if flags & ROW_DELETION:
                row.deletion, row.ldt = _DELETION.unpack_from(buf, p)
                p += _DELETION.size
            if flags & ~(ROW_MARKER | ROW_DELETION):
                raise DecodeError(f"unknown row flags {flags:#x}")
            p = self.cells(buf, p + 4, U32.unpack_from(buf, p)[0], row.cells)
        except (struct.error, IndexError, ValueError) as exc:
            raise DecodeError(f"bad row: {exc}") from None
        if p != end:
            raise DecodeError(f"row is {end - p} bytes longer than its contents")
        return ck, row

    def plain_row(self, buf: bytes, p: int, end: int, slot_of: list[int],
                  values: list) -> tuple[bytes, list[bytes], bool] | None:
        """A row whose liveness needs no deletion or expiry rule, decoded without a Row:
        (clustering key, clustering values, whether the row is live), with the value of each
        cell whose column has a slot (`slot_of[column id]` >= 0) put in values[slot].

        None (and `values` partly filled) when the row is not that plain: a null clustering
        value, a row deletion, a liveness marker with a TTL, a cell that is a tombstone,
        expires or has several cells (a collection or UDT), or a timestamp at the deletion
        floor. Such a row takes `row`, which also reports the rows this cannot parse (an odd
        cell shorter than a plain one may end the buffer). A plain row is live when it has a
        marker or a cell (every cell holds a value).

        A row of a length seen before is read by that length's RowShape in one unpack when its
        layout matches; the first plain row of each length teaches the decoder its shape."""
        shape = self.shapes.get(end - p)
        if shape:
            try:
                t = shape.unpack(buf, p)
            except struct.error:
                t = None
            if t is not None and shape.layout(t) == shape.expected and \
                    NO_DELETION not in shape.stamps(t):
                shape.fill(slot_of, values, t)
                return t[1], list(shape.ck_values(t)), shape.live
            self.missed(shape, end - p)
        row = self._plain_fields(buf, p, end, slot_of, values)
        if row is not None and shape is None:
            self.learn(buf, p, end)
        return row

    def missed(self, shape: RowShape, length: int) -> None:
        """A row of `length` did not have `shape`'s layout: after MAX_SHAPE_MISSES such rows
        that length varies in layout, and its rows are read field by field for good."""
        shape.misses += 1
        if shape.misses >= MAX_SHAPE_MISSES:
            self.shapes[length] = False

    def learn(self, buf: bytes, p: int, end: int) -> None:
        """Keep the shape of the row at buf[p:end], the first of its length read field by
        field (False: not plain), while the decoder has room for MAX_ROW_SHAPES."""
        if len(self.shapes) < MAX_ROW_SHAPES:
            self.shapes[end - p] = row_shape(buf, p, end) or False

    def plain_packed(self, buf: bytes, p: int, end: int,
                     plan) -> tuple[bytes, bytes, bool] | None:
        """(clustering key, the encoded values of the plan's tail, whether the row is live) of
        a row its length's RowShape reads, when the shape can pack that tail (RowShape.packer);
        None: read it with plain_row and encode it with RowEncoder.encode_plain."""
        shape = self.shapes.get(end - p)
        if not shape:
            return None
        known, pack = shape.last_pack
        if known is not plan:
            pack = shape.packer(plan)
        if pack is None:
            return None
        try:
            t = shape.unpack(buf, p)
        except struct.error:
            return None
        if shape.layout(t) != shape.expected or NO_DELETION in shape.stamps(t):
            return None  # plain_row reads it, and counts the miss
        return t[1], pack(t), shape.live

    def _plain_fields(self, buf: bytes, p: int, end: int, slot_of: list[int],
                      values: list) -> tuple[bytes, list[bytes], bool] | None:
        """plain_row field by field. _clustering and the cell loop are inlined: this runs once
        per row of reads whose rows vary in shape, and each cell is one unpack and one
        combined check."""
        u32 = U32.unpack_from
        try:
            n = u32(buf, p)[0]
            p += 4
            ck = buf[p:p + n]
            p += n
            count = _U16.unpack_from(buf, p)[0]
            p += 2
            ck_values = []
            i32 = _I32.unpack_from
            for _ in range(count):
                n = i32(buf, p)[0]
                if n < 0:
                    return None  # a null clustering value
                p += 4
                ck_values.append(buf[p:p + n])
                p += n
            flags = buf[p]
            p += 1
            live = False
            if flags == ROW_MARKER:
                ts, ttl, _expires = _MARKER.unpack_from(buf, p)
                if ttl or ts == NO_DELETION:
                    return None
                p += _MARKER.size
                live = True
            elif flags:
                return None
            count = u32(buf, p)[0]
            p += 4
            unpack = _LIVE.unpack_from
            for _ in range(count):
                col, flags, ts, n = unpack(buf, p)
                if flags != VALUE or ts == NO_DELETION:
                    return None
                slot = slot_of[col]
                p += 15
                if slot >= 0:
                    values[slot] = buf[p:p + n]
                p += n
        except (struct.error, IndexError):
            return None
        if p != end:
            raise DecodeError(f"row is {end - p} bytes longer than its contents")
        return ck, ck_values, live or count > 0

    def cells(self, buf: bytes, p: int, count: int, into: dict) -> int:
        names = self.columns
        live = _LIVE.unpack_from
        for _ in range(count):
            flags = buf[p + 2]
            if flags == VALUE:
                col, _flags, ts, n = live(buf, p)
                p += 15
                into[names[col]] = Cell(ts, buf[p:p + n], 0, 0)
                p += n
            elif flags == COMPLEX:
                col = _U16.unpack_from(buf, p)[0]
                into[names[col]], p = _complex(buf, p + 3)
            else:
                col = _U16.unpack_from(buf, p)[0]
                into[names[col]], p = _odd_cell(buf, p, flags)
        return p


def _clustering(buf: bytes, p: int) -> tuple[bytes, list, int]:
    """A row's clustering key and its component values (None for a null one), and the offset
    after them."""
    u32, i32 = U32.unpack_from, _I32.unpack_from
    n = u32(buf, p)[0]
    p += 4
    ck = buf[p:p + n]
    p += n
    count = _U16.unpack_from(buf, p)[0]
    p += 2
    values = []
    for _ in range(count):
        n = i32(buf, p)[0]
        p += 4
        if n < 0:
            values.append(None)
        else:
            values.append(buf[p:p + n])
            p += n
    return ck, values, p


def _odd_cell(buf: bytes, p: int, flags: int) -> tuple[Cell, int]:
    if flags > 7:
        raise DecodeError(f"unknown cell flags {flags:#x}")
    layout = _CELL[flags]
    fields = layout.unpack_from(buf, p)
    p += layout.size
    i = 3
    ttl = ldt = 0
    if flags & TTL:
        ttl = fields[i]
        i += 1
    if flags & LDT:
        ldt = fields[i]
        i += 1
    if not flags & VALUE:
        return Cell(fields[2], None, ttl, ldt), p
    n = fields[i]
    return Cell(fields[2], buf[p:p + n], ttl, ldt), p + n


def _complex(buf: bytes, p: int) -> tuple[Complex, int]:
    column = Complex()
    column.deletion, column.ldt, count = _COMPLEX.unpack_from(buf, p)
    p += _COMPLEX.size
    u32 = U32.unpack_from
    live = _LIVE.unpack_from
    items = []
    for _ in range(count):
        n = u32(buf, p)[0]
        path = buf[p + 4:p + 4 + n]
        p += 4 + n
        n = u32(buf, p)[0]
        key = buf[p + 4:p + 4 + n]
        p += 4 + n
        flags = buf[p + 2]
        if flags == VALUE:
            _col, _flags, ts, n = live(buf, p)
            p += 15
            cell = Cell(ts, buf[p:p + n], 0, 0)
            p += n
        else:
            cell, p = _odd_cell(buf, p, flags)
        items.append((path, (key, cell)))
    column.cells = row_map(items)
    if len(column.cells) != count:
        raise DecodeError("complex column repeats an element path")
    return column, p


def _ranges(buf: bytes, p: int, part: Partition) -> int:
    count = U32.unpack_from(buf, p)[0]
    p += 4
    if not count:
        return p
    u32 = U32.unpack_from
    end = _RANGE_END.unpack_from
    items = []
    for _ in range(count):
        n = u32(buf, p)[0]
        lo = buf[p + 4:p + 4 + n]
        p += 4 + n
        n = u32(buf, p)[0]
        hi = buf[p + 4:p + 4 + n]
        p += 4 + n
        ts, ldt = end(buf, p)
        p += 16
        items.append((lo, hi, ts, ldt))
    ranges = RangeTombstoneList()
    # Stored already normalized (the writer wrote a RangeTombstoneList's items), so they are
    # installed as they are instead of being re-added one by one (quadratic).
    ranges.items = items
    ranges.los = [item[0] for item in items]
    part.ranges = ranges
    return p


def row_map(pairs: list) -> RowMap:
    """A RowMap of (key, value) pairs already in key order (each insert is an append)."""
    rows = RowMap()
    put = rows.__setitem__
    for key, value in pairs:
        put(key, value)
    return rows


def row_key(buf: bytes, p: int) -> bytes:
    """The clustering key of the row encoded at `p` (without decoding the rest)."""
    n = U32.unpack_from(buf, p)[0]
    return buf[p + 4:p + 4 + n]
