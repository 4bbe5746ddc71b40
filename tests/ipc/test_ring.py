"""Tests for ferrosa.ipc.ring: SPSC byte-ring arithmetic on plain bytearrays."""

from __future__ import annotations

import struct
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.ipc.errors import IpcError, RecordTooLargeError, RingConfigError, RingCorruptError
from ferrosa.ipc.ring import (
    COUNTERS_LEN,
    HEAD_INDEX,
    MIN_CAPACITY,
    TAIL_INDEX,
    WRAP_MARKER,
    Ring,
    max_record_for,
    new_counters,
    record_size,
)

U32 = struct.Struct("<I")


def make(capacity: int = 64) -> tuple[Ring, Ring, bytearray, np.ndarray]:
    """A producer and a consumer Ring sharing one buffer and counters, as two processes would."""
    data = bytearray(capacity)
    counters = new_counters()
    return Ring(data, counters), Ring(data, counters), data, counters


# -- construction ---------------------------------------------------------------------------

@pytest.mark.parametrize("capacity", [0, 32, 96, 100, MIN_CAPACITY + 8])
def test_capacity_must_be_power_of_two_and_large_enough(capacity: int) -> None:
    with pytest.raises(RingConfigError, match="power of two"):
        Ring(bytearray(capacity), new_counters())


def test_buffer_must_be_writable() -> None:
    with pytest.raises(RingConfigError, match="writable"):
        Ring(bytes(64), new_counters())


@pytest.mark.parametrize(
    "counters",
    [np.zeros(COUNTERS_LEN, np.int64), np.zeros(8, np.uint64), np.zeros((2, 8), np.uint64), [0] * 16],
)
def test_counters_layout_is_checked(counters: object) -> None:
    with pytest.raises(RingConfigError, match="counters"):
        Ring(bytearray(64), counters)  # type: ignore[arg-type]


def test_counters_on_separate_cache_lines() -> None:
    assert HEAD_INDEX * 8 // 64 != TAIL_INDEX * 8 // 64
    assert COUNTERS_LEN * 8 == 128


def test_attach_to_live_ring_resumes_positions() -> None:
    producer, _, data, counters = make()
    assert producer.try_push(b"abc")
    late_consumer = Ring(data, counters)
    assert late_consumer.drain(10) == [b"abc"]


# -- basic producer / consumer ----------------------------------------------------------------

def test_push_peek_advance() -> None:
    producer, consumer, _, counters = make()
    assert consumer.peek() is None
    assert producer.try_push(b"hello")
    assert counters[HEAD_INDEX] == record_size(5)
    view = consumer.peek()
    assert bytes(view) == b"hello"
    assert bytes(consumer.peek()) == b"hello"  # peek does not consume
    consumer.advance()
    assert counters[TAIL_INDEX] == record_size(5)
    assert consumer.peek() is None
    with pytest.raises(IpcError, match="advance"):
        consumer.advance()


def test_zero_length_payloads() -> None:
    producer, consumer, _, _ = make()
    assert producer.push_many([b"", b"", b"x", b""]) == 4
    assert consumer.drain(10) == [b"", b"", b"x", b""]


def test_unpublished_records_are_invisible() -> None:
    producer, consumer, _, _ = make()
    assert producer.stage(b"one")
    assert consumer.peek() is None
    producer.publish()
    assert consumer.drain(5) == [b"one"]


def test_exactly_full_then_one_byte_short() -> None:
    producer, consumer, _, _ = make(256)
    assert producer.push_many([b"a" * 60] * 4) == 4  # 4 x 64 bytes: exactly full
    assert not producer.try_push(b"")
    assert consumer.drain(1) == [b"a" * 60]
    assert not producer.try_push(b"c" * 61)  # would need 72 of the 64 free bytes
    assert producer.try_push(b"c" * 60)  # exactly the 64 free bytes
    assert not producer.try_push(b"")
    assert consumer.drain(5) == [b"a" * 60] * 3 + [b"c" * 60]


