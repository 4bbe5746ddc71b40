"""ShardWorker's loop over its rings, in this process: requests that come grouped in one ring
record (the front's router sends a loop pass's requests to a shard as one Requests group) are
served in order, at most MAX_BATCH a pass, logged one by one, and replayed after a restart."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ferrosa.config import NodeConfig
from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.partitioner import token
from shards import worker as worker_module
from shards.commitlog_replay import replay_directory
from shards.commitlog_segment import frame_records, pack_header
from shards.errors import CommitLogError
from shards.worker import MAX_BATCH, ShardWorker, commitlog_dir

RING_BYTES = 1 << 20
TABLE = uuid.UUID(int=7).bytes
NAMES = ["C0", "C1"]
PROJECTION = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "C0"), (m.PROJ_CELL, "C1")])


class Front:
    """The front's ends of one shard's rings, and a way to start that shard's worker."""

    def __init__(self, directory: Path) -> None:
        self.config = msgspec.convert({"data_dir": str(directory), "shard_count": 1}, NodeConfig)
        self.pair = RingPair.create("tw" + uuid.uuid4().hex[:8], 0, 0, RING_BYTES)
        self.bell, self.reply_bell = Doorbell(), Doorbell()
        self.requests = Channel(self.pair.request.ring, self.bell, m.ShardRequest, m.Requests)
        self.replies = Channel(self.pair.reply.ring, self.reply_bell, m.ShardReply, m.Replies)

    def worker(self) -> ShardWorker:
        return ShardWorker(0, self.pair, self.bell, self.reply_bell, 1, self.config)

    def close(self) -> None:
        self.requests = self.replies = None
        self.pair.unlink()
        self.pair.close()
        self.bell.close()
        self.reply_bell.close()


@contextlib.contextmanager
def _worker(front: Front) -> Iterator[ShardWorker]:
    """A worker of the front's shard (replaying its commit log), its log closed after."""
    worker = front.worker()
    try:
        yield worker
    finally:
        worker.commitlog.close()


@pytest.fixture
def front(tmp_path: Path) -> Iterator[Front]:
    f = Front(tmp_path)
    try:
        yield f
    finally:
        f.close()


def _write(req_id: int, key: int) -> m.Write:
    pk = b"%08d" % key
    mutation = m.Mutation(TABLE, token(pk), pk, b"", [], 1_700_000_000_000_000 + key,
                          m.MUTATION_ROW_UPSERT, row_marker=True, now=1_700_000_000,
                          plain_names=NAMES, plain_values=[b"a%d" % key, b"b%d" % key])
    return m.Write(req_id, [mutation])


def _read(req_id: int, key: int) -> m.Read:
    pk = b"%08d" % key
    return m.Read(req_id, TABLE, token(pk), pk, PROJECTION, 1_700_000_100)


def _pair(request) -> tuple[object, bytes]:
    """`request` as ShardWorker.requests.recv_records gives it."""
    return request, msgspec.msgpack.encode(request)


