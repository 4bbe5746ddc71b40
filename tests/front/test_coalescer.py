"""WakeCoalescer: naps only above the request rate, once per pass, after the pass's own flushes."""

from __future__ import annotations

import asyncio

from ferrosa.front import coalescer as C
from ferrosa.front.coalescer import WakeCoalescer


def _run(body) -> list:
    """Run `body(loop, coalescer_factory, log)` in a fresh loop; return the log."""
    log: list = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def make(nap_us: int = 200, min_rate: int = 1000) -> WakeCoalescer:
            return WakeCoalescer(loop, nap_us, min_rate, sleep=lambda s: log.append(("nap", s)))
        await body(loop, make, log)

    asyncio.run(main())
    return log


async def _passes(coalescer: WakeCoalescer, count: int, requests: int) -> None:
    for _ in range(count):
        coalescer.activity(requests)
        for _ in range(3):  # the nap comes two loop passes after activity()
            await asyncio.sleep(0)


def test_no_nap_below_the_rate(monkeypatch) -> None:
    async def body(loop, make, log) -> None:
        coalescer = make(min_rate=10**12)
        await _passes(coalescer, 5, 10)
        monkeypatch.setattr(C, "RATE_WINDOW_SECONDS", 0.0)
        await _passes(coalescer, 5, 10)
        assert not coalescer.busy
    assert _run(body) == []


def test_naps_once_per_pass_above_the_rate(monkeypatch) -> None:
    monkeypatch.setattr(C, "RATE_WINDOW_SECONDS", 0.0)

    async def body(loop, make, log) -> None:
        coalescer = make(nap_us=300, min_rate=1)
        coalescer.activity(1_000)  # arms once: the same pass's other handlers add to it
        coalescer.activity(1_000)
        coalescer.activity(0)
        for _ in range(3):
            await asyncio.sleep(0)
        assert coalescer.busy
        assert log == [("nap", 0.0003)]
        await _passes(coalescer, 2, 1_000)
        assert log == [("nap", 0.0003)] * 3
    _run(body)


def test_the_pass_flushes_run_before_the_nap(monkeypatch) -> None:
    monkeypatch.setattr(C, "RATE_WINDOW_SECONDS", 0.0)

    async def body(loop, make, log) -> None:
        coalescer = make(min_rate=1)
        coalescer.activity(100)
        # What the same pass's handlers queue after arming (the router's ring flush, a socket
        # flush for the replies another handler delivered):
        loop.call_soon(log.append, "ring flush")
        loop.call_soon(log.append, "socket flush")
        for _ in range(4):
            await asyncio.sleep(0)
    assert _run(body) == ["ring flush", "socket flush", ("nap", 0.0002)]


def test_rate_falls_back_below_the_threshold(monkeypatch) -> None:
    monkeypatch.setattr(C, "RATE_WINDOW_SECONDS", 0.0)

    async def body(loop, make, log) -> None:
        coalescer = make(min_rate=10**9)
        await _passes(coalescer, 1, 10**9)  # a burst: busy
        assert coalescer.busy
        await _passes(coalescer, 1, 0)  # then nothing arrives: no more naps
        assert not coalescer.busy
    assert len(_run(body)) == 1


def test_off_never_naps(monkeypatch) -> None:
    monkeypatch.setattr(C, "RATE_WINDOW_SECONDS", 0.0)

    async def body(loop, make, log) -> None:
        coalescer = make(nap_us=0, min_rate=0)
        await _passes(coalescer, 3, 10**6)
    assert _run(body) == []
