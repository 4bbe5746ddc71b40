"""ShardCall: the awaitable a shard request returns, resumed at once by its reply.

It must behave as an asyncio Future for a Task that awaits it (results, errors, cancellation)
and resume a directly driven coroutine synchronously when `resume` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import msgspec
import pytest

from ferrosa.coordinator.router import (
    ShardCall,
    ShardLink,
    ShardRouter,
    ShardUnavailable,
)
from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.ring import max_record_for
from ferrosa.ipc.shm import RingPair


async def _await(call: ShardCall):
    return await call


def test_a_task_gets_the_reply() -> None:
    async def main():
        call = ShardCall(asyncio.get_running_loop())
        task = asyncio.ensure_future(_await(call))
        await asyncio.sleep(0)
        assert not task.done()
        call.set_result("reply")
        return await task
    assert asyncio.run(main()) == "reply"


def test_a_task_gets_the_error() -> None:
    async def main():
        call = ShardCall(asyncio.get_running_loop())
        task = asyncio.ensure_future(_await(call))
        await asyncio.sleep(0)
        call.set_exception(ShardUnavailable(3, in_flight=True))
        with pytest.raises(ShardUnavailable, match="shard 3 died"):
            await task
    asyncio.run(main())


def test_cancelling_the_task_cancels_the_call() -> None:
    async def main():
        call = ShardCall(asyncio.get_running_loop())
        task = asyncio.ensure_future(_await(call))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert call.cancelled() and call.done()
        call.set_result("late reply")  # a reply after cancellation is dropped
        with pytest.raises(asyncio.CancelledError):
            call.result()
    asyncio.run(main())


def test_wait_for_times_out_on_a_call_that_never_answers() -> None:
    async def main():
        call = ShardCall(asyncio.get_running_loop())
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(_await(call), 0.01)
    asyncio.run(main())


def test_an_answered_call_does_not_suspend() -> None:
    call = ShardCall(asyncio.new_event_loop())
    call.set_result(5)
    coro = _await(call)
    with pytest.raises(StopIteration) as stop:
        coro.send(None)
    assert stop.value.value == 5
    call.get_loop().close()


def test_resume_runs_synchronously_inside_set_result() -> None:
    loop = asyncio.new_event_loop()
    call = ShardCall(loop)
    coro = _await(call)
    assert coro.send(None) is call  # suspended on the call
    resumed = []

    def resume():
        try:
            coro.send(None)
        except StopIteration as stop:
            resumed.append(stop.value)
    call.resume = resume
    call.set_result("now")
    assert resumed == ["now"]  # no loop iteration was needed
    loop.close()


def test_a_failing_resume_does_not_stop_the_delivery(caplog) -> None:
    loop = asyncio.new_event_loop()
    first, second = ShardCall(loop), ShardCall(loop)
    seen = []

    def broken():
        raise RuntimeError("boom")
    first.resume = broken
    second.resume = lambda: seen.append(second.result())
    first.set_result("a")  # must not raise into the router's reply loop
    second.set_result("b")
    assert seen == ["b"] and first.done()
    assert "resuming a request" in caplog.text
    loop.close()


@contextlib.contextmanager
def _router_of_one_shard() -> Iterator[tuple[ShardRouter, RingPair, Doorbell, Doorbell]]:
    """A router, in the running loop, of one shard that has said Hello over real rings."""
    pair = RingPair.create("t" + uuid.uuid4().hex[:12], 0, 0, 1 << 16)
    bell, reply_bell = Doorbell(), Doorbell()
    try:
        router = ShardRouter(asyncio.get_running_loop(), [ShardLink(0, pair, bell, reply_bell)],
                             reply_bell)
        Channel(pair.reply.ring, reply_bell, m.ShardReply).send(m.Hello(0, os.getpid(), 1))
        router._on_replies()
        yield router, pair, bell, reply_bell
    finally:
        pair.close()
        pair.unlink()


def test_one_acks_message_answers_each_of_its_writes(monkeypatch) -> None:
    """A shard acknowledges a pass's writes in Acks messages (here of at most 3 ids): each call
    gets an Ack with its own req_id, and an id nothing waits for is ignored."""
    monkeypatch.setattr(m, "MAX_ACKS_PER_MESSAGE", 3)

    async def main():
        with _router_of_one_shard() as (router, pair, bell, reply_bell):
            requests = Channel(pair.request.ring, bell, m.ShardRequest, m.Requests)
            replies = Channel(pair.reply.ring, reply_bell, m.ShardReply)
            calls = [router.call(0, m.Write(0, [])) for _ in range(7)]
            await asyncio.sleep(0)  # the router's flush
            ids = [request.req_id for request in requests.recv_all()]
            assert len(set(ids)) == 7
            messages = m.acks_of([12345, *reversed(ids)])
            assert [len(msg.req_ids) for msg in messages] == [3, 3, 2]
            replies.send_many(messages)
            router._on_replies()
            assert [call.result() for call in calls] == [m.Ack(i) for i in ids]
            assert not router.links[0].in_flight
    asyncio.run(main())


def test_a_loop_pass_sends_a_shard_its_requests_in_one_record() -> None:
    async def main():
        with _router_of_one_shard() as (router, pair, _bell, _reply_bell):
            decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
            for _ in range(5):
                router.call(0, m.Ping(0))
            await asyncio.sleep(0)  # the router's flush
            [record] = pair.request.ring.drain(10)
            group = decode(record)
            assert type(group) is m.Requests and [type(r) for r in group.items] == [m.Ping] * 5
            assert len({r.req_id for r in group.items}) == 5
            router.call(0, m.Ping(0))
            await asyncio.sleep(0)
            [record] = pair.request.ring.drain(10)
            assert type(decode(record)) is m.Ping  # alone: no group around it
    asyncio.run(main())


def test_acks_of_fits_the_smallest_ring() -> None:
    assert m.acks_of([]) == []
    ids = list(range((1 << 31) - 3 * m.MAX_ACKS_PER_MESSAGE, 1 << 31))
    messages = m.acks_of(ids)
    assert [i for msg in messages for i in msg.req_ids] == ids
    smallest = max_record_for(1 << 16)  # NodeConfig refuses rings below 64 KiB
    assert all(len(msgspec.msgpack.encode(msg)) < smallest // 4 for msg in messages)


def test_acks_of_splits_past_the_limit_only() -> None:
    limit = m.MAX_ACKS_PER_MESSAGE
    assert m.acks_of(list(range(limit))) == [m.Acks(list(range(limit)))]
    assert [len(msg.req_ids) for msg in m.acks_of(list(range(limit + 1)))] == [limit, 1]


def test_replies_are_delivered_whole_and_one_published_meanwhile_rings_the_bell() -> None:
    """One _on_replies delivers every reply a ring holds (more than a drain's RECV_BATCH
    records). A reply the shard publishes while the front delivers is not lost: its doorbell
    ring comes after the front's clear, so the loop calls back and the next pass delivers it."""
    async def main():
        with _router_of_one_shard() as (router, pair, bell, reply_bell):
            requests = Channel(pair.request.ring, bell, m.ShardRequest, m.Requests)
            replies = Channel(pair.reply.ring, reply_bell, m.ShardReply)
            calls = [router.call(0, m.Ping(0)) for _ in range(301)]
            await asyncio.sleep(0)  # the router's flush
            ids = [request.req_id for request in requests.recv_all()]
            last = calls.pop()
            calls[-1].resume = lambda: replies.send(m.Ack(ids[-1]))
            assert replies.send_many([m.Ack(i) for i in ids[:-1]]) == 300
            router._on_replies()
            assert [call.result() for call in calls] == [m.Ack(i) for i in ids[:-1]]
            assert reply_bell.clear()  # rung after the clear: the loop would call back
            router._on_replies()
            assert last.result() == m.Ack(ids[-1])
    asyncio.run(main())
