"""The per-shard commit log: durable, ordered record appends with Cassandra's three sync modes.

What it is: the write-ahead log one shard process owns. `append` frames a batch of opaque records
(the shard's msgspec-encoded mutation batches) into one copy into the active segment's memory map
(shards/commitlog_segment.py's SegmentWriter) and returns the Position the batch ends at;
`sync`/`maybe_sync` fdatasync it under the configured mode; `replay` reads everything back at
start; `mark_flushed`/`discard_through` delete segments whose data every memtable has flushed.
The file format lives in shards/commitlog_segment.py.

What it must NOT do: use asyncio (the shard's loop polls `next_deadline`), run anything off the
caller's thread but an fdatasync (periodic mode's sync thread) and the deletion of discarded
segments (the shard's sync thread for file system calls, shards/sstable/syncthread.py), look
inside records, or share a directory with another shard (one writer per directory, no locks).

Theory of operation (docs/commitlog.md has the long form)
- Positions are (segment_id, end offset of a batch); tuple order is log order. A record is durable
  once `synced_position` >= its position. Segment ids grow forever, across restarts too.
- Sync modes, as Cassandra's commitlog_sync. A write becomes "dirty" at append; `next_deadline()`
  says when the loop must call `maybe_sync(now)`:
    periodic: deadline = first dirty append + sync_period; replies go out at once (ack_position is
              the written position), so up to one period of acknowledged writes can be lost. The
              fdatasync runs on a thread of its own (as Cassandra's periodic sync service), so
              the loop keeps serving while the disk works; synced_position moves when the loop
              next calls maybe_sync after it finished. A sync also starts once the active
              segment holds SYNC_AHEAD_BYTES unsynced, so a rotation's inline sync stays short.
    batch:    deadline = now; the loop appends everything it drained in one pass, calls sync() once
              and only then replies (ack_position is synced_position).
    group:    deadline = max(first dirty append, last sync + window): at most one fsync per window,
              replies held until synced_position covers them (AckQueue).
  Rotating to a new segment always fdatasyncs the old one first, so only the newest segment can
  ever hold unsynced bytes.
- Replay (shards/commitlog_replay.py has the torn-tail rule): damage at the zero-filled end of the
  newest segment is a torn tail, cut off with a log line; any other damage is corruption, reported,
  with the original file set aside as `<name>.corrupt` and the valid records before it kept.
- Discard. Each segment maps table -> end offset of its last record for that table ("dirty
  tables"). mark_flushed(table, p) removes the table from segments wholly at or before p;
  discard_through(p) does so for every table. A non-active segment with no dirty table leaves
  the log at once and is deleted on the shard's sync thread: unlinking a full 32 MiB segment took
  the shard's loop 3-4 ms of CPU and 11 ms in all here (the filesystem frees its blocks), a
  stall for every request waiting at the end of a flush. Replay after a crash meanwhile finds
  the segment again, as it would have before its unlink: its records are flushed already.
- Hooks (the object-store archive): `on_closed(path)` runs once a segment is sealed (synced,
  trimmed to its last record, closed) and before it can be deleted; `on_discarded(path)` runs
  after a segment was deleted (called from maybe_sync or close, on the caller's thread). A
  segment is sealed when full, by `seal_active()` (the shard closes a segment that has held
  writes for the archive interval), and segments found at start are all sealed
  (`sealed_paths()`): appends after a restart go to a new segment.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generic, Hashable, Iterable, Mapping, Sequence, TypeVar

import msgspec

from shards.commitlog_replay import (
    ALL_TABLES,
    Outcome,
    ReplayCallback,
    ReplayReport,
    SegmentReplay,
    SetAside,
    replay_directory,
)
from shards.commitlog_segment import (
    HEADER_SIZE,
    RECORD_OVERHEAD,
    Position,
    Record,
    SegmentWriter,
    frame_records,
    fsync_directory,
    segment_name,
)
from shards.errors import CommitLogIOError, CommitLogSettingsError, CommitLogStateError
from shards.sstable.syncthread import sync_thread

__all__ = [
    "ALL_TABLES", "AckQueue", "CommitLog", "CommitLogSettings", "Outcome", "Position",
    "ReplayCallback", "ReplayReport", "SegmentReplay", "SetAside", "settings_from_env",
]

log = logging.getLogger("shards.commitlog")

MiB = 1 << 20
# Cassandra's shipped cassandra.yaml: commitlog_sync_period: 10000ms.
DEFAULT_SYNC_PERIOD_MS = 10_000
# Periodic mode: unsynced bytes in the active segment that start a background sync before the
# period is over. A rotation syncs the full segment inline, on the shard's loop: without this,
# up to a whole 32 MiB segment (tens of milliseconds of fdatasync here, every request of the
# shard waiting). 4 MiB keeps that inline sync to a few milliseconds.
SYNC_AHEAD_BYTES = 4 << 20
# Cassandra has no built-in group window (Config: 0ms; group mode refuses to start without one);
# cassandra.yaml documents `# commitlog_sync_group_window: 1000ms`, which we take as the default.
DEFAULT_GROUP_WINDOW_MS = 1_000
# Cassandra's commitlog_segment_size: 32MiB.
DEFAULT_SEGMENT_BYTES = 32 * MiB
# One page: smaller segments would rotate on every batch (tests use this size to force rotation).
MIN_SEGMENT_BYTES = 4096
# Cassandra requires commitlog_segment_size < 2048 MiB; we keep the same ceiling.
MAX_SEGMENT_BYTES = 2048 * MiB - 1
# A period or window beyond an hour is a configuration mistake, not a durability policy.
MAX_SYNC_INTERVAL_MS = 3_600_000
# Largest record = segment_bytes // this (Cassandra's max_mutation_size default: half a segment),
# which guarantees any record fits an empty segment.
MAX_RECORD_DIVISOR = 2

SYNC_MODES = ("periodic", "batch", "group")


class CommitLogSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How one shard's commit log syncs and sizes its segments (the FERROSA_COMMITLOG_* settings)."""

    sync: str = "periodic"  # FERROSA_COMMITLOG_SYNC: periodic | batch | group
    sync_period_ms: int = DEFAULT_SYNC_PERIOD_MS  # FERROSA_COMMITLOG_SYNC_PERIOD_MS (periodic)
    sync_group_window_ms: int = DEFAULT_GROUP_WINDOW_MS  # FERROSA_COMMITLOG_SYNC_GROUP_WINDOW_MS
    segment_bytes: int = DEFAULT_SEGMENT_BYTES  # FERROSA_COMMITLOG_SEGMENT_BYTES

    def __post_init__(self) -> None:
        if self.sync not in SYNC_MODES:
            raise CommitLogSettingsError(f"commit log sync mode must be one of {', '.join(SYNC_MODES)},"
                                         f" got {self.sync!r}")
        for name in ("sync_period_ms", "sync_group_window_ms"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_SYNC_INTERVAL_MS:
                raise CommitLogSettingsError(f"{name} must be 1..{MAX_SYNC_INTERVAL_MS}, got {value}")
        if not MIN_SEGMENT_BYTES <= self.segment_bytes <= MAX_SEGMENT_BYTES:
            raise CommitLogSettingsError(f"segment_bytes must be {MIN_SEGMENT_BYTES}.."
                                         f"{MAX_SEGMENT_BYTES}, got {self.segment_bytes}")

    @property
    def max_record(self) -> int:
        return self.segment_bytes // MAX_RECORD_DIVISOR


# Environment variable -> CommitLogSettings field (all but `sync` are integers).
SETTINGS_ENV: Mapping[str, str] = {
    "FERROSA_COMMITLOG_SYNC": "sync",
    "FERROSA_COMMITLOG_SYNC_PERIOD_MS": "sync_period_ms",
    "FERROSA_COMMITLOG_SYNC_GROUP_WINDOW_MS": "sync_group_window_ms",
    "FERROSA_COMMITLOG_SEGMENT_BYTES": "segment_bytes",
}


def settings_from_env(environ: Mapping[str, str]) -> CommitLogSettings:
    fields: dict[str, str | int] = {}
    for name, field in SETTINGS_ENV.items():
        text = environ.get(name, "").strip()
        if not text:
            continue
        if field == "sync":
            fields[field] = text.lower()
        else:
            try:
                fields[field] = int(text)
            except ValueError:
                raise CommitLogSettingsError(f"{name} must be an integer, got {text!r}") from None
    return CommitLogSettings(**fields)  # type: ignore[arg-type]


ZERO_POSITION = Position(0, 0)


class _Segment:
    """Bookkeeping for one live segment: where its data ends and which tables it holds unflushed."""

    __slots__ = ("segment_id", "path", "end", "dirty")

    def __init__(self, segment_id: int, path: str, end: int) -> None:
        self.segment_id = segment_id
        self.path = path
        self.end = end
        self.dirty: dict[Hashable, int] = {}


class CommitLog:
    """One shard's commit log in `directory`. Call replay() once, then append/sync; close() at exit."""

    def __init__(self, directory: str | os.PathLike[str],
                 settings: CommitLogSettings | None = None) -> None:
        self.directory = os.fspath(directory)
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory)
            # Otherwise a power cut could take the new directory, and the segments synced in it.
            fsync_directory(os.path.dirname(os.path.abspath(self.directory)))
        self.settings = settings or CommitLogSettings()
        self._max_record = self.settings.max_record
        self._segments: dict[int, _Segment] = {}  # by id, in id order
        self._active: SegmentWriter | None = None
        self._active_segment: _Segment | None = None
        self._next_id = 0
        self._state = "new"  # new -> open (after replay) -> closed
        self._failed: CommitLogIOError | None = None
        self._written = ZERO_POSITION
        self._synced = ZERO_POSITION
        self._dirty_since: float | None = None  # monotonic time of the first unsynced append
        self._last_sync = -math.inf  # so the first group-mode write after idle syncs at once
        self._period = self.settings.sync_period_ms / 1000
        self._window = self.settings.sync_group_window_ms / 1000
        self._deadline = _DEADLINES[self.settings.sync]
        self._acks_wait = self.settings.sync != "periodic"
        self._active_since: float | None = None  # monotonic time of the active segment's 1st write
        # Periodic mode (`_background`) syncs on a thread, started at its first sync; batch and
        # group modes sync inline, their replies wait for the sync anyway. The sync in flight
        # (its future, the position it covers, the writer) and the bytes appended since the
        # last sync started.
        self._syncer: ThreadPoolExecutor | None = None
        self._background = self.settings.sync == "periodic"
        self._in_flight: tuple[Future, Position, SegmentWriter] | None = None
        self._unsynced_bytes = 0
        # Discarded segments being deleted, oldest first: the deletion's future and the paths.
        self._deleting: deque[tuple[Future, list[str]]] = deque()
        self.on_closed: Callable[[str], None] = _ignore
        self.on_discarded: Callable[[str], None] = _ignore

    @classmethod
    def open(cls, directory: str | os.PathLike[str], settings: CommitLogSettings | None,
             apply: ReplayCallback) -> tuple[CommitLog, ReplayReport]:
        commitlog = cls(directory, settings)
        return commitlog, commitlog.replay(apply)

    # -- positions and deadlines -----------------------------------------------------------------

    @property
    def written_position(self) -> Position:
        return self._written

    @property
    def synced_position(self) -> Position:
        return self._synced

    @property
    def ack_position(self) -> Position:
        """Replies for writes at or before this position may be sent (depends on the sync mode)."""
        return self._synced if self._acks_wait else self._written

    @property
    def segment_ids(self) -> list[int]:
        return list(self._segments)

    def next_deadline(self) -> float | None:
        """Monotonic time by which maybe_sync must be called; None while nothing awaits a sync."""
        if self._dirty_since is None:
            return None
        return self._deadline(self)

    def needs_sync(self, now: float) -> bool:
        return self._dirty_since is not None and now >= self._deadline(self)

    def maybe_sync(self, now: float) -> bool:
        """Sync if the mode's deadline has come; returns whether an fdatasync happened (in
        periodic mode: started on the sync thread). Also takes the result of a finished
        background sync: its failure is raised here, as an inline sync's would be. So are the
        deletions of discarded segments (`finish_deletions`)."""
        if self._in_flight is not None:
            self._reap(wait=False)
        if self._deleting:
            self.finish_deletions(wait=False)
        if self._dirty_since is None:
            return False
        if self._background:
            if self._in_flight is not None or (now < self._deadline(self)
                                               and self._unsynced_bytes < SYNC_AHEAD_BYTES):
                return False
            self._start_background_sync(now)
            return True
        if now < self._deadline(self):
            return False
        self.sync(now)
        return True

    def _start_background_sync(self, now: float) -> None:
        writer = self._active
        if self._failed is not None:
            raise self._refuse()
        if writer is None or self._written <= self._synced:
            self._synced = self._written
        else:
            if self._syncer is None:
                self._syncer = ThreadPoolExecutor(1, thread_name_prefix="commitlog-sync")
            self._in_flight = (self._syncer.submit(writer.sync), self._written, writer)
        self._dirty_since = None
        self._unsynced_bytes = 0
        self._last_sync = now

    def _reap(self, wait: bool) -> None:
        """Take the background sync's outcome once it has finished (or wait for it)."""
        future, target, writer = self._in_flight  # type: ignore[misc]
        if not wait and not future.done():
            return
        self._in_flight = None
        try:
            future.result()
        except OSError as exc:
            raise self._fail("fdatasync", writer.path, exc) from exc
        if target > self._synced:
            self._synced = target

    def _periodic_deadline(self) -> float:
        return self._dirty_since + self._period  # type: ignore[operator]

    def _batch_deadline(self) -> float:
        return self._dirty_since  # type: ignore[return-value]

    def _group_deadline(self) -> float:
        return max(self._dirty_since, self._last_sync + self._window)  # type: ignore[type-var]

    # -- appending and syncing -------------------------------------------------------------------

    def append(self, records: Sequence[Record], tables: Iterable[Hashable] = ALL_TABLES,
               now: float | None = None) -> Position:
        """Write `records` (one copy into the segment) and return the position the batch ends at.

        `tables`: the tables this batch dirties (for mark_flushed); `now`: monotonic time, for tests.
        Nothing is synced here: follow the mode's contract (see the module docstring).
        """
        if not isinstance(records, (list, tuple)):
            records = list(records)  # the spill path walks the batch a second time
        writer = self._active
        if writer is None:
            writer = self._open_segment()
        data = frame_records(records, writer.seed, self._max_record)
        if not data:
            return self._written
        if writer.offset + len(data) > writer.capacity:
            return self._append_spilling(records, tables, now)
        return self._write(writer, data, tables, now)

    def _write(self, writer: SegmentWriter, data: bytes, tables: Iterable[Hashable],
               now: float | None) -> Position:
        try:
            end = writer.write(data)
        except OSError as exc:
            raise self._fail("write", writer.path, exc) from exc
        segment = self._active_segment
        segment.end = end  # type: ignore[union-attr]
        dirty = segment.dirty  # type: ignore[union-attr]
        for table in tables:
            dirty[table] = end
        if self._dirty_since is None:
            self._dirty_since = time.monotonic() if now is None else now
        self._unsynced_bytes += len(data)
        if self._active_since is None:
            self._active_since = self._dirty_since
        position = self._written = Position(writer.segment_id, end)
        return position

    def _append_spilling(self, records: Sequence[Record], tables: Iterable[Hashable],
                         now: float | None) -> Position:
        """The rare batch that does not fit the active segment: split it at record boundaries."""
        records = list(records)
        tables = tuple(tables)
        position = self._written
        start = 0
        while start < len(records):
            writer = self._active or self._open_segment()
            room = writer.capacity - writer.offset
            stop = start
            while stop < len(records) and len(records[stop]) + RECORD_OVERHEAD <= room:
                room -= len(records[stop]) + RECORD_OVERHEAD
                stop += 1
            if stop == start:
                self._rotate(now)
                continue
            data = frame_records(records[start:stop], writer.seed, self._max_record)
            position = self._write(writer, data, tables, now)
            start = stop
        return position

    def sync(self, now: float | None = None) -> Position:
        """fdatasync the active segment if anything is unsynced; returns synced_position.
        Inline: a background sync in flight is waited for first (it may hold the same fd)."""
        if self._in_flight is not None:
            self._reap(wait=True)
        if self._failed is not None:
            raise self._refuse()
        if self._written > self._synced and self._active is not None:
            try:
                self._active.sync()
            except OSError as exc:
                raise self._fail("fdatasync", self._active.path, exc) from exc
        self._synced = self._written
        self._dirty_since = None
        self._unsynced_bytes = 0
        self._last_sync = time.monotonic() if now is None else now
        return self._synced

    def _rotate(self, now: float | None) -> None:
        """Close the full active segment (synced first: only the newest may hold unsynced bytes)."""
        self._seal(now)
        self._open_segment()

    def _seal(self, now: float | None) -> None:
        writer = self._active
        if writer is None:
            return
        self.sync(now)
        try:
            writer.seal()
        except OSError as exc:
            raise self._fail("sealing", writer.path, exc) from exc
        self._active = None
        self._active_segment = None
        self._active_since = None
        self.on_closed(writer.path)
        self._collect()

    def active_age(self, now: float) -> float | None:
        """Seconds since the active segment's first write; None when it holds none."""
        return None if self._active_since is None else now - self._active_since

    def seal_active(self, now: float | None = None) -> None:
        """Close the active segment early if it holds records (the next append opens a new one).
        A failed log does nothing: it accepts no writes, and its segments stay for replay."""
        if self._active_since is not None and self._failed is None:
            self._seal(now)

    def sealed_paths(self) -> list[str]:
        """Paths of the live segments that take no more appends, oldest first."""
        return [s.path for s in self._segments.values() if s is not self._active_segment]

    def oldest_dirty(self) -> tuple[int, list[Hashable]] | None:
        """(id, unflushed tables) of the oldest live segment; None when there is none."""
        for segment in self._segments.values():
            return segment.segment_id, list(segment.dirty)
        return None

    @property
    def live_segments(self) -> int:
        return len(self._segments)

    def _open_segment(self) -> SegmentWriter:
        if self._state != "open":
            raise CommitLogStateError("commit log is closed" if self._state == "closed"
                                      else "commit log replay() must run before the first append")
        if self._failed is not None:
            raise self._refuse()
        segment_id = self._next_id
        try:
            writer = SegmentWriter.create(self.directory, segment_id, self.settings.segment_bytes)
        except OSError as exc:
            path = os.path.join(self.directory, segment_name(segment_id))
            raise self._fail("creation", path, exc) from exc
        self._next_id = segment_id + 1
        self._active = writer
        self._active_segment = self._segments[segment_id] = _Segment(segment_id, writer.path,
                                                                       HEADER_SIZE)
        return writer

    def _fail(self, what: str, path: str, exc: OSError) -> CommitLogIOError:
        error = CommitLogIOError(f"commit log {what} of {path} failed: {exc}")
        self._failed = error
        if self._in_flight is not None:  # it may be syncing the fd about to be closed
            earlier = self._in_flight[0].exception()  # waits for it to end
            self._in_flight = None
            if earlier is not None:  # the failure being raised is the one reported
                log.error("commit log background fdatasync failed too: %s", earlier)
        if self._active is not None:
            self._active.close()
            self._active = None
        log.error("%s; refusing further appends and syncs", error)
        return error

    def _refuse(self) -> CommitLogIOError:
        return CommitLogIOError(f"commit log failed earlier and accepts no more writes: {self._failed}")

    def close(self) -> None:
        """Sync what is written and close the active segment (it stays on disk for replay)."""
        if self._state == "closed":
            return
        try:
            if self._active is not None and self._failed is None:
                self.sync()
                self._active.close()
            self.finish_deletions()
        finally:
            self._active = None
            self._state = "closed"
            if self._syncer is not None:
                self._syncer.shutdown(wait=True)
                self._syncer = None

    # -- releasing segments ----------------------------------------------------------------------

    def mark_flushed(self, table: Hashable, through: Position) -> list[str]:
        """`table` has flushed every record at or before `through`; returns the paths of the
        segments this discards (deleted on the sync thread)."""
        for segment in self._segments.values():
            if segment.segment_id > through.segment_id:
                break
            last = segment.dirty.get(table)
            if last is not None and (segment.segment_id < through.segment_id
                                     or last <= through.offset):
                del segment.dirty[table]
        return self._collect()

    def discard_through(self, position: Position) -> list[str]:
        """Every table has flushed every record at or before `position`; returns the paths of
        the segments this discards (deleted on the sync thread)."""
        for segment in self._segments.values():
            if segment.segment_id > position.segment_id:
                break
            if segment.segment_id < position.segment_id:
                segment.dirty.clear()
            else:
                for table, last in list(segment.dirty.items()):
                    if last <= position.offset:
                        del segment.dirty[table]
        return self._collect()

    def _collect(self) -> list[str]:
        """Discard every non-active segment that holds no unflushed table: it leaves the log
        now, and the shard's sync thread unlinks it (then fsyncs the directory), after the
        file system calls queued there before it."""
        doomed = [s for s in self._segments.values()
                  if not s.dirty and s is not self._active_segment]
        if not doomed:
            return []
        for segment in doomed:
            del self._segments[segment.segment_id]
        paths = [segment.path for segment in doomed]
        self._deleting.append((sync_thread().submit(_delete_segments, self.directory, paths),
                               paths))
        return paths

    def finish_deletions(self, wait: bool = True) -> None:
        """Take the outcome of the deletions of discarded segments that have ended (or wait for
        every one): on_discarded(path) for each segment deleted; a failed unlink or directory
        fsync fails the log, as a failed fdatasync does."""
        deleting = self._deleting
        while deleting and (wait or deleting[0][0].done()):
            future, paths = deleting.popleft()
            failure = future.result()
            if failure is not None:
                raise self._fail(*failure)
            for path in paths:
                self.on_discarded(path)

    # -- replay ----------------------------------------------------------------------------------

    def replay(self, apply: ReplayCallback) -> ReplayReport:
        """Feed every record on disk to `apply(position, payload)` in log order, then open the log.

        `apply` may return the tables the record dirtied (for mark_flushed); None means "all".
        Torn tails are cut off and corrupt segments set aside (shards/commitlog_replay.py); the
        report says what happened. Raises CommitLogVersionError for a segment of another format.
        """
        if self._state != "new":
            raise CommitLogStateError("commit log replay() runs once, before the first append")
        result = replay_directory(self.directory, self._max_record, apply)
        for live in result.live:
            segment = self._segments[live.segment_id] = _Segment(live.segment_id, live.path, live.end)
            segment.dirty = live.dirty
            self._written = self._synced = Position(live.segment_id, live.end)
        # Ids keep growing across restarts even when every segment was discarded.
        self._next_id = max(result.highest_id + 1, time.time_ns() // 1000)
        self._state = "open"
        return result.report


def _ignore(path: str) -> None:
    pass


def _delete_segments(directory: str, paths: list[str]) -> tuple[str, str, OSError] | None:
    """Unlink `paths`, then fsync `directory` (the sync thread's work); what failed (for
    CommitLog._fail), or None."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError as exc:
            return "deletion", path, exc
    try:
        fsync_directory(directory)
    except OSError as exc:
        return "directory fsync", directory, exc
    return None


_DEADLINES: Mapping[str, Callable[[CommitLog], float]] = {
    "periodic": CommitLog._periodic_deadline,
    "batch": CommitLog._batch_deadline,
    "group": CommitLog._group_deadline,
}


T = TypeVar("T")


class AckQueue(Generic[T]):
    """What answers a write (the worker: its req_id) held until the commit log covers the write
    (batch and group modes; periodic mode releases at once).

    Positions arrive in append order, so releasing is popping from the left while covered.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: deque[tuple[Position, list[T]]] = deque()

    def hold(self, position: Position, replies: list[T]) -> None:
        self._pending.append((position, replies))

    def release(self, through: Position) -> list[T]:
        pending = self._pending
        if len(pending) == 1 and pending[0][0] <= through:  # the usual: the last pass's writes
            return pending.popleft()[1]
        released: list[T] = []
        while pending and pending[0][0] <= through:
            released.extend(pending.popleft()[1])
        return released

    def __len__(self) -> int:
        return len(self._pending)
