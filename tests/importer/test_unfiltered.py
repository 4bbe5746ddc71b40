"""The partition decoder on everything the real test files lack, via the synth encoder (tests/importer/
synth.py mirrors Cassandra's serializers): static rows, range tombstone bounds and boundaries, tombstone
and expiring cells, row TTLs and deletions, shadowable deletions, collections and UDT cells with
complex deletions, column subsets (bitmap and >= 64-column index lists), null/empty clustering values,
composite keys; both deletion-time serializers (4.0 "nb", 5.0 "oa" and "da"); and the reader over many
small chunks with every compressor, and uncompressed with CRC.db.
"""

from __future__ import annotations

import os
from itertools import pairwise

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.importer.errors import CorruptSSTable
from ferrosa.importer.files import format_version
from ferrosa.importer.model import (
    BoundKind, Cell, ComplexDeletion, DeletionTime, Partition, RangeTombstoneMarker, Row,
)
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.statistics import SerializationHeader
from ferrosa.importer.types import ColumnType
from ferrosa.importer.unfiltered import PartitionDecoder

from .synth import COMPRESSORS, TESTDATA, Encoder, M, Schema, header_component, write_sstable

FUZZ = settings(max_examples=int(os.environ.get("FERROSA_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
needs_testdata = pytest.mark.skipif(not os.path.isdir(TESTDATA),
                                    reason="shared SSTable test data not present")

UDT = f"{M}UserType(ks,61646472,737472656574:{M}UTF8Type,7a6970:{M}Int32Type)"  # address(street, zip)
RICH = Schema(
    key_type=f"{M}CompositeType({M}UTF8Type,{M}Int32Type)",
    clustering=[f"{M}Int32Type", f"{M}ReversedType({M}UTF8Type)"],
    statics=[("s", f"{M}UTF8Type"), ("ss", f"{M}SetType({M}Int32Type)")],
    regulars=[("a", f"{M}Int32Type"), ("b", f"{M}UTF8Type"), ("c", f"{M}BooleanType"),
              ("f", f"{M}FrozenType({M}ListType({M}Int32Type))"),
              ("l", f"{M}ListType({M}Int32Type)"), ("m", f"{M}MapType({M}UTF8Type,{M}Int32Type)"),
              ("u", UDT)],
    min_ts=1_600_000_000_000_000, min_ldt=1_600_000_000, min_ttl=60,
)
WIDE = Schema(key_type=f"{M}Int32Type", clustering=[],
              regulars=[(f"c{i:02d}", f"{M}Int32Type") for i in range(70)])


def _header(s: Schema) -> SerializationHeader:
    from ferrosa.importer.statistics import _read_header
    from ferrosa.importer.varint import Cursor

    return _read_header(Cursor(header_component(s), 0, "synth"), format_version("big", "nb"))


def _version(version: str):
    return format_version("bti" if version == "da" else "big", version)


def test_oa_uses_the_5_0_deletion_time() -> None:
    assert _version("oa").uint_deletion_time and not _version("nb").uint_deletion_time


# ------------------------------------------------------------------------------------ strategies

INT64 = st.integers(-(1 << 63) + 1, (1 << 63) - 1)


def _deletion(s: Schema):
    return st.builds(DeletionTime, INT64, st.integers(s.min_ldt, s.min_ldt + (1 << 31)))


def _ttl(s: Schema):
    return st.integers(s.min_ttl + 1, s.min_ttl + 10**6)


def _ldt(s: Schema):
    return st.integers(s.min_ldt, s.min_ldt + 10**6)


def _simple_value(marshal: str):
    if marshal.endswith("Int32Type"):
        return st.one_of(st.just(b""), st.binary(min_size=4, max_size=4))
    if marshal.endswith("BooleanType"):
        return st.sampled_from([b"", b"\x00", b"\x01"])
    return st.binary(max_size=40)


def _path(t: ColumnType):
    name = type(t.cql).__name__
    return {"ListType": st.binary(min_size=16, max_size=16), "SetType": st.binary(min_size=4, max_size=4),
            "MapType": st.text(max_size=6).map(str.encode),
            "UserType": st.sampled_from([b"\x00\x00", b"\x00\x01"])}[name]


@st.composite
def _cells(draw, s: Schema, columns: list, row_ts: int | None, row_ttl: int, row_ldt: int | None):
    cells: list[Cell] = []
    complex_deletions: list[ComplexDeletion] = []
    for name, marshal in columns:
        if not draw(st.booleans()):
            continue
        t = ColumnType(marshal, "synth")
        count = draw(st.integers(0, 3)) if t.complex else 1
        if t.complex and draw(st.booleans()):
            complex_deletions.append(ComplexDeletion(name, draw(_deletion(s))))
        for _ in range(count):
            kind = draw(st.sampled_from(["live", "live_row_ts", "tombstone", "expiring", "row_ttl"]))
            ts = row_ts if kind in ("live_row_ts", "row_ttl") and row_ts is not None else draw(INT64)
            path = draw(_path(t)) if t.complex else None
            value = b"" if t.complex and type(t.cql).__name__ == "SetType" else \
                draw(st.binary(max_size=12) if t.complex else _simple_value(marshal))
            if kind == "tombstone":
                cells.append(Cell(name, None, ts, 0, draw(_ldt(s)), path))
            elif kind == "expiring" or (kind == "row_ttl" and row_ttl):
                ttl, ldt = (row_ttl, row_ldt) if kind == "row_ttl" else (draw(_ttl(s)), draw(_ldt(s)))
                cells.append(Cell(name, value, ts, ttl, ldt, path))
            else:
                cells.append(Cell(name, value, ts, 0, None, path))
    return cells, complex_deletions


@st.composite
def _row(draw, s: Schema, static: bool = False):
    ts = draw(st.one_of(st.none(), INT64))
    ttl, ldt = 0, None
    if ts is not None and draw(st.booleans()):
        ttl, ldt = draw(_ttl(s)), draw(_ldt(s))
    deletion = draw(st.one_of(st.none(), _deletion(s)))
    cells, cds = draw(_cells(s, s.statics if static else s.regulars, ts, ttl, ldt))
    clustering = () if static else tuple(draw(_clustering_value(m)) for m in s.clustering)
    return Row(clustering, ts, ttl, ldt, deletion, deletion is not None and draw(st.booleans()), cells, cds,
               static=static)


def _clustering_value(marshal: str):
    return st.one_of(st.none(), st.just(b""), _simple_value(marshal).filter(bool))


@st.composite
def _marker(draw, s: Schema):
    kind = draw(st.sampled_from(list(BoundKind)))
    size = draw(st.integers(0, len(s.clustering)))
    clustering = tuple(draw(_clustering_value(m)) for m in s.clustering[:size])
    close = draw(_deletion(s)) if kind.is_boundary or not kind.is_start else None
    open_ = draw(_deletion(s)) if kind.is_boundary or kind.is_start else None
    return RangeTombstoneMarker(kind, clustering, close, open_)


@st.composite
def partitions(draw, s: Schema):
    n = draw(st.integers(0, 4))
    if s.key_type.endswith("Int32Type"):
        key = draw(st.binary(min_size=4, max_size=4))
    else:
        parts = [draw(st.text(min_size=1, max_size=5)).encode(), draw(st.binary(min_size=4, max_size=4))]
        key = b"".join(len(p).to_bytes(2, "big") + p + b"\x00" for p in parts)
    static = draw(_row(s, static=True)) if s.statics else None
    items = [draw(st.one_of(_row(s), _marker(s)) if s.clustering else _row(s)) for _ in range(n)]
    # DeletionTime's own serializers: an i32 (4.0) or a u32 (5.0) local deletion time, and in 5.0 a
    # markedForDeleteAt with the top bit clear (the bit flags LIVE).
    partition_deletion = st.builds(DeletionTime, st.integers(0, (1 << 63) - 1), st.integers(0, (1 << 31) - 2))
    return Partition(key, draw(st.one_of(st.none(), partition_deletion)), static, items)


def _normal(p: Partition) -> Partition:
    """What decoding gives back: positions unknown, an empty static row is no static row."""
    def strip(u):
        return msgspec.structs.replace(u, position=-1)
    static = None if p.static_row is None or p.static_row.is_empty else strip(p.static_row)
    return Partition(p.key, p.deletion, static, [strip(u) for u in p.unfiltereds])


# ------------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize("version", ["nb", "da"])
@FUZZ
@given(data=st.data())
def test_decoder_round_trip(version: str, data: st.DataObject) -> None:
    _round_trip(version, RICH, data)


@pytest.mark.parametrize("version", ["nb", "da"])
@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 4))
@given(data=st.data())
def test_decoder_round_trip_64_plus_columns(version: str, data: st.DataObject) -> None:
    _round_trip(version, WIDE, data)


def _round_trip(version: str, schema: Schema, data: st.DataObject) -> None:
    part = data.draw(partitions(schema))
    enc = Encoder(schema, uint_deletion=version == "da")
    raw = enc.partition(part)
    dec = PartitionDecoder(_header(schema), _version(version), "synth")
    got, end = dec.read_partition(raw, 0, base=1000)
    assert end == len(raw) and (got.position, got.end) == (1000, 1000 + len(raw))
    assert _normal(got) == _normal(part)
    # Any prefix is Truncated (a CorruptSSTable), never a wrong partition.
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(CorruptSSTable):
        dec.read_partition(raw[:cut], 0)


@pytest.mark.parametrize("version", ["nb", "da"])
@FUZZ
@given(data=st.data())
def test_decoder_on_damaged_bytes_raises_only_corrupt(version: str, data: st.DataObject) -> None:
    raw = bytearray(Encoder(RICH, version == "da").partition(data.draw(partitions(RICH))))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    dec = PartitionDecoder(_header(RICH), _version(version), "synth")
    pos = 0
    try:
        while pos < len(raw):
            _, pos = dec.read_partition(bytes(raw), pos)
    except CorruptSSTable:
        pass


@FUZZ
@given(raw=st.binary(max_size=300))
def test_decoder_on_arbitrary_bytes_raises_only_corrupt(raw: bytes) -> None:
    dec = PartitionDecoder(_header(RICH), format_version("big", "nb"), "synth")
    try:
        dec.read_partition(raw, 0)
    except CorruptSSTable:
        pass


# ------------------------------------------------------------------------------------ whole files

@needs_testdata
@pytest.mark.parametrize("compressor", [*COMPRESSORS, None])
@pytest.mark.parametrize("version", ["nb", "oa", "da"])
@settings(FUZZ, max_examples=4, suppress_health_check=[*FUZZ.suppress_health_check,
                                                       HealthCheck.function_scoped_fixture])
@given(parts=st.lists(partitions(RICH), min_size=1, max_size=12))
def test_reader_small_chunks_every_compressor(tmp_path_factory, compressor, version, parts) -> None:
    directory = tmp_path_factory.mktemp("ks") / "t-0123456789abcdef0123456789abcdef"
    path = write_sstable(str(directory), version, RICH, parts, compressor=compressor, chunk_length=64,
                         crc_chunk=100)
    with SSTableReader(path) as r:
        assert r.descriptor.table == "t"
        got = list(r.partitions())
    assert [_normal(p) for p in got] == [_normal(p) for p in parts]
    assert all(a.end == b.position for a, b in pairwise(got))


@needs_testdata
def test_reader_many_partitions_one_huge(tmp_path) -> None:
    """A partition far larger than a chunk, between small ones: the window grows geometrically."""
    s = Schema(key_type=f"{M}Int32Type", clustering=[f"{M}Int32Type"], regulars=[("v", f"{M}UTF8Type")])
    def part(k: int, rows: int) -> Partition:
        return Partition(k.to_bytes(4, "big"), None, None,
                         [Row((i.to_bytes(4, "big"),), 1_500_000_000_000_000 + i, cells=[
                             Cell("v", b"x" * (i % 50), 1_500_000_000_000_000 + i)]) for i in range(rows)])
    parts = [part(k, 3) for k in range(20)] + [part(99, 5000)] + [part(k, 2) for k in range(100, 120)]
    path = write_sstable(str(tmp_path / "ks" / "big"), "nb", s, parts, chunk_length=4096)
    with SSTableReader(path) as r:
        got = list(r.partitions())
        assert [_normal(p) for p in got] == [_normal(p) for p in parts]
        assert r.partition_at(got[20].position).key == (99).to_bytes(4, "big")
