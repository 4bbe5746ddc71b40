"""Channel: one direction of the front <-> shard link (a ring, a doorbell and a msgspec codec).

A Channel sends or receives msgspec messages of one type (normally a union of Structs declared
with ``tag=True, array_like=True`` in ipc/messages.py) through one SPSC ring. A process uses a
Channel either as the producer or as the consumer, never both. This module must NOT map shared
memory (ipc/shm.py does) and must NOT import asyncio: the front adds ``fileno()`` of its reply
channel to its loop with ``loop.add_reader(ch.fileno(), on_reply)`` and calls recv_all there.

recv_all and poll decode messages straight from the ring, and a ``msgspec.Raw`` field decoded
that way keeps pointing into ring memory, which the producer reuses once the tail has passed it.
A consumer of message types with such fields uses recv_records, which decodes each record from
a copy of it (the Raw keeps the copy alive) and hands the copy back too.

Wake-up rule (no lost wake-ups)
-------------------------------
    producer: write records, publish the head, THEN ring the doorbell (once per batch).
    consumer: clear the doorbell, THEN drain the ring until it is empty; sleep only on the bell.

Why nothing is lost: suppose the consumer's last drain found the ring empty and it goes to
sleep, while the producer has published a record R. The consumer's emptiness check loaded the
head after its clear(); the producer's ring() came after publishing R. If that ring() had been
absorbed by the clear(), the eventfd lock orders publish(R) -> ring() -> clear() -> head load,
so the drain would have seen R, a contradiction. So the ring() came after the clear(): the
bell is set and the sleep returns at once. The converse costs only a spurious wake-up (the
consumer drained R early, then wakes to an empty ring), which is harmless.
recv_all(max_records) may stop before the ring is empty; it then rings its own doorbell, so the
next sleep (or the event loop's reader callback) returns at once and the drain continues.
"Until it is empty" may be found by ``ring.is_empty()`` after handling what a drain took, in
place of a drain that takes nothing: what counts is that the emptiness was seen after the
clear (the shard's loop does this, shards/worker.py).
The reverse order (drain, then clear) loses wake-ups: a record published and rung between the
drain and the clear is never looked at until the next, unrelated, ring.
Busy-polling consumers (poll()) and producers that know their peer spins (notify=False) skip
the syscalls entirely.

Grouping
--------
A Channel made with a ``group`` type (a Struct whose one field, ``items``, lists messages) may
carry several messages in one record: the producer's send_grouped encodes group(items) once
when it fits the ring's max_record, and the consumer's recv_all or poll gives the items back in
order, so its caller sees the messages one by one either way (recv_records hands a group back
whole, with its record). One record per loop pass instead of one per
message saves the producer a stage and the consumer a drain step each. A consumer that bounds
its work per pass by messages must count them after the drain: ``max_records`` counts records.
"""

from __future__ import annotations

import time
from typing import Any, Generic, Iterable, TypeVar

import msgspec

from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.errors import ChannelDecodeError
from ferrosa.ipc.ring import Ring

M = TypeVar("M")

# Default records per recv_all: bounds the time one drain holds the loop (a few hundred
# microseconds of decoding) while amortising the doorbell syscall over many messages.
RECV_BATCH = 256
# max_records for a drain to empty, of every record published before it catches up.
ALL_RECORDS = 1 << 62
# Initial size of the reusable encode buffer; encode_into grows it for larger messages.
ENCODE_BUFFER_SIZE = 4096