def test_wrap_around_writes_marker_and_record_at_zero() -> None:
    producer, consumer, data, counters = make(64)
    assert producer.push_many([b"1" * 20, b"2" * 20]) == 2  # 24 + 24 bytes, head at 48
    assert consumer.drain(2) == [b"1" * 20, b"2" * 20]
    assert producer.try_push(b"3" * 20)  # 16 bytes left before the end: wrap
    assert U32.unpack_from(data, 48)[0] == WRAP_MARKER
    assert U32.unpack_from(data, 0)[0] == 20
    assert counters[HEAD_INDEX] == 48 + 16 + 24
    assert consumer.drain(5) == [b"3" * 20]
    assert counters[TAIL_INDEX] == counters[HEAD_INDEX]


def test_wrap_needs_room_for_skipped_bytes() -> None:
    producer, consumer, _, _ = make(64)
    assert producer.push_many([b"1" * 20, b"2" * 20]) == 2
    assert consumer.drain(1) == [b"1" * 20]  # 40 free: 16 to skip + 24 for the record
    assert not producer.try_push(b"3" * 21)  # needs 16 + 32
    assert producer.try_push(b"3" * 20)
    assert consumer.drain(5) == [b"2" * 20, b"3" * 20]


def test_max_record_fits_an_empty_ring_at_every_offset() -> None:
    capacity = 256
    limit = max_record_for(capacity)
    for offset in range(0, capacity, 8):
        producer, consumer, _, counters = make(capacity)
        counters[HEAD_INDEX] = counters[TAIL_INDEX] = 10 * capacity + offset
        producer.resync()
        consumer.resync()
        assert producer.try_push(b"m" * limit), offset
        assert consumer.drain(2) == [b"m" * limit]


def test_record_over_max_record_raises() -> None:
    producer, _, _, _ = make(64)
    with pytest.raises(RecordTooLargeError, match="max_record of 28") as info:
        producer.try_push(b"x" * 29)
    assert info.value.length == 29 and info.value.index is None
    with pytest.raises(RecordTooLargeError):
        producer.reserve(29)


def test_push_many_stops_when_full_and_reports_count() -> None:
    producer, consumer, _, _ = make(64)
    assert producer.push_many([b"a" * 10] * 10) == 4  # 16 bytes each
    assert len(consumer.drain(100)) == 4


def test_push_many_publishes_before_an_oversized_payload() -> None:
    producer, consumer, _, _ = make(64)
    with pytest.raises(RecordTooLargeError) as info:
        producer.push_many([b"a", b"b", b"x" * 100, b"c"])
    assert info.value.index == 2
    assert consumer.drain(10) == [b"a", b"b"]


def test_reserve_commit() -> None:
    producer, consumer, _, _ = make(64)
    view = producer.reserve(20)
    assert view is not None and len(view) == 20
    view[:5] = b"hello"
    producer.commit(5)
    producer.publish()
    view.release()
    assert consumer.drain(5) == [b"hello"]


def test_reserve_across_wrap_and_when_full() -> None:
    producer, consumer, data, _ = make(64)
    assert producer.push_many([b"1" * 20, b"2" * 20]) == 2
    assert producer.reserve(20) is None  # full
    consumer.drain(2)
    view = producer.reserve(20)
    assert view is not None
    view[:] = b"w" * 20
    producer.commit(20)
    producer.publish()
    assert U32.unpack_from(data, 48)[0] == WRAP_MARKER
    assert consumer.drain(2) == [b"w" * 20]


def test_commit_misuse_is_refused() -> None:
    producer, _, _, _ = make(64)
    with pytest.raises(IpcError, match="without"):
        producer.commit(1)
    assert producer.reserve(8) is not None
    with pytest.raises(ValueError, match="outside"):
        producer.commit(9)
    assert producer.stage(b"other")
    with pytest.raises(IpcError, match="staged since"):
        producer.commit(1)


def test_drain_into_decoder_failure_consumes_that_record_only() -> None:
    producer, consumer, _, _ = make(64)
    producer.push_many([b"1", b"bad", b"3"])

    def decode(view: memoryview) -> int:
        if bytes(view) == b"bad":
            raise ValueError("undecodable")
        return int(bytes(view))

    out: list[int] = []
    with pytest.raises(ValueError):
        consumer.drain_into(out, decode, 10)
    assert out == [1]
    assert consumer.drain_into(out, decode, 10) == 1
    assert out == [1, 3]


