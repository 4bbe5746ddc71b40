"""ShardCall: the awaitable a shard request returns, resumed at once by its reply.

It must behave as an asyncio Future for a Task that awaits it (results, errors, cancellation)
and resume a directly driven coroutine synchronously when `resume` is set.
"""

from __future__ import annotations

import asyncio

import pytest

from ferrosa.coordinator.router import ShardCall, ShardUnavailable


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
