"""Tests for shards.commitlog_segment: the segment byte format, the writer and the reader."""

from __future__ import annotations

import os
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shards.commitlog_segment as segment_module
from shards.commitlog_segment import (
    HEADER_SIZE,
    RECORD_OVERHEAD,
    ZERO_AHEAD_BYTES,
    SegmentReader,
    SegmentWriter,
    frame_records,
    pack_header,
    parse_segment_name,
    segment_name,
)
from shards.errors import (
    CommitLogCorruption,
    CommitLogVersionError,
    RecordTooLargeError,
)

# Golden bytes: a format change must show up here (and bump FORMAT_VERSION).
GOLDEN_HEADER = bytes.fromhex("46525341434c4f4702000000080706050403020186c00643")
# The header of a version 1 segment, which this build still reads (READABLE_VERSIONS).
GOLDEN_HEADER_V1 = bytes.fromhex("46525341434c4f4701000000080706050403020176129834")
GOLDEN_RECORD = bytes.fromhex("0700000019d7f4ee44d4116d666572726f7361")  # b"ferrosa" in that segment
GOLDEN_RECORD_V1 = bytes.fromhex("07000000b051a24db3a05db4666572726f7361")  # the same, in version 1
GOLDEN_ID = 0x0102030405060708


def test_golden_header_and_record() -> None:
    header = pack_header(GOLDEN_ID)
    assert header == GOLDEN_HEADER
    assert pack_header(GOLDEN_ID, 1) == GOLDEN_HEADER_V1
    assert len(header) == HEADER_SIZE == 24
    seed = zlib.crc32(header[:-4])
    assert frame_records([b"ferrosa"], seed, 100) == GOLDEN_RECORD
    assert frame_records([b"ferrosa"], zlib.crc32(GOLDEN_HEADER_V1[:-4]), 100) == GOLDEN_RECORD_V1
    assert len(GOLDEN_RECORD) == RECORD_OVERHEAD + 7


def test_segment_names_round_trip() -> None:
    assert segment_name(42) == "CommitLog-2-42.log"
    assert parse_segment_name("CommitLog-1-42.log") == (1, 42)
    for other in ("CommitLog-1-42.log.corrupt", "CommitLog-x-1.log", "notes.txt", "CommitLog-1-.log"):
        assert parse_segment_name(other) is None


@pytest.mark.parametrize("length", [0, 101])
def test_frame_refuses_empty_and_oversized_records(length: int) -> None:
    with pytest.raises(RecordTooLargeError, match="1..100 bytes") as info:
        frame_records([b"ok", b"x" * length], 1, 100)
    assert info.value.length == length