def _value(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _ids(records: list) -> list[int]:
    return [r.req_id for request, _ in records
            for r in (request.items if type(request) is m.Requests else [request])]


def test_a_pass_takes_at_most_max_batch_requests_unless_one_group_holds_more(
        front: Front) -> None:
    with _worker(front) as worker:
        third = MAX_BATCH // 2 - 20  # two groups fit a pass, three do not
        sent = [m.Ping(i) for i in range(3 * third + 1)]
        for i in range(0, 3 * third, third):
            assert front.requests.send_grouped(sent[i:i + third]) == third
        assert front.requests.send(sent[-1])
        assert _ids(worker._next_batch()) == list(range(2 * third))
        assert _ids(worker._next_batch()) == list(range(2 * third, len(sent)))
        assert worker._next_batch() == []
        big = [m.Ping(i) for i in range(MAX_BATCH + 44)]
        assert front.requests.send_grouped(big) == len(big)
        assert front.requests.send(m.Ping(-1))
        assert _ids(worker._next_batch()) == list(range(len(big)))  # one record: whole
        assert _ids(worker._next_batch()) == [-1]


def test_the_loop_serves_what_a_drain_left_without_waiting(
        front: Front, monkeypatch: pytest.MonkeyPatch) -> None:
    # Were the loop to sleep with requests left over, it would sleep this long.
    monkeypatch.setattr(worker_module, "IDLE_WAIT_SECONDS", 60.0)
    worker = front.worker()
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert [type(r) for r in front.replies.recv_wait(10)] == [m.Hello]
        sent = [m.Ping(i) for i in range(3 * MAX_BATCH)]
        for i in range(0, len(sent), 100):  # more than a pass takes
            assert front.requests.send_grouped(sent[i:i + 100], notify=False) == len(sent[i:i + 100])
        front.bell.ring()
        answered: list = []
        while len(answered) < len(sent):
            got = front.replies.recv_wait(10)
            assert got, f"{len(answered)} of {len(sent)} answered, then nothing for 10 s"
            answered.extend(got)
        assert [(type(r), r.req_id) for r in answered] == [(m.Stats, i) for i in range(len(sent))]
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()


class _CountedDrains:
    """A worker's request Channel that counts its drains (it has __slots__: wrapped, not
    patched)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.ring = channel.ring
        self.drains = 0

    def recv_records(self, max_records: int) -> list:
        self.drains += 1
        return self.channel.recv_records(max_records)


def _running(worker: ShardWorker, front: Front) -> threading.Thread:
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert [type(r) for r in front.replies.recv_wait(10)] == [m.Hello]
    return thread


def _stop(worker: ShardWorker, thread: threading.Thread) -> None:
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_a_request_published_during_a_pass_is_served_before_the_loop_sleeps(
        front: Front, monkeypatch: pytest.MonkeyPatch) -> None:
    # The record below comes without a ring of the doorbell: only a look at the ring after the
    # pass finds it; a shard that slept instead would answer it 60 s later.
    monkeypatch.setattr(worker_module, "IDLE_WAIT_SECONDS", 60.0)
    worker = front.worker()
    serve = worker.serve

    def serve_and_publish(records: list) -> list:
        if records[0][0].req_id == 1:
            assert front.requests.send(m.Ping(2), notify=False)
        return serve(records)

    worker.serve = serve_and_publish  # type: ignore[method-assign]
    thread = _running(worker, front)
    try:
        assert front.requests.send(m.Ping(1))
        answered: list = []
        while len(answered) < 2:
            got = front.replies.recv_wait(10)
            assert got, f"answered {answered}, then nothing for 10 s"
            answered.extend(r.req_id for r in got)
        assert answered == [1, 2]
    finally:
        _stop(worker, thread)


def test_a_pass_that_leaves_the_ring_empty_sleeps_without_another_drain(
        front: Front, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "IDLE_WAIT_SECONDS", 60.0)
    worker = front.worker()
    counted = worker.requests = _CountedDrains(worker.requests)  # type: ignore[assignment]
    thread = _running(worker, front)
    try:
        thread.join(0.2)
        assert counted.drains == 1  # the first pass found nothing and slept
        assert front.requests.send(m.Ping(1))
        assert [r.req_id for r in front.replies.recv_wait(10)] == [1]
        thread.join(0.2)  # time for a second pass, were there one
        assert counted.drains == 2
    finally:
        _stop(worker, thread)


def _logged(front: Front) -> list:
    """The records of the shard's commit log, decoded."""
    payloads: list[bytes] = []
    replay_directory(str(commitlog_dir(front.config, 0)), 1 << 30,
                     lambda position, payload: payloads.append(payload) or set())
    decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
    return [decode(payload) for payload in payloads]


def test_a_group_of_writes_is_logged_as_it_came_and_replayed(front: Front) -> None:
    with _worker(front) as worker:
        batch = [_write(1, 1), _write(2, 2), _write(4, 3)]
        assert front.requests.send_grouped(batch) == 3
        assert worker.serve(worker._next_batch()) == []  # the Acks wait for the commit log
        assert sorted(worker.acks.release(worker.commitlog.written_position)) == [1, 2, 4]
        worker.commitlog.sync()
    assert _logged(front) == [m.Requests(batch)]  # one record, not one per write
    with _worker(front) as restarted:  # replays the log: nothing was flushed
        assert restarted.store.tables[TABLE].partition_count() == 3
        [rows] = restarted.serve([_pair(_read(5, 3))])
        assert rows.rows == _value(b"00000003") + _value(b"a3") + _value(b"b3")


def test_a_mixed_groups_writes_are_logged_one_by_one(front: Front) -> None:
    with _worker(front) as worker:
        rejected = _write(5, 9)
        rejected.mutations[0].plain_names = ["C0"]  # two values for one name: refused
        batch = [_write(1, 1), _write(2, 2), _read(3, 1), rejected, _write(4, 3)]
        assert front.requests.send_grouped(batch) == 5
        rows, failure = worker.serve(worker._next_batch())
        assert (rows.req_id, rows.count) == (3, 1)
        assert rows.rows == _value(b"00000001") + _value(b"a1") + _value(b"b1")
        assert (type(failure), failure.req_id) == (m.Failure, 5)
        assert front.requests.send(_write(6, 4))  # alone: logged as it came
        assert worker.serve(worker._next_batch()) == []
        worker.commitlog.sync()
    assert _logged(front) == [_write(1, 1), _write(2, 2), _write(4, 3), _write(6, 4)]
    with _worker(front) as restarted:
        assert restarted.store.tables[TABLE].partition_count() == 4


def test_a_logged_group_holds_only_logged_requests(front: Front) -> None:
    with _worker(front) as worker:
        record = msgspec.msgpack.encode(m.Requests([_write(1, 1), _read(2, 1)]))
        with pytest.raises(CommitLogError, match="holds a Read, which is never logged"):
            worker._replay(worker.commitlog.written_position, record)


def test_a_version_1_segment_is_replayed(front: Front) -> None:
    """A segment of an earlier build (format version 1: one request a record) replays."""
    directory = commitlog_dir(front.config, 0)
    os.makedirs(directory, exist_ok=True)
    header = pack_header(5, 1)
    records = [msgspec.msgpack.encode(_write(1, 1)), msgspec.msgpack.encode(_write(2, 2))]
    with open(os.path.join(directory, "CommitLog-1-5.log"), "wb") as f:
        f.write(header + frame_records(records, zlib.crc32(header[:-4]), 1 << 20))
    with _worker(front) as worker:
        assert worker.store.tables[TABLE].partition_count() == 2


def test_an_undecodable_logged_record_refuses_to_start(front: Front) -> None:
    with _worker(front) as worker:
        worker.serve([_pair(_write(1, 1))])
        worker.commitlog.append([msgspec.msgpack.encode(["no", "request"])])
        worker.commitlog.sync()
        segments = sorted(os.listdir(commitlog_dir(front.config, 0)))
    with pytest.raises(CommitLogError, match="is not a request this build can replay"):
        front.worker()
    assert sorted(os.listdir(commitlog_dir(front.config, 0))) == segments  # nothing set aside


def test_a_read_outlives_its_ring_record(front: Front) -> None:
    with _worker(front) as worker:
        worker.serve([_pair(_write(1, 1))])
        front.requests.send(_read(2, 1))
        [(read, record)] = worker._next_batch()
        # The front writes over the whole ring while the shard still holds the Read.
        for _ in range(2 * RING_BYTES // 200_000 + 1):
            assert front.requests.ring.try_push(b"\xff" * 200_000)
            assert len(worker.requests.ring.drain(1)) == 1
        [rows] = worker.serve([(read, record)])
        assert rows.rows == _value(b"00000001") + _value(b"a1") + _value(b"b1")


def test_writes_around_a_flush_in_a_group_are_all_logged(front: Front) -> None:
    with _worker(front) as worker:
        batch = [_write(1, 1), m.Flush(2, TABLE), _write(3, 2)]
        assert front.requests.send_grouped(batch) == 3
        assert worker.serve(worker._next_batch()) == []  # the Flush answers once done
        worker.commitlog.sync()
    # The write before the Flush is logged before it starts, so the flush's position covers it.
    assert _logged(front) == [_write(1, 1), _write(3, 2)]


class _Clock:
    """The worker module's `time`, moved by the test: a pass's serving and each background step
    take the time the test gives them."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


# A background step's time in test_background_steps_*: of the order of a flush's longest steps
# on a node (docs/performance.md), long enough that the share's arithmetic shows in few passes.
STEP_SECONDS = 0.01


def _timed_steps(worker: ShardWorker, clock: _Clock, monkeypatch: pytest.MonkeyPatch) -> list:
    """A flush of 10,000 partitions queued in the worker's store (about 200 steps), each of
    its steps taking STEP_SECONDS of the clock; returns the list that records them."""
    store = worker.store
    for key in range(10_000):
        assert type(store.handle(_write(key, key))) is m.Ack
    assert store.flush(TABLE) is not None
    step, taken = store.maintenance_step, []

    def timed_step() -> bool:
        clock.now += STEP_SECONDS
        taken.append(clock.now)
        return step()

    monkeypatch.setattr(store, "maintenance_step", timed_step)
    return taken


def test_background_steps_take_their_share_of_a_busy_shard_whatever_it_did_idle(
        front: Front, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(worker_module, "time", clock)
    with _worker(front) as worker:
        worker._credit, worker._credit_at = 0.0, clock.now  # as run() starts
        taken = _timed_steps(worker, clock, monkeypatch)
        for _ in range(100):  # an idle shard steps on every pass
            worker.background(idle=True)
        assert len(taken) == 100
        taken.clear()
        for _ in range(400):  # then requests keep it busy: 1 ms of serving a pass
            clock.now += 0.001
            worker.background(idle=False)
        # Steps S of the whole time 0.4 s + S: S = MAINTENANCE_SHARE x (0.4 + S), about 13 steps.
        # Charging the idle steps above put the credit 0.75 s in debt: no step at all here.
        share = worker_module.MAINTENANCE_SHARE
        expected = share * 0.4 / (1 - share) / STEP_SECONDS
        assert expected - 3 <= len(taken) <= expected + 3
        assert worker.store.jobs  # the flush was not over before the busy passes ended
