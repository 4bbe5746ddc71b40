"""Single-producer/single-consumer byte ring: the pure arithmetic of the front <-> shard channel.

The ring works on any writable byte buffer (a bytearray in tests, a shared-memory view in
production) plus a numpy uint64 counters array. It must NOT import shared memory, asyncio,
sockets or msgspec: mapping segments lives in ipc/shm.py, wake-ups in ipc/doorbell.py, message
encoding in ipc/channel.py.

Theory of operation
-------------------
Counters (numpy uint64, shape (COUNTERS_LEN,) = 16 words = two 64-byte cache lines)::

    index 0  (bytes   0..7)    head: total bytes ever written (published) by the producer
    index 1..7                 reserved, zero (pads head to its own cache line)
    index 8  (bytes  64..71)   tail: total bytes ever consumed by the consumer
    index 9..15                reserved, zero

Each counter is written by exactly one side (head by the producer, tail by the consumer), and
each sits on its own cache line so the two sides never false-share. Counters only grow; a
position in the buffer is ``counter & (capacity - 1)``; ``head - tail`` is the number of bytes
in flight and never exceeds the capacity. A u64 byte counter cannot wrap in practice (at
10 GB/s it takes 58 years).

Records (capacity is a power of two, every record starts at a multiple of RECORD_ALIGN)::

    +----------------+-------------------+---------+
    | length u32 LE  | payload (length)  | padding |   total = align8(4 + length)
    +----------------+-------------------+---------+

A record is always contiguous, so the consumer can decode straight from a memoryview slice.
When a record does not fit between the write position and the end of the buffer, the producer
writes WRAP_MARKER (0xFFFFFFFF) in the length slot, counts the rest of the buffer as consumed
space, and writes the record at offset 0. Because positions are multiples of 8 and the
capacity is a multiple of 8, there is always room for a 4-byte marker. A record may take at
most half the ring (max_record_for), which guarantees that an empty ring accepts it from any
write position; longer payloads raise RecordTooLargeError.

Memory ordering
---------------
The producer writes the payload bytes, then stores the new head (publish). The consumer loads
the head, then reads the payload bytes; it stores the new tail only after it has finished with
the bytes (decoded or copied them). On x86-64 (TSO) stores become visible to other cores in
program order, loads are not reordered with older loads, and stores are not reordered with
older loads, so "payload before head" / "head before payload" makes records visible whole, and
"finish reading, then store tail" / "load tail, then overwrite" keeps the producer from
overwriting bytes still being read. The aligned 8-byte counter stores and loads (memoryview
'Q' items) are single instructions and therefore atomic. CPython gives the C compiler no
opportunity to reorder across these calls (each is an opaque function call).
On a weakly ordered CPU (ARM64, POWER) this is NOT enough: the head store needs release
semantics (stlr, or dmb ish before the store) and the head load acquire semantics (ldar, or
dmb ish after the load), likewise for the tail. Python has no portable fence, so running on
ARM requires a tiny C helper for publish/load (or a syscall, which is a full barrier, on each
side). The doorbell syscalls already act as barriers, but busy-polling readers do not make any.

Corruption
----------
The consumer never trusts the bytes: a length that cannot be (above max_record, crossing the
end of the buffer, a marker where no wrap is possible) or a record extending past the published
head (a torn record) raises RingCorruptError and leaves the tail where it was.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

from ferrosa.ipc.errors import IpcError, RecordTooLargeError, RingConfigError, RingCorruptError

T = TypeVar("T")

HEADER = struct.Struct("<I")
HEADER_SIZE = HEADER.size
# Records start on 8-byte boundaries: a 4-byte wrap marker then always fits before the end.
RECORD_ALIGN = 8
_ALIGN_MASK = ~(RECORD_ALIGN - 1)
_ROUND = HEADER_SIZE + RECORD_ALIGN - 1
# Length value meaning "nothing more before the end of the buffer; continue at offset 0".
WRAP_MARKER = 0xFFFFFFFF
# Smallest ring: room for a few small records, small enough for tests to force wrap-arounds.
MIN_CAPACITY = 64
# Largest ring: keeps every valid length (at most capacity/2) far below WRAP_MARKER in a u32.
MAX_CAPACITY = 1 << 31
CACHE_LINE = 64
# Counters array: two cache lines of uint64, head on the first, tail on the second.
COUNTERS_LEN = 2 * CACHE_LINE // 8
HEAD_INDEX = 0
TAIL_INDEX = CACHE_LINE // 8


def record_size(length: int) -> int:
    """Bytes a record with a payload of ``length`` bytes takes in the ring (header and padding)."""
    return (length + _ROUND) & _ALIGN_MASK


def max_record_for(capacity: int) -> int:
    """Largest payload a ring of ``capacity`` bytes accepts.

    A record of at most capacity/2 bytes fits into an empty ring from any write position: either
    it fits before the end, or the write position is past the middle and it fits after the wrap.
    """
    return capacity // 2 - HEADER_SIZE


def new_counters() -> np.ndarray:
    """A zeroed counters array with the layout this module expects (for tests and private rings)."""
    return np.zeros(COUNTERS_LEN, dtype=np.uint64)


def _byte_view(data: Any) -> memoryview:
    view = memoryview(data)
    if view.readonly:
        raise RingConfigError("ring buffer must be writable")
    if not view.c_contiguous:
        raise RingConfigError("ring buffer must be C-contiguous")
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _counter_view(counters: np.ndarray) -> memoryview:
    if not isinstance(counters, np.ndarray) or counters.dtype != np.uint64:
        raise RingConfigError("ring counters must be a numpy uint64 array")
    if counters.shape != (COUNTERS_LEN,) or not counters.flags.c_contiguous:
        raise RingConfigError(f"ring counters must be a C-contiguous array of shape ({COUNTERS_LEN},)")
    if not counters.flags.writeable:
        raise RingConfigError("ring counters must be writable")
    # 'Q' items are read and written as single aligned 8-byte accesses, cheaper than numpy scalars.
    return memoryview(counters).cast("B").cast("Q")


class Ring:
    """One SPSC ring. A process uses either the producer half or the consumer half.

    Producer: try_push, push_many, stage + publish, reserve + commit + publish.
    Consumer: peek + advance (zero-copy), drain_into (zero-copy with a decoder), drain (copies).
    Each half caches its own counter and the last value it saw of the other side's, so a hot
    loop touches shared counters only when it must.
    """

    __slots__ = (
        "capacity", "max_record", "_mask", "_data", "_ctr", "_counters",
        "_head", "_published", "_tail_seen", "_reservation",
        "_tail", "_head_seen", "_next_tail",
    )

    def __init__(self, data: Any, counters: np.ndarray) -> None:
        view = _byte_view(data)
        capacity = view.nbytes
        if capacity < MIN_CAPACITY or capacity > MAX_CAPACITY or capacity & (capacity - 1):
            raise RingConfigError(
                f"ring capacity must be a power of two in [{MIN_CAPACITY}, {MAX_CAPACITY}], got {capacity}"
            )
        self.capacity = capacity
        self.max_record = max_record_for(capacity)
        self._mask = capacity - 1
        self._data = view
        self._counters = counters
        self._ctr = _counter_view(counters)
        self.resync()

    # -- lifecycle ---------------------------------------------------------------------------

    def resync(self) -> None:
        """Reload both halves' cached positions from the shared counters.

        Call after the counters were reset (a restarted peer) or when attaching to a live ring.
        """
        head = self._ctr[HEAD_INDEX]
        tail = self._ctr[TAIL_INDEX]
        if head < tail or head - tail > self.capacity:
            raise RingCorruptError(f"ring counters out of range: head={head} tail={tail} capacity={self.capacity}")
        self._head = self._published = head
        self._tail_seen = tail
        self._reservation: tuple[int, int, int, int] | None = None
        self._tail = tail
        self._head_seen = head
        self._next_tail = -1

    def reset(self) -> None:
        """Zero both counters and forget all records. Only safe while no peer is using the ring."""
        self._ctr[HEAD_INDEX] = 0
        self._ctr[TAIL_INDEX] = 0
        self.resync()

    def release(self) -> None:
        """Drop this ring's views of the buffer and counters so the mapping can be closed."""
        self._data.release()
        self._ctr.release()
        self._counters = None

    @property
    def counters(self) -> np.ndarray:
        return self._counters

    def used_bytes(self) -> int:
        """Bytes published and not yet consumed, read from the shared counters."""
        return self._ctr[HEAD_INDEX] - self._ctr[TAIL_INDEX]

    # -- producer ----------------------------------------------------------------------------

    def _place(self, need: int) -> tuple[int, int] | None:
        """Where a record of ``need`` bytes goes: (bytes skipped by a wrap, offset), or None if full."""
        head = self._head
        pos = head & self._mask
        to_end = self.capacity - pos
        skip = 0 if need <= to_end else to_end
        if head + skip + need - self._tail_seen > self.capacity:
            tail = self._ctr[TAIL_INDEX]
            if tail < self._tail_seen or tail > self._published:
                raise RingCorruptError(
                    f"ring tail moved to {tail}, outside [{self._tail_seen}, {self._published}]"
                )
            self._tail_seen = tail
            if head + skip + need - tail > self.capacity:
                return None
        return skip, (0 if skip else pos)

    def stage(self, payload: Any) -> bool:
        """Write one record without publishing it; False when the ring is full.

        ``payload`` is bytes-like with one-byte items. Staged records become visible to the
        consumer at the next publish().
        """
        n = len(payload)
        if n > self.max_record:
            raise RecordTooLargeError(n, self.max_record)
        need = (n + _ROUND) & _ALIGN_MASK
        head = self._head
        pos = head & self._mask
        to_end = self.capacity - pos
        if need <= to_end and head + need - self._tail_seen <= self.capacity:
            skip = 0
        else:
            placed = self._place(need)
            if placed is None:
                return False
            skip, pos_after = placed
            if skip:
                HEADER.pack_into(self._data, pos, WRAP_MARKER)
            pos = pos_after
        data = self._data
        HEADER.pack_into(data, pos, n)
        data[pos + HEADER_SIZE:pos + HEADER_SIZE + n] = payload
        self._head = head + skip + need
        return True

    def publish(self) -> None:
        """Make every staged record visible to the consumer (one counter store)."""
        if self._head != self._published:
            self._ctr[HEAD_INDEX] = self._head
            self._published = self._head

    def try_push(self, payload: Any) -> bool:
        """Write and publish one record. False when the ring is full: the back-pressure signal."""
        if self.stage(payload):
            self.publish()
            return True
        return False

    def push_many(self, payloads: Iterable[Any]) -> int:
        """Write as many payloads as fit, in order, then publish once; returns how many fit.

        If a payload is over max_record, the ones before it are published and the
        RecordTooLargeError propagates with ``index`` set to the refused payload's position.
        """
        count = 0
        stage = self.stage
        try:
            for payload in payloads:
                if not stage(payload):
                    break
                count += 1
        except RecordTooLargeError as exc:
            exc.index = count
            raise
        finally:
            self.publish()
        return count

    def reserve(self, length: int) -> memoryview | None:
        """A writable view of ``length`` contiguous payload bytes, or None when the ring is full.

        Fill (part of) the view, then commit(used) and publish(). Nothing is visible or consumed
        until commit; a reservation that is never committed costs nothing. Release the view
        before closing the mapping.
        """
        if length < 0:
            raise ValueError(f"reserve length must be >= 0, got {length}")
        if length > self.max_record:
            raise RecordTooLargeError(length, self.max_record)
        placed = self._place((length + _ROUND) & _ALIGN_MASK)
        if placed is None:
            self._reservation = None
            return None
        skip, pos = placed
        self._reservation = (self._head, skip, pos, length)
        return self._data[pos + HEADER_SIZE:pos + HEADER_SIZE + length]

    def commit(self, used: int) -> None:
        """Turn the current reservation into a staged record of ``used`` bytes (<= reserved)."""
        reservation = self._reservation
        if reservation is None:
            raise IpcError("commit() without a successful reserve()")
        head, skip, pos, length = reservation
        if head != self._head:
            self._reservation = None
            raise IpcError("commit() after other records were staged since reserve()")
        if not 0 <= used <= length:
            raise ValueError(f"commit of {used} bytes outside the {length} reserved")
        if skip:
            HEADER.pack_into(self._data, head & self._mask, WRAP_MARKER)
        HEADER.pack_into(self._data, pos, used)
        self._head = head + skip + ((used + _ROUND) & _ALIGN_MASK)
        self._reservation = None

    # -- consumer ----------------------------------------------------------------------------

    def _load_head(self, tail: int) -> int:
        head = self._ctr[HEAD_INDEX]
        if head < tail or head - tail > self.capacity:
            raise self._head_error(head, tail)
        self._head_seen = head
        return head

    def _head_error(self, head: int, tail: int) -> RingCorruptError:
        return RingCorruptError(f"ring head {head} inconsistent with tail {tail} "
                                f"(capacity {self.capacity})")

    def _locate(self, tail: int, head: int) -> tuple[int, int, int]:
        """The record at ``tail`` (tail < head): (payload offset, length, next tail). Validates all."""
        data = self._data
        pos = tail & self._mask
        (length,) = HEADER.unpack_from(data, pos)
        if length == WRAP_MARKER:
            skip = self.capacity - pos
            if pos == 0 or tail + skip >= head:
                raise RingCorruptError(f"wrap marker at offset {pos} with {head - tail} bytes published")
            tail += skip
            pos = 0
            (length,) = HEADER.unpack_from(data, 0)
        if length > self.max_record:
            raise RingCorruptError(f"impossible record length {length} at offset {pos} (max {self.max_record})")
        need = (length + _ROUND) & _ALIGN_MASK
        if pos + need > self.capacity:
            raise RingCorruptError(f"record of length {length} at offset {pos} crosses the end of the ring")
        if tail + need > head:
            raise RingCorruptError(
                f"torn record: header says {length} bytes at offset {pos} but only {head - tail} are published"
            )
        return pos + HEADER_SIZE, length, tail + need

    def peek(self) -> memoryview | None:
        """A zero-copy view of the next record's payload, or None when the ring is empty.

        The view stays valid until advance(); after that the producer may overwrite it.
        """
        tail = self._tail
        head = self._head_seen
        if tail == head:
            head = self._load_head(tail)
            if tail == head:
                return None
        start, length, self._next_tail = self._locate(tail, head)
        return self._data[start:start + length]

    def advance(self) -> None:
        """Consume the record returned by the last peek() and publish the new tail."""
        if self._next_tail < 0:
            raise IpcError("advance() without a record from peek()")
        self._tail = self._next_tail
        self._ctr[TAIL_INDEX] = self._tail
        self._next_tail = -1

    def is_empty(self) -> bool:
        """Consumer side: True when no published record is waiting."""
        tail = self._tail
        return tail == self._head_seen and tail == self._load_head(tail)

    def drain_into(self, out: list[T], fn: Callable[[memoryview], T], max_records: int) -> int:
        """Apply ``fn`` to up to ``max_records`` payload views, appending results to ``out``.

        ``fn`` must copy or decode: the views die when the tail is published at the end of the
        call. If ``fn`` raises, its record counts as consumed, everything before it stays in
        ``out``, the tail is published and the exception propagates. Returns the count handled.
        """
        tail = self._tail
        head = self._head_seen
        self._next_tail = -1
        capacity = self.capacity
        ctr = self._ctr
        if tail == head:  # an empty ring costs one counter load, not the loop's set-up
            head = ctr[HEAD_INDEX]
            if tail == head:
                return 0
            if head < tail or head - tail > capacity:
                raise self._head_error(head, tail)
            self._head_seen = head
        data = self._data
        mask = self._mask
        max_record = self.max_record
        unpack = HEADER.unpack_from
        append = out.append
        count = 0
        try:
            while count < max_records:
                if tail == head:
                    head = ctr[HEAD_INDEX]
                    if tail == head:
                        break
                    if head < tail or head - tail > capacity:
                        raise self._head_error(head, tail)
                    self._head_seen = head
                pos = tail & mask
                (length,) = unpack(data, pos)
                need = (length + _ROUND) & _ALIGN_MASK
                if length <= max_record and pos + need <= capacity and tail + need <= head:
                    start = pos + HEADER_SIZE
                    tail += need
                else:
                    start, length, tail = self._locate(tail, head)
                count += 1
                append(fn(data[start:start + length]))
        finally:
            if tail != self._tail:
                self._tail = tail
                ctr[TAIL_INDEX] = tail
        return count

    def drain(self, max_records: int) -> list[bytes]:
        """Up to ``max_records`` payloads, copied out as bytes (convenience; not zero-copy)."""
        out: list[bytes] = []
        self.drain_into(out, bytes, max_records)
        return out
