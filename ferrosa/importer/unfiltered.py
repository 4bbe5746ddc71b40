"""Decoder of the partition stream in Data.db (Cassandra 3.0+ "unfiltered" format: BIG ma..oa, BTI da).

Theory of operation
-------------------
The uncompressed Data.db is a sequence of partitions, each::

    key (u16 length + bytes)  deletion time  [static row]  unfiltered*  0x01 (end of partition)

The partition deletion uses DeletionTime's own serializer: before 5.0 (``legacy``) an i32 local
deletion time then an i64 markedForDeleteAt (LIVE = Long.MIN_VALUE / Integer.MAX_VALUE); from
BIG "oa" / BTI "da" on, LIVE is the single byte 0x80, otherwise an i64 markedForDeleteAt (top bit 0)
then a u32 local deletion time. The static row is present iff the header has static columns.

An unfiltered starts with a flags byte (UnfilteredSerializer): 0x01 end of partition, 0x02 range
tombstone marker, 0x04 has timestamp, 0x08 has TTL, 0x10 has deletion, 0x20 has all columns, 0x40 has
complex deletion, 0x80 extended flags byte follows (0x01 static, 0x02 shadowable deletion).

A row is ``flags [ext] clustering row_size prev_size [liveness] [deletion] [column subset] cells``.
``row_size`` counts the bytes after itself to the end of the row, so it is checked exactly. Clustering
values carry a header vint per 32 components (2 bits each: 0b10 null, 0b01 empty); fixed-width types
have no length prefix, others an unsigned vint length. Liveness (timestamp [ttl, local expiration]),
deletions (timestamp, local deletion time), and each cell's timestamp, local deletion time and TTL are
unsigned vint *deltas* from the SerializationHeader's EncodingStats minima.

The column subset (absent when "has all columns"): a vint bitmap of *missing* header columns when
the header has < 64 of them; otherwise a vint count of missing columns, then either the present or the
missing column indices, whichever list is shorter.

A cell: ``flags`` (0x01 deleted, 0x02 expiring, 0x04 empty value, 0x08 use row timestamp, 0x10 use
row TTL), [timestamp] [local deletion time] [ttl] [path: vint length + bytes, complex columns only]
[value]. A complex (multi-cell) column is ``[complex deletion] cell_count cell*``.

A range tombstone marker is ``flags kind(u8) size(u16) values marker_size prev_size deletion``
(boundaries: the closing then the opening deletion).

Decoding works on a bytes buffer whose first byte sits at stream offset ``base``. Running off the end
of the buffer raises ``Truncated`` *before* anything is returned, so the caller can fetch more bytes and
retry the same unfiltered; anything inconsistent raises ``CorruptSSTable`` with the stream offset.

This module must NOT do I/O, decompress, or interpret values beyond their framing.
"""

from __future__ import annotations

import struct

from ferrosa.importer.errors import CorruptSSTable, Truncated
from ferrosa.importer.files import FormatVersion
from ferrosa.importer.model import (
    BoundKind, Cell, ComplexDeletion, DeletionTime, Partition, RangeTombstoneMarker, Row,
)
from ferrosa.importer.statistics import SerializationHeader
from ferrosa.importer.types import ColumnType, KeyType
from ferrosa.importer.varint import I32, I64, INT64_MAX, INT64_MIN, U32, read_uvint

# Unfiltered flags
END_OF_PARTITION = 0x01
IS_MARKER = 0x02
HAS_TIMESTAMP = 0x04
HAS_TTL = 0x08
HAS_DELETION = 0x10
HAS_ALL_COLUMNS = 0x20
HAS_COMPLEX_DELETION = 0x40
EXTENSION_FLAG = 0x80
# Extended flags
IS_STATIC = 0x01
HAS_SHADOWABLE_DELETION = 0x02
KNOWN_EXTENDED_FLAGS = IS_STATIC | HAS_SHADOWABLE_DELETION

