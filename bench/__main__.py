"""Command line of the benchmark harness:

    python -m bench run <write|read|mixed|slice|batch> [options]
    python -m bench ab --baseline REV <workload> [options]   # REV and this checkout, alternately

By default the harness starts a fresh Ferrosa node (FERROSA_SHARDS=--shards, auth off, data in
a temporary directory) at --bind; --host/--port target a running server instead (CPU measured
only with --server-pid). --null runs against the null server alone; --compare-null runs the
same workload against Ferrosa, then against the null server, and prints the throughput ratio.
Each run prints its figures, writes <results-dir>/<date>-<label>.md (+ .png when matplotlib is
installed) and updates <results-dir>/README.md.

This module must NOT measure anything itself: it parses options and calls harness and report.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench import ab, harness, report
from bench.server import parse_bind
from bench.workloads import DISTRIBUTIONS, WORKLOADS, Settings

# Client processes by default: one per core, at least two. On the 2-core reference machine two
# python-driver processes out-run the node (each leaves CPU idle), so more would only steal
# cores from the server; the verdict line says when the generator is the limit after all.
DEFAULT_CLIENTS = max(2, os.cpu_count() or 1)
COMPRESSIONS = ("none", "lz4", "snappy")
CONSISTENCY_LEVELS = ("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM",
                      "EACH_QUORUM", "LOCAL_ONE")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one workload")
    run.add_argument("workload", choices=sorted(WORKLOADS))
    _add_target_options(run)
    _add_load_options(run)
    run.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    ab = sub.add_parser("ab", help="compare a git revision with this checkout, alternately")
    ab.add_argument("workload", choices=sorted(WORKLOADS))
    ab.add_argument("--baseline", required=True, help="git revision to compare with (e.g. HEAD)")
    ab.add_argument("--rounds", type=int, default=3, help="runs of each version")
    ab.add_argument("--bind", default="127.0.0.1:0", help="HOST[:PORT] of the started nodes")
    ab.add_argument("--shards", type=int, default=2, help="shards of the started nodes")
    _add_load_options(ab)
    return parser


def _add_target_options(run: argparse.ArgumentParser) -> None:
    target = run.add_argument_group("target")
    target.add_argument("--host", help="a running server (default: start a fresh node)")
    target.add_argument("--port", type=int, default=9042)
    target.add_argument("--server-pid", type=int,
                        help="root pid of the --host server, to measure its CPU and memory")
    target.add_argument("--bind", default="127.0.0.1:0",
                        help="HOST[:PORT] of the node the harness starts (port 0: a free one)")
    target.add_argument("--shards", type=int, default=2, help="shards of the started node")
    target.add_argument("--null", action="store_true", help="run against the null server only")
    target.add_argument("--compare-null", action="store_true",
                        help="also run against the null server and print the ratio")
    target.add_argument("--null-bind", default="127.0.0.2:0", help="HOST[:PORT] of the null server")


def _add_load_options(run: argparse.ArgumentParser) -> None:
    load = run.add_argument_group("load")
    load.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    load.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    load.add_argument("--concurrency", type=int, default=harness.DEFAULT_CONCURRENCY,
                      help="requests in flight, in all")
    load.add_argument("--clients", type=int, default=DEFAULT_CLIENTS,
                      help=f"client processes (default {DEFAULT_CLIENTS})")
    load.add_argument("--keys", type=int, default=100_000, help="distinct partition keys")
    load.add_argument("--row-size", type=int, default=34, help="bytes per value column")
    load.add_argument("--dist", choices=DISTRIBUTIONS, default="uniform",
                      help="key distribution of reads (read, mixed, slice, batch)")
    load.add_argument("--slice-rows", type=int, default=10, help="rows per slice read (10, 100)")
    load.add_argument("--cl", default="ONE", type=str.upper, choices=CONSISTENCY_LEVELS)
    load.add_argument("--compression", choices=COMPRESSIONS, default="none")
    load.add_argument("--protocol", type=int, choices=(3, 4, 5), default=harness.DEFAULT_PROTOCOL,
                      help="native protocol version (v4: the driver's cheapest framing)")
    load.add_argument("--rate", type=float, default=0.0,
                      help="a fixed offered load in operations per second, in all (default: as "
                           "fast as --concurrency allows); latency counts from each request's "
                           "scheduled start")
    load.add_argument("--generator", choices=("driver", "raw"), default="driver",
                      help="driver: python-driver processes (what users run); raw: lean "
                           "native-protocol clients (v3, v4, v5) that use a fraction of the "
                           "driver's CPU, so the server is what limits the run")
    load.add_argument("--seed", type=int, default=1)
    load.add_argument("--flush", action="store_true",
                      help="flush the started node's memtables after the preload, so that reads "
                           "come from SSTables")
    load.add_argument("--memtable-mib", type=int, default=0,
                      help="the started node's memtable budget per shard in MiB (default: the "
                           "node's, 64): a small one makes writes flush and compact during the "
                           "run, as on a node that has been taking writes for long")


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.command == "ab":
        if args.rounds <= 0:
            parser.error("--rounds must be positive")
    elif args.null and args.compare_null:
        parser.error("--null and --compare-null exclude each other")
    if args.command == "run" and args.host and (args.null or args.compare_null):
        parser.error("--null/--compare-null start their own servers; drop --host")
    if args.command == "run" and args.server_pid and not args.host:
        parser.error("--server-pid goes with --host (a started node's pid is known)")
    if args.compression == "snappy" and args.protocol >= 5:
        parser.error("protocol v5 compresses with lz4 only; use --protocol 4 for snappy")
    for name in ("duration", "concurrency", "clients", "keys", "row_size", "shards", "slice_rows"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.command == "run" and args.host and args.flush:
        parser.error("--flush needs a node the harness starts (run ferrosa-ctl flush yourself)")
    if args.memtable_mib < 0:
        parser.error("--memtable-mib must be >= 0")
    if args.command == "run" and args.host and args.memtable_mib:
        parser.error("--memtable-mib sets up a node the harness starts; configure yours with "
                     "memtable_bytes")
    if args.rate < 0:
        parser.error("--rate must be >= 0")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check(args, parser)
    settings = Settings(keys=args.keys, row_size=args.row_size, dist=args.dist,
                        slice_rows=args.slice_rows, seed=args.seed)
    opts = harness.RunOptions(
        workload=args.workload, settings=settings, duration=args.duration, warmup=args.warmup,
        concurrency=args.concurrency, clients=args.clients, protocol=args.protocol,
        compression=args.compression, consistency=args.cl, shards=args.shards,
        host=getattr(args, "host", None), port=getattr(args, "port", 9042),
        server_pid=getattr(args, "server_pid", None), rate=args.rate, flush=args.flush,
        memtable_mib=args.memtable_mib, generator=args.generator)
    if args.command == "ab":
        sides = ab.compare(opts, args.baseline, args.rounds, parse_bind(args.bind), harness.run)
        print(ab.summary(sides))
        return 0 if all(r.errors == 0 for side in sides for r in side.results) else 1
    null_result = None
    if args.host:
        result = harness.run(opts, "external")
    elif args.null:
        result = harness.run(opts, "null", parse_bind(args.null_bind))
    else:
        result = harness.run(opts, "ferrosa", parse_bind(args.bind))
        if args.compare_null:
            null_result = harness.run(opts, "null", parse_bind(args.null_bind))
    print(report.console(result, null_result))
    if null_result is not None:
        print(report.console(null_result))
    for path in report.write_results(args.results_dir, result, null_result):
        print(f"  wrote          {path}")
    return 0 if result.errors == 0 and result.late == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
