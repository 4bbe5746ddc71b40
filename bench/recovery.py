"""Recovery from the bucket, measured: `python -m bench.recovery --gib 1`.

What it is: the figures the S3 tier promises. It starts an S3-compatible server (moto's, in its own
process, or --endpoint for a real one), a node with the tier on, loads --gib of incompressible
rows through the driver, flushes and waits until the uploader's backlog is empty (upload
throughput), then loses the disk (stops the node, deletes its data directory) and starts it on the
empty directory: time to the first answered query, time until every SSTable's data is local again
(the warm-up), and point-read latency while the data is only in the bucket against after the
warm-up. Prints a markdown table and writes it to bench/results/recovery-<stamp>.md.

What it must not do: run in the test suite (it moves gigabytes), or use a non-loopback address
unless --endpoint says so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.server import REPO, free_port, wait_for_port

MiB = 1 << 20
HOST = "127.0.0.62"
S3_HOST = "127.0.0.61"
BUCKET = "ferrosa-recovery"
# Large rows: the figure is about bytes moved, and fewer rows keep the load phase short.
ROW_BYTES = 16 * 1024


class Node:
    """A node on a data directory that outlives the process (so its loss can be staged)."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path
        self.port = free_port(HOST)
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start; returns the seconds until the CQL port accepted connections."""
        env = {**os.environ, **self.env, "FERROSA_DATA_DIR": str(self.data_dir),
               "FERROSA_CQL_BIND": f"{HOST}:{self.port}", "FERROSA_AUTH_DISABLED": "true"}
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "ferrosa.supervisor"], env=env,
                                         cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for_port(HOST, self.port, 600, self.proc)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(120)

    def status(self) -> dict:
        out = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--json", "--data-dir",
                              str(self.data_dir), "status"], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=False)
        return json.loads(out.stdout) if out.stdout else {}

    def ctl(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--data-dir",
                        str(self.data_dir), *args], cwd=REPO, check=True, capture_output=True,
                       timeout=1200)


def _moto(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port(S3_HOST)
    log = open(workdir / "moto.log", "ab")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", S3_HOST,
                             "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_for_port(S3_HOST, port, 60, proc)
    endpoint = f"http://{S3_HOST}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")).read()
    return proc, endpoint


def _session(node: Node):
    from cassandra.cluster import Cluster
    cluster = Cluster([HOST], port=node.port, protocol_version=4)
    return cluster, cluster.connect()


def _load(node: Node, rows: int) -> float:
    from cassandra.concurrent import execute_concurrent_with_args
    cluster, s = _session(node)
    s.execute("CREATE KEYSPACE IF NOT EXISTS rec WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE IF NOT EXISTS rec.t (k int PRIMARY KEY, v blob) WITH compression = "
              "{'enabled': 'false'}")
    insert = s.prepare("INSERT INTO rec.t (k, v) VALUES (?, ?)")
    started = time.monotonic()
    step = 2000
    for first in range(0, rows, step):
        args = [(k, os.urandom(ROW_BYTES)) for k in range(first, min(rows, first + step))]
        execute_concurrent_with_args(s, insert, args, concurrency=64, raise_on_first_error=True)
    cluster.shutdown()
    return time.monotonic() - started


def _wait_drained(node: Node, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uploader = node.status().get("uploader") or {}
        if uploader.get("backlog_notices") == 0 and uploader.get("manifest_updates", 0) > 0:
            return uploader
        time.sleep(0.5)
    raise TimeoutError("the uploader did not drain")


def _remote_markers(data_dir: Path) -> int:
    return sum(1 for _ in (data_dir / "data").glob("shard-*/*-Remote.db"))


def _latencies(session, statement, keys: list[int]) -> list[float]:
    out = []
    for k in keys:
        started = time.perf_counter()
        row = session.execute(statement, (k,)).one()
        out.append(time.perf_counter() - started)
        assert row is not None and len(row.v) == ROW_BYTES, k
    return sorted(out)


def _pct(values: list[float], q: float) -> str:
    return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:.2f} ms"


def run(args: argparse.Namespace) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    moto = None
    node = None
    try:
        if args.endpoint:
            endpoint, bucket = args.endpoint, args.bucket
        else:
            moto, endpoint = _moto(workdir)
            bucket = BUCKET
        env = {"FERROSA_S3_BUCKET": bucket, "FERROSA_S3_ENDPOINT": endpoint,
               "FERROSA_S3_ALLOW_HTTP": "true", "FERROSA_S3_PREFIX": "recovery",
               "FERROSA_S3_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
               "FERROSA_S3_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
               "FERROSA_SHARDS": str(args.shards)}
        data_dir = workdir / "data"
        node = Node(data_dir, env, workdir / "node.log")
        node.start()
        rows = int(args.gib * (1 << 30)) // ROW_BYTES
        load_seconds = _load(node, rows)
        node.ctl("flush")
        flushed_at = time.monotonic()
        uploader = _wait_drained(node)
        drain_seconds = time.monotonic() - flushed_at
        upload_seconds = load_seconds + drain_seconds
        uploaded = uploader["uploaded_bytes"]
        node.stop()
        local_bytes = sum(p.stat().st_size for p in (data_dir / "data").rglob("*") if p.is_file())
        shutil.rmtree(data_dir)  # the disk is lost

        started = time.monotonic()
        node.start()
        cluster, s = _session(node)
        select = s.prepare("SELECT v FROM rec.t WHERE k = ?")
        row = s.execute(select, (rows // 2,)).one()
        first_query = time.monotonic() - started
        assert row is not None and len(row.v) == ROW_BYTES
        sample = random.Random(7).sample(range(rows), min(args.samples, rows))
        cold = _latencies(s, select, sample) if _remote_markers(data_dir) else []
        while _remote_markers(data_dir):
            time.sleep(0.2)
        warm_seconds = time.monotonic() - started
        _latencies(s, select, sample)  # page cache and chunk caches, as for the cold pass
        warm = _latencies(s, select, random.Random(8).sample(range(rows), len(sample)))
        cluster.shutdown()
        # Again, with a cache budget of one byte: nothing is warmed up, every read is remote.
        node.stop()
        shutil.rmtree(data_dir)
        node.env["FERROSA_CACHE_MAX_BYTES"] = "1"
        node.start()
        cluster, s = _session(node)
        select = s.prepare("SELECT v FROM rec.t WHERE k = ?")
        remote_sample = random.Random(9).sample(range(rows), len(sample))
        remote = _latencies(s, select, remote_sample)
        cached = _latencies(s, select, remote_sample)
        cluster.shutdown()
        lines = [
            f"# Recovery from the bucket ({args.gib:g} GiB, {args.shards} shards, "
            f"{'moto server' if moto else endpoint})",
            "",
            "| figure | value |",
            "|---|---|",
            f"| rows loaded ({ROW_BYTES // 1024} KiB each) | {rows} in {load_seconds:.1f} s |",
            f"| SSTable and segment bytes uploaded | {uploaded / MiB:.0f} MiB |",
            f"| upload throughput (first write to backlog 0) | "
            f"{uploaded / MiB / upload_seconds:.1f} MiB/s |",
            f"| backlog drained after the flush in | {drain_seconds:.1f} s |",
            f"| local data before the loss | {local_bytes / MiB:.0f} MiB |",
            f"| start on an empty disk to first answered query | {first_query:.2f} s |",
            f"| start to every SSTable's data local (warm-up) | {warm_seconds:.1f} s |",
        ]
        if cold:
            lines.append(f"| point read right after the restore, warm-up running (p50 / p99, "
                         f"{len(cold)} keys) | {_pct(cold, 0.5)} / {_pct(cold, 0.99)} |")
        lines += [
            f"| point read, evicted SSTable, block not cached (ranged GET) | "
            f"{_pct(remote, 0.5)} / {_pct(remote, 0.99)} |",
            f"| point read, evicted SSTable, block cached | {_pct(cached, 0.5)} / "
            f"{_pct(cached, 0.99)} |",
            f"| point read, local SSTable | {_pct(warm, 0.5)} / {_pct(warm, 0.99)} |",
        ]
        return "\n".join(lines) + "\n"
    finally:
        if node is not None:
            node.stop()
        if moto is not None:
            moto.kill()
            moto.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery")
    parser.add_argument("--gib", type=float, default=1.0, help="data to load (GiB)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--samples", type=int, default=300,
                        help="point reads timed while data is in the bucket, and after")
    parser.add_argument("--endpoint", help="a real S3 endpoint instead of a moto server")
    parser.add_argument("--bucket", default=BUCKET)
    args = parser.parse_args(argv)
    report = run(args)
    print(report)
    results = Path(REPO) / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"recovery-{time.strftime('%Y%m%d-%H%M%S')}.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
