"""The shard's sync thread: where the system calls that finish and delete SSTables, and delete
commit log segments, run.

What it is: `sync_thread()` (this process's one worker thread for them, made at first use),
`steps_until_done(fn, *args)`, a generator for a shard's maintenance jobs that runs `fn` on that
thread and yields while it runs, so the shard's loop serves requests in between, and
`run_to_end(steps)`, which drives such a step generator at once where nothing else waits.

What it must NOT do: run anything but system calls and the bookkeeping around them (the work
holds no GIL only while it is inside the kernel), or touch state the loop also changes: the loop
owns every reader, memtable and list of SSTables; the thread gets paths and file descriptors.

Theory of operation: an fsync of an SSTable's component or directory, or the unlink of a large
file, takes from a fraction of a millisecond to tens of milliseconds on a busy disk. Run in the
loop, each stops every request queued on the shard. On the thread they overlap with the loop's
work; each step of the waiting generator blocks at most SYNC_WAIT_SECONDS. The wait, unlike a
poll, releases the GIL, which the thread needs between its system calls: a loop that only polled
would keep it for whole switch intervals (5 ms). One thread keeps the calls in submission order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

# How long one step waits for the thread. Requests that arrive meanwhile wait at most this long,
# where the fsyncs in the loop stopped it for all of them (13 ms for a 95k-partition flush here).
SYNC_WAIT_SECONDS = 0.001

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def sync_thread() -> ThreadPoolExecutor:
    """This process's one thread for finishing and deleting SSTables and deleting commit log
    segments (made at first use, after any fork)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="sstable-sync")
        return _executor


def run_to_end(steps: Generator[None, object, T]) -> T:
    """Drive a step generator to its end at once (outside a shard's loop, or where nothing else
    waits): its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def wait_steps(future: Future[T]) -> Generator[None, None, T]:
    """Yield until `future` is done, waiting at most SYNC_WAIT_SECONDS per step; its result."""
    while not wait([future], SYNC_WAIT_SECONDS).done:
        yield
    return future.result()


def steps_until_done(fn: Callable[..., T], *args: object) -> Generator[None, None, T]:
    """Run fn(*args) on the sync thread, yielding while it runs; its result (or its error).
    Closing the generator early leaves the call to finish on the thread."""
    return (yield from wait_steps(sync_thread().submit(fn, *args)))
