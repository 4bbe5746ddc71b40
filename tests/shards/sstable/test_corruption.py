"""Damaged SSTables: every truncated or byte-flipped file raises CorruptSSTable naming the file,
never wrong data; interrupted writes are cleaned up at start-up."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.errors import CorruptSSTable, SSTableError, SSTableVersionError
from shards.memtable import Cell, Partition, Row
from shards.sstable import (
    SSTableReader,
    SSTableWriter,
    cleanup_incomplete,
    delete_sstable,
    delete_sstables,
)
from shards.sstable.format import COMPONENTS, TOC, component_path
from tests.shards.sstable.helpers import TABLE, dump, write

ALL = COMPONENTS + (TOC,)


def _parts(n: int = 300) -> list[Partition]:
    parts = []
    for i in range(n):
        part = Partition(i * 7919 - 10**6, b"key-%d" % i)
        for j in range(400 if i % 50 == 0 else i % 40):
            row = Row([j.to_bytes(2, "big")])
            row.cells["v"] = Cell(i, b"payload-%d-%d" % (i, j) * 3, 0, 0)
            part.rows[b"\x40" + j.to_bytes(2, "big")] = row
        parts.append(part)
    return parts


PARTS = _parts()


def _read_everything(directory: str) -> None:
    """Open and read all the data, checking it whenever a read returns."""
    with SSTableReader.open(directory, TABLE, 1) as reader:
        assert [dump(p) for p in reader.scan()] == [dump(p) for p in PARTS]
        for part in PARTS[::7]:
            assert dump(reader.get(part.token, part.pk)) == dump(part)
        big = PARTS[50]
        lo, hi = b"\x40\x01\x00", b"\x40\x01\x10"
        assert list(reader.get(big.token, big.pk, lo, hi).rows) == list(
            big.rows.irange(lo, hi, inclusive=(True, False)))


def _damage(path: str, offset: int, xor: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ xor]))


class _Files(dict):
    def __repr__(self) -> str:
        return f"<{len(self)} SSTable files>"


@pytest.fixture(scope="module")
def pristine():
    with tempfile.TemporaryDirectory() as d:
        write(d, PARTS, chunk_bytes=4096).close()
        _read_everything(d)  # the undamaged table reads back exactly
        files = _Files()
        for name in ALL:
            with open(component_path(d, TABLE, 1, name), "rb") as f:
                files[name] = f.read()
        assert all(files.values())  # every component has bytes to damage
        yield files


def _install(directory: str, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        with open(component_path(directory, TABLE, 1, name), "wb") as f:
            f.write(data)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALL), st.floats(0, 1, exclude_max=True), st.integers(1, 255))
def test_any_flipped_byte_is_detected(pristine, component, where, xor) -> None:
    with tempfile.TemporaryDirectory() as d:
        _install(d, pristine)
        path = component_path(d, TABLE, 1, component)
        _damage(path, int(where * len(pristine[component])), xor)
        with pytest.raises((CorruptSSTable, SSTableVersionError)) as info:
            _read_everything(d)
        assert info.value.path == path


@pytest.mark.parametrize("component", ALL)
@pytest.mark.parametrize("keep", [0, 0.5, -1])
def test_truncated_files_are_detected(pristine, component, keep) -> None:
    with tempfile.TemporaryDirectory() as d:
        _install(d, pristine)
        size = len(pristine[component])
        path = component_path(d, TABLE, 1, component)
        os.truncate(path, int(size * keep) if keep >= 0 else size - 1)
        with pytest.raises(CorruptSSTable) as info:
            _read_everything(d)
        assert info.value.path == path and path in str(info.value)


def test_data_corruption_names_the_chunk_offset(pristine) -> None:
    with tempfile.TemporaryDirectory() as d:
        _install(d, pristine)
        path = component_path(d, TABLE, 1, "Data")
        _damage(path, len(pristine["Data"]) // 2, 0x10)
        reader = SSTableReader.open(d, TABLE, 1)  # Data is checked chunk by chunk, not at open
        with pytest.raises(CorruptSSTable, match=r"at offset \d+: chunk \d+ checksum mismatch"):
            list(reader.scan())
        with pytest.raises(CorruptSSTable, match="checksum"):
            reader.verify()
        reader.close()


def test_missing_component_and_missing_toc(pristine) -> None:
    with tempfile.TemporaryDirectory() as d:
        _install(d, pristine)
        os.unlink(component_path(d, TABLE, 1, "Filter"))
        with pytest.raises(CorruptSSTable, match="missing"):
            SSTableReader.open(d, TABLE, 1)
        os.unlink(component_path(d, TABLE, 1, TOC))
        with pytest.raises(SSTableError, match="no TOC"):
            SSTableReader.open(d, TABLE, 1)


def test_cleanup_removes_incomplete_sstables_only(tmp_path) -> None:
    d = str(tmp_path)
    write(d, PARTS[:5], generation=1).close()
    unfinished = SSTableWriter(d, TABLE, 2)  # a crash while writing: temporary files only
    unfinished.add(PARTS[0])
    write(d, PARTS[:5], generation=3).close()
    os.unlink(component_path(d, TABLE, 3, TOC))  # a crash just before the TOC was written
    (tmp_path / "unrelated.txt").write_text("keep me")
    removed = cleanup_incomplete(d)
    assert all("-2-" in p or "-3-" in p for p in removed)
    assert len([p for p in removed if "-3-" in p]) == len(COMPONENTS)
    assert any(p.endswith(".tmp") for p in removed)
    assert sorted(os.listdir(d)) == sorted(
        [os.path.basename(component_path(d, TABLE, 1, c)) for c in ALL] + ["unrelated.txt"])
    _ = SSTableReader.open(d, TABLE, 1).close()
    assert cleanup_incomplete(d) == []
    deleted = delete_sstable(d, TABLE, 1)
    assert deleted[0].endswith("TOC.db") and len(deleted) == len(ALL)
    assert os.listdir(d) == ["unrelated.txt"]


def test_several_sstables_lose_every_toc_before_any_other_file(tmp_path, monkeypatch) -> None:
    # A compaction's inputs: once one input has lost a file, none may still have its TOC.
    d = str(tmp_path)
    for generation in (1, 2, 3):
        write(d, PARTS[:5], generation=generation).close()
    unlinked: list[str] = []
    real = os.unlink

    def unlink(path: str) -> None:
        real(path)
        unlinked.append(os.path.basename(path))
    monkeypatch.setattr(os, "unlink", unlink)
    deleted = delete_sstables(d, TABLE, [1, 2, 3])
    assert [name.endswith("TOC.db") for name in unlinked] == [True] * 3 + [False] * (
        3 * len(COMPONENTS))
    assert len(deleted) == 3 * len(ALL) and os.listdir(d) == []


def test_an_empty_partition_header_is_refused_by_name(tmp_path, monkeypatch) -> None:
    # A partition whose header record holds no bytes (its end mark right after) cannot be read
    # as a partition: every scan, compaction's included, refuses it as corrupt, naming what it
    # found, rather than reading the records after it as that partition's rows.
    from shards.sstable.codec import PartitionEncoder

    parts = _parts(3)
    empty = parts[1].pk
    plain = PartitionEncoder.plain_partition

    def damaged(self, part, ck, row):
        whole = plain(self, part, ck, row)
        return b"\0" * 8 if part.pk == empty else whole

    monkeypatch.setattr(PartitionEncoder, "plain_partition", damaged)
    one_row = [p for p in parts if len(p.rows) == 1]
    assert [p.pk for p in one_row] == [empty]  # the plain path writes it
    write(str(tmp_path), parts).close()
    with SSTableReader.open(str(tmp_path), TABLE, 1) as reader:
        for scan in (reader.scan, reader.scan_encoded, lambda: reader.merge_entries(0)):
            with pytest.raises(CorruptSSTable, match="empty partition header"):
                list(scan())


@pytest.mark.parametrize("field", ["static count", "range count"])
def test_a_one_row_header_counting_what_it_lacks_is_refused(tmp_path, monkeypatch,
                                                            field) -> None:
    # A one-row partition whose header's size is right but whose static-cell or range count
    # is not zero: scans read such a partition in one unpack (codec.one_plain_row), which must
    # leave it to the record loop, and that refuses it as corrupt, rather than take the
    # counted statics or ranges for absent.
    from shards.sstable.codec import PartitionEncoder

    parts = _parts(3)
    damaged_pk = parts[1].pk
    plain = PartitionEncoder.plain_partition
    # The header record: its size, the key's length and the key, token, deletion and ldt
    # (3 x 8), then the static count and the range count (u32 each).
    offset = 8 + len(damaged_pk) + 24 + (0 if field == "static count" else 4)

    def damaged(self, part, ck, row):
        whole = plain(self, part, ck, row)
        if part.pk != damaged_pk:
            return whole
        return whole[:offset] + (1).to_bytes(4, "little") + whole[offset + 4:]

    monkeypatch.setattr(PartitionEncoder, "plain_partition", damaged)
    write(str(tmp_path), parts).close()
    with SSTableReader.open(str(tmp_path), TABLE, 1) as reader:
        for scan in (reader.scan, reader.scan_encoded, lambda: reader.merge_entries(0)):
            with pytest.raises(CorruptSSTable):
                list(scan())


def test_data_past_the_last_indexed_partition_is_refused(tmp_path, monkeypatch) -> None:
    # The Data holds one partition more than the Index lists (its entry and bloom key were
    # never written): every scan, compaction's included, reads the listed partitions, then
    # refuses the bytes that follow them rather than end as if the SSTable were whole.
    from shards.sstable.writer import SSTableWriter as Writer

    parts = _parts(4)
    unlisted = parts[-1].pk
    add = Writer.add

    def add_unlisted(self, part):
        if part.pk != unlisted:
            return add(self, part)
        index, bloom = self._index, self._bloom
        self._index = self._bloom = _Discard()
        try:
            add(self, part)
        finally:
            self._index, self._bloom = index, bloom
        self.partitions -= 1  # as if never added: Stats count what the Index lists

    monkeypatch.setattr(Writer, "add", add_unlisted)
    write(str(tmp_path), parts).close()
    with SSTableReader.open(str(tmp_path), TABLE, 1) as reader:
        for scan in (reader.scan, reader.scan_encoded, lambda: reader.merge_entries(0)):
            with pytest.raises(CorruptSSTable, match="bytes of data follow the last partition"):
                list(scan())


class _Discard:
    """Takes an Index entry or a bloom key and keeps nothing."""

    def write(self, data: bytes) -> None:
        pass

    def add(self, key: bytes) -> None:
        pass
