"""Commit-log replay at shard start: read every segment in order, classify and repair what stops early.

What it is: `replay_directory` lists a commit-log directory, feeds each valid record to the caller's
`apply(position, payload)` in log order, decides for every segment that does not end cleanly
whether it has a torn tail or is corrupt, repairs the files accordingly and returns a ReplayReport
plus the live segments the commit log keeps tracking. Used only by CommitLog.replay.

What it must NOT do: write records, create segments or decide sync policy (shards/commitlog.py);
parse the byte format itself (shards/commitlog_segment.py); raise for damaged data (damage goes in
the report; only an unreadable directory or a segment of another format version raises).

Theory of operation: the torn-tail rule
- Every segment but the newest was fdatasynced whole before the next one was created, and every
  final-named file got a synced header before its rename. So damage anywhere except in the newest
  segment, and any damaged header, cannot come from a crash: it is corruption.
- In the newest segment a crash can leave the unsynced tail of the last write(s) partly on disk.
  The writer keeps the file zero-filled ahead of its offset, so what follows real data is zeros
  (or EOF). Reading stops at offset X with a damaged record whose known extent ends at T (the end of
  its frame when the frame checksum held, else X + 12). The damage is a TORN TAIL iff the segment is
  the newest and every byte from T to EOF is zero (T at or past EOF included: a short read). Then
  the records before X are replayed, the file is truncated to X and fsynced (so a later start, when
  this segment is no longer the newest, reads a clean end) and a warning is logged.
- Anything else is CORRUPTION at X: the records before X are replayed and kept, the original file
  is copied to `<name>.corrupt` (renamed instead when no record precedes X), the live file is
  truncated to X, and the report lists it; replay goes on with the next segment.
- Limitation, by design conservative: a crash that persisted a later page of an unsynced write but
  not an earlier one leaves non-zero bytes after the damage and is reported as corruption. Nothing
  acknowledged is lost by that (batch and group modes acknowledge only synced writes; periodic
  mode accepts losing unsynced ones), it costs a false alarm and a `.corrupt` file to inspect.
"""

from __future__ import annotations

import enum
import logging
import os
from typing import Callable, Hashable, Iterable

import msgspec

from shards.commitlog_segment import (
    CORRUPT_SUFFIX,
    READABLE_VERSIONS,
    TEMP_SUFFIX,
    Position,
    SegmentReader,
    fsync_directory,
    parse_segment_name,
)
from shards.errors import CommitLogCorruption, CommitLogVersionError

log = logging.getLogger("shards.commitlog")

# The "any table" key recorded when the caller does not say which tables a record touched; only
# CommitLog.discard_through (which cleans every table) removes it.
ALL_TABLES: tuple[Hashable, ...] = (None,)

ReplayCallback = Callable[[Position, bytes], "Iterable[Hashable] | None"]


class Outcome(str, enum.Enum):
    CLEAN = "clean"
    TORN_TAIL = "torn_tail"
    CORRUPT = "corrupt"
    BAD_HEADER = "bad_header"


class SegmentReplay(msgspec.Struct, frozen=True):
    path: str
    segment_id: int
    records: int
    valid_end: int  # offset after the last replayed record
    outcome: Outcome
    detail: str = ""
    skipped_bytes: int = 0  # bytes between valid_end and the last non-zero byte: not replayed


class SetAside(msgspec.Struct, frozen=True):
    path: str
    moved_to: str
    offset: int  # where the damage starts
    reason: str
    kept_records: int  # records before the damage: replayed and kept in `path`

    def error(self) -> CommitLogCorruption:
        return CommitLogCorruption(self.path, self.offset, self.reason)


class ReplayReport(msgspec.Struct):
    """What replay did, for the node to log (and later to show in ferrosa-ctl)."""

    segments: list[SegmentReplay] = msgspec.field(default_factory=list)
    set_aside: list[SetAside] = msgspec.field(default_factory=list)
    removed_temporary: list[str] = msgspec.field(default_factory=list)
    records: int = 0

    @property
    def clean(self) -> bool:
        return not self.set_aside

    def corruptions(self) -> list[CommitLogCorruption]:
        return [item.error() for item in self.set_aside]

    def summary(self) -> str:
        torn = sum(1 for s in self.segments if s.outcome is Outcome.TORN_TAIL)
        return (f"commit log replay: {self.records} records from {len(self.segments)} segments, "
                f"{torn} torn tail(s) ignored, {len(self.set_aside)} file(s) set aside, "
                f"{len(self.removed_temporary)} unfinished segment(s) removed")


class LiveSegment(msgspec.Struct):
    """A replayed segment that still holds records: the commit log tracks it until discarded."""

    segment_id: int
    path: str
    end: int
    dirty: dict[Hashable, int]  # table -> end offset of its last record here


class ReplayResult(msgspec.Struct):
    report: ReplayReport
    live: list[LiveSegment]
    highest_id: int  # highest segment id ever seen here (live, corrupt or unfinished)


