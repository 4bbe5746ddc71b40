"""Tests for shards.commitlog: appends, rotation, the three sync modes, discarding and failures."""

from __future__ import annotations

import errno
import os
import threading
import time

import pytest

import shards.commitlog_segment as segment_module
from shards.commitlog import (
    DEFAULT_GROUP_WINDOW_MS,
    DEFAULT_SEGMENT_BYTES,
    DEFAULT_SYNC_PERIOD_MS,
    SYNC_AHEAD_BYTES,
    AckQueue,
    CommitLog,
    CommitLogSettings,
    Position,
    settings_from_env,
)
from shards.commitlog_segment import (
    HEADER_SIZE,
    RECORD_OVERHEAD,
    ZERO_AHEAD_BYTES,
    segment_name,
)
from shards.errors import (
    CommitLogIOError,
    CommitLogSettingsError,
    CommitLogStateError,
    RecordTooLargeError,
)

SMALL = 4096


def open_log(path, **overrides) -> CommitLog:
    log, report = CommitLog.open(path, CommitLogSettings(**overrides), lambda p, b: None)
    assert report.records == 0
    return log


def replay(path, **overrides) -> list[tuple[Position, bytes]]:
    seen: list[tuple[Position, bytes]] = []
    log, report = CommitLog.open(path, CommitLogSettings(**overrides),
                                 lambda p, b: seen.append((p, b)))
    assert report.clean, report
    log.close()
    return seen


def records(n: int, size: int = 100, tag: str = "r") -> list[bytes]:
    return [f"{tag}{i:06d}".encode().ljust(size, b".") for i in range(n)]


# -- settings -------------------------------------------------------------------------------------

def test_defaults_follow_cassandra() -> None:
    s = CommitLogSettings()
    assert (s.sync, s.sync_period_ms, s.sync_group_window_ms, s.segment_bytes) == (
        "periodic", DEFAULT_SYNC_PERIOD_MS, DEFAULT_GROUP_WINDOW_MS, DEFAULT_SEGMENT_BYTES)
    assert (DEFAULT_SYNC_PERIOD_MS, DEFAULT_GROUP_WINDOW_MS, DEFAULT_SEGMENT_BYTES) == (
        10_000, 1_000, 32 << 20)
    assert s.max_record == 16 << 20


@pytest.mark.parametrize("fields,message", [
    ({"sync": "sometimes"}, "sync mode"),
    ({"sync_period_ms": 0}, "sync_period_ms"),
    ({"sync_group_window_ms": 10**9}, "sync_group_window_ms"),
    ({"segment_bytes": 1000}, "segment_bytes"),
])
def test_bad_settings_are_refused(fields, message) -> None:
    with pytest.raises(CommitLogSettingsError, match=message):
        CommitLogSettings(**fields)


def test_settings_from_env() -> None:
    s = settings_from_env({"FERROSA_COMMITLOG_SYNC": "Group",
                           "FERROSA_COMMITLOG_SYNC_GROUP_WINDOW_MS": "5",
                           "FERROSA_COMMITLOG_SEGMENT_BYTES": "65536",
                           "FERROSA_COMMITLOG_SYNC_PERIOD_MS": ""})
    assert (s.sync, s.sync_group_window_ms, s.segment_bytes, s.sync_period_ms) == (
        "group", 5, 65536, DEFAULT_SYNC_PERIOD_MS)
    with pytest.raises(CommitLogSettingsError, match="must be an integer"):
        settings_from_env({"FERROSA_COMMITLOG_SEGMENT_BYTES": "32MiB"})


# -- appends and replay ---------------------------------------------------------------------------

