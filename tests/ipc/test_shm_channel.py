"""Tests for ferrosa.ipc.shm, ferrosa.ipc.doorbell and ferrosa.ipc.channel, across real processes.

Child processes are started with subprocess.Popen (as the supervisor starts shards) running
functions of this module; they find the rings by name and the doorbells by inherited fd.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
import uuid
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import msgspec
import pytest

from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.errors import ChannelDecodeError, RecordTooLargeError, SegmentError
from ferrosa.ipc.ring import Ring, new_counters
from ferrosa.ipc.shm import (
    SHM_DIR,
    RingPair,
    RingSegment,
    list_segments,
    remove_stale_segments,
    segment_name,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


class Ping(msgspec.Struct, tag=True, array_like=True):
    seq: int
    body: bytes


class Stop(msgspec.Struct, tag=True, array_like=True):
    pass


class Pong(msgspec.Struct, tag=True, array_like=True):
    seq: int
    size: int
    body: bytes


Request = Ping | Stop


def body_for(seq: int) -> bytes:
    """Deterministic payloads of varying size (0..299 bytes) so records wrap at every offset."""
    return seq.to_bytes(8, "little") * ((seq * 7919) % 38) + b"!" * (seq % 5)


def expected_pong(seq: int) -> Pong:
    body = body_for(seq)
    return Pong(seq, len(body), body[::-1])


def fresh_node() -> str:
    return "t" + uuid.uuid4().hex[:12]


def run_child(function: str, *args: object, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    code = f"import sys; from tests.ipc.test_shm_channel import {function}; {function}(*sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO_ROOT,
        pass_fds=pass_fds,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str], timeout: float = 30.0) -> str:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, f"child failed ({child.returncode}): {err}"
    return out


# -- child process entry points ------------------------------------------------------------------

def shard_main(node: str, req_fd: str, rep_fd: str) -> None:
    """Echo shard: sleeps on its request doorbell, answers every Ping with a Pong, in order."""
    pair = RingPair.attach(node, 0, 0)
    requests: Channel[Ping | Stop] = Channel(pair.request.ring, Doorbell.from_fd(int(req_fd)), Request)
    replies: Channel[Pong] = Channel(pair.reply.ring, Doorbell.from_fd(int(rep_fd)), Pong)
    pending: list[Pong] = []
    stopping = False
    while not (stopping and not pending):
        if not pending and not stopping:
            batch = requests.recv_wait(timeout=10.0)
            if not batch and requests.ring.is_empty():
                sys.exit("shard: no request for 10 s")
            if not batch:
                sys.exit("shard: lost wake-up (timed out with requests in the ring)")
            for msg in batch:
                if type(msg) is Stop:
                    stopping = True
                else:
                    pending.append(Pong(msg.seq, len(msg.body), msg.body[::-1]))
        sent = replies.send_many(pending)
        del pending[:sent]
        if pending:
            time.sleep(0.0002)  # reply ring full: the front drains it; no doorbell for space
    pair.close()


def attach_and_exit(name: str, how: str) -> None:
    """Attach to a segment, print this process's resource-tracker pid, exit normally."""
    if how == "ferrosa":
        segment = RingSegment.attach(name)
        segment.close()
    else:
        shm = SharedMemory(name=name)  # the 3.11 pitfall: registers the segment for unlinking
        shm.close()
    print(resource_tracker._resource_tracker._pid, flush=True)  # noqa: SLF001


def ring_bell(fd: str) -> None:
    Doorbell.from_fd(int(fd)).ring()


# -- segments ------------------------------------------------------------------------------------

def test_segment_names_are_validated() -> None:
    assert segment_name("n1", "f0", "s3", "req") == "ferrosa_n1_f0_s3_req"
    assert RingPair.names("n1", 0, 3) == ("ferrosa_n1_f0_s3_req", "ferrosa_n1_f0_s3_rep")
    for bad_node in ["", "a_b", "a/b", "x" * 65]:
        with pytest.raises(SegmentError, match="node id"):
            segment_name(bad_node, "x")
    with pytest.raises(SegmentError, match="part"):
        segment_name("n1", "a_b")


