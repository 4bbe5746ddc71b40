"""Tests for commit-log replay: torn tails, corruption, bad headers and arbitrary damage."""

from __future__ import annotations

import os
import tempfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shards.commitlog import CommitLog, CommitLogSettings, Outcome, Position, ReplayReport
from shards.commitlog_segment import HEADER_SIZE, RECORD_OVERHEAD, frame_records, pack_header, segment_name
from shards.errors import CommitLogCorruption, CommitLogVersionError

SMALL = 4096


def write_log(path, batches: list[list[bytes]], segment_bytes: int = SMALL) -> list[Position]:
    log, _ = CommitLog.open(path, CommitLogSettings(sync="batch", segment_bytes=segment_bytes),
                            lambda p, b: None)
    ends = []
    for batch in batches:
        log.append(batch)
        ends.append(log.sync())
    log.close()
    return ends


def replay(path, segment_bytes: int = SMALL) -> tuple[list[tuple[Position, bytes]], ReplayReport]:
    seen: list[tuple[Position, bytes]] = []
    log, report = CommitLog.open(path, CommitLogSettings(segment_bytes=segment_bytes),
                                 lambda p, b: seen.append((p, b)))
    log.close()
    return seen, report


def recs(n: int, size: int, tag: str) -> list[bytes]:
    return [f"{tag}{i:04d}".encode().ljust(size, b"#") for i in range(n)]


def segment_path(path, segment_id: int) -> str:
    return os.path.join(path, segment_name(segment_id))


# -- torn tails -----------------------------------------------------------------------------------

@pytest.mark.parametrize("zero_rest", [False, True], ids=["truncated", "zeroed"])
def test_torn_last_record_at_every_offset_is_ignored(tmp_path, zero_rest: bool) -> None:
    source = tmp_path / "source"
    early = recs(20, 400, "early")  # fills the first segment and spills into the second
    late = recs(10, 100, "late")
    last = b"L" * 300
    ends = write_log(source, [[r] for r in early + late + [last]], segment_bytes=8192)
    tail_id = ends[-1].segment_id
    assert ends[0].segment_id != tail_id
    original = open(segment_path(source, tail_id), "rb").read()
    start, end = ends[-2].offset, ends[-1].offset
    assert end - start == RECORD_OVERHEAD + len(last)
    expected = early + late
    for cut in range(start, end):
        work = tmp_path / f"cut{cut}"
        work.mkdir()
        for name in os.listdir(source):
            data = open(source / name, "rb").read()
            if name == segment_name(tail_id):
                data = data[:cut] + (bytes(len(data) - cut) if zero_rest else b"")
            open(work / name, "wb").write(data)
        seen, report = replay(work, 8192)
        assert [b for _, b in seen] == expected, cut
        assert report.clean and report.set_aside == []
        tail = report.segments[-1]
        assert tail.outcome is (Outcome.CLEAN if cut == start else Outcome.TORN_TAIL)
        assert tail.valid_end == start
        if cut > start:
            assert os.path.getsize(work / segment_name(tail_id)) == start  # torn bytes cut off
    assert len(original) == 8192


def test_after_a_torn_tail_later_starts_are_clean(tmp_path, caplog) -> None:
    ends = write_log(tmp_path, [recs(3, 100, "a"), recs(2, 100, "b")])
    path = segment_path(tmp_path, ends[-1].segment_id)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: ends[-1].offset - 5])
    with caplog.at_level("WARNING", logger="shards.commitlog"):
        seen, report = replay(tmp_path)
    assert len(seen) == 4 and report.segments[-1].outcome is Outcome.TORN_TAIL
    assert report.segments[-1].skipped_bytes == RECORD_OVERHEAD + 100 - 5
    assert f"ignoring torn tail at offset {ends[-1].offset - RECORD_OVERHEAD - 100}" in caplog.text
    assert "1 torn tail(s) ignored, 0 file(s) set aside" in report.summary()
    # A new segment is now the last one; the repaired segment must read cleanly.
    log, _ = CommitLog.open(tmp_path, CommitLogSettings(sync="batch", segment_bytes=SMALL),
                            lambda p, b: None)
    log.append([b"new"])
    log.sync()
    log.close()
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == recs(3, 100, "a") + recs(1, 100, "b") + [b"new"]
    assert all(s.outcome is Outcome.CLEAN for s in report.segments)


# -- corruption -----------------------------------------------------------------------------------

def three_segments(path) -> tuple[list[Position], list[bytes]]:
    records = recs(21, 500, "r")  # 7 records of 512 framed bytes per 4 KiB segment
    ends = write_log(path, [[r] for r in records])
    assert len({e.segment_id for e in ends}) == 3
    return ends, records


def flip(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x40]))


def test_mid_segment_corruption_sets_the_file_aside_and_replay_goes_on(tmp_path) -> None:
    ends, records = three_segments(tmp_path)
    middle = ends[7].segment_id
    bad_start = ends[9].offset  # record 10 starts where record 9 ends
    path = segment_path(tmp_path, middle)
    flip(path, bad_start + RECORD_OVERHEAD + 100)
    damaged = open(path, "rb").read()
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == records[:10] + records[14:]
    assert not report.clean
    [aside] = report.set_aside
    assert (aside.path, aside.moved_to, aside.offset, aside.kept_records) == (
        path, path + ".corrupt", bad_start, 3)
    assert "payload checksum" in aside.reason
    [error] = report.corruptions()
    assert isinstance(error, CommitLogCorruption) and str(bad_start) in str(error)
    assert [s.outcome for s in report.segments] == [Outcome.CLEAN, Outcome.CORRUPT, Outcome.CLEAN]
    assert report.segments[1].skipped_bytes == ends[13].offset - bad_start  # 4 records lost
    assert open(path + ".corrupt", "rb").read() == damaged  # the evidence is kept whole
    assert os.path.getsize(path) == bad_start
    # The repaired log replays the same records cleanly next time; nothing is set aside twice.
    seen_again, report_again = replay(tmp_path)
    assert seen_again == seen and report_again.clean


