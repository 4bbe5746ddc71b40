from __future__ import annotations

import os

import pytest

from ferrosa.objectstore.errors import LocalDataError, PendingLogError
from ferrosa.objectstore.pending import (
    FILE_HEADER,
    NoticeId,
    NoticeWriter,
    PendingNotices,
    SegmentDiscarded,
    SSTableSealed,
    SSTablesRemoved,
    frame,
    scan,
)
from shards.sstable import delete_sstable
from tests.objectstore.conftest import TABLE, write_sstable


def test_scan_stops_at_damage_and_reports_why() -> None:
    records = frame(SegmentDiscarded("a")) + frame(SegmentDiscarded("b"))
    bodies, end, problem = scan(records, 0)
    assert len(bodies) == 2 and end == len(records) and problem is None
    bodies, end, problem = scan(records[:-1], 0)
    assert len(bodies) == 1 and "incomplete" in problem
    damaged = bytearray(records)
    damaged[-1] ^= 1
    assert "checksum" in scan(bytes(damaged), 0)[2]
    assert "exceeds" in scan(b"\xff\xff\xff\x7f\0\0\0\0", 0)[2]


def test_notices_flow_in_order_and_done_survives_restart(tmp_path) -> None:
    data = tmp_path / "data"
    write_sstable(data, 1)
    writer = NoticeWriter(tmp_path / "uploads", 3)
    a = writer.sstable_sealed(str(data), TABLE, 1, flushed_through=(5, 99))
    b = writer.sstables_removed(TABLE, [1])
    inbox = PendingNotices(tmp_path / "uploads")
    got = inbox.poll()
    assert [nid for nid, _ in got] == [a, b] == [NoticeId(3, 1, 0), NoticeId(3, 1, 1)]
    sealed = got[0][1]
    assert isinstance(sealed, SSTableSealed) and sealed.flushed_through == (5, 99)
    assert sealed.files[-1].endswith("-TOC.db") and len(sealed.files) == 7
    assert got[1][1] == SSTablesRemoved(TABLE, [1])
    assert inbox.poll() == []
    c = writer.segment_discarded("/x/CommitLog-1-4.log")
    assert inbox.poll() == [(c, SegmentDiscarded("CommitLog-1-4.log"))]
    inbox.complete(a, True)
    inbox.close()
    assert not inbox.staging_dir(a).exists()
    again = PendingNotices(tmp_path / "uploads")  # a restarted uploader
    assert [nid for nid, _ in again.poll()] == [b, c]


def test_staging_links_keep_the_bytes_after_the_shard_deletes(tmp_path) -> None:
    data = tmp_path / "data"
    write_sstable(data, 7)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    writer = NoticeWriter(tmp_path / "uploads", 0)
    nid = writer.sstable_sealed(str(data), TABLE, 7)
    writer.sstables_removed(TABLE, [7])
    delete_sstable(str(data), TABLE, 7)
    staged = PendingNotices(tmp_path / "uploads").staging_dir(nid)
    assert {p.name: p.read_bytes() for p in staged.iterdir()} == before
    segment = tmp_path / "CommitLog-1-3.log"
    segment.write_bytes(b"segment bytes")
    nid = writer.segment_closed(str(segment))
    segment.unlink()
    assert (PendingNotices(tmp_path / "uploads").staging_dir(nid) / segment.name).read_bytes() == (
        b"segment bytes")
    with pytest.raises(LocalDataError):
        writer.sstable_sealed(str(data), TABLE, 8)


def test_torn_tail_waits_in_newest_file_and_is_skipped_in_older(tmp_path) -> None:
    uploads = tmp_path / "uploads"
    writer = NoticeWriter(uploads, 0)
    first = writer.segment_discarded("CommitLog-1-1.log")
    path = writer.directory / "000000000001.log"
    record = frame(SegmentDiscarded("CommitLog-1-2.log"))
    with open(path, "ab") as handle:
        handle.write(record[:-3])  # a record being written right now
    inbox = PendingNotices(uploads)
    assert [nid for nid, _ in inbox.poll()] == [first]
    with open(path, "ab") as handle:
        handle.write(record[-3:])  # ... and finished
    assert [nid for nid, _ in inbox.poll()] == [NoticeId(0, 1, 1)]
    with open(path, "ab") as handle:
        handle.write(record[:5])  # the shard dies mid-write: torn for good
    writer.close()
    later = NoticeWriter(uploads, 0)  # the restarted shard starts file 2
    newer = later.segment_discarded("CommitLog-1-9.log")
    assert inbox.poll() == [(newer, SegmentDiscarded("CommitLog-1-9.log"))]


def test_finished_files_and_journal_are_compacted(tmp_path, monkeypatch) -> None:
    from ferrosa.objectstore import pending
    monkeypatch.setattr(pending, "NOTICE_FILE_BYTES", FILE_HEADER.size + 60)
    uploads = tmp_path / "uploads"
    writer = NoticeWriter(uploads, 2)
    ids = [writer.segment_discarded(f"CommitLog-1-{i}.log") for i in range(6)]
    assert len({nid.file for nid in ids}) >= 3  # rotated
    inbox = PendingNotices(uploads)
    assert [nid for nid, _ in inbox.poll()] == ids
    for nid in ids:
        inbox.complete(nid, True)
    inbox.close()
    remaining = sorted(os.listdir(writer.directory))
    assert remaining == [f"{writer.seq:012d}.log"]  # only the file the shard may still append to
    again = PendingNotices(uploads)
    assert again.poll() == [] and all(nid.file == writer.seq for nid in again.done)


def test_foreign_files_are_set_aside_and_work_goes_on(tmp_path) -> None:
    uploads = tmp_path / "uploads"
    writer = NoticeWriter(uploads, 0)
    first = writer.segment_discarded("CommitLog-1-1.log")
    inbox = PendingNotices(uploads)
    inbox.complete(inbox.poll()[0][0], True)
    inbox.close()
    (uploads / "journal.log").write_bytes(b"PK\x03\x04 a zip archive, not a journal")
    (writer.directory / "000000000000.log").write_bytes(b"\0" * 40)  # not a notice file
    inbox = PendingNotices(uploads)  # the journal is lost: its notices are redone
    assert [nid for nid, _ in inbox.poll()] == [first]
    assert (uploads / "journal.log.corrupt").exists()
    assert (writer.directory / "000000000000.log.corrupt").exists()
    with pytest.raises(PendingLogError, match="not a Ferrosa pending-upload file"):
        from ferrosa.objectstore.pending import KIND_JOURNAL, _check_header
        _check_header(uploads / "x", b"PK\x03\x04 a zip archive, not a journal", KIND_JOURNAL)


def test_segment_closed_notice(tmp_path) -> None:
    segment = tmp_path / "CommitLog-1-5.log"
    segment.write_bytes(b"x" * 100)
    writer = NoticeWriter(tmp_path / "uploads", 1)
    nid = writer.segment_closed(str(segment))
    [(got, notice)] = PendingNotices(tmp_path / "uploads").poll()
    assert got == nid and notice.name == segment.name and notice.closed_at > 0
