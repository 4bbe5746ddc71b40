"""A shard's CPU per request when reads and writes alternate, against each kind alone.

    python -m bench.interleave [--ops 40000] [--batch 11] [--rounds 3]

Theory of operation
-------------------
One ShardStore and CommitLog in a temporary directory, filled as for ``bench.inprocess
shard-read`` (a memtable row for about 95% of the standard1 keys), then served ``--ops``
requests of each of three runs, ``--batch`` at a time through ShardWorker.serve, with the
commit-log append and the release of the acks of each batch, and every reply encoded as for
the ring:

- ``reads``: point Reads of random keys (bench.inprocess shard-read's);
- ``writes``: single-row Writes of random keys, each replacing a row's cells (bench.inprocess
  shard --overwrite's);
- ``mixed``: half of each, alternating, as the mixed workload sends them.

The runs repeat in that order ``--rounds`` times against the same store (later rounds rewrite
the same cells); the best figure of each kind is printed, with ``mixed`` against the mean of
the other two. The three run the same functions on the same data: a mixed request executes
the mean of the other two's bytecodes (counted with a sys.settrace opcode tracer). What a
mixed run adds is in how the work falls into batches: its writes share each batch's
commit-log append with half as many others (one append for every ``--batch`` / 2 writes), and
its processor switches between two paths' code and data. On a node the mixed workload cost
more per request than either alone (docs/performance.md, "Mixed reads and writes").
This module must NOT be imported by ferrosa.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import msgspec

from bench.inprocess import (
    KEYS,
    _filled_store,
    _point_reads,
    _writes,
    grouped,
    logging_worker,
    request_channel,
)
from ferrosa.ipc import messages as m

KINDS = ("reads", "writes", "mixed")
# Later than every write of the fill, so that each timed write replaces the cells it meets.
TIMED_WRITES_FROM = 1_800_000_000_000_000


def _requests(ops: int, table_id: bytes) -> dict[str, list[bytes]]:
    reads = _point_reads(ops, table_id, seed=5)
    writes = _writes(ops, table_id, seed=7, first_timestamp=TIMED_WRITES_FROM)
    half = ops // 2
    mixed = [request for pair in zip(reads[:half], writes[half:]) for request in pair]
    return {"reads": reads, "writes": writes, "mixed": mixed}


def _serve(worker, messages: list[bytes], batch: int) -> float:
    """CPU µs per request of serving `messages`, `batch` at a time, as ShardWorker.run does."""
    from ferrosa.heap import tune_collector
    encode = msgspec.msgpack.Encoder().encode
    commitlog = worker.commitlog
    requests = request_channel(grouped(messages, batch))
    tune_collector()
    start = time.process_time()
    while served := requests.recv_records(1):
        ready = worker.serve(served)
        ready.extend(m.acks_of(worker.acks.release(commitlog.ack_position)))
        for reply in ready:
            encode(reply)
    return (time.process_time() - start) / len(messages) * 1e6


def run(ops: int, batch: int, rounds: int) -> dict[str, float]:
    """Best CPU µs per request of each kind over `rounds` rounds."""
    directory = tempfile.mkdtemp(prefix="bench-interleave-")
    try:
        store, table_id = _filled_store(directory, 3 * KEYS)
        worker = logging_worker(directory, store)
        requests = _requests(ops, table_id)
        best = {kind: float("inf") for kind in KINDS}
        for _ in range(rounds):
            for kind in KINDS:
                best[kind] = min(best[kind], _serve(worker, requests[kind], batch))
        worker.commitlog.close()
        return best
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interleave",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=40_000, help="requests of each run")
    parser.add_argument("--batch", type=int, default=11, help="requests per drained batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.ops < 2 or args.batch < 1 or args.rounds < 1:
        parser.error("--ops must be at least 2, --batch and --rounds at least 1")
    best = run(args.ops, args.batch, args.rounds)
    mean = (best["reads"] + best["writes"]) / 2
    for kind in KINDS:
        print(f"{kind}: {best[kind]:.2f} µs of CPU per request (best of {args.rounds})")
    print(f"mixed against the mean of reads and writes ({mean:.2f} µs): "
          f"{(best['mixed'] / mean - 1) * 100:+.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
