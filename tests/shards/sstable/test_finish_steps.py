"""SSTableWriter.finish_steps: the fsyncs, renames and TOC of a finishing SSTable run on the sync
thread while the caller's loop takes steps; the result is the SSTable finish() writes, and an
early close or a failed fsync leaves no SSTable behind."""

from __future__ import annotations

import os
import threading
import time
from unittest import mock

import pytest

from shards.memtable import Cell, Partition
from shards.sstable import SSTableWriter, list_sstables
from tests.shards.sstable.helpers import TABLE, dump, run_steps

SLOW_FSYNC_SECONDS = 0.02


def _parts(n: int = 50) -> list[Partition]:
    parts = [Partition(i * 1000, b"k%d" % i) for i in range(n)]
    for part in parts:
        part.static = {"s": Cell(5, part.pk * 3, 0, 0)}
    return parts


def _writer(directory, parts: list[Partition], generation: int = 1) -> SSTableWriter:
    writer = SSTableWriter(str(directory), TABLE, generation)
    for part in parts:
        writer.add(part)
    return writer


def _slow_fsync(threads: set[str]):
    real = os.fsync

    def fsync(fd: int) -> None:
        threads.add(threading.current_thread().name)
        time.sleep(SLOW_FSYNC_SECONDS)
        real(fd)
    return fsync


def test_finish_steps_writes_what_finish_writes(tmp_path) -> None:
    parts = _parts()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    direct = _writer(tmp_path / "a", parts).finish()
    stepped, _ = run_steps(_writer(tmp_path / "b", parts).finish_steps())
    assert [dump(p) for p in stepped.scan()] == [dump(p) for p in direct.scan()] \
        == [dump(p) for p in parts]
    assert sorted(os.listdir(tmp_path / "a")) == sorted(os.listdir(tmp_path / "b"))
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_loop_takes_steps_while_the_sync_thread_fsyncs(tmp_path) -> None:
    threads: set[str] = set()
    with mock.patch("os.fsync", _slow_fsync(threads)):
        started = time.monotonic()
        reader, steps = run_steps(_writer(tmp_path, _parts()).finish_steps())
        elapsed = time.monotonic() - started
    # Six components, the TOC and the directory twice: nine slowed fsyncs, and the caller got
    # control back while they ran.
    assert elapsed >= 9 * SLOW_FSYNC_SECONDS
    assert steps >= 9
    assert threads and all(name.startswith("sstable-sync") for name in threads)
    assert [p.pk for p in reader.scan()] == [p.pk for p in _parts()]


def test_closing_early_waits_for_the_thread_then_leaves_nothing(tmp_path) -> None:
    threads: set[str] = set()
    with mock.patch("os.fsync", _slow_fsync(threads)):
        steps = _writer(tmp_path, _parts()).finish_steps()
        next(steps)  # the sync thread is at work
        steps.close()
    assert threads
    assert os.listdir(tmp_path) == []
    assert list_sstables(str(tmp_path)) == []


def test_a_failed_fsync_raises_and_leaves_nothing(tmp_path) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")
    writer = _writer(tmp_path, _parts())
    with mock.patch("os.fsync", failing), pytest.raises(OSError, match="Input/output"):
        run_steps(writer.finish_steps())
    assert os.listdir(tmp_path) == []
    with pytest.raises(Exception, match="aborted"):
        writer.finish()
