"""Wake-up coalescing for the front's event loop: interrupt moderation, in user space.

What it is: while requests arrive fast, the front sleeps a short fixed time (the nap) after each
loop pass that handled client requests or shard replies, so that the next pass finds many of
them ready at once instead of waking up for each socket read and each shard's doorbell.

Theory of operation
-------------------
On a node, waking a process costs more CPU than the request it wakes for: caches are cold, and a
cross-core wake-up is an inter-processor interrupt, which in a VM is a hypervisor exit
(docs/performance.md). At saturation the front woke about 2,700 times a second for about 4
requests each, and every front pass hands the shards a batch, so the shards woke as often.

`activity(requests)` is called by the connections (after a socket read) and by the router (after
draining the shards' replies). It arms the nap once per pass: a callback that re-queues itself
once, so that the ring and socket flushes which that pass's handlers queued run first, then
sleeps. Whatever arrives meanwhile waits in the kernel and in the rings and is handled by the
next pass, which then wakes the shards and writes the replies in bigger batches.

A nap only pays when there is something to gather: the request rate is measured over
RATE_WINDOW_SECONDS, and below `min_rate` requests a second the front does not nap (at light
load a nap adds its length to the latency and saves nothing). This is the switch NAPI makes
between interrupts and polling.

What it must not do: nap with work of its own queued (the double hop above), block anywhere else
than in its own callback, or nap when disabled (`nap_us` 0).
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from ferrosa.config import NodeConfig

# How long the request rate is counted before it is compared with min_rate: long enough to
# hold a few hundred requests at the threshold, short enough to follow a change of load.
RATE_WINDOW_SECONDS = 0.05


class WakeCoalescer:
    __slots__ = ("_loop", "nap", "min_rate", "_sleep", "_armed", "_requests", "_window_start",
                 "_busy")

    def __init__(self, loop: asyncio.AbstractEventLoop, nap_us: int, min_rate: int,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._loop = loop
        self._sleep = sleep
        self.nap = nap_us / 1e6
        self.min_rate = min_rate
        self._armed = False
        self._requests = 0
        self._window_start = time.monotonic()
        self._busy = False  # the last window's rate reached min_rate

    @classmethod
    def from_config(cls, loop: asyncio.AbstractEventLoop, config: NodeConfig) -> WakeCoalescer:
        return cls(loop, config.coalesce_us, config.coalesce_min_rate)

    @property
    def busy(self) -> bool:
        """Whether the front naps after its passes now."""
        return self._busy

    def activity(self, requests: int) -> None:
        """A pass handled `requests` client requests (0: shard replies only); arm the nap."""
        self._requests += requests
        if not self._armed and self.nap:
            self._armed = True
            self._loop.call_soon(self._queue_nap)

    def _queue_nap(self) -> None:
        self._loop.call_soon(self._nap)

    def _nap(self) -> None:
        self._armed = False
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= RATE_WINDOW_SECONDS:
            self._busy = self._requests >= self.min_rate * elapsed
            self._requests = 0
            self._window_start = now
        if self._busy:
            self._sleep(self.nap)
