"""What the layout caches' hypothesis tests share: a history of bodies, each also given
damaged (bytes changed, cut or grown), checked against decode_request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferrosa.protocol.errors import ProtocolError


def damaged(body: bytes, flips: list[tuple[int, int]], resize: int) -> bytes:
    """`body` with the byte at each place of `flips` set, then cut (resize < 0) or grown."""
    out = bytearray(body)
    for at, byte in flips:
        if at < len(out):
            out[at] = byte
    return bytes(out[:len(out) + resize] if resize < 0 else out + bytes(resize))


def replay(state: Any, body: bytes, version: int, flips: list[tuple[int, int]], resize: int,
           decoded: Callable[[bytes, int], Any],
           teach: Callable[[Any, bytes, int], None]) -> None:
    """Give `state` a damaged copy of `body`, then `body`: what it reads must be `decoded`'s
    answer, and what it does not read and decode_request accepts is taught to it."""
    for candidate in (damaged(body, flips, resize), body):
        read = state.read(candidate, version)
        try:
            answer = decoded(candidate, version)
        except ProtocolError as err:
            answer = err
        if read is not None:
            assert read == answer
        elif not isinstance(answer, ProtocolError):
            teach(state, candidate, version)


def check_back_off(state: Any, learnt: bytes, other: bytes, version: int,
                   teach: Callable[[Any, bytes, int], None]) -> None:
    """`state`, which has learnt `learnt`'s layout, misses on `other` (another layout) again
    and again: each miss doubles the back-off, the bodies decoded meanwhile are not learnt,
    the next one is, and a hit resets the back-off."""
    for backoff in (1, 3, 7, 15):
        assert state.read(other, version) is None
        assert state.backoff == state.skip == backoff
        for _ in range(backoff):  # decoded without learning
            teach(state, learnt, version)
            assert state.layout is None
        teach(state, learnt, version)
        assert state.layout is not None
    assert state.read(learnt, version) is not None and state.backoff == 0
