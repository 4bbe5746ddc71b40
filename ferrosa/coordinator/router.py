"""Routes requests from the front's event loop to shard processes and matches their replies.

What it is: for each shard, the request channel (front -> shard), the reply channel (shard -> front),
the table of requests in flight, and the shard's state (up, or down while it restarts). A caller gets
an asyncio Future per request; replies resolve them in whatever order the shards answer.

What it must not do: block the event loop (a full ring parks requests in a bounded queue instead of
waiting), or interpret requests (it only moves messages).

Theory of operation:
- Sending is batched per event-loop iteration: `submit` queues the message and schedules one `flush`
  with call_soon, which writes every queued message of a shard into its ring and rings the shard's
  doorbell once. Many concurrent client requests so cost one doorbell write, not one each.
- Replies: every shard rings the same reply doorbell; its fd is a reader on the event loop. On wake-up
  the router clears the doorbell first and then drains every reply ring, so a reply published after
  the clear rings again and is never lost.
- Back-pressure: a request that does not fit in the ring waits in the shard's overflow queue and is
  retried on the next reply wake-up (a shard that consumed requests produces replies). When the
  overflow queue exceeds MAX_PARKED_REQUESTS the router reports `saturated` so connections stop
  reading from their sockets until it drains.
- A dead shard: `shard_down` fails everything in flight and parked with ShardUnavailable, marks the
  shard down (new requests fail at once), and resets both rings. `Hello` from the new process marks it
  up again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Callable

from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import ALL_RECORDS, Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.partitioner import shard_of

log = logging.getLogger(__name__)

# Requests parked per shard while its ring is full before connections are asked to pause reading.
MAX_PARKED_REQUESTS = 10_000
# Request ids wrap well before msgpack would need a wider integer.
_REQ_ID_WRAP = 1 << 31


class ShardUnavailable(Exception):
    """The shard that owns the data is down (restarting) or died with the request in flight."""

    def __init__(self, shard: int, in_flight: bool) -> None:
        self.shard = shard
        self.in_flight = in_flight
        what = ("died while handling this request; its outcome is unknown" if in_flight
                else "is restarting")
        super().__init__(f"shard {shard} {what}")


class ShardCall:
    """The pending reply to one request: what `ShardRouter.call` returns, awaited once.

    A request coroutine that CqlConnection drives itself (connection.py `_step`) sets `resume`;
    the reply then resumes it at once, inside the router's reply handler, instead of through a
    Future's done callback scheduled on the event loop (a Handle and a loop pass per request).
    Awaited from an asyncio Task, it is a Future as far as the Task can tell: done callbacks are
    scheduled with call_soon and cancellation works.

    `finished`, `reply` and `error` are done(), result() and exception() as attributes: the
    router and the front's short path read them without a call per request.
    """

    __slots__ = ("_loop", "reply", "error", "finished", "_callbacks", "resume",
                 "_asyncio_future_blocking")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.reply = None
        self.error: BaseException | None = None
        self.finished = False
        self._callbacks: list | None = None
        self.resume: Callable[[], None] | None = None
        self._asyncio_future_blocking = False

    def __await__(self):
        if not self.finished:
            self._asyncio_future_blocking = True
            yield self
        return self.result()

    def done(self) -> bool:
        return self.finished

    def cancelled(self) -> bool:
        return isinstance(self.error, asyncio.CancelledError)

    def result(self):
        if self.error is not None:
            raise self.error
        return self.reply

    def exception(self) -> BaseException | None:
        return self.error

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def add_done_callback(self, fn: Callable, *, context=None) -> None:
        if self.finished:
            self._loop.call_soon(fn, self, context=context)
        elif self._callbacks is None:
            self._callbacks = [(fn, context)]
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: Callable) -> int:
        before = len(self._callbacks or ())
        self._callbacks = [c for c in self._callbacks or () if c[0] != fn] or None
        return before - len(self._callbacks or ())

    def cancel(self, msg=None) -> bool:
        if self.finished:
            return False
        self._finish(None, asyncio.CancelledError(msg) if msg is not None
                     else asyncio.CancelledError())
        return True

    def set_result(self, reply) -> None:
        if not self.finished:
            self._finish(reply, None)

    def set_exception(self, error: BaseException) -> None:
        if not self.finished:
            self._finish(None, error)

    def _finish(self, reply, error: BaseException | None) -> None:
        self.reply, self.error, self.finished = reply, error, True
        resume, self.resume = self.resume, None
        if resume is not None:
            try:
                resume()
            except Exception:  # the router is delivering a batch: the others must still go
                log.exception("resuming a request after its shard reply failed")
        callbacks, self._callbacks = self._callbacks, None
        for fn, context in callbacks or ():
            self._loop.call_soon(fn, self, context=context)


class ShardLink:
    __slots__ = ("index", "rings", "requests", "replies", "doorbell", "up", "in_flight", "parked",
                 "queued", "generation", "pid")

    def __init__(self, index: int, rings: RingPair, doorbell: Doorbell,
                 reply_doorbell: Doorbell) -> None:
        self.index = index
        self.rings = rings
        self.doorbell = doorbell
        self.requests = Channel(rings.request.ring, doorbell, m.ShardRequest, m.Requests)
        self.replies = Channel(rings.reply.ring, reply_doorbell, m.ShardReply, m.Replies)
        self.up = False
        self.in_flight: dict[int, asyncio.Future | ShardCall] = {}
        self.parked: deque = deque()
        self.queued: list = []
        self.generation = 0
        self.pid = 0


class ShardRouter:
    def __init__(self, loop: asyncio.AbstractEventLoop, links: list[ShardLink],
                 reply_doorbell: Doorbell) -> None:
        self.loop = loop
        self.links = links
        self.reply_doorbell = reply_doorbell
        self._next_id = 0
        self._flush_scheduled = False
        self._dirty: set[int] = set()
        self.on_shard_up: Callable[[int], None] | None = None
        self.saturated = False
        self.on_saturation_change: Callable[[bool], None] | None = None
        # Called after each drain of the reply rings (the front's wake-up coalescing).
        self.on_replies: Callable[[int], None] | None = None
        loop.add_reader(reply_doorbell.fileno(), self._on_replies)

    @property
    def shard_count(self) -> int:
        return len(self.links)

    def all_up(self) -> bool:
        return all(link.up for link in self.links)

    def submit(self, shard: int, msg) -> asyncio.Future:
        """Send `msg` (its req_id is assigned here) to `shard`; the Future gets the reply."""
        return self._send(shard, msg, self.loop.create_future())

    def call(self, shard: int, msg) -> ShardCall:
        """As `submit`, for a caller that awaits the reply at once: the reply resumes it
        directly (see ShardCall)."""
        return self._send(shard, msg, ShardCall(self.loop))

    def call_owner(self, token: int, msg) -> ShardCall:
        """`call` to the shard that owns ``token``."""
        return self._send(shard_of(token, len(self.links)), msg, ShardCall(self.loop))

    def _send(self, shard: int, msg, future):
        link = self.links[shard]
        if not link.up:
            future.set_exception(ShardUnavailable(shard, in_flight=False))
            return future
        self._next_id = req_id = (self._next_id + 1) % _REQ_ID_WRAP
        msg.req_id = req_id
        link.in_flight[req_id] = future
        link.queued.append(msg)
        self._dirty.add(shard)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        parked = False
        for shard in dirty:
            link = self.links[shard]
            queued, link.queued = link.queued, []
            if link.parked:
                link.parked.extend(queued)
                self._drain_parked(link)
                parked = True
                continue
            sent = link.requests.send_grouped(queued)
            if sent < len(queued):
                link.parked.extend(queued[sent:])
                parked = True
        if parked or self.saturated:  # else nothing is parked: the usual pass skips the check
            self._update_saturation()

    def _drain_parked(self, link: ShardLink) -> None:
        if not link.parked or not link.up:
            return
        batch = list(link.parked)
        sent = link.requests.send_many(batch)
        for _ in range(sent):
            link.parked.popleft()

    def _update_saturation(self) -> None:
        saturated = any(len(link.parked) > MAX_PARKED_REQUESTS for link in self.links)
        if saturated != self.saturated:
            self.saturated = saturated
            if self.on_saturation_change is not None:
                self.on_saturation_change(saturated)

    def _on_replies(self) -> None:
        # One clear for the doorbell all shards share, then drain every ring to empty: clearing per
        # ring would absorb a wake-up meant for a ring already drained.
        self.reply_doorbell.clear()
        for link in self.links:
            # One drain to empty per ring (a drain reloads the head when it catches up), not
            # batches of RECV_BATCH until an empty one: that costs an empty drain per ring and
            # wake-up. A record a shard publishes during the delivery rings the bell, which
            # the clear above preceded, and the loop calls back.
            for reply in link.replies.poll(ALL_RECORDS):
                self._deliver(link, reply)
            if link.parked:
                self._drain_parked(link)
        if self.saturated:
            self._update_saturation()
        if self.on_replies is not None:
            self.on_replies(0)

    def _deliver(self, link: ShardLink, reply) -> None:
        if type(reply) is m.Acks:
            in_flight = link.in_flight
            for req_id in reply.req_ids:
                future = in_flight.pop(req_id, None)
                if type(future) is ShardCall:  # set_result, without its two calls
                    if not future.finished:
                        future._finish(m.Ack(req_id), None)
                elif future is not None and not future.done():
                    future.set_result(m.Ack(req_id))
            return
        if type(reply) is m.Hello:
            link.up = True
            link.generation = reply.generation
            link.pid = reply.pid
            log.info("shard %d is up (pid %d, generation %d)", link.index, reply.pid,
                     reply.generation)
            if self.on_shard_up is not None:
                self.on_shard_up(link.index)
            return
        future = link.in_flight.pop(reply.req_id, None)
        if type(future) is ShardCall:  # as for each Ack above
            if not future.finished:
                future._finish(reply, None)
        elif future is not None and not future.done():
            future.set_result(reply)

    def shard_down(self, shard: int) -> None:
        """The shard process died: fail its requests and reset its rings for the next process."""
        link = self.links[shard]
        link.up = False
        # Replies the dead shard published before dying are still valid: deliver them first.
        while batch := link.replies.poll():
            for reply in batch:
                self._deliver(link, reply)
        error = ShardUnavailable(shard, in_flight=True)
        # A failed call resumes its request at once, and that may submit again: detach first.
        in_flight, link.in_flight = link.in_flight, {}
        for future in in_flight.values():
            if not future.done():
                future.set_exception(error)
        link.parked.clear()
        link.queued.clear()
        link.rings.reset()
        log.warning("shard %d is down: in-flight requests failed, rings reset", shard)
        self._update_saturation()