# Cell flags
IS_DELETED = 0x01
IS_EXPIRING = 0x02
HAS_EMPTY_VALUE = 0x04
USE_ROW_TIMESTAMP = 0x08
USE_ROW_TTL = 0x10
UNKNOWN_CELL_FLAGS = 0xE0

LIVE_DELETION_BYTE = 0x80
LEGACY_NO_DELETION_TIME = (1 << 31) - 1
# Columns.Serializer switches from a bitmap to index lists at this many header columns.
BITMAP_COLUMN_LIMIT = 64
# Clustering header vints cover this many components each.
CLUSTERING_HEADER_SPAN = 32
UINT64 = 1 << 64
# ClusteringPrefix.Kind.CLUSTERING: a row's full clustering (no size field follows).
CLUSTERING_KIND = 4

_MARKER_KINDS = frozenset(int(k) for k in BoundKind)
_BOUNDARY_KINDS = frozenset(int(k) for k in BoundKind if k.is_boundary)
_START_KINDS = frozenset(int(k) for k in BoundKind if k.is_start)

_I32_AT = I32.unpack_from
_I64_AT = I64.unpack_from
_U32_AT = U32.unpack_from


def _column_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + raw.hex()


def read_deletion_time(buf: bytes, pos: int, uint_deletion: bool, path: str,
                       base: int = 0) -> tuple[DeletionTime | None, int]:
    """DeletionTime's own (non-delta) serialization, as in partition headers and index entries.

    Returns None for LIVE. ``base`` is added to positions in error messages.
    """
    n = len(buf)
    if uint_deletion:
        if pos >= n:
            raise Truncated(path, "end of data inside a deletion time", base + pos)
        first = buf[pos]
        if first & LIVE_DELETION_BYTE:
            if first != LIVE_DELETION_BYTE:
                raise CorruptSSTable(path, f"invalid deletion time flags 0x{first:02x}", base + pos)
            return None, pos + 1
        if pos + 12 > n:
            raise Truncated(path, "end of data inside a deletion time", base + pos)
        return DeletionTime(_I64_AT(buf, pos)[0], _U32_AT(buf, pos + 8)[0]), pos + 12
    if pos + 12 > n:
        raise Truncated(path, "end of data inside a deletion time", base + pos)
    ldt = _I32_AT(buf, pos)[0]
    mfda = _I64_AT(buf, pos + 4)[0]
    if mfda == INT64_MIN and ldt == LEGACY_NO_DELETION_TIME:
        return None, pos + 12
    return DeletionTime(mfda, ldt), pos + 12


