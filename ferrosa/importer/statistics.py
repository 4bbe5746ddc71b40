"""Statistics.db: the partitioner, the SSTable statistics and the serialization header.

Theory of operation
-------------------
Statistics.db is a table of contents followed by up to four metadata components::

    count (i32) [CRC32 of count]                         -- CRCs only from "na"/"da" on
    count x (type i32, offset i32) [running CRC32 of count and entries]
    component bytes [CRC32 of those bytes], ...           -- at the offsets, in type order

Types: 0 VALIDATION (partitioner class, bloom filter FP chance), 1 COMPACTION (a HyperLogLog
cardinality sketch, kept only as its length), 2 STATS (StatsMetadata) and 3 HEADER (the
SerializationHeader Data.db was written with). Each component is parsed to its last byte; a component
that does not end exactly where its checksum (or the next component) starts is corrupt.

The HEADER holds what decoding Data.db needs: the partition key and clustering types, the static and
regular columns (name, type) in the order rows refer to them by index, and EncodingStats, the bases
that row timestamps, local deletion times and TTLs are delta-encoded against. Those bases are stored as
deltas from fixed epochs (2015-09-22T00:00:00Z) so that they too are short vints.

StatsMetadata is version-dependent: see ``_read_stats`` (field order is Cassandra's
StatsMetadataSerializer; flags come from files.FormatVersion).

This module must NOT read Data.db or the indexes; type strings stay strings (types.py interprets them,
here only to know which covered-clustering values are fixed-width).
"""

from __future__ import annotations

import msgspec

from ferrosa.checksum import crc32
from ferrosa.importer.errors import CorruptSSTable, Truncated, UnsupportedFormat
from ferrosa.importer.files import FormatVersion
from ferrosa.importer.types import value_length_if_fixed
from ferrosa.importer.varint import U32, Cursor, to_int64

VALIDATION, COMPACTION, STATS, HEADER = 0, 1, 2, 3
METADATA_TYPES = (VALIDATION, COMPACTION, STATS, HEADER)

# EncodingStats epochs: 2015-09-22T00:00:00Z, in microseconds (timestamps) and seconds (deletion times).
TIMESTAMP_EPOCH = 1_442_880_000 * 1_000_000
DELETION_TIME_EPOCH = 1_442_880_000
TTL_EPOCH = 0

# Legacy (int) local deletion time meaning "none"; 5.0 stores it as the unsigned 0xFFFFFFFF.
LEGACY_NO_DELETION_TIME = (1 << 31) - 1
UINT_NO_DELETION_TIME = (1 << 32) - 1
CRC_SIZE = 4
# Counts inside metadata are checked against the bytes left (each entry takes at least its fixed size),
# so a damaged count is reported instead of allocating or looping on garbage.
COMMIT_LOG_POSITION_SIZE = 12  # segment id (i64) + position (i32)
UUID_SIZE = 16
# Clustering values share one null/empty header vint per this many (ClusteringPrefix.Serializer).
CLUSTERING_HEADER_SPAN = 32


class ValidationMetadata(msgspec.Struct, frozen=True):
    partitioner: str
    bloom_filter_fp_chance: float


class ClusteringBound(msgspec.Struct, frozen=True):
    """A bound of the covered clustering slice: ClusteringPrefix.Kind ordinal and raw values."""

    kind: int
    values: tuple[bytes | None, ...]


class StatsMetadata(msgspec.Struct, frozen=True):
    min_timestamp: int
    max_timestamp: int
    min_local_deletion_time: int | None      # None: no deletion or expiry in the SSTable
    max_local_deletion_time: int | None
    min_ttl: int
    max_ttl: int
    compression_ratio: float
    sstable_level: int
    repaired_at: int
    has_legacy_counter_shards: bool
    total_columns_set: int
    total_rows: int
    pending_repair: bytes | None = None
    is_transient: bool = False
    originating_host_id: bytes | None = None
    has_partition_level_deletions: bool | None = None
    clustering_types: tuple[str, ...] | None = None
    covered_clustering: tuple[ClusteringBound, ClusteringBound] | None = None
    first_key: bytes | None = None
    last_key: bytes | None = None
    token_space_coverage: float | None = None


class ColumnSpec(msgspec.Struct, frozen=True):
    name: bytes
    type: str          # marshal class string, as written


class SerializationHeader(msgspec.Struct, frozen=True):
    min_timestamp: int
    min_local_deletion_time: int
    min_ttl: int
    key_type: str
    clustering_types: tuple[str, ...]
    static_columns: tuple[ColumnSpec, ...]
    regular_columns: tuple[ColumnSpec, ...]