def test_round_trip_preserves_order_and_positions(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch")
    batches = [records(1, tag="a"), records(64, tag="b"), records(3, 7, tag="c")]
    ends = [log.append(batch) for batch in batches]
    log.sync()
    log.close()
    seen = replay(tmp_path)
    assert [b for _, b in seen] == [r for batch in batches for r in batch]
    # The position of a batch's last record is the position append returned for the batch.
    record_ends = {p for p, _ in seen}
    assert set(ends) <= record_ends
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


def test_append_of_nothing_returns_current_position(tmp_path) -> None:
    log = open_log(tmp_path)
    first = log.append([b"x"])
    assert log.append([]) == first == log.written_position


def test_oversized_record_refuses_whole_batch(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    before = log.append([b"keep"])
    with pytest.raises(RecordTooLargeError):
        log.append([b"fine", b"x" * (SMALL // 2 + 1)])
    assert log.written_position == before
    log.close()
    assert [b for _, b in replay(tmp_path)] == [b"keep"]


def test_rotation_spreads_records_over_segments(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch", segment_bytes=SMALL)
    written = []
    for i in range(40):
        batch = records(5, 90, tag=f"{i}-")
        written += batch
        log.append(batch)
    log.sync()
    assert len(log.segment_ids) >= 5
    for name in os.listdir(tmp_path):
        assert os.path.getsize(tmp_path / name) <= SMALL
    log.close()
    seen = replay(tmp_path, segment_bytes=SMALL)
    assert [b for _, b in seen] == written
    assert len({p.segment_id for p, _ in seen}) >= 5


def test_batch_larger_than_a_segment_is_split_at_record_boundaries(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch", segment_bytes=SMALL)
    batch = records(100, 200)
    end = log.append(batch)
    assert log.segment_ids[-1] == end.segment_id and len(log.segment_ids) >= 5
    log.sync()
    log.close()
    assert [b for _, b in replay(tmp_path, segment_bytes=SMALL)] == batch


def test_rotation_syncs_the_full_segment(tmp_path) -> None:
    log = open_log(tmp_path, sync="periodic", segment_bytes=SMALL)
    log.append([b"a" * 1500])
    first = log.append([b"a" * 1500])
    log.append([b"b" * 1500])  # does not fit: the first segment is synced and closed
    assert log.synced_position == first
    assert log.written_position.segment_id > first.segment_id


def test_ids_keep_growing_across_restarts_even_when_empty(tmp_path) -> None:
    log = open_log(tmp_path)
    first = log.append([b"x"])
    log.close()
    log, report = CommitLog.open(tmp_path, None, lambda p, b: None)
    assert report.records == 1 and log.segment_ids == [first.segment_id]
    log.discard_through(log.written_position)  # a replayed segment is never active
    log.close()
    assert os.listdir(tmp_path) == []
    assert open_log(tmp_path).append([b"y"]).segment_id > first.segment_id


def test_append_requires_replay_and_an_open_log(tmp_path) -> None:
    log = CommitLog(tmp_path)
    with pytest.raises(CommitLogStateError, match="replay"):
        log.append([b"x"])
    log.replay(lambda p, b: None)
    with pytest.raises(CommitLogStateError, match="runs once"):
        log.replay(lambda p, b: None)
    log.close()
    with pytest.raises(CommitLogStateError, match="closed"):
        log.append([b"x"])


# -- sync modes -----------------------------------------------------------------------------------

def test_batch_mode_acks_nothing_before_sync(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch")
    acks: AckQueue[str] = AckQueue()
    assert log.next_deadline() is None and not log.needs_sync(0.0)
    position = log.append(records(64), now=100.0)
    acks.hold(position, [f"reply{i}" for i in range(64)])
    assert log.synced_position < position and log.ack_position < position
    assert acks.release(log.ack_position) == []
    assert log.next_deadline() == 100.0 and log.needs_sync(100.0)
    assert log.sync(100.0) == position  # one fdatasync covers the whole batch
    assert acks.release(log.ack_position) == [f"reply{i}" for i in range(64)]
    assert log.next_deadline() is None and len(acks) == 0


def test_group_mode_syncs_at_most_once_per_window(tmp_path) -> None:
    log = open_log(tmp_path, sync="group", sync_group_window_ms=200)
    first = log.append([b"a"], now=10.0)
    assert log.maybe_sync(10.0)  # idle before: the first write syncs at once
    assert log.synced_position == first
    second = log.append([b"b"], now=10.05)
    assert log.next_deadline() == pytest.approx(10.2)
    assert not log.maybe_sync(10.1)
    assert log.synced_position == first < second == log.written_position
    third = log.append([b"c"], now=10.15)
    assert not log.needs_sync(10.19)
    assert log.maybe_sync(10.2)
    assert log.synced_position == third == log.ack_position


def test_periodic_mode_acks_at_once_and_syncs_after_the_period(tmp_path) -> None:
    log = open_log(tmp_path, sync="periodic", sync_period_ms=500)
    position = log.append([b"a"], now=50.0)
    assert log.ack_position == position and log.synced_position < position
    log.append([b"b"], now=50.3)
    assert log.next_deadline() == pytest.approx(50.5)
    assert not log.maybe_sync(50.49)
    assert log.maybe_sync(50.5)  # started on the sync thread
    assert log.next_deadline() is None
    settle(log)
    assert log.synced_position == log.written_position


def settle(log: CommitLog, now: float = 1e9) -> None:
    """Wait until periodic mode's background sync has finished and been taken by maybe_sync."""
    deadline = time.monotonic() + 10
    while log._in_flight is not None:
        assert time.monotonic() < deadline, "the background sync never finished"
        log.maybe_sync(now)
        time.sleep(0.001)


class Gate:
    """A _datasync stand-in that blocks until opened: a slow disk, under the test's control."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self.entered.set()
        assert self.opened.wait(10), "the gate was never opened"
        os.fdatasync(fd)


def test_periodic_sync_runs_off_the_loop(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path, sync="periodic", sync_period_ms=500)
    first = log.append([b"a"], now=50.0)  # (creating the segment syncs it: before the gate)
    gate = Gate()
    monkeypatch.setattr(segment_module, "_datasync", gate)
    assert log.maybe_sync(50.5)  # returns at once, the disk still busy
    assert gate.entered.wait(10)
    second = log.append([b"b"], now=50.6)  # the loop goes on appending meanwhile
    assert log.ack_position == second and log.synced_position < first
    assert not log.maybe_sync(51.2)  # one sync at a time: the second waits for the first
    gate.opened.set()
    settle(log, 51.0)  # before the second write's deadline: takes the first sync's result only
    assert log.synced_position == first
    assert log.maybe_sync(51.2)  # now the second write's period is over too
    settle(log, 51.2)
    assert log.synced_position == second and gate.calls == 2
    log.close()


def test_periodic_sync_starts_early_when_much_is_unsynced(tmp_path) -> None:
    log = open_log(tmp_path, sync="periodic", segment_bytes=8 * SYNC_AHEAD_BYTES)
    chunk = [b"x" * (1 << 16)] * 16  # 1 MiB per append
    for i in range(SYNC_AHEAD_BYTES >> 20):
        assert not log.maybe_sync(100.0 + i / 1000)
        log.append(chunk, now=100.0)
    assert log.maybe_sync(100.01)  # long before the 10 s period, for the bytes
    settle(log)
    assert log.synced_position == log.written_position
    log.close()


def test_rotation_waits_for_the_background_sync(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path, sync="periodic", segment_bytes=SMALL, sync_period_ms=500)
    log.append([b"a"], now=50.0)
    gate = Gate()
    monkeypatch.setattr(segment_module, "_datasync", gate)
    assert log.maybe_sync(50.5) and gate.entered.wait(10)
    threading.Timer(0.2, gate.opened.set).start()
    log.append(records(64), now=50.6)  # fills the segment: its rotation syncs inline, after
    assert len(log.segment_ids) > 1 and gate.opened.is_set()
    log.close()
    monkeypatch.undo()
    assert [payload for _, payload in replay(tmp_path)] == [b"a", *records(64)]


def test_failed_background_fsync_poisons_the_log(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path, sync="periodic", sync_period_ms=500)
    log.append([b"a"], now=50.0)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(segment_module, "_datasync", broken)
    assert log.maybe_sync(50.5)
    with pytest.raises(CommitLogIOError, match="fdatasync .* failed"):
        settle(log)
    monkeypatch.undo()
    with pytest.raises(CommitLogIOError, match="failed earlier"):
        log.append([b"b"])
    log.close()


def test_sync_without_writes_does_not_fsync(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path, sync="batch")
    log.append([b"a"])
    log.sync()
    calls = []
    monkeypatch.setattr(segment_module, "_datasync", lambda fd: calls.append(fd))
    log.sync()
    assert calls == []


def test_ack_queue_releases_in_order() -> None:
    acks: AckQueue[int] = AckQueue()
    acks.hold(Position(1, 100), [1, 2])
    acks.hold(Position(1, 200), [3])
    acks.hold(Position(2, 50), [4])
    assert acks.release(Position(1, 150)) == [1, 2]
    assert acks.release(Position(2, 49)) == [3]
    assert acks.release(Position(9, 0)) == [4]


# -- discarding -----------------------------------------------------------------------------------

def fill(log: CommitLog, count: int, tables=("t1",)) -> list[Position]:
    return [log.append([b"x" * 1500], tables=tables) for _ in range(count)]


def test_discard_through_deletes_whole_older_segments_only(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    positions = fill(log, 7)  # two records per segment: segments 0..3
    ids = log.segment_ids
    assert len(ids) == 4
    removed = log.discard_through(positions[2])  # middle of the second segment
    assert [os.path.basename(p) for p in removed] == [segment_name(ids[0])]
    assert log.segment_ids == ids[1:]
    log.discard_through(positions[3])  # end of the second segment
    assert log.segment_ids == ids[2:]
    log.discard_through(log.written_position)  # the active segment stays
    assert log.segment_ids == ids[3:]
    log.finish_deletions()  # the sync thread unlinks them
    assert sorted(os.listdir(tmp_path)) == [segment_name(ids[3])]


def test_segment_goes_only_when_every_dirty_table_is_flushed(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    a = log.append([b"x" * 1500], tables=("t1",))
    b = log.append([b"x" * 1500], tables=("t2",))
    log.append([b"x" * 1500], tables=("t1",))  # rotates: segment 2
    first = a.segment_id
    assert log.mark_flushed("t1", a) == []  # t2 still dirty in the first segment
    assert log.mark_flushed("t2", Position(b.segment_id, b.offset - 1)) == []  # not far enough
    removed = log.mark_flushed("t2", b)
    assert len(removed) == 1 and str(first) in removed[0]
    assert first not in log.segment_ids


def test_untracked_appends_need_discard_through(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    first = log.append([b"x" * 1500])  # no tables given: "all tables"
    log.append([b"x" * 1500])
    log.append([b"x" * 1500])
    assert log.mark_flushed("t1", log.written_position) == []
    assert len(log.discard_through(Position(first.segment_id, 10**9))) == 1


def test_clean_segment_is_deleted_when_it_rotates_out(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    log.append([b"x" * 1500], tables=("t1",))
    first = log.append([b"x" * 1500], tables=("t1",))
    log.mark_flushed("t1", first)
    assert log.segment_ids == [first.segment_id]  # clean but still active
    log.append([b"x" * 1500], tables=("t1",))  # rotates; the clean segment goes
    assert first.segment_id not in log.segment_ids


def test_replayed_segments_carry_the_tables_apply_returned(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    fill(log, 2, ("t1",))
    last = fill(log, 2, ("t2",))[-1]
    log.close()
    log, _ = CommitLog.open(tmp_path, CommitLogSettings(segment_bytes=SMALL),
                            lambda p, b: ("t1",) if p.segment_id < last.segment_id else ("t2",))
    assert len(log.segment_ids) == 2
    assert len(log.mark_flushed("t1", last)) == 1
    assert len(log.mark_flushed("t2", last)) == 1
    assert log.segment_ids == []


# -- archive hooks --------------------------------------------------------------------------------

def test_hooks_see_each_segment_sealed_then_discarded(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    events: list[tuple[str, str, int]] = []
    log.on_closed = lambda path: events.append(("closed", path, os.path.getsize(path)))
    log.on_discarded = lambda path: events.append(("discarded", path, os.path.exists(path)))
    log.append([b"x" * 1500], tables=("t1",))
    first = log.append([b"x" * 1500], tables=("t1",))
    log.append([b"x" * 1500], tables=("t1",))  # rotates: the first segment is sealed
    closed = [e for e in events if e[0] == "closed"]
    assert len(closed) == 1 and str(first.segment_id) in closed[0][1]
    # Sealed: trimmed to its last record, so an archived copy carries no zero tail.
    assert closed[0][2] == first.offset
    assert not [e for e in events if e[0] == "discarded"]
    log.mark_flushed("t1", first)
    assert events[-1][0] == "closed"  # the sync thread has it; the loop is told later
    log.finish_deletions()
    assert events[-1] == ("discarded", closed[0][1], False)  # told after the file is gone


def test_seal_active_closes_a_segment_early_and_appends_go_on(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch")
    closed: list[str] = []
    log.on_closed = closed.append
    log.seal_active()
    assert closed == [] and log.active_age(0.0) is None  # nothing written: nothing to seal
    first = log.append(records(3), tables=("t1",), now=10.0)
    assert log.active_age(12.5) == 2.5
    log.seal_active(now=13.0)
    assert len(closed) == 1 and log.active_age(20.0) is None
    assert os.path.getsize(closed[0]) == first.offset
    assert log.synced_position == first  # sealing synced it
    second = log.append(records(2, tag="s"), tables=("t1",))
    assert second.segment_id > first.segment_id
    log.close()
    assert [b for _, b in replay(tmp_path)] == records(3) + records(2, tag="s")


def test_segments_found_at_start_are_all_sealed(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    fill(log, 3, ("t1",))
    ids = log.segment_ids
    log.close()
    log, _ = CommitLog.open(tmp_path, CommitLogSettings(segment_bytes=SMALL),
                            lambda p, b: ("t1",))
    assert [os.path.basename(p) for p in log.sealed_paths()] == [
        segment_name(i) for i in ids]
    assert log.oldest_dirty() == (ids[0], ["t1"])
    assert log.live_segments == len(ids)
    log.append([b"y" * 100], tables=("t1",))
    assert len(log.sealed_paths()) == len(ids)  # the new active segment is not sealed


# -- failures -------------------------------------------------------------------------------------

def test_failed_fsync_poisons_the_log(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path, sync="batch")
    log.append([b"a"])

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(segment_module, "_datasync", broken)
    with pytest.raises(CommitLogIOError, match="fdatasync .* failed"):
        log.sync()
    monkeypatch.undo()
    with pytest.raises(CommitLogIOError, match="failed earlier"):
        log.append([b"b"])
    with pytest.raises(CommitLogIOError, match="failed earlier"):
        log.sync()


def test_failed_write_poisons_the_log(tmp_path, monkeypatch) -> None:
    """A full disk fails the zero fill ahead of the appends (an append is a copy into blocks
    the fill gave the file): the append that needs it raises, and so does every later one."""
    log = open_log(tmp_path, sync="batch")
    log.append([b"a"])

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segment_module.os, "pwrite", full)
    log.append([b"b"])  # inside the zero-filled part: no write to the file's blocks
    with pytest.raises(CommitLogIOError, match="No space left"):
        log.append([bytes(ZERO_AHEAD_BYTES)])
    monkeypatch.undo()
    with pytest.raises(CommitLogIOError, match="failed earlier"):
        log.append([b"c"])


def test_short_writes_are_carried_on_to_the_end(tmp_path, monkeypatch) -> None:
    log = open_log(tmp_path)
    real = segment_module.os.pwrite
    calls = []

    def at_most_7_bytes(fd: int, data, offset: int) -> int:
        calls.append(offset)
        return real(fd, bytes(data[:7]), offset)

    monkeypatch.setattr(segment_module.os, "pwrite", at_most_7_bytes)
    batch = records(3, 50)
    log.append(batch)
    monkeypatch.undo()
    log.sync()
    log.close()
    assert len(calls) > 3 * 50 // 7
    assert [payload for _, payload in replay(tmp_path)] == batch


def test_positions_account_for_framing(tmp_path) -> None:
    log = open_log(tmp_path)
    position = log.append([b"abc", b"de"])
    assert position.offset == HEADER_SIZE + 2 * RECORD_OVERHEAD + 5


def test_append_accepts_any_iterable_even_when_it_spills(tmp_path) -> None:
    log = open_log(tmp_path, sync="batch", segment_bytes=SMALL)
    batch = records(30, 300)
    log.append(r for r in batch)
    log.sync()
    log.close()
    assert [b for _, b in replay(tmp_path, segment_bytes=SMALL)] == batch


def test_discarded_segments_are_unlinked_off_the_callers_thread(tmp_path, monkeypatch) -> None:
    # Unlinking a full segment stalled the shard's loop for 11 ms; the sync thread does
    # it, and maybe_sync (called every loop pass) tells on_discarded once it is done.
    log = open_log(tmp_path, segment_bytes=SMALL)
    discarded: list[str] = []
    log.on_discarded = discarded.append
    unlinked: list[tuple[str, int]] = []
    real_unlink = os.unlink
    gate = threading.Event()

    def unlink(path, *args, **kwargs):
        gate.wait(5)
        unlinked.append((path, threading.get_ident()))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    first = fill(log, 3)[1]
    removed = log.mark_flushed("t1", first)  # returns at once, the unlink held at the gate
    assert len(removed) == 1 and os.path.exists(removed[0]) and unlinked == []
    assert log.segment_ids == [log.written_position.segment_id]
    log.maybe_sync(time.monotonic())
    assert discarded == []
    gate.set()
    deadline = time.monotonic() + 5
    while not discarded and time.monotonic() < deadline:
        log.maybe_sync(time.monotonic())
        time.sleep(0.01)
    assert discarded == removed and not os.path.exists(removed[0])
    assert unlinked[0][0] == removed[0] and unlinked[0][1] != threading.get_ident()
    log.close()


def test_a_failed_deletion_fails_the_log(tmp_path) -> None:
    log = open_log(tmp_path, segment_bytes=SMALL)
    first = fill(log, 3)[1]
    os.unlink(os.path.join(tmp_path, segment_name(first.segment_id)))  # gone behind its back
    log.mark_flushed("t1", first)
    with pytest.raises(CommitLogIOError, match="deletion of .* failed"):
        log.finish_deletions()
    with pytest.raises(CommitLogIOError, match="accepts no more writes"):
        log.append([b"x"])
    log.close()
