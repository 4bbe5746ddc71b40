"""Benchmark: round-trip time and pipelined throughput of the front <-> shard channel.

Starts a real echo "shard" process (subprocess.Popen, doorbells passed with pass_fds, rings found
by name in /dev/shm) and measures, from the front process:

  * spin      - RTT of one small message, both sides busy-polling the rings (no syscalls);
  * doorbell  - RTT of one small message, both sides sleeping on eventfd doorbells;
  * hybrid    - as doorbell, but both sides spin up to SPIN_SECONDS on the ring before sleeping
                (Channel.recv_wait(spin=...)); producers still ring every batch;
  * asyncio   - RTT with the front awaiting replies through loop.add_reader (uvloop if present)
                and the shard sleeping on its doorbell: the production arrangement;
  * pipelined - messages/s when the front sends batches of B messages (send_many, one doorbell)
                and waits for all B replies, shard sleeping on its doorbell.

It must NOT be imported by ferrosa; it is a script. Usage:
    .venv/bin/python bench/ring_rtt.py [--count 20000] [--capacity 1048576]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

import msgspec

from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair, remove_stale_segments

NODE_ID = f"bench{os.getpid()}"
WARMUP = 1000
# Spin budget of the hybrid mode: longer than a busy round trip, far shorter than a scheduler tick.
SPIN_SECONDS = 0.0001
PIPELINE_BATCHES = (16, 64, 256)


class Read(msgspec.Struct, tag=True, array_like=True):
    """A small request, about the size of a single-partition read."""

    seq: int
    token: int
    key: bytes


class Stop(msgspec.Struct, tag=True, array_like=True):
    """Ends the shard's loop."""


class Rows(msgspec.Struct, tag=True, array_like=True):
    seq: int
    status: int
    body: bytes


Request = Read | Stop
BODY = b"r" * 32


def shard(node: str, req_fd: int, rep_fd: int, mode: str) -> None:
    """Echo every Read with a Rows: busy-polling ("spin"), sleeping on the doorbell ("sleep"),
    or spinning briefly before sleeping ("hybrid")."""
    spin = mode == "spin"
    spin_budget = SPIN_SECONDS if mode == "hybrid" else 0.0
    pair = RingPair.attach(node, 0, 0)
    requests = Channel(pair.request.ring, Doorbell.from_fd(req_fd), Request)
    replies = Channel(pair.reply.ring, Doorbell.from_fd(rep_fd), Rows)
    while True:
        batch = requests.poll() if spin else requests.recv_wait(spin=spin_budget)
        if not batch:
            continue
        out = [Rows(m.seq, 0, BODY) for m in batch if type(m) is Read]
        while out:
            sent = replies.send_many(out, notify=not spin)
            del out[:sent]
        if type(batch[-1]) is Stop:
            break
    pair.close()


class Front:
    def __init__(self, capacity: int, mode: str) -> None:
        remove_stale_segments(NODE_ID)
        self.pair = RingPair.create(NODE_ID, 0, 0, capacity)
        self.req_bell, self.rep_bell = Doorbell(), Doorbell()
        self.requests = Channel(self.pair.request.ring, self.req_bell, Request)
        self.replies = Channel(self.pair.reply.ring, self.rep_bell, Rows)
        fds = (self.req_bell.fileno(), self.rep_bell.fileno())
        self.child = subprocess.Popen(
            [sys.executable, __file__, "--child", NODE_ID, str(fds[0]), str(fds[1]), mode],
            pass_fds=fds,
        )

    def close(self) -> None:
        while not self.requests.send(Stop()):
            time.sleep(0.001)
        self.child.wait(30)
        self.pair.close()
        self.pair.unlink()
        self.req_bell.close()
        self.rep_bell.close()


def rtt_blocking(front: Front, count: int, mode: str) -> list[int]:
    requests, replies = front.requests, front.replies
    spin = mode == "spin"
    if spin:
        receive = replies.poll
    else:
        budget = SPIN_SECONDS if mode == "hybrid" else 0.0

        def receive() -> list[Rows]:
            return replies.recv_wait(spin=budget)
    samples = []
    clock = time.perf_counter_ns
    for seq in range(WARMUP + count):
        started = clock()
        requests.send(Read(seq, -seq, b"k" * 16), notify=not spin)
        got = receive()
        while not got:
            got = receive()
        samples.append(clock() - started)
        assert got[0].seq == seq
    return samples[WARMUP:]


def rtt_asyncio(front: Front, count: int) -> list[int]:
    async def run() -> list[int]:
        loop = asyncio.get_running_loop()
        waiting: dict[int, asyncio.Future[Rows]] = {}

        def on_replies() -> None:
            for rows in front.replies.recv_all():
                waiting.pop(rows.seq).set_result(rows)

        loop.add_reader(front.replies.fileno(), on_replies)
        samples = []
        clock = time.perf_counter_ns
        try:
            for seq in range(WARMUP + count):
                started = clock()
                future = waiting[seq] = loop.create_future()
                front.requests.send(Read(seq, -seq, b"k" * 16))
                await future
                samples.append(clock() - started)
        finally:
            loop.remove_reader(front.replies.fileno())
        return samples[WARMUP:]

    try:
        import uvloop
    except ImportError:
        return asyncio.run(run())
    return uvloop.run(run())


def pipelined(front: Front, count: int, batch: int) -> float:
    requests, replies = front.requests, front.replies
    msgs = [Read(i, -i, b"k" * 16) for i in range(batch)]
    rounds = max(1, count // batch)
    started = time.perf_counter()
    for _ in range(rounds):
        sent = 0
        while sent < batch:
            sent += requests.send_many(msgs[sent:])
            if sent < batch:
                time.sleep(0)
        received = 0
        while received < batch:
            received += len(replies.recv_wait())
    return rounds * batch / (time.perf_counter() - started)


def report(name: str, samples: list[int]) -> None:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[int(len(ordered) * 0.99)] / 1000
    mean = statistics.fmean(samples) / 1000
    print(f"{name:<26} p50 {p50:7.1f} us   p99 {p99:7.1f} us   mean {mean:7.1f} us   ({1e6 / mean:,.0f} rt/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--capacity", type=int, default=1 << 20)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, ring {args.capacity} bytes, {args.count} samples")

    for mode, title in (("spin", "spin (busy-poll both)"), ("hybrid", "hybrid (spin 100us, sleep)")):
        front = Front(args.capacity, mode)
        try:
            report(title, rtt_blocking(front, args.count, mode))
        finally:
            front.close()
    front = Front(args.capacity, "sleep")
    try:
        report("doorbell (sleep both)", rtt_blocking(front, args.count, "sleep"))
        report("asyncio add_reader front", rtt_asyncio(front, args.count))
        for batch in PIPELINE_BATCHES:
            rate = pipelined(front, args.count * 5, batch)
            print(f"pipelined batch {batch:<10} {rate:>12,.0f} msgs/s   ({1e6 / rate:.2f} us/msg)")
    finally:
        front.close()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        shard(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
