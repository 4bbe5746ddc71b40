"""What one sleep/wake-up costs on this machine: the price of every hand-off between processes.

    python -m bench.wakeups [--count 5000]

Theory of operation
-------------------
Two processes ping-pong over a pair of eventfds, each sleeping in a blocking read until the
other writes (what a shard does on its doorbell, and the front in epoll). The child does a fixed
piece of Python work per wake-up (``WORK``: 200 dict inserts). Printed per round trip: the wall
time, and the child's user and system CPU per wake-up, against the same work with no sleeping.
Run with both processes on one core and on two: a cross-core wake-up needs an inter-processor
interrupt, and in a virtual machine that is an exit to the hypervisor. The last rows leave the
machine idle before each ping, as a lightly loaded server is: the same work then costs more.

The difference between "work alone" and the child's CPU per wake-up is what one sleep and wake-up
costs: the kernel's part, and what cold caches add to code that runs right after it. (Linux may
account user and system time by sampling at the timer tick: trust their sum over many wake-ups
more than the split.) A node hands a request
between processes four times (client, front, shard, front, client), so these costs repeat per
batch of requests (docs/performance.md). This module must NOT be imported by ferrosa.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

WORK_INSERTS = 200
# Idle time before each ping in the last rows: a server at a few hundred requests a second.
IDLE_GAPS = (0.0005, 0.003)


def work() -> int:
    table = {}
    for i in range(WORK_INSERTS):
        table[i] = (i, b"x" * 10)
    return len(table)


def _child(ping: int, pong: int, count: int, cpu: int | None, report: int) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    for _ in range(count):
        os.eventfd_read(ping)
        work()
        os.eventfd_write(pong, 1)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    os.write(report, f"{usage.ru_utime} {usage.ru_stime}".encode())
    os._exit(0)


def ping_pong(count: int, cpus: tuple[int, int] | None,
              gap: float = 0.0) -> tuple[float, float, float]:
    """(wall µs per round trip, child user µs per wake-up, child system µs per wake-up);
    ``gap``: seconds the parent sleeps before each ping (a lightly loaded server)."""
    ping, pong = os.eventfd(0), os.eventfd(0)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(ping, pong, count, None if cpus is None else cpus[1], write_end)
    if cpus is not None:
        os.sched_setaffinity(0, {cpus[0]})
    started = time.perf_counter()
    for _ in range(count):
        if gap:
            time.sleep(gap)
        os.eventfd_write(ping, 1)
        os.eventfd_read(pong)
    wall = time.perf_counter() - started - gap * count
    os.waitpid(pid, 0)
    user, system = map(float, os.read(read_end, 100).split())
    for fd in (ping, pong, read_end, write_end):
        os.close(fd)
    if cpus is not None:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    return wall / count * 1e6, user / count * 1e6, system / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wakeups",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args(argv)
    started = time.process_time()
    for _ in range(args.count):
        work()
    alone = (time.process_time() - started) / args.count * 1e6
    print(f"work alone (no sleeping)          {alone:6.1f} µs of CPU")
    layouts = [("one core", (0, 0))]
    if (os.cpu_count() or 1) > 1:
        layouts.append(("two cores", (0, 1)))
    layouts.append(("as the scheduler likes", None))
    runs = [(name, cpus, 0.0) for name, cpus in layouts]
    runs += [(f"idle {gap * 1000:g} ms before each", None, gap) for gap in IDLE_GAPS]
    for name, cpus, gap in runs:
        wall, user, system = ping_pong(args.count if not gap else min(args.count, 2000), cpus,
                                       gap)
        total = user + system
        print(f"{name:<24} round trip {wall:6.1f} µs; per wake-up the child spends "
              f"{total:5.1f} µs of CPU ({total - alone:+5.1f} over the work alone; "
              f"user {user:.1f}, system {system:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