class Statistics(msgspec.Struct, frozen=True):
    validation: ValidationMetadata | None
    compaction_cardinality_bytes: int | None
    stats: StatsMetadata | None
    header: SerializationHeader | None

    @property
    def partitioner(self) -> str | None:
        return self.validation.partitioner if self.validation else None


# ------------------------------------------------------------------------------------ components

def _read_validation(c: Cursor, v: FormatVersion) -> ValidationMetadata:
    return ValidationMetadata(c.short_string(), c.f64())


def _read_compaction(c: Cursor, v: FormatVersion) -> int:
    n = c.i32()
    c.skip(n)
    return n


def _bounded_count(c: Cursor, what: str, entry_size: int = 1) -> int:
    at = c.pos
    n = c.i32()
    if n < 0 or n * entry_size > len(c.buf) - c.pos:
        raise CorruptSSTable(c.path, f"impossible {what} count {n}", at)
    return n


def _skip_estimated_histogram(c: Cursor) -> None:
    c.skip(16 * _bounded_count(c, "histogram bucket", 16))


def _skip_tombstone_histogram(c: Cursor, v: FormatVersion) -> None:
    c.i32()  # maxBinSize
    entry = 12 if v.uint_deletion_time else 16  # (long point, int count) vs (double, long)
    c.skip(entry * _bounded_count(c, "tombstone histogram entry", entry))


def _deletion_time_bound(raw: int, v: FormatVersion) -> int | None:
    if v.uint_deletion_time:
        raw &= 0xFFFFFFFF
        return None if raw == UINT_NO_DELETION_TIME else raw
    return None if raw == LEGACY_NO_DELETION_TIME else raw


def _read_improved_min_max(c: Cursor) -> tuple[tuple[str, ...], tuple[ClusteringBound, ClusteringBound]]:
    n = c.uvint()
    if n > len(c.buf) - c.pos:
        raise CorruptSSTable(c.path, f"impossible clustering type count {n}", c.pos)
    types = tuple(c.vint_string() for _ in range(n))
    fixed = tuple(value_length_if_fixed(t, c.path) for t in types)
    return types, (_read_typed_bound(c, types, fixed), _read_typed_bound(c, types, fixed))


def _read_typed_bound(c: Cursor, types: tuple[str, ...], fixed: tuple[int, ...]) -> ClusteringBound:
    kind = c.u8()
    size = c.u16()
    if size > len(types):
        raise CorruptSSTable(c.path, f"clustering bound of {size} values for {len(types)} clustering columns",
                             c.pos)
    values: list[bytes | None] = []
    header = 0
    for i in range(size):
        if i % CLUSTERING_HEADER_SPAN == 0:
            header = c.uvint()
        shift = 2 * (i % CLUSTERING_HEADER_SPAN)
        if header >> (shift + 1) & 1:
            values.append(None)
        elif header >> shift & 1:
            values.append(b"")
        else:
            values.append(c.take(fixed[i]) if fixed[i] >= 0 else c.vint_bytes())
    return ClusteringBound(kind, tuple(values))


def _read_stats(c: Cursor, v: FormatVersion) -> StatsMetadata:
    _skip_estimated_histogram(c)   # partition sizes
    _skip_estimated_histogram(c)   # cells per partition
    c.skip(COMMIT_LOG_POSITION_SIZE)  # commit log upper bound
    min_ts, max_ts = c.i64(), c.i64()
    min_ldt, max_ldt = _deletion_time_bound(c.i32(), v), _deletion_time_bound(c.i32(), v)
    min_ttl, max_ttl = c.i32(), c.i32()
    ratio = c.f64()
    _skip_tombstone_histogram(c, v)
    level, repaired_at = c.i32(), c.i64()
    extra: dict = {}
    if v.legacy_min_max:
        for _ in range(2):  # min then max clustering values, each u16-length prefixed
            for _ in range(_bounded_count(c, "clustering value", 2)):
                c.short_bytes()
    elif v.improved_min_max:
        extra["clustering_types"], extra["covered_clustering"] = _read_improved_min_max(c)
    counter_shards = c.boolean()
    total_columns, total_rows = c.i64(), c.i64()
    if v.commit_log_lower_bound:
        c.skip(COMMIT_LOG_POSITION_SIZE)
    if v.commit_log_intervals:
        interval = 2 * COMMIT_LOG_POSITION_SIZE
        c.skip(interval * _bounded_count(c, "commit log interval", interval))
    if v.pending_repair and c.u8():
        extra["pending_repair"] = c.take(UUID_SIZE)
    if v.is_transient:
        extra["is_transient"] = c.boolean()
    if v.originating_host_id and c.u8():
        extra["originating_host_id"] = c.take(UUID_SIZE)
    if v.partition_level_deletions_marker:
        extra["has_partition_level_deletions"] = c.boolean()
    if v.improved_min_max and v.legacy_min_max:
        extra["clustering_types"], extra["covered_clustering"] = _read_improved_min_max(c)
    if v.key_range:
        extra["first_key"], extra["last_key"] = c.vint_bytes(), c.vint_bytes()
    if v.token_space_coverage:
        extra["token_space_coverage"] = c.f64()
    return StatsMetadata(min_ts, max_ts, min_ldt, max_ldt, min_ttl, max_ttl, ratio, level, repaired_at,
                         counter_shards, total_columns, total_rows, **extra)