def replay_directory(directory: str, max_record: int, apply: ReplayCallback) -> ReplayResult:
    report = ReplayReport()
    found, highest = _list_segments(directory, report)
    live: list[LiveSegment] = []
    last_id = found[-1][0] if found else None
    for segment_id, path in found:
        segment = _replay_segment(segment_id, path, segment_id == last_id, max_record, apply, report)
        if segment is not None:
            live.append(segment)
    if report.removed_temporary or report.set_aside or len(live) < len(found):
        fsync_directory(directory)  # files were removed, renamed or copied aside
    log.info("%s", report.summary())
    return ReplayResult(report, live, highest)


def _list_segments(directory: str, report: ReplayReport) -> tuple[list[tuple[int, str]], int]:
    found: list[tuple[int, str]] = []
    highest = 0
    for name in os.listdir(directory):
        base, dot, suffix = name.partition(".log")
        parsed = parse_segment_name(base + dot)
        if parsed is None:
            continue
        version, segment_id = parsed
        highest = max(highest, segment_id)
        path = os.path.join(directory, name)
        if suffix == "":
            if version not in READABLE_VERSIONS:
                raise CommitLogVersionError(path, version, READABLE_VERSIONS)
            found.append((segment_id, path))
        elif suffix == TEMP_SUFFIX:
            os.unlink(path)
            report.removed_temporary.append(path)
            log.info("removed %s: a segment whose creation did not finish", path)
    found.sort()
    return found, highest


def _replay_segment(segment_id: int, path: str, is_last: bool, max_record: int,
                    apply: ReplayCallback, report: ReplayReport) -> LiveSegment | None:
    try:
        reader = SegmentReader(path, segment_id, max_record)
    except CommitLogCorruption as exc:
        moved = _move_aside(path)
        report.segments.append(SegmentReplay(path, segment_id, 0, 0, Outcome.BAD_HEADER, exc.reason))
        report.set_aside.append(SetAside(path, moved, exc.offset, exc.reason, 0))
        log.error("%s; renamed to %s", exc, moved)
        return None
    dirty: dict[Hashable, int] = {}
    count = 0
    for end, payload in reader.records():
        tables = apply(Position(segment_id, end), payload)
        for table in ALL_TABLES if tables is None else tables:
            dirty[table] = end
        count += 1
    report.records += count
    skipped = _skipped_bytes(reader)
    outcome, detail = _settle(reader, is_last, count, skipped, report)
    report.segments.append(SegmentReplay(path, segment_id, count, reader.valid_end, outcome, detail,
                                         skipped))
    if not count:
        if outcome is not Outcome.CORRUPT:
            os.unlink(path)  # holds no record
        return None
    # What was replayed may have come from the page cache of a killed process: make it durable
    # before memtables built from it are flushed or answer reads.
    _fsync_file(path)
    return LiveSegment(segment_id, path, reader.valid_end, dirty)


def _skipped_bytes(reader: SegmentReader) -> int:
    if reader.stop is None:
        return 0
    return max(0, len(reader.data.rstrip(b"\0")) - reader.valid_end)


def _settle(reader: SegmentReader, is_last: bool, count: int, skipped: int,
            report: ReplayReport) -> tuple[Outcome, str]:
    """Classify how reading stopped and repair the file to match (see the torn-tail rule)."""
    stop = reader.stop
    if stop is None:
        return Outcome.CLEAN, ""
    path = reader.path
    if is_last and stop.tail_zero:
        log.warning("commit log %s: ignoring torn tail at offset %d (%s); %d bytes cut off",
                    path, stop.offset, stop.reason, skipped)
        _truncate(path, reader.valid_end)
        return Outcome.TORN_TAIL, f"offset {stop.offset}: {stop.reason}"
    if is_last:
        reason = f"{stop.reason}, followed by non-zero bytes after offset {stop.extent}"
    else:
        reason = f"{stop.reason}, in a segment synced whole before the next one began"
    if count:
        moved = _copy_aside(reader)
        _truncate(path, reader.valid_end)
    else:
        moved = _move_aside(path)
    report.set_aside.append(SetAside(path, moved, stop.offset, reason, count))
    log.error("%s; original saved as %s; the %d records before it were replayed, %d bytes after "
              "it were not", CommitLogCorruption(path, stop.offset, reason), moved, count, skipped)
    return Outcome.CORRUPT, f"offset {stop.offset}: {reason}"


def _aside_name(path: str) -> str:
    candidate, n = path + CORRUPT_SUFFIX, 1
    while os.path.exists(candidate):
        candidate, n = f"{path}{CORRUPT_SUFFIX}.{n}", n + 1
    return candidate


def _move_aside(path: str) -> str:
    moved = _aside_name(path)
    os.rename(path, moved)
    return moved


def _copy_aside(reader: SegmentReader) -> str:
    moved = _aside_name(reader.path)
    with open(moved, "xb") as f:
        f.write(reader.data)
        f.flush()
        os.fsync(f.fileno())
    return moved


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _truncate(path: str, size: int) -> None:
    """Cut a segment at `size` durably, so the next start reads a clean end there."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)