def test_damaged_length_in_last_segment_followed_by_records_is_corruption(tmp_path) -> None:
    ends, records = three_segments(tmp_path)
    last = ends[-1].segment_id
    flip(segment_path(tmp_path, last), ends[15].offset + 1)  # length field of record 17
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == records[:16]
    [aside] = report.set_aside
    assert aside.offset == ends[15].offset and "frame checksum" in aside.reason
    assert "non-zero bytes" in aside.reason


def test_damaged_last_record_of_an_older_segment_is_corruption_not_torn(tmp_path) -> None:
    ends, records = three_segments(tmp_path)
    first = ends[0].segment_id
    flip(segment_path(tmp_path, first), ends[6].offset - 1)  # last payload byte of record 7
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == records[:6] + records[7:]
    [aside] = report.set_aside
    assert aside.kept_records == 6 and "synced whole" in aside.reason


def test_corrupt_first_record_renames_the_file_aside(tmp_path) -> None:
    ends, records = three_segments(tmp_path)
    middle = ends[7].segment_id
    path = segment_path(tmp_path, middle)
    flip(path, HEADER_SIZE + RECORD_OVERHEAD)
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == records[:7] + records[14:]
    assert not os.path.exists(path) and os.path.exists(path + ".corrupt")
    assert report.set_aside[0].kept_records == 0


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_bad_header_sets_the_segment_aside(tmp_path, damage: str) -> None:
    ends, records = three_segments(tmp_path)
    middle = ends[7].segment_id
    path = segment_path(tmp_path, middle)
    if damage == "flip":
        flip(path, 13)
    else:
        os.truncate(path, 10)
    seen, report = replay(tmp_path)
    assert [b for _, b in seen] == records[:7] + records[14:]
    [aside] = report.set_aside
    assert aside.moved_to == path + ".corrupt" and aside.offset == 0
    assert report.segments[1].outcome is Outcome.BAD_HEADER
    assert not os.path.exists(path)


def test_set_aside_names_never_overwrite_earlier_evidence(tmp_path) -> None:
    ends, _ = three_segments(tmp_path)
    path = segment_path(tmp_path, ends[-1].segment_id)
    open(path + ".corrupt", "wb").write(b"older evidence")
    flip(path, 13)
    _, report = replay(tmp_path)
    assert report.set_aside[0].moved_to == path + ".corrupt.1"
    assert open(path + ".corrupt", "rb").read() == b"older evidence"


# -- directory contents ---------------------------------------------------------------------------

def test_unfinished_segment_creation_is_removed(tmp_path) -> None:
    write_log(tmp_path, [[b"a"]])
    temp = tmp_path / "CommitLog-1-99999999999999999.log.tmp"
    temp.write_bytes(b"\0" * 10)
    (tmp_path / "README").write_text("not ours")
    log, report = CommitLog.open(tmp_path, None, lambda p, b: None)
    assert report.removed_temporary == [str(temp)] and report.records == 1
    assert not temp.exists() and (tmp_path / "README").exists()
    # The id of the unfinished file is never reused.
    assert log.append([b"b"]).segment_id > 99999999999999999


def test_segment_of_another_format_version_refuses_to_start(tmp_path) -> None:
    (tmp_path / "CommitLog-3-5.log").write_bytes(b"from the future")
    with pytest.raises(CommitLogVersionError, match="version 3; this build reads versions 1, 2"):
        CommitLog.open(tmp_path, None, lambda p, b: None)


# -- arbitrary damage (hypothesis) ----------------------------------------------------------------

def build_segment(directory: str, segment_id: int, pieces: list[tuple[bool, bytes]]) -> list[bytes]:
    """Write a segment from (valid?, bytes) pieces; returns the records of the valid prefix."""
    header = pack_header(segment_id)
    seed = zlib.crc32(header[:-4])
    body, prefix, intact = [], [], True
    for valid, payload in pieces:
        if valid:
            body.append(frame_records([payload], seed, SMALL // 2))
            if intact:
                prefix.append(payload)
        else:
            body.append(payload)
            intact = False
    with open(os.path.join(directory, segment_name(segment_id)), "wb") as f:
        f.write(header + b"".join(body))
    return prefix


piece = st.one_of(
    st.tuples(st.just(True), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just(False), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just(False), st.integers(1, 64).map(bytes)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(piece, max_size=8), followed=st.booleans())
def test_replay_of_arbitrary_bytes_after_a_valid_header(pieces, followed: bool) -> None:
    with tempfile.TemporaryDirectory() as directory:
        prefix = build_segment(directory, 10, pieces)
        if followed:
            build_segment(directory, 11, [(True, b"later")])
        seen, report = replay(directory)
        first = [b for p, b in seen if p.segment_id == 10]
        assert first == prefix  # exactly the valid prefix, never an invented record
        assert [b for p, b in seen if p.segment_id == 11] == ([b"later"] if followed else [])
        outcome = report.segments[0].outcome
        assert outcome in (Outcome.CLEAN, Outcome.TORN_TAIL, Outcome.CORRUPT)
        assert (outcome is Outcome.CORRUPT) == bool(report.set_aside)
        if followed:
            assert outcome is not Outcome.TORN_TAIL  # only the newest segment can be torn