def test_create_attach_close_unlink_leaves_nothing() -> None:
    node = fresh_node()
    created = RingPair.create(node, 0, 1, 4096)
    attached = RingPair.attach(node, 0, 1)
    assert list_segments(node) == [f"ferrosa_{node}_f0_s1_rep", f"ferrosa_{node}_f0_s1_req"]
    assert created.request.ring.try_push(b"req")
    assert attached.reply.ring.try_push(b"rep")
    assert attached.request.ring.drain(5) == [b"req"]
    assert created.reply.ring.drain(5) == [b"rep"]
    with pytest.raises(SegmentError, match="only its creator"):
        attached.request.unlink()
    attached.close()
    attached.close()  # idempotent
    created.close()
    created.unlink()
    assert list_segments(node) == []
    assert not any(name.startswith(f"ferrosa_{node}") for name in os.listdir(SHM_DIR))


def test_create_refuses_existing_and_attach_refuses_missing_or_foreign() -> None:
    node = fresh_node()
    segment = RingSegment.create(segment_name(node, "x"), 1024)
    try:
        with pytest.raises(SegmentError, match="already exists"):
            RingSegment.create(segment_name(node, "x"), 1024)
        with pytest.raises(SegmentError, match="does not exist"):
            RingSegment.attach(segment_name(node, "missing"))
        foreign = SharedMemory(name=segment_name(node, "foreign"), create=True, size=4096)
        try:
            with pytest.raises(SegmentError, match="not a ferrosa ring"):
                RingSegment.attach(segment_name(node, "foreign"))
        finally:
            foreign.close()
            foreign.unlink()
    finally:
        segment.close()
        segment.unlink()


def test_close_with_live_view_is_reported() -> None:
    node = fresh_node()
    segment = RingSegment.create(segment_name(node, "v"), 1024)
    segment.ring.try_push(b"abc")
    view = segment.ring.peek()
    with pytest.raises(SegmentError, match="live memoryviews"):
        segment.close()
    view.release()
    segment.unlink()


def test_pair_reset_zeroes_counters() -> None:
    node = fresh_node()
    pair = RingPair.create(node, 2, 5, 1024)
    try:
        pair.request.ring.push_many([b"a", b"b"])
        pair.reply.ring.try_push(b"c")
        pair.reset()
        for segment in (pair.request, pair.reply):
            assert segment.ring.counters.tolist() == [0] * 16
            assert segment.ring.drain(5) == []
        restarted = RingPair.attach(node, 2, 5)  # the restarted shard sees clean rings
        pair.request.ring.try_push(b"fresh")
        assert restarted.request.ring.drain(5) == [b"fresh"]
        restarted.close()
    finally:
        pair.close()
        pair.unlink()


def _leak_segment(name: str) -> None:
    """A segment as a SIGKILLed node leaves it: present in /dev/shm, tracked by nobody."""
    shm = SharedMemory(name=name, create=True, size=256)
    resource_tracker.unregister(shm._name, "shared_memory")  # noqa: SLF001
    shm.close()


def test_remove_stale_segments_only_touches_that_node() -> None:
    node = fresh_node()
    other = node + "x"  # shares the text prefix, not the name prefix
    for name in (segment_name(node, "f0", "s0", "req"), segment_name(node, "f0", "s0", "rep"),
                 segment_name(other, "f0", "s0", "req")):
        _leak_segment(name)
    try:
        removed = remove_stale_segments(node)
        assert sorted(removed) == [f"ferrosa_{node}_f0_s0_rep", f"ferrosa_{node}_f0_s0_req"]
        assert list_segments(node) == []
        assert list_segments(other) == [f"ferrosa_{other}_f0_s0_req"]
        pair = RingPair.create(node, 0, 0, 1024)  # the node can start again
        pair.close()
        pair.unlink()
    finally:
        remove_stale_segments(other)


