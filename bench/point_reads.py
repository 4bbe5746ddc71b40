"""Point-read latency against data that is already there (no preload, unlike `bench run read`).

Reads random keys of bench.standard1 (the first `--sample` keys in token order, so they live on
the first shard) with `--in-flight` requests outstanding for `--seconds`, and prints reads/s and
p50/p99/p99.9. Used to measure reads against many SSTables and during a compaction (run
`ferrosa-ctl compact` meanwhile). It must NOT be imported by ferrosa. Usage:
    .venv/bin/python -m bench.point_reads --host 127.0.0.81 --seconds 10
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from cassandra.cluster import Cluster
from cassandra.io.libevreactor import LibevConnection
from cassandra.query import tuple_factory


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.point_reads")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--sample", type=int, default=20000)
    args = parser.parse_args()
    cluster = Cluster([args.host], port=args.port, connection_class=LibevConnection,
                      protocol_version=4)
    session = cluster.connect()
    session.row_factory = tuple_factory
    select = session.prepare("SELECT * FROM bench.standard1 WHERE key = ?")
    keys = [r[0] for r in session.execute(f"SELECT key FROM bench.standard1 LIMIT {args.sample}")]
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    stop = time.monotonic() + args.seconds
    running = [args.in_flight]

    def fire() -> None:
        if time.monotonic() > stop:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    done.set()
            return
        started = time.perf_counter()
        future = session.execute_async(select, (random.choice(keys),))
        future.add_callbacks(finished, finished, callback_args=(started,),
                             errback_args=(started,))

    def finished(_result, started: float) -> None:
        with lock:
            latencies.append(time.perf_counter() - started)
        fire()

    for _ in range(args.in_flight):
        fire()
    done.wait(args.seconds + 30)
    latencies.sort()
    n = len(latencies)
    print(f"{n / args.seconds:.0f} reads/s  p50 {latencies[n // 2] * 1000:.2f} ms  "
          f"p99 {latencies[int(n * 0.99)] * 1000:.2f} ms  "
          f"p99.9 {latencies[int(n * 0.999)] * 1000:.2f} ms")
    cluster.shutdown()


if __name__ == "__main__":
    main()
