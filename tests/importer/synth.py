"""Test helper: write small SSTables in Cassandra's format from model objects.

Real files written by Cassandra (shared/testdata) anchor the readers to the truth; this encoder mirrors
Cassandra's serializers (UnfilteredSerializer, Cell.Serializer, Columns.serializeSubset, the
SerializationHeader, CompressionInfo, chunk CRCs, Digest) so that tests can reach what those few files
do not contain: static rows, range tombstones, tombstone and expiring cells, collections, column
subsets, composite keys, other compressors and many chunks. StatsMetadata is copied from a real file of
the same version family (it does not affect decoding).

This module must NOT be imported by the package; it exists for tests and the benchmark only.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field

import cramjam
import lz4.block
import zstandard

from ferrosa.importer.model import Cell, DeletionTime, Partition, RangeTombstoneMarker, Row
from ferrosa.importer.statistics import DELETION_TIME_EPOCH, TIMESTAMP_EPOCH
from ferrosa.importer.types import ColumnType
from ferrosa.importer.varint import I32, I64, U16, U32, encode_uvint

TESTDATA = os.environ.get("FERROSA_SSTABLE_TESTDATA", "/work/shared/testdata/cassandra-sstables")
REAL = {
    "nb": os.path.join(TESTDATA, "nb/legacy_tables/legacy_nb_simple/nb-1-big-Statistics.db"),
    "da": os.path.join(TESTDATA, "da/legacy_tables/legacy_da_simple/da-1-bti-Statistics.db"),
}
# BIG "oa" (5.0) has the same StatsMetadata fields as BTI "da", so its statistics can be borrowed.
REAL["oa"] = REAL["da"]
FORMAT_OF = {"nb": "big", "oa": "big", "da": "bti"}
M = "org.apache.cassandra.db.marshal."
INT64_MIN = -(1 << 63)
U64 = (1 << 64) - 1


@dataclass
class Schema:
    key_type: str
    clustering: list[str]
    statics: list[tuple[str, str]] = field(default_factory=list)
    regulars: list[tuple[str, str]] = field(default_factory=list)
    min_ts: int = TIMESTAMP_EPOCH
    min_ldt: int = DELETION_TIME_EPOCH
    min_ttl: int = 0


def _vbytes(b: bytes) -> bytes:
    return encode_uvint(len(b)) + b


# ------------------------------------------------------------------------------------ Data.db

class Encoder:
    def __init__(self, schema: Schema, uint_deletion: bool):
        self.s = schema
        self.uint = uint_deletion
        self.ck = [ColumnType(t, "synth") for t in schema.clustering]
        self.reg = [(n, ColumnType(t, "synth")) for n, t in schema.regulars]
        self.sta = [(n, ColumnType(t, "synth")) for n, t in schema.statics]

    def ts(self, v: int) -> bytes:
        return encode_uvint((v - self.s.min_ts) & U64)

    def ldt(self, v: int) -> bytes:
        return encode_uvint(v - self.s.min_ldt)

    def ttl(self, v: int) -> bytes:
        return encode_uvint(v - self.s.min_ttl)

    def delta_deletion(self, d: DeletionTime | None) -> bytes:
        if d is None:  # LIVE: Long.MIN_VALUE and "no deletion time"
            return self.ts(INT64_MIN) + encode_uvint((1 << 31) - 1 - self.s.min_ldt)
        return self.ts(d.marked_for_delete_at) + self.ldt(d.local_deletion_time)

    def value(self, t: ColumnType, v: bytes) -> bytes:
        if t.fixed_length >= 0:
            assert len(v) == t.fixed_length, (t, v)
            return v
        return _vbytes(v)

    def clustering(self, values: tuple) -> bytes:
        out = bytearray()
        for start in range(0, len(values), 32):
            chunk = values[start:start + 32]
            header = 0
            for i, v in enumerate(chunk):
                if v is None:
                    header |= 1 << (2 * i + 1)
                elif v == b"":
                    header |= 1 << (2 * i)
            out += encode_uvint(header)
            for i, v in enumerate(chunk):
                if v:
                    out += self.value(self.ck[start + i], v)
        return bytes(out)

    def partition_deletion(self, d: DeletionTime | None) -> bytes:
        if self.uint:
            if d is None:
                return b"\x80"
            return I64.pack(d.marked_for_delete_at) + U32.pack(d.local_deletion_time)
        if d is None:
            return I32.pack((1 << 31) - 1) + I64.pack(INT64_MIN)
        return I32.pack(d.local_deletion_time) + I64.pack(d.marked_for_delete_at)

    def partition(self, p: Partition) -> bytes:
        out = bytearray(U16.pack(len(p.key)) + p.key + self.partition_deletion(p.deletion))
        if self.sta:
            out += self.row(p.static_row or Row((), static=True), self.sta)
        for u in p.unfiltereds:
            out += self.marker(u) if isinstance(u, RangeTombstoneMarker) else self.row(u, self.reg)
        out += b"\x01"
        return bytes(out)

    def marker(self, m: RangeTombstoneMarker) -> bytes:
        body = b"\x00"  # previous unfiltered size
        if m.close_deletion is not None:
            body += self.delta_deletion(m.close_deletion)
        if m.open_deletion is not None:
            body += self.delta_deletion(m.open_deletion)
        return (b"\x02" + bytes((int(m.kind),)) + U16.pack(len(m.clustering)) + self.clustering(m.clustering)
                + encode_uvint(len(body)) + body)

    def row(self, r: Row, columns: list[tuple[str, ColumnType]]) -> bytes:
        by_column: dict[str, list[Cell]] = {}
        for c in r.cells:
            by_column.setdefault(c.column, []).append(c)
        deleted = {cd.column: cd.deletion for cd in r.complex_deletions}
        present = [(i, n, t) for i, (n, t) in enumerate(columns) if n in by_column or n in deleted]
        flags, ext = 0, 0
        if r.static:
            ext |= 0x01
        if r.shadowable:
            ext |= 0x02
        if r.timestamp is not None:
            flags |= 0x04
            if r.ttl:
                flags |= 0x08
        if r.deletion is not None:
            flags |= 0x10
        if len(present) == len(columns):
            flags |= 0x20
        if deleted:
            flags |= 0x40
        if ext:
            flags |= 0x80
        body = bytearray(b"\x00")  # previous unfiltered size
        if r.timestamp is not None:
            body += self.ts(r.timestamp)
            if r.ttl:
                body += self.ttl(r.ttl) + self.ldt(r.local_expiration_time)
        if r.deletion is not None:
            body += self.delta_deletion(r.deletion)
        if not flags & 0x20:
            body += self.subset([i for i, _, _ in present], len(columns))
        for _, name, t in present:
            if t.complex:
                if deleted:
                    body += self.delta_deletion(deleted.get(name))
                body += encode_uvint(len(by_column.get(name, [])))
            for c in by_column.get(name, []):
                body += self.cell(c, t, r)
        head = bytes((flags,)) + (bytes((ext,)) if ext else b"")
        if not r.static:
            head += self.clustering(r.clustering)
        return head + encode_uvint(len(body)) + bytes(body)

    def subset(self, present: list[int], total: int) -> bytes:
        if total < 64:
            missing = 0
            for i in range(total):
                if i not in present:
                    missing |= 1 << i
            return encode_uvint(missing)
        out = encode_uvint(total - len(present))
        if len(present) < total // 2:
            return out + b"".join(encode_uvint(i) for i in present)
        return out + b"".join(encode_uvint(i) for i in range(total) if i not in present)

    def cell(self, c: Cell, t: ColumnType, r: Row) -> bytes:
        flags = 0
        deleted = c.value is None
        expiring = not deleted and c.ttl > 0
        if not c.value:
            flags |= 0x04
        if deleted:
            flags |= 0x01
        elif expiring:
            flags |= 0x02
        use_row_ts = r.timestamp is not None and c.timestamp == r.timestamp
        use_row_ttl = (expiring and r.ttl > 0 and c.ttl == r.ttl
                       and c.local_deletion_time == r.local_expiration_time)
        if use_row_ts:
            flags |= 0x08
        if use_row_ttl:
            flags |= 0x10
        out = bytearray((flags,))
        if not use_row_ts:
            out += self.ts(c.timestamp)
        if (deleted or expiring) and not use_row_ttl:
            out += self.ldt(c.local_deletion_time)
        if expiring and not use_row_ttl:
            out += self.ttl(c.ttl)
        if t.complex:
            out += _vbytes(c.path)
        if c.value:
            out += self.value(t, c.value)  # complex cells: the collection type, always length-prefixed
        return bytes(out)


# ------------------------------------------------------------------------------ other components

def _utf(s: str) -> bytes:
    b = s.encode()
    return U16.pack(len(b)) + b


def header_component(s: Schema) -> bytes:
    out = bytearray(encode_uvint((s.min_ts - TIMESTAMP_EPOCH) & U64))
    out += encode_uvint(s.min_ldt - DELETION_TIME_EPOCH) + encode_uvint(s.min_ttl)
    out += _vbytes(s.key_type.encode()) + encode_uvint(len(s.clustering))
    for t in s.clustering:
        out += _vbytes(t.encode())
    for cols in (s.statics, s.regulars):
        out += encode_uvint(len(cols))
        for name, t in cols:
            out += _vbytes(name.encode()) + _vbytes(t.encode())
    return bytes(out)


def _real_component(version: str, kind: int) -> bytes:
    buf = _read(REAL[version])
    count = I32.unpack_from(buf, 0)[0]
    toc = sorted((I32.unpack_from(buf, 8 + 8 * i)[0], I32.unpack_from(buf, 12 + 8 * i)[0])
                 for i in range(count))
    offsets = sorted(o for _, o in toc) + [len(buf)]
    start = dict(toc)[kind]
    end = offsets[offsets.index(start) + 1] - 4
    return buf[start:end]


def statistics_file(version: str, s: Schema, partitioner: str) -> bytes:
    comps = [(0, _utf(partitioner) + b"\x3f\x84\x7a\xe1\x47\xae\x14\x7b"), (1, _real_component(version, 1)),
             (2, _real_component(version, 2)), (3, header_component(s))]
    head = I32.pack(len(comps))
    crc = zlib.crc32(head)
    out = bytearray(head + U32.pack(crc))
    toc = bytearray()
    pos = len(out) + 8 * len(comps) + 4
    for kind, body in comps:
        toc += I32.pack(kind) + I32.pack(pos)
        pos += len(body) + 4
    out += toc + U32.pack(zlib.crc32(bytes(toc), crc))
    for _, body in comps:
        out += body + U32.pack(zlib.crc32(body))
    return bytes(out)


COMPRESSORS = {
    "LZ4Compressor": lambda d: len(d).to_bytes(4, "little") + lz4.block.compress(d, store_size=False),
    "SnappyCompressor": lambda d: bytes(cramjam.snappy.compress_raw(d)),
    "DeflateCompressor": lambda d: zlib.compress(d),
    "ZstdCompressor": lambda d: zstandard.ZstdCompressor().compress(d),
    "NoopCompressor": lambda d: d,
}


def write_sstable(directory: str, version: str, schema: Schema, partitions: list[Partition] | None = None, *,
                  raw_partitions: list[bytes] | None = None, compressor: str | None = "LZ4Compressor",
                  chunk_length: int = 16384, partitioner: str = "org.apache.cassandra.dht.Murmur3Partitioner",
                  generation: int = 1, crc_chunk: int = 65536) -> str:
    """Write Data.db and friends; returns the Data.db path."""
    os.makedirs(directory, exist_ok=True)
    prefix = os.path.join(directory, f"{version}-{generation}-{FORMAT_OF[version]}-")
    enc = Encoder(schema, version >= "oa" or FORMAT_OF[version] == "bti")
    if raw_partitions is None:
        raw_partitions = [enc.partition(p) for p in partitions or []]
    stream = b"".join(raw_partitions)
    toc = ["Data.db", "Statistics.db", "Digest.crc32", "TOC.txt"]
    if compressor is not None:
        data = bytearray()
        offsets = []
        for start in range(0, len(stream), chunk_length):
            piece = COMPRESSORS[compressor](stream[start:start + chunk_length])
            offsets.append(len(data))
            data += piece + U32.pack(zlib.crc32(piece))
        info = (_utf(compressor) + I32.pack(0) + I32.pack(chunk_length) + I32.pack((1 << 31) - 1)
                + I64.pack(len(stream)) + I32.pack(len(offsets)) + b"".join(I64.pack(o) for o in offsets))
        _write(prefix + "CompressionInfo.db", info)
        toc.append("CompressionInfo.db")
    else:
        data = stream
        crcs = b"".join(U32.pack(zlib.crc32(stream[i:i + crc_chunk]))
                        for i in range(0, len(stream), crc_chunk))
        _write(prefix + "CRC.db", I32.pack(crc_chunk) + crcs)
        toc.append("CRC.db")
    _write(prefix + "Data.db", data)
    _write(prefix + "Digest.crc32", str(zlib.crc32(data)).encode())
    _write(prefix + "Statistics.db", statistics_file(version, schema, partitioner))
    _write(prefix + "TOC.txt", ("\n".join(toc) + "\n").encode())
    return prefix + "Data.db"


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