def _wait_for_process_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < deadline:
        try:
            state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
        except FileNotFoundError:
            return
        if "Z" in state.split()[1]:
            return  # exited, waiting to be reaped by init
        time.sleep(0.02)
    raise AssertionError(f"resource tracker {pid} still running")


@pytest.mark.parametrize("how, survives", [("ferrosa", True), ("plain", False)])
def test_child_that_attaches_and_exits_does_not_unlink(how: str, survives: bool) -> None:
    # "plain" is the control: without unregistering, the child's tracker unlinks the segment.
    node = fresh_node()
    segment = RingSegment.create(segment_name(node, "rt"), 1024)
    try:
        tracker_pid = int(finish(run_child("attach_and_exit", segment.name, how)).strip())
        _wait_for_process_gone(tracker_pid)
        assert (list_segments(node) == [segment.name]) is survives
    finally:
        segment.close()
        if survives:
            segment.unlink()
        else:
            resource_tracker.unregister(f"/{segment.name}", "shared_memory")


# -- doorbells -----------------------------------------------------------------------------------

def test_doorbell_ring_clear_wait() -> None:
    with Doorbell() as bell:
        assert not bell.wait(0)
        assert not bell.clear()
        started = time.monotonic()
        assert not bell.wait(0.05)
        assert time.monotonic() - started >= 0.04
        bell.ring()
        bell.ring()
        assert bell.wait(0)
        assert bell.wait(None)
        assert bell.clear()
        assert not bell.clear()
        assert not bell.wait(0)


def test_doorbell_is_inherited_by_popen_child() -> None:
    with Doorbell() as bell:
        finish(run_child("ring_bell", bell.fileno(), pass_fds=(bell.fileno(),)))
        assert bell.wait(5.0)
        assert bell.clear()


def test_doorbell_wakes_asyncio_reader() -> None:
    async def scenario(bell: Doorbell) -> bool:
        loop = asyncio.get_running_loop()
        woke = loop.create_future()
        loop.add_reader(bell.fileno(), lambda: woke.done() or woke.set_result(bell.clear()))
        loop.call_later(0.01, bell.ring)
        try:
            return await asyncio.wait_for(woke, 5.0)
        finally:
            loop.remove_reader(bell.fileno())

    with Doorbell() as bell:
        assert asyncio.run(scenario(bell))


# -- the wake-up rule: every interleaving, and proof that the test can tell ----------------------

def _interleavings(a: list[str], b: list[str]) -> list[list[str]]:
    result = []
    for positions in itertools.combinations(range(len(a) + len(b)), len(a)):
        order, ia, ib = [], iter(a), iter(b)
        for i in range(len(a) + len(b)):
            order.append(next(ia) if i in positions else next(ib))
        result.append(order)
    return result


def _lost_wakeups(consumer_steps: list[str]) -> list[list[str]]:
    """Interleavings in which the consumer would sleep with a record waiting and the bell silent."""
    lost = []
    for order in _interleavings(consumer_steps, ["publish", "ring"]):
        ring = Ring(bytearray(64), new_counters())
        with Doorbell() as bell:
            received: list[bytes] = []
            for step in order:
                if step == "publish":
                    ring.try_push(b"record")
                elif step == "ring":
                    bell.ring()
                elif step == "clear":
                    bell.clear()
                else:
                    received += ring.drain(10)
            if not received and not bell.wait(0):
                lost.append(order)
    return lost


def test_clear_then_drain_never_loses_a_wakeup() -> None:
    assert _lost_wakeups(["clear", "drain"]) == []


def test_drain_then_clear_would_lose_one() -> None:
    assert _lost_wakeups(["drain", "clear"]) == [["drain", "publish", "ring", "clear"]]


# -- channels ------------------------------------------------------------------------------------