class Channel(Generic[M]):
    """Ring + doorbell + reusable msgspec encoder/decoder for messages of ``msg_type``."""

    __slots__ = ("ring", "doorbell", "_encode_into", "_decode", "_buf", "_group")

    def __init__(self, ring: Ring, doorbell: Doorbell, msg_type: Any,
                 group: type | None = None) -> None:
        self.ring = ring
        self.doorbell = doorbell
        self._encode_into = msgspec.msgpack.Encoder().encode_into
        self._decode = msgspec.msgpack.Decoder(msg_type).decode
        self._buf = bytearray(ENCODE_BUFFER_SIZE)
        # The Struct that carries several messages in one record (see "Grouping"); it must be
        # one of msg_type's members.
        self._group = group

    def fileno(self) -> int:
        """The doorbell fd (what the consumer waits on / registers with its event loop)."""
        return self.doorbell.fileno()

    # -- producer ----------------------------------------------------------------------------

    def send(self, msg: M, notify: bool = True) -> bool:
        """Encode and publish one message; False when the ring is full (back-pressure)."""
        buf = self._buf
        self._encode_into(msg, buf, 0)
        if not self.ring.try_push(buf):
            return False
        if notify:
            self.doorbell.ring()
        return True

    def send_many(self, msgs: Iterable[M], notify: bool = True) -> int:
        """Publish as many messages as fit, in order, ringing the doorbell once; returns how many.

        If encoding fails or a message is over the ring's max_record, the messages before it
        are still published (and rung) and the error propagates.
        """
        ring = self.ring
        stage = ring.stage
        encode_into = self._encode_into
        buf = self._buf
        count = 0
        try:
            for msg in msgs:
                encode_into(msg, buf, 0)
                if not stage(buf):
                    break
                count += 1
        finally:
            if count:
                ring.publish()
                if notify:
                    self.doorbell.ring()
        return count

    def send_grouped(self, msgs: list[M], notify: bool = True) -> int:
        """send_many's contract, with several messages in one record: the Channel's group of
        them when that record is within the ring's max_record (else one record each, as
        send_many). Returns how many messages went: all of them, or none when the ring is
        full."""
        if len(msgs) < 2 or self._group is None:
            return self.send_many(msgs, notify)
        buf = self._buf
        self._encode_into(self._group(msgs), buf, 0)
        if len(buf) > self.ring.max_record:
            return self.send_many(msgs, notify)
        if not self.ring.try_push(buf):
            return 0
        if notify:
            self.doorbell.ring()
        return len(msgs)

    # -- consumer ----------------------------------------------------------------------------

    def _ungrouped(self, msgs: list) -> list:
        group = self._group
        out: list = []
        for msg in msgs:
            if type(msg) is group:
                out.extend(msg.items)
            else:
                out.append(msg)
        return out

    def _drain(self, max_records: int) -> tuple[list[M], int]:
        """(The messages of up to ``max_records`` records, how many records were drained)."""
        out: list[M] = []
        try:
            count = self.ring.drain_into(out, self._decode, max_records)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if self._group is not None:
                out = self._ungrouped(out)
            raise ChannelDecodeError(f"undecodable record in channel ring: {exc}", list(out)) from exc
        group = self._group
        # A scan in C finds a group: without one (a pass of writes alone), no Python loop.
        if group is not None and group in map(type, out):
            return self._ungrouped(out), count
        return out, count

    def _ring_again_if_left(self, drained: int, max_records: int) -> None:
        """After a drain that stopped at ``max_records`` records: ring our own doorbell when
        records are left, so that the next wait returns at once (the wake-up rule)."""
        if drained >= max_records and not self.ring.is_empty():
            self.doorbell.ring()

    def recv_all(self, max_records: int = RECV_BATCH) -> list[M]:
        """Clear the doorbell, then decode up to ``max_records`` records (see the wake-up rule):
        their messages, the items of a group one by one."""
        self.doorbell.clear()
        out, drained = self._drain(max_records)
        self._ring_again_if_left(drained, max_records)
        return out

    def recv_records(self, max_records: int = RECV_BATCH) -> list[tuple[Any, bytes]]:
        """recv_all's contract, one (message, record) pair per ring record: ``record`` is a copy
        of the bytes the message was decoded from, so a msgspec.Raw field stays valid after the
        drain, and a group comes whole, as one pair. On undecodable records, every record drained
        is consumed and ChannelDecodeError holds the pairs of all the others, in order."""
        self.doorbell.clear()
        records: list[bytes] = []
        self._ring_again_if_left(self.ring.drain_into(records, bytes, max_records), max_records)
        decode = self._decode
        try:
            return [(decode(record), record) for record in records]
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            good, bad = [], 0
            for record in records:
                try:
                    good.append((decode(record), record))
                except (msgspec.DecodeError, msgspec.ValidationError):
                    bad += 1
            raise ChannelDecodeError(f"{bad} undecodable records in channel ring: {exc}",
                                     good) from exc

    def poll(self, max_records: int = RECV_BATCH) -> list[M]:
        """Decode up to ``max_records`` records without touching the doorbell (busy-polling)."""
        return self._drain(max_records)[0]

    def recv_wait(self, timeout: float | None = None, max_records: int = RECV_BATCH,
                  spin: float = 0.0) -> list[M]:
        """Messages, blocking until some arrive or ``timeout`` seconds pass (then []).

        Spins on the ring for up to ``spin`` seconds before sleeping on the doorbell, trading
        CPU for latency when replies follow requests closely.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            out = self.recv_all(max_records)
            if out:
                return out
            if spin > 0.0 and self._spin(spin):
                continue
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0.0:
                return out
            if not self.doorbell.wait(remaining):
                return self.recv_all(max_records)

    def _spin(self, seconds: float) -> bool:
        is_empty = self.ring.is_empty
        monotonic = time.monotonic
        end = monotonic() + seconds
        while is_empty():
            if monotonic() >= end:
                return False
        return True