def test_drain_respects_max_records() -> None:
    producer, consumer, _, _ = make(256)
    producer.push_many([bytes([i]) for i in range(10)])
    assert consumer.drain(3) == [b"\x00", b"\x01", b"\x02"]
    assert not consumer.is_empty()
    assert len(consumer.drain(100)) == 7
    assert consumer.is_empty()


# -- corruption ----------------------------------------------------------------------------

def test_torn_record_head_short_of_length() -> None:
    producer, consumer, _, counters = make(64)
    producer.try_push(b"x" * 20)
    counters[HEAD_INDEX] = 8  # header says 20 bytes, only 8 published
    with pytest.raises(RingCorruptError, match="torn"):
        consumer.peek()
    with pytest.raises(RingCorruptError, match="torn"):
        consumer.drain(1)
    assert counters[TAIL_INDEX] == 0  # nothing consumed, the error repeats


@pytest.mark.parametrize(
    "length, message",
    [(29, "impossible"), (1 << 30, "impossible"), (WRAP_MARKER, "wrap marker at offset 0")],
)
def test_impossible_lengths(length: int, message: str) -> None:
    _, consumer, data, counters = make(64)
    U32.pack_into(data, 0, length)
    counters[HEAD_INDEX] = 64
    with pytest.raises(RingCorruptError, match=message):
        consumer.drain(1)


def test_record_crossing_the_end_is_corrupt() -> None:
    _, consumer, data, counters = make(64)
    counters[HEAD_INDEX] = counters[TAIL_INDEX] = 48
    consumer.resync()
    U32.pack_into(data, 48, 20)  # 24 bytes from offset 48 pass the end
    counters[HEAD_INDEX] = 48 + 64
    with pytest.raises(RingCorruptError, match="crosses the end"):
        consumer.peek()


def test_wrap_marker_without_following_record_is_corrupt() -> None:
    _, consumer, data, counters = make(64)
    counters[HEAD_INDEX] = counters[TAIL_INDEX] = 48
    consumer.resync()
    U32.pack_into(data, 48, WRAP_MARKER)
    counters[HEAD_INDEX] = 64
    with pytest.raises(RingCorruptError, match="wrap marker"):
        consumer.peek()


@pytest.mark.parametrize("head, tail", [(8, 16), (200, 8)])
def test_counters_out_of_range_refused_on_attach(head: int, tail: int) -> None:
    counters = new_counters()
    counters[HEAD_INDEX] = head
    counters[TAIL_INDEX] = tail
    with pytest.raises(RingCorruptError, match="out of range"):
        Ring(bytearray(64), counters)


@pytest.mark.parametrize("look", ["peek", "drain", "is_empty"])
@pytest.mark.parametrize("new_head", [8, 16 + 72])
def test_consumer_detects_head_behind_tail_or_too_far_ahead(new_head: int, look: str) -> None:
    producer, consumer, _, counters = make(64)
    producer.push_many([b"a", b"b"])
    assert consumer.drain(2) == [b"a", b"b"]  # tail at 16
    counters[HEAD_INDEX] = new_head
    for _ in range(2):  # the bad head is never taken as seen: the error repeats
        with pytest.raises(RingCorruptError, match="inconsistent"):
            {"peek": consumer.peek, "drain": lambda: consumer.drain(1),
             "is_empty": consumer.is_empty}[look]()


def test_a_drain_checks_the_head_it_reloads_after_catching_up() -> None:
    producer, consumer, _, counters = make(64)
    producer.push_many([b"a", b"b"])
    assert consumer.drain(1) == [b"a"]  # the head seen covers "b" too
    counters[HEAD_INDEX] = 200  # found by the reload after "b": too far ahead
    out: list[bytes] = []
    with pytest.raises(RingCorruptError, match="inconsistent"):
        consumer.drain_into(out, bytes, 10)
    assert out == [b"b"] and counters[TAIL_INDEX] == 16  # what came before stays consumed


