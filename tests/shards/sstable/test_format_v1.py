"""SSTables of format 1 (a classic bloom filter), as a build before format 2 wrote them, are
still read, answer what the same data in the current format answers, and are rewritten in
the current format by a compaction; a version this build does not know is refused."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from ferrosa.checksum import crc32
from ferrosa.ipc import messages as m
from ferrosa.partitioner import token
from shards.errors import CorruptSSTable, SSTableVersionError
from shards.memtable import Cell, Marker, Partition, Row
from shards.sstable import FORMAT_VERSION, SSTableReader, SSTableWriter, compact
from shards.sstable.bloom import BlockedBloomFilter, ClassicBloomFilter
from shards.sstable.format import TOC, TOC_HEADER, component_path
from shards.sstable.keycache import set_key_cache
from shards.store import ShardStore
from tests.shards.sstable.helpers import TABLE, dump, write
from tests.shards.sstable.v1_fixture import clustered_partitions, plain_partitions

FIXTURE = Path(__file__).parent / "v1"
PROJECTION = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_CELL, "b")])
NOW = 1_700_000_000


@pytest.fixture
def v1(tmp_path) -> str:
    """A copy of the format-1 SSTables (a compaction writes beside them)."""
    directory = tmp_path / "v1"
    shutil.copytree(FIXTURE, directory)
    return str(directory)


def test_format_1_sstables_open_with_their_classic_filter(v1) -> None:
    for generation, parts in ((1, plain_partitions()), (2, clustered_partitions())):
        with SSTableReader.open(v1, TABLE, generation) as reader:
            assert reader.toc.version == 1
            assert isinstance(reader.bloom, ClassicBloomFilter)
            assert [dump(p) for p in reader.scan()] == [dump(p) for p in parts]
            for part in parts:
                assert reader.may_contain(part.pk)
                assert dump(reader.get(part.token, part.pk)) == dump(part)
    with SSTableReader.open(v1, TABLE, 1) as reader:
        absent = [b"absent-%d" % i for i in range(2000)]
        assert sum(reader.may_contain(pk) for pk in absent) < 60
        assert all(reader.get(token(pk), pk) is None for pk in absent)


def _reads(store: ShardStore, keys: list[bytes]) -> list:
    return [store.handle(m.Read(i, TABLE, token(pk), pk, PROJECTION, NOW))
            for i, pk in enumerate(keys)]


@pytest.mark.parametrize("key_cache", [0, 1 << 20])
def test_a_shard_reads_format_1_as_it_reads_the_current_format(v1, tmp_path,
                                                               key_cache) -> None:
    """Point reads of every key (and of absent ones) from a shard started over format-1 files
    answer what the same partitions written now answer, twice (the second time through the
    key cache when there is one)."""
    current = tmp_path / "current"
    current.mkdir()
    write(str(current), plain_partitions(), generation=1).close()
    write(str(current), clustered_partitions(), generation=2).close()
    keys = [p.pk for p in plain_partitions() + clustered_partitions()]
    keys += [b"absent-%d" % i for i in range(200)]
    set_key_cache(key_cache)
    try:
        old, new = ShardStore(0, v1, 1 << 30, None), ShardStore(0, str(current), 1 << 30, None)
        for store in (old, new):
            store.handle(m.TableSchema(0, TABLE))
        kinds = {type(r.bloom) for r in old.tables[TABLE].sstables}
        assert kinds == {ClassicBloomFilter}
        assert {type(r.bloom) for r in new.tables[TABLE].sstables} == {BlockedBloomFilter}
        for _ in range(2):
            answers = _reads(old, keys)
            assert answers == _reads(new, keys)
            assert [a.count for a in answers[:600]] == [1] * 600  # the plain partitions
            assert all(a.count > 1 for a in answers[600:604])  # the clustered ones
            assert all(a.count == 0 for a in answers[604:])  # absent keys
    finally:
        set_key_cache(0)


def test_a_compaction_rewrites_format_1_in_the_current_format(v1) -> None:
    newer = []
    for part in plain_partitions()[:100]:
        again = Partition(part.token, part.pk)
        again.rows[b""] = Row([], Marker(5_000, 0, 0), cells={"a": Cell(5_000, b"new", 0, 0)})
        newer.append(again)
    readers = [SSTableReader.open(v1, TABLE, 1), write(v1, newer, generation=3)]
    try:
        out = compact(readers, lambda: SSTableWriter(v1, TABLE, 4), now=NOW,
                      gc_grace_seconds=0)
    finally:
        for reader in readers:
            reader.close()
    assert out is not None
    with out:
        assert out.toc.version == FORMAT_VERSION == 2
        assert isinstance(out.bloom, BlockedBloomFilter)
        merged = {p.pk: p for p in out.scan()}
        assert len(merged) == 600
        for part in plain_partitions():
            row = merged[part.pk].rows[b""]
            assert out.may_contain(part.pk)
            if any(n.pk == part.pk for n in newer):
                assert row.cells["a"].value == b"new" and row.cells["b"] == part.rows[b""].cells["b"]
            else:
                assert dump(merged[part.pk]) == dump(part)


def _restamp(path: str, version: int) -> None:
    """Rewrite the TOC header's version (its CRC made right again); the body keeps its own."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    magic, _, flags, length = TOC_HEADER.unpack_from(data, 0)
    TOC_HEADER.pack_into(data, 0, magic, version, flags, length)
    data[-4:] = struct.pack("<I", crc32(bytes(data[:-4])))
    with open(path, "wb") as f:
        f.write(data)


def test_a_version_this_build_does_not_read_is_refused(v1) -> None:
    toc = component_path(v1, TABLE, 1, TOC)
    _restamp(toc, 3)
    with pytest.raises(SSTableVersionError, match="format version 3; this build reads "
                                                  "versions 1, 2"):
        SSTableReader.open(v1, TABLE, 1)
    _restamp(toc, 2)  # a version it reads, which the body contradicts
    with pytest.raises(CorruptSSTable, match="the body says format version 1, the header 2"):
        SSTableReader.open(v1, TABLE, 1)
    _restamp(toc, 1)
    SSTableReader.open(v1, TABLE, 1).close()