def write_segment(directory: str, records: list[bytes], capacity: int = 1 << 16) -> str:
    writer = SegmentWriter.create(directory, 7, capacity)
    writer.write(frame_records(records, writer.seed, capacity // 2))
    writer.sync()
    writer.close()
    return writer.path


def read_all(path: str, segment_id: int = 7,
             max_record: int = 1 << 15) -> tuple[list[bytes], SegmentReader]:
    reader = SegmentReader(path, segment_id, max_record)
    return [payload for _, payload in reader.records()], reader


def test_writer_creates_durable_named_file_with_zero_fill(tmp_path) -> None:
    path = write_segment(str(tmp_path), [b"a" * 10, b"b" * 20])
    assert os.listdir(tmp_path) == ["CommitLog-2-7.log"]  # the temporary name is gone
    size = os.path.getsize(path)
    assert size == min(1 << 16, HEADER_SIZE + 2 * RECORD_OVERHEAD + 30 + ZERO_AHEAD_BYTES)
    records, reader = read_all(path)
    assert records == [b"a" * 10, b"b" * 20]
    assert reader.stop is None and reader.valid_end == HEADER_SIZE + 2 * RECORD_OVERHEAD + 30


def test_reader_positions_are_record_ends(tmp_path) -> None:
    path = write_segment(str(tmp_path), [b"x", b"yy"])
    reader = SegmentReader(path, 7, 100)
    ends = [end for end, _ in reader.records()]
    assert ends == [HEADER_SIZE + 13, HEADER_SIZE + 13 + 14]


def test_zero_fill_grows_ahead_of_writes(tmp_path) -> None:
    writer = SegmentWriter.create(str(tmp_path), 1, 4 * ZERO_AHEAD_BYTES)
    assert writer.zeroed == HEADER_SIZE + ZERO_AHEAD_BYTES
    writer.write(frame_records([b"z" * 1000] * 1100, writer.seed, 1 << 20))
    assert writer.zeroed == writer.offset + ZERO_AHEAD_BYTES
    assert os.path.getsize(writer.path) == writer.zeroed
    writer.close()


def test_appends_are_copies_into_the_map_and_read_back(tmp_path, monkeypatch) -> None:
    """Appends inside the zero-filled part make no write system call; what they copied is in
    the file (read through another descriptor, before and after a sync, across fills that map
    the file anew), and a seal leaves exactly the records."""
    real, calls = os.pwrite, []

    def counted(fd: int, data, offset: int) -> int:
        calls.append((offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(segment_module.os, "pwrite", counted)
    writer = SegmentWriter.create(str(tmp_path), 7, 3 * ZERO_AHEAD_BYTES)
    fills = len(calls)
    small = [b"s%d" % i for i in range(200)]
    for record in small:
        writer.write(frame_records([record], writer.seed, 1 << 20))
    assert len(calls) == fills  # no pwrite for an append
    assert read_all(writer.path)[0] == small  # unsynced, through the page cache
    large = [bytes([i]) * 300_000 for i in range(1, 11)]  # 3 MB: two more fills
    for record in large:
        writer.write(frame_records([record], writer.seed, 1 << 20))
    assert len(calls) == fills + 2 and all(length == ZERO_AHEAD_BYTES or offset + length
                                           == writer.capacity for offset, length in calls[fills:])
    writer.sync()
    assert read_all(writer.path, max_record=1 << 20)[0] == small + large
    writer.seal()
    assert os.path.getsize(writer.path) == writer.offset
    records, reader = read_all(writer.path, max_record=1 << 20)
    assert records == small + large and reader.stop is None


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d[:10], "shorter than"),
    (lambda d: b"XXXXXXXX" + d[8:], "bad magic"),
    (lambda d: d[:15] + bytes([d[15] ^ 1]) + d[16:], "header checksum"),
])
def test_bad_headers_are_corruption_at_offset_zero(tmp_path, mutate, expected) -> None:
    path = write_segment(str(tmp_path), [b"r"])
    data = open(path, "rb").read()
    open(path, "wb").write(mutate(data))
    with pytest.raises(CommitLogCorruption, match=expected) as info:
        SegmentReader(path, 7, 100)
    assert info.value.offset == 0 and info.value.path == path


def test_header_id_must_match_file_name(tmp_path) -> None:
    path = write_segment(str(tmp_path), [b"r"])
    with pytest.raises(CommitLogCorruption, match="header names segment 7"):
        SegmentReader(path, 8, 100)


def test_unknown_version_or_flags_is_a_version_error(tmp_path) -> None:
    path = str(tmp_path / "CommitLog-1-7.log")
    for version, flags in ((3, 0), (0, 0), (1, 4), (2, 1)):
        body = struct.pack("<8sHHQ", b"FRSACLOG", version, flags, 7)
        open(path, "wb").write(body + struct.pack("<I", zlib.crc32(body)))
        with pytest.raises(CommitLogVersionError, match=f"version {version}"):
            SegmentReader(path, 7, 100)


def test_a_version_1_segment_is_read(tmp_path) -> None:
    path = str(tmp_path / "CommitLog-1-7.log")
    header = pack_header(7, 1)
    with open(path, "wb") as f:
        f.write(header + frame_records([b"old", b"records"], zlib.crc32(header[:-4]), 100))
    assert read_all(path)[0] == [b"old", b"records"]


def test_record_from_another_segment_fails_its_checksum(tmp_path) -> None:
    path = write_segment(str(tmp_path), [b"mine"])
    foreign = frame_records([b"theirs"], zlib.crc32(pack_header(8)[:-4]), 100)
    with open(path, "r+b") as f:
        f.seek(HEADER_SIZE + RECORD_OVERHEAD + 4)
        f.write(foreign)
    records, reader = read_all(path)
    assert records == [b"mine"]
    assert reader.stop is not None and "frame checksum" in reader.stop.reason


def test_stop_reports_extent_and_zero_tail(tmp_path) -> None:
    path = write_segment(str(tmp_path), [b"a" * 50, b"b" * 50])
    data = bytearray(open(path, "rb").read())
    second = HEADER_SIZE + RECORD_OVERHEAD + 50
    data[second + RECORD_OVERHEAD + 3] ^= 0xFF  # payload byte of the second record
    open(path, "wb").write(data)
    records, reader = read_all(path)
    assert records == [b"a" * 50]
    stop = reader.stop
    assert stop is not None
    assert (stop.offset, stop.extent, stop.tail_zero) == (second, second + RECORD_OVERHEAD + 50, True)
    assert "payload checksum" in stop.reason


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_reader_on_arbitrary_files_reads_or_raises_corruption(tmp_path_factory, blob: bytes) -> None:
    path = str(tmp_path_factory.mktemp("seg") / "CommitLog-1-7.log")
    for data in (blob, pack_header(7) + blob):
        open(path, "wb").write(data)
        try:
            reader = SegmentReader(path, 7, 200)
        except (CommitLogCorruption, CommitLogVersionError):
            continue
        ends = [end for end, _ in reader.records()]
        assert ends == sorted(ends) and all(HEADER_SIZE < e <= len(data) for e in ends)
        if reader.stop is not None:
            assert reader.stop.offset == reader.valid_end