class PartitionDecoder:
    """Decodes partitions written with one SerializationHeader; reusable across partitions."""

    def __init__(self, header: SerializationHeader, version: FormatVersion, path: str):
        self.path = path
        self.header = header
        self.version = version
        self.key_type = KeyType(header.key_type, path)
        self.clustering_types = tuple(ColumnType(t, path) for t in header.clustering_types)
        self.clustering_fixed = tuple(t.fixed_length for t in self.clustering_types)
        self.regular_types = tuple(ColumnType(c.type, path) for c in header.regular_columns)
        self.static_types = tuple(ColumnType(c.type, path) for c in header.static_columns)
        # (name, fixed length, is complex) per header column, in header (index) order.
        self.regulars = tuple((_column_name(c.name), t.fixed_length, t.complex)
                              for c, t in zip(header.regular_columns, self.regular_types))
        self.statics = tuple((_column_name(c.name), t.fixed_length, t.complex)
                             for c, t in zip(header.static_columns, self.static_types))
        self.min_ts = header.min_timestamp
        self.min_ldt = header.min_local_deletion_time
        self.min_ttl = header.min_ttl
        self.uint_deletion = version.uint_deletion_time

    def corrupt(self, message: str, offset: int) -> CorruptSSTable:
        return CorruptSSTable(self.path, message, offset)

    def truncated(self, offset: int) -> Truncated:
        return Truncated(self.path, "end of data inside a partition", offset)

    # ------------------------------------------------------------------------------ partition

    def read_header(self, buf: bytes, pos: int,
                    base: int) -> tuple[bytes, DeletionTime | None, Row | None, int]:
        """Key, partition deletion and static row of the partition at ``pos``; returns the next position."""
        n = len(buf)
        if pos + 2 > n:
            raise self.truncated(base + pos)
        start = pos
        klen = (buf[pos] << 8) | buf[pos + 1]
        pos += 2
        if klen == 0:
            raise self.corrupt("empty partition key", base + start)
        if pos + klen > n:
            raise self.truncated(base + start)
        key = buf[pos:pos + klen]
        pos += klen
        deletion, pos = self._partition_deletion(buf, pos, base)
        static = None
        if self.statics:
            if pos >= n:
                raise self.truncated(base + pos)
            at = pos
            flags = buf[pos]
            if flags & (EXTENSION_FLAG | IS_MARKER | END_OF_PARTITION) != EXTENSION_FLAG or pos + 1 >= n:
                if pos + 1 >= n:
                    raise self.truncated(base + pos)
                raise self.corrupt(f"static row expected, found flags 0x{flags:02x}", base + pos)
            ext = buf[pos + 1]
            if not ext & IS_STATIC or ext & ~KNOWN_EXTENDED_FLAGS:
                raise self.corrupt(f"static row expected, found extended flags 0x{ext:02x}", base + pos)
            static, pos = self._row_rest(buf, pos + 2, base, at, flags, ext, (), self.statics)
            if static.is_empty:
                static = None
        return key, deletion, static, pos

    def _partition_deletion(self, buf: bytes, pos: int, base: int) -> tuple[DeletionTime | None, int]:
        return read_deletion_time(buf, pos, self.uint_deletion, self.path, base)

    def read_unfiltered(self, buf: bytes, pos: int,
                        base: int) -> tuple[Row | RangeTombstoneMarker | None, int]:
        """The row or marker at ``pos`` (None at the end of the partition) and the next position."""
        if pos >= len(buf):
            raise self.truncated(base + pos)
        at = pos
        flags = buf[pos]
        pos += 1
        if flags & END_OF_PARTITION:
            if flags != END_OF_PARTITION:
                raise self.corrupt(f"invalid unfiltered flags 0x{flags:02x}", base + at)
            return None, pos
        ext = 0
        if flags & EXTENSION_FLAG:
            if pos >= len(buf):
                raise self.truncated(base + pos)
            ext = buf[pos]
            pos += 1
            if ext & IS_STATIC or ext & ~KNOWN_EXTENDED_FLAGS:
                raise self.corrupt(f"invalid extended flags 0x{ext:02x} on a non-static row", base + at)
        if flags & IS_MARKER:
            if flags != IS_MARKER:
                raise self.corrupt(f"invalid range tombstone marker flags 0x{flags:02x}", base + at)
            return self._marker(buf, pos, base, at)
        clustering, pos = self._clustering(buf, pos, len(self.clustering_fixed), base)
        # Inlined _row_rest (the per-row hot path): row size, bounds, body.
        if pos >= len(buf):
            raise self.truncated(base + pos)
        row_size = buf[pos]
        if row_size < 0x80:
            pos += 1
        else:
            row_size, pos = read_uvint(buf, pos, self.path)
        end = pos + row_size
        if end > len(buf):
            raise self.truncated(base + at)
        try:
            row, pos = self._row_body(buf, pos, end, base, at, flags, ext, clustering, self.regulars)
        except (IndexError, struct.error, Truncated):
            raise self.corrupt("row overruns its declared size", base + at) from None
        if pos != end:
            raise self.corrupt(f"row declares {row_size} bytes but its contents end {pos - end:+d} bytes off",
                               base + at)
        return row, pos

    # ------------------------------------------------------------------------------ pieces

    def _clustering(self, buf: bytes, pos: int, size: int, base: int) -> tuple[tuple[bytes | None, ...], int]:
        if not size:
            return (), pos
        fixed = self.clustering_fixed
        n = len(buf)
        values: list[bytes | None] = []
        header = 0
        for i in range(size):
            if not i % CLUSTERING_HEADER_SPAN:
                if pos < n and buf[pos] < 0x80:  # the usual one-byte header: no null/empty beyond 3 values
                    header = buf[pos]
                    pos += 1
                else:
                    header, pos = read_uvint(buf, pos, self.path)
            shift = (i % CLUSTERING_HEADER_SPAN) * 2
            if header >> shift & 2:
                values.append(None)
            elif header >> shift & 1:
                values.append(b"")
            else:
                length = fixed[i]
                if length < 0:
                    if pos < n and buf[pos] < 0x80:
                        length = buf[pos]
                        pos += 1
                    else:
                        length, pos = read_uvint(buf, pos, self.path)
                end = pos + length
                if end > n:
                    raise self.truncated(base + pos)
                values.append(buf[pos:end])
                pos = end
        return tuple(values), pos

    def read_clustering_prefix(self, buf: bytes, pos: int,
                               base: int = 0) -> tuple[int, tuple[bytes | None, ...], int]:
        """A ClusteringPrefix with its kind byte (as in BIG IndexInfo): (kind, values, next position)."""
        if pos >= len(buf):
            raise self.truncated(base + pos)
        kind = buf[pos]
        if kind == CLUSTERING_KIND:
            values, pos = self._clustering(buf, pos + 1, len(self.clustering_fixed), base)
            return kind, values, pos
        if kind not in _MARKER_KINDS:
            raise self.corrupt(f"invalid clustering prefix kind {kind}", base + pos)
        if pos + 3 > len(buf):
            raise self.truncated(base + pos)
        size = (buf[pos + 1] << 8) | buf[pos + 2]
        if size > len(self.clustering_fixed):
            raise self.corrupt(f"prefix of {size} values for {len(self.clustering_fixed)} clustering columns",
                               base + pos)
        values, pos = self._clustering(buf, pos + 3, size, base)
        return kind, values, pos

    def _marker(self, buf: bytes, pos: int, base: int, at: int) -> tuple[RangeTombstoneMarker, int]:
        if pos + 3 > len(buf):
            raise self.truncated(base + pos)
        kind = buf[pos]
        size = (buf[pos + 1] << 8) | buf[pos + 2]
        if kind not in _MARKER_KINDS:
            raise self.corrupt(f"invalid range tombstone bound kind {kind}", base + pos)
        if size > len(self.clustering_fixed):
            raise self.corrupt(f"bound of {size} values for {len(self.clustering_fixed)} clustering columns",
                               base + pos)
        clustering, pos = self._clustering(buf, pos + 3, size, base)
        body_size, pos = read_uvint(buf, pos, self.path)
        end = pos + body_size
        if end > len(buf):
            raise self.truncated(base + at)
        try:
            _prev, pos = read_uvint(buf, pos, self.path)
            first, pos = self._delta_deletion(buf, pos)
            second = None
            if kind in _BOUNDARY_KINDS:
                second, pos = self._delta_deletion(buf, pos)
        except Truncated:
            raise self.corrupt("range tombstone marker overruns its declared size", base + at) from None
        if pos != end:
            raise self.corrupt(f"range tombstone marker declares {body_size} bytes, "
                               f"holds {pos - end + body_size}",
                               base + at)
        if kind in _BOUNDARY_KINDS:
            close, open_ = first, second
        elif kind in _START_KINDS:
            close, open_ = None, first
        else:
            close, open_ = first, None
        return RangeTombstoneMarker(BoundKind(kind), clustering, close, open_, base + at), pos

    def _delta_deletion(self, buf: bytes, pos: int) -> tuple[DeletionTime | None, int]:
        ts, pos = read_uvint(buf, pos, self.path)
        ldt, pos = read_uvint(buf, pos, self.path)
        ts += self.min_ts
        if ts > INT64_MAX:
            ts -= UINT64
        if ts == INT64_MIN:  # Long.MIN_VALUE deletes nothing: LIVE
            return None, pos
        return DeletionTime(ts, ldt + self.min_ldt), pos

    def _row_rest(self, buf: bytes, pos: int, base: int, at: int, flags: int, ext: int,
                  clustering: tuple, columns: tuple) -> tuple[Row, int]:
        row_size, pos = read_uvint(buf, pos, self.path)
        end = pos + row_size
        if end > len(buf):
            raise self.truncated(base + at)
        try:
            row, pos = self._row_body(buf, pos, end, base, at, flags, ext, clustering, columns)
        except (IndexError, struct.error, Truncated):
            raise self.corrupt("row overruns its declared size", base + at) from None
        if pos != end:
            raise self.corrupt(f"row declares {row_size} bytes but its contents end {pos - end:+d} bytes off",
                               base + at)
        return row, pos

    def _row_body(self, buf: bytes, pos: int, end: int, base: int, at: int, flags: int, ext: int,
                  clustering: tuple, columns: tuple) -> tuple[Row, int]:
        path = self.path
        min_ts, min_ldt, min_ttl = self.min_ts, self.min_ldt, self.min_ttl
        b = buf[pos]  # previous unfiltered size: not needed
        pos = pos + 1 if b < 0x80 else read_uvint(buf, pos, path)[1]

        row_ts = None
        row_ttl = 0
        row_ldt = None
        if flags & HAS_TIMESTAMP:
            b = buf[pos]
            if b < 0x80:
                row_ts = b + min_ts
                pos += 1
            else:
                row_ts, pos = read_uvint(buf, pos, path)
                row_ts += min_ts
            if row_ts > INT64_MAX:
                row_ts -= UINT64
            if flags & HAS_TTL:
                row_ttl, pos = read_uvint(buf, pos, path)
                row_ttl += min_ttl
                row_ldt, pos = read_uvint(buf, pos, path)
                row_ldt += min_ldt
        elif flags & HAS_TTL:
            raise self.corrupt("row has a TTL but no timestamp", base + at)
        deletion = None
        if flags & HAS_DELETION:
            deletion, pos = self._delta_deletion(buf, pos)

        if flags & HAS_ALL_COLUMNS:
            present = columns
        else:
            present, pos = self._column_subset(buf, pos, columns, base, at)

        cells: list[Cell] = []
        complex_deletions: list[ComplexDeletion] = []
        has_complex_deletion = flags & HAS_COMPLEX_DELETION
        append = cells.append
        for name, fixed, is_complex in present:
            count = 1
            if is_complex:
                if has_complex_deletion:
                    dt, pos = self._delta_deletion(buf, pos)
                    if dt is not None:
                        complex_deletions.append(ComplexDeletion(name, dt))
                count, pos = read_uvint(buf, pos, path)
                if count > end - pos:
                    raise self.corrupt(f"complex column {name} claims {count} cells", base + at)
            for _ in range(count):
                # ---- one cell (Cell.Serializer.deserialize)
                cflags = buf[pos]
                pos += 1
                if cflags & UNKNOWN_CELL_FLAGS or cflags & 3 == 3:
                    raise self.corrupt(f"invalid cell flags 0x{cflags:02x} in column {name}", base + at)
                if cflags & USE_ROW_TIMESTAMP:
                    if row_ts is None:
                        raise self.corrupt(f"cell of {name} uses the row timestamp, the row has none",
                                           base + at)
                    ts = row_ts
                else:
                    b = buf[pos]
                    if b < 0x80:
                        ts = b + min_ts
                        pos += 1
                    else:
                        ts, pos = read_uvint(buf, pos, path)
                        ts += min_ts
                    if ts > INT64_MAX:
                        ts -= UINT64
                ttl = 0
                ldt = None
                if cflags & 3:
                    if cflags & USE_ROW_TTL:
                        if row_ldt is None or not cflags & IS_EXPIRING:
                            raise self.corrupt(f"cell of {name} uses the row TTL, the row has none",
                                               base + at)
                        ttl, ldt = row_ttl, row_ldt
                    else:
                        ldt, pos = read_uvint(buf, pos, path)
                        ldt += min_ldt
                        if cflags & IS_EXPIRING:
                            ttl, pos = read_uvint(buf, pos, path)
                            ttl += min_ttl
                elif cflags & USE_ROW_TTL:
                    raise self.corrupt(f"non-expiring cell of {name} uses the row TTL", base + at)
                cpath = None
                if is_complex:
                    b = buf[pos]
                    if b < 0x80:
                        length = b
                        pos += 1
                    else:
                        length, pos = read_uvint(buf, pos, path)
                    stop = pos + length
                    if stop > end:
                        raise self.corrupt(f"cell path of {name} overruns the row", base + at)
                    cpath = buf[pos:stop]
                    pos = stop
                if cflags & HAS_EMPTY_VALUE:
                    value = b""
                else:
                    length = fixed
                    if length < 0:
                        b = buf[pos]
                        if b < 0x80:
                            length = b
                            pos += 1
                        else:
                            length, pos = read_uvint(buf, pos, path)
                    stop = pos + length
                    if stop > end:
                        raise self.corrupt(f"value of {name} overruns the row", base + at)
                    value = buf[pos:stop]
                    pos = stop
                if cflags & IS_DELETED:
                    value = None
                append(Cell(name, value, ts, ttl, ldt, cpath))
        row = Row(clustering, row_ts, row_ttl, row_ldt, deletion, bool(ext & HAS_SHADOWABLE_DELETION),
                  cells, complex_deletions, base + at, bool(ext & IS_STATIC))
        return row, pos

    def _column_subset(self, buf: bytes, pos: int, columns: tuple, base: int, at: int) -> tuple[tuple, int]:
        encoded, pos = read_uvint(buf, pos, self.path)
        total = len(columns)
        if encoded == 0:
            return columns, pos
        if total < BITMAP_COLUMN_LIMIT:
            if encoded >> total:
                raise self.corrupt(f"column bitmap 0x{encoded:x} names columns beyond the header's {total}",
                                   base + at)
            return tuple(c for i, c in enumerate(columns) if not encoded >> i & 1), pos
        missing_count = encoded
        present_count = total - missing_count
        if present_count < 0:
            raise self.corrupt(f"{missing_count} missing columns of {total}", base + at)
        indices: list[int] = []
        for _ in range(present_count if present_count < total // 2 else missing_count):
            idx, pos = read_uvint(buf, pos, self.path)
            if idx >= total or (indices and idx <= indices[-1]):
                raise self.corrupt(f"invalid column index {idx} in a column subset", base + at)
            indices.append(idx)
        if present_count < total // 2:
            return tuple(columns[i] for i in indices), pos
        skip = set(indices)
        return tuple(c for i, c in enumerate(columns) if i not in skip), pos

    # ------------------------------------------------------------------------------ whole buffer

    def read_partition(self, buf: bytes, pos: int, base: int = 0) -> tuple[Partition, int]:
        """A whole partition from a buffer known to hold it (raises Truncated if it does not)."""
        start = pos
        key, deletion, static, pos = self.read_header(buf, pos, base)
        items: list = []
        read = self.read_unfiltered
        while True:
            item, pos = read(buf, pos, base)
            if item is None:
                break
            items.append(item)
        return Partition(key, deletion, static, items, base + start, base + pos), pos
