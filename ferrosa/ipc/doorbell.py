"""Doorbells: Linux eventfd wake-ups between the front and shard processes.

A doorbell carries no data, only "look at the ring". It must NOT know about rings or messages
(the lost-wake-up rule that ties them together lives in ipc/channel.py) and must NOT import
asyncio: the front registers fileno() with its event loop itself (loop.add_reader).

Theory of operation: an eventfd holds a 64-bit counter. ring() adds 1 (a write syscall);
clear() reads and zeroes it (a read syscall); the fd is readable while the counter is non-zero,
so poll() and event loops see "rung". Both syscalls take the eventfd's lock, which orders
everything the ringer did before ring() before everything the clearer does after clear().
The fd is non-blocking (ring and clear never stall) and close-on-exec; hand it to a child with
subprocess.Popen(pass_fds=[bell.fileno()]) and rebuild it there with Doorbell.from_fd(fd).
"""

from __future__ import annotations

import math
import os
import select


class Doorbell:
    """One eventfd. The creator owns it; a child adopts the inherited fd with from_fd()."""

    __slots__ = ("_fd", "_poller")

    def __init__(self, fd: int | None = None) -> None:
        if fd is None:
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:
            os.set_blocking(fd, False)
        self._fd = fd
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    @classmethod
    def from_fd(cls, fd: int) -> Doorbell:
        """Adopt an eventfd inherited from the parent (made non-blocking here)."""
        return cls(fd)

    def fileno(self) -> int:
        return self._fd

    def ring(self) -> None:
        """Wake the other side. Never blocks."""
        try:
            os.eventfd_write(self._fd, 1)
        except BlockingIOError:
            # The counter is saturated: the bell is already rung, which is all we need.
            pass

    def clear(self) -> bool:
        """Silence the bell; True if it had been rung. Never blocks."""
        try:
            os.eventfd_read(self._fd)
        except BlockingIOError:
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the bell is rung or ``timeout`` seconds pass; True if rung. Does not clear."""
        if timeout is None:
            timeout_ms = -1
        else:
            timeout_ms = max(0, math.ceil(timeout * 1000))
        return bool(self._poller.poll(timeout_ms))

    def close(self) -> None:
        """Close the fd in this process. Idempotent."""
        if self._fd >= 0:
            self._poller.unregister(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Doorbell:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