def test_producer_detects_tail_past_head() -> None:
    producer, _, _, counters = make(64)
    producer.push_many([b"a" * 20, b"b" * 20])
    counters[TAIL_INDEX] = 500
    with pytest.raises(RingCorruptError, match="tail moved"):
        producer.try_push(b"c" * 20)


def test_reset_forgets_records() -> None:
    producer, consumer, _, counters = make(64)
    producer.push_many([b"a", b"b"])
    consumer.drain(1)
    producer.reset()
    consumer.resync()
    assert counters[HEAD_INDEX] == counters[TAIL_INDEX] == 0
    assert consumer.peek() is None
    assert producer.try_push(b"z")
    assert consumer.drain(5) == [b"z"]


# -- model-based: random pushes and pops against a deque and an independent space model --------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 60)),
        st.tuples(st.just("many"), st.lists(st.integers(0, 60), max_size=6)),
        st.tuples(st.just("pop"), st.integers(1, 4)),
        st.tuples(st.just("reserve"), st.tuples(st.integers(0, 60), st.integers(0, 60))),
    ),
    max_size=80,
)


class SpaceModel:
    """Independent bookkeeping of where each record lands, to predict full/not-full exactly."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.head = self.tail = 0
        self.records: deque[tuple[bytes, int]] = deque()

    def push(self, payload: bytes) -> bool:
        need = (4 + len(payload) + 7) // 8 * 8
        to_end = self.capacity - self.head % self.capacity
        total = need if need <= to_end else to_end + need
        if self.head + total - self.tail > self.capacity:
            return False
        self.head += total
        self.records.append((payload, total))
        return True

    def pop(self) -> bytes:
        payload, total = self.records.popleft()
        self.tail += total
        return payload


@settings(max_examples=300, deadline=None)
@given(OPS, st.sampled_from([64, 128, 256]), st.integers(0, 2**40))
def test_random_operations_match_model(ops: list, capacity: int, start: int) -> None:
    producer, consumer, _, counters = make(capacity)
    start -= start % 8  # arbitrary counter origin: positions need not start at zero
    counters[HEAD_INDEX] = counters[TAIL_INDEX] = start
    producer.resync()
    consumer.resync()
    model = SpaceModel(capacity)
    model.head = model.tail = start
    serial = 0

    def payload(size: int) -> bytes:
        nonlocal serial
        serial += 1
        return (serial.to_bytes(4, "little") * 16)[:size]

    for op, arg in ops:
        if op == "push":
            p = payload(min(arg, producer.max_record))
            assert producer.try_push(p) == model.push(p)
        elif op == "many":
            batch = [payload(min(n, producer.max_record)) for n in arg]
            expected = 0
            for p in batch:
                if not model.push(p):
                    break
                expected += 1
            assert producer.push_many(batch) == expected
        elif op == "pop":
            got = consumer.drain(arg)
            assert got == [model.pop() for _ in range(min(arg, len(model.records)))]
        else:
            size, used = min(arg[0], producer.max_record), min(arg[1], arg[0], producer.max_record)
            view = producer.reserve(size)
            fits_reserved = SpaceModel(capacity)
            fits_reserved.head, fits_reserved.tail = model.head, model.tail
            assert (view is not None) == fits_reserved.push(b"\0" * size)
            if view is not None:
                p = payload(used)
                view[:used] = p
                view.release()
                producer.commit(used)
                producer.publish()
                # The committed record sits where the reservation was placed, sized by `used`.
                to_end = capacity - model.head % capacity
                need_reserved = (4 + size + 7) // 8 * 8
                skip = 0 if need_reserved <= to_end else to_end
                model.head += skip + (4 + used + 7) // 8 * 8
                model.records.append((p, skip + (4 + used + 7) // 8 * 8))
        assert counters[HEAD_INDEX] == model.head
        assert counters[TAIL_INDEX] == model.tail
    assert consumer.drain(1000) == [p for p, _ in model.records]