def _local_channels(capacity: int = 4096) -> tuple[Channel, Channel, Doorbell]:
    data, counters = bytearray(capacity), new_counters()
    bell = Doorbell()
    return Channel(Ring(data, counters), bell, Request), Channel(Ring(data, counters), bell, Request), bell


def test_channel_send_many_rings_once_and_recv_all_decodes_in_order() -> None:
    sender, receiver, bell = _local_channels()
    with bell:
        assert sender.send_many([Ping(i, body_for(i)) for i in range(10)]) == 10
        assert bell.wait(0)
        assert receiver.recv_all() == [Ping(i, body_for(i)) for i in range(10)]
        assert not bell.wait(0)  # recv_all cleared it
        assert sender.send(Stop())
        assert receiver.poll() == [Stop()]


def test_channel_back_pressure_and_oversize() -> None:
    sender, receiver, bell = _local_channels(256)
    with bell:
        sent = sender.send_many([Ping(i, b"x" * 40) for i in range(20)])
        assert 0 < sent < 20
        assert not sender.send(Ping(99, b"x" * 40))
        assert len(receiver.recv_all()) == sent
        with pytest.raises(RecordTooLargeError):
            sender.send(Ping(1, b"y" * 200))


def test_recv_all_stopping_at_max_rerings_the_bell() -> None:
    sender, receiver, bell = _local_channels()
    with bell:
        sender.send_many([Ping(i, b"") for i in range(5)])
        assert len(receiver.recv_all(max_records=3)) == 3
        assert bell.wait(0)  # rung again: a consumer that now sleeps wakes up at once
        assert len(receiver.recv_all(max_records=3)) == 2
        assert not bell.wait(0)


def test_undecodable_record_raises_with_the_good_ones() -> None:
    sender, receiver, bell = _local_channels()
    with bell:
        sender.send(Ping(1, b"a"))
        sender.ring.try_push(b"\xc1garbage")
        sender.send(Ping(2, b"b"))
        with pytest.raises(ChannelDecodeError) as info:
            receiver.recv_all()
        assert info.value.decoded == [Ping(1, b"a")]
        assert receiver.recv_all() == [Ping(2, b"b")]


class Pings(msgspec.Struct, tag=True, array_like=True):
    items: list[Ping | Stop]


def _grouped_channels(capacity: int = 4096) -> tuple[Channel, Channel, Doorbell]:
    data, counters = bytearray(capacity), new_counters()
    bell = Doorbell()
    kind = Ping | Stop | Pings
    return (Channel(Ring(data, counters), bell, kind, Pings),
            Channel(Ring(data, counters), bell, kind, Pings), bell)


def test_grouped_messages_travel_in_one_record_and_come_back_one_by_one() -> None:
    sender, receiver, bell = _grouped_channels()
    with bell:
        sent = [Ping(i, body_for(i)) for i in range(6)] + [Stop()]
        assert sender.send_grouped(sent) == 7
        assert bell.wait(0)
        assert receiver.ring.drain(100) == [msgspec.msgpack.encode(Pings(sent))]
        assert sender.send_grouped(sent) == 7
        assert sender.send_grouped([Ping(7, b"one")]) == 1  # alone: a record of its own
        assert receiver.recv_all() == sent + [Ping(7, b"one")]


def test_a_group_over_the_record_limit_goes_one_record_each() -> None:
    sender, receiver, bell = _grouped_channels(512)  # max_record 252; each Ping takes 120
    with bell:
        sent = [Ping(i, b"x" * 100) for i in range(5)]
        assert sender.send_grouped(sent) == 4  # singly, as send_many: the fifth does not fit
        assert receiver.ring.drain(100) == [msgspec.msgpack.encode(p) for p in sent[:4]]
        assert sender.send_grouped(sent[4:]) == 1
        assert receiver.recv_all() == sent[4:]