def _read_columns(c: Cursor) -> tuple[ColumnSpec, ...]:
    n = c.uvint()
    if n > len(c.buf) - c.pos:
        raise CorruptSSTable(c.path, f"impossible column count {n}", c.pos)
    return tuple(ColumnSpec(c.vint_bytes(), c.vint_string()) for _ in range(n))


def _read_header(c: Cursor, v: FormatVersion) -> SerializationHeader:
    min_ts = to_int64(c.uvint() + TIMESTAMP_EPOCH)
    min_ldt = c.uvint() + DELETION_TIME_EPOCH
    min_ttl = c.uvint() + TTL_EPOCH
    key_type = c.vint_string()
    n = c.uvint()
    if n > len(c.buf) - c.pos:
        raise CorruptSSTable(c.path, f"impossible clustering column count {n}", c.pos)
    clustering = tuple(c.vint_string() for _ in range(n))
    statics = _read_columns(c)
    regulars = _read_columns(c)
    return SerializationHeader(min_ts, min_ldt, min_ttl, key_type, clustering, statics, regulars)


_READERS = {VALIDATION: _read_validation, COMPACTION: _read_compaction, STATS: _read_stats,
            HEADER: _read_header}


# ------------------------------------------------------------------------------------------ file

def _check_crc(buf: bytes, start: int, end: int, path: str, what: str) -> None:
    if end + CRC_SIZE > len(buf):
        raise Truncated(path, f"end of file before the CRC32 of {what}", end)
    if crc32(buf[start:end]) != U32.unpack_from(buf, end)[0]:
        raise CorruptSSTable(path, f"CRC32 mismatch in {what}", start)


def _read_toc(buf: bytes, v: FormatVersion, path: str) -> dict[int, int]:
    c = Cursor(buf, 0, path)
    count = c.i32()
    if not 0 < count <= len(METADATA_TYPES):
        raise CorruptSSTable(path, f"invalid metadata component count {count}", 0)
    if v.metadata_checksum:
        _check_crc(buf, 0, 4, path, "the component count")
        c.skip(CRC_SIZE)
    toc_start = c.pos
    toc: dict[int, int] = {}
    for _ in range(count):
        at = c.pos
        kind, offset = c.i32(), c.i32()
        if kind not in METADATA_TYPES or kind in toc or not 0 < offset < len(buf):
            raise CorruptSSTable(path, f"invalid metadata TOC entry (type {kind}, offset {offset})", at)
        toc[kind] = offset
    if v.metadata_checksum:
        crc = crc32(buf[toc_start:c.pos], crc32(buf[0:4]))
        (stored,) = U32.unpack_from(buf, c.pos) if c.pos + 4 <= len(buf) else (None,)
        if stored != crc:
            raise CorruptSSTable(path, "CRC32 mismatch in the metadata TOC", toc_start)
    return toc


def parse_statistics(buf: bytes, v: FormatVersion, path: str) -> Statistics:
    """Parse a whole Statistics.db; CorruptSSTable naming ``path`` (and offset) on any damage."""
    toc = _read_toc(buf, v, path)
    starts = sorted(toc.items(), key=lambda kv: kv[1])
    found: dict[int, object] = {}
    for i, (kind, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(buf)
        if v.metadata_checksum:
            end -= CRC_SIZE
            _check_crc(buf, start, end, path, f"metadata component {kind}")
        if end < start:
            raise CorruptSSTable(path, f"metadata component {kind} has negative length", start)
        c = Cursor(memoryview(buf)[:end], start, path)
        found[kind] = _READERS[kind](c, v)
        if c.pos != end:
            raise CorruptSSTable(path, f"metadata component {kind} ends at {c.pos}, expected {end}", c.pos)
    return Statistics(found.get(VALIDATION), found.get(COMPACTION),  # type: ignore[arg-type]
                      found.get(STATS), found.get(HEADER))  # type: ignore[arg-type]


def read_statistics(path: str, v: FormatVersion) -> Statistics:
    with open(path, "rb") as f:
        buf = f.read()
    stats = parse_statistics(buf, v, path)
    if stats.header is None:
        raise UnsupportedFormat(path, "no serialization header (pre-3.0 SSTables are not supported)")
    return stats