def test_a_group_waits_whole_for_room() -> None:
    sender, receiver, bell = _grouped_channels(512)
    with bell:
        assert sender.send_grouped([Ping(0, b"a" * 150), Ping(1, b"")]) == 2
        assert sender.send_grouped([Ping(2, b"b" * 150), Ping(3, b"")]) == 2
        assert sender.send_grouped([Ping(4, b"c" * 150), Ping(5, b"")]) == 0  # full: none
        assert [p.seq for p in receiver.recv_all()] == [0, 1, 2, 3]
        assert sender.send_grouped([Ping(4, b"c" * 150), Ping(5, b"")]) == 2


def test_an_undecodable_record_after_a_group_raises_with_its_items() -> None:
    sender, receiver, bell = _grouped_channels()
    with bell:
        sender.send_grouped([Ping(1, b"a"), Ping(2, b"b")])
        sender.ring.try_push(msgspec.msgpack.encode(Pings([Pings([])])))  # never nested
        with pytest.raises(ChannelDecodeError) as info:
            receiver.recv_all()
        assert info.value.decoded == [Ping(1, b"a"), Ping(2, b"b")]


def test_recv_wait_times_out_empty() -> None:
    _, receiver, bell = _local_channels()
    with bell:
        started = time.monotonic()
        assert receiver.recv_wait(timeout=0.05, spin=0.01) == []
        assert time.monotonic() - started >= 0.04


# -- two real processes: 100k request/reply messages with doorbells both ways ---------------------

class ShardLink:
    """The front's side of one shard: rings, bells, channels and the echo-shard child process."""

    def __init__(self, capacity: int) -> None:
        self.node = fresh_node()
        self.pair = RingPair.create(self.node, 0, 0, capacity)
        self.req_bell, self.rep_bell = Doorbell(), Doorbell()
        self.requests: Channel[Ping | Stop] = Channel(self.pair.request.ring, self.req_bell, Request)
        self.replies: Channel[Pong] = Channel(self.pair.reply.ring, self.rep_bell, Pong)
        fds = (self.req_bell.fileno(), self.rep_bell.fileno())
        self.child = run_child("shard_main", self.node, *fds, pass_fds=fds)

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self.pair.close()
        self.pair.unlink()
        self.req_bell.close()
        self.rep_bell.close()
        assert list_segments(self.node) == []


def _check_replies(replies: list[Pong], first_seq: int) -> None:
    for offset, pong in enumerate(replies):
        assert pong == expected_pong(first_seq + offset)


def test_two_processes_100k_round_trips_in_order() -> None:
    total, batch = 100_000, 64
    link = ShardLink(capacity=1 << 16)
    try:
        next_send = next_recv = 0
        while next_recv < total:
            if next_send < total:
                msgs = [Ping(i, body_for(i)) for i in range(next_send, min(total, next_send + batch))]
                next_send += link.requests.send_many(msgs)
            if next_send < total and not link.pair.request.ring.used_bytes() > (1 << 15):
                replies = link.replies.recv_all()
            else:
                replies = link.replies.recv_wait(timeout=10.0)
                assert replies, f"front waited 10 s for replies at {next_recv}/{total} (lost wake-up?)"
            _check_replies(replies, next_recv)
            next_recv += len(replies)
        assert link.requests.send(Stop())
        finish(link.child)
        assert link.replies.recv_all() == []
    finally:
        link.close()


def test_asyncio_front_with_add_reader() -> None:
    total = 20_000
    link = ShardLink(capacity=1 << 14)

    async def front() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        received: list[Pong] = []

        def on_replies() -> None:
            received.extend(link.replies.recv_all())
            if len(received) == total and not done.done():
                done.set_result(None)

        loop.add_reader(link.replies.fileno(), on_replies)
        try:
            next_send = 0
            while next_send < total:
                msgs = [Ping(i, body_for(i)) for i in range(next_send, min(total, next_send + 32))]
                sent = link.requests.send_many(msgs)
                next_send += sent
                await asyncio.sleep(0 if sent else 0.0005)
            await asyncio.wait_for(done, 30.0)
        finally:
            loop.remove_reader(link.replies.fileno())
        _check_replies(received, 0)

    try:
        asyncio.run(front())
        assert link.requests.send(Stop())
        finish(link.child)
    finally:
        link.close()


def test_ping_pong_never_loses_a_wakeup() -> None:
    # One message in flight: both sides sleep on their doorbell between messages, so a single
    # lost wake-up stalls the exchange and trips the timeout (pipelined traffic would mask it).
    total = 20_000
    link = ShardLink(capacity=1 << 12)
    try:
        for seq in range(total):
            started = time.monotonic()
            assert link.requests.send(Ping(seq, body_for(seq)))
            replies = link.replies.recv_wait(timeout=1.0)
            # recv_wait looks at the ring once more after a timeout, so a lost wake-up shows
            # as a full-second wait rather than as a missing reply.
            elapsed = time.monotonic() - started
            assert elapsed < 1.0, f"ping {seq} took {elapsed:.2f} s: lost wake-up"
            assert replies == [expected_pong(seq)]
        assert link.requests.send(Stop())
        finish(link.child)
    finally:
        link.close()


class Projected(msgspec.Struct, tag=True, array_like=True):
    seq: int
    projection: msgspec.Raw  # as messages.Read's


def _projected_channels() -> tuple[Channel, Channel, Doorbell]:
    data, counters = bytearray(512), new_counters()
    bell = Doorbell()
    return (Channel(Ring(data, counters), bell, Projected),
            Channel(Ring(data, counters), bell, Projected), bell)


def _overwrite_the_ring(sender: Channel, receiver: Channel) -> None:
    """Send and drain records until the producer has written over the whole ring."""
    for seq in range(1, 12):
        assert sender.send(Projected(seq, msgspec.Raw(msgspec.msgpack.encode([b"\xff" * 60]))))
        receiver.recv_all()


@pytest.mark.parametrize("copied", [True, False])
def test_a_raw_field_outlives_the_ring_record_only_from_recv_records(copied: bool) -> None:
    sender, receiver, bell = _projected_channels()
    with bell:
        encoded = msgspec.msgpack.encode([b"\x01" * 60])
        sender.send(Projected(0, msgspec.Raw(encoded)))
        if copied:
            [(first, record)] = receiver.recv_records()
            assert record == msgspec.msgpack.encode(first)
        else:
            [first] = receiver.recv_all()
        _overwrite_the_ring(sender, receiver)
        # recv_all's Raw still points into the ring: why a shard drains with recv_records.
        assert (bytes(first.projection) == encoded) is copied


def test_recv_records_gives_each_record_with_its_bytes_and_groups_whole() -> None:
    sender, receiver, bell = _grouped_channels()
    with bell:
        group = [Ping(1, b"a"), Ping(2, b"b")]
        sender.send_grouped(group)
        sender.send(Stop())
        assert bell.wait(0)
        assert receiver.recv_records() == [(Pings(group), msgspec.msgpack.encode(Pings(group))),
                                           (Stop(), msgspec.msgpack.encode(Stop()))]
        assert not bell.wait(0)  # cleared
        for i in range(5):
            sender.send(Ping(i, b""))
        assert [msg.seq for msg, _ in receiver.recv_records(3)] == [0, 1, 2]
        assert bell.wait(0)  # stopped before the ring was empty: rung for the rest
        assert [msg.seq for msg, _ in receiver.recv_records(3)] == [3, 4]


def test_recv_records_raises_with_every_good_record() -> None:
    sender, receiver, bell = _local_channels()
    with bell:
        sender.send(Ping(1, b"a"))
        sender.ring.try_push(b"\xc1garbage")
        sender.send(Ping(2, b"b"))
        with pytest.raises(ChannelDecodeError, match="1 undecodable") as info:
            receiver.recv_records()
        assert [msg for msg, _ in info.value.decoded] == [Ping(1, b"a"), Ping(2, b"b")]
        assert receiver.recv_records() == []
