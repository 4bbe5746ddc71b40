"""End to end: `python -m bench run` against a node it starts, and against the null server.

Only the outcome is checked (exit status, no errors, files written), never timing figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 90


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "bench", "run", "write", "--duration", "2", "--concurrency", "8",
           "--clients", "1", "--keys", "1000", "--results-dir", str(tmp_path), *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT)


def _check(done: subprocess.CompletedProcess, tmp_path: Path, stem: str) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "errors         0 (+0 unanswered" in out, out
    assert len(list(tmp_path.glob(f"*-{stem}.md"))) == 1, out
    assert (tmp_path / "README.md").exists()
    return out


def test_write_against_a_started_node(tmp_path: Path) -> None:
    out = _check(_bench(tmp_path, "--bind", "127.0.0.41:9042"), tmp_path,
                 "write-1000keys-8inflight")
    assert "against ferrosa at 127.0.0.41:9042" in out
    assert "server CPU" in out and "unknown" not in out.split("server CPU")[1].split("\n")[0]
    assert "sstables       0 on the node's disk at the end" in out  # 1000 keys never flush
    text = next(tmp_path.glob("*-write-1000keys-8inflight.md")).read_text()
    assert "commit:" in text and "| ops/s |" in text


def test_write_against_the_null_server(tmp_path: Path) -> None:
    out = _check(_bench(tmp_path, "--null", "--null-bind", "127.0.0.42:9042"), tmp_path,
                 "write-1000keys-8inflight-null")
    assert "against null at 127.0.0.42:9042" in out
    assert "from the send" not in out  # a closed loop sends at its start: one latency
    assert "write-1000keys-8inflight (null server)" in (tmp_path / "README.md").read_text()


def test_fixed_rate_run_paces_its_requests(tmp_path: Path) -> None:
    # 300 ops/s for 2 s: the pacer must not run ahead of the schedule (far below what any
    # machine sustains, so falling short would mean a broken pacer, not a slow machine).
    out = _check(_bench(tmp_path, "--null", "--null-bind", "127.0.0.42:9042", "--rate", "300"),
                 tmp_path, "write-1000keys-8inflight@300ops-null")
    assert "fixed rate 300 ops/s" in out
    ops = int(out.split("throughput")[1].split("ops/s")[0].replace(",", ""))
    assert 150 <= ops <= paced_ceiling(300, 2.0, 1.0, 8), out
    # Latency from each request's send, beside the latency from its scheduled instant.
    assert "from the send  p50 " in out and "(without the generator's lateness)" in out, out
    text = next(tmp_path.glob("*-write-1000keys-8inflight@300ops-null.md")).read_text()
    assert "| p99 ms from the send |" in text


def paced_ceiling(rate: float, duration: float, warmup: float, in_flight: int) -> float:
    """Most ops/s a paced run can count without running ahead of its schedule: a stall in the
    warm-up (a busy machine) leaves its requests overdue, and the catch-up completes them in the
    measured window, so the window can hold every request scheduled since the start."""
    return (rate * (warmup + duration) + in_flight) / duration


def test_ab_runs_a_revision_and_this_checkout_alternately(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench", "ab", "write", "--baseline", "HEAD", "--rounds", "1",
           "--duration", "1", "--warmup", "0.5", "--concurrency", "4", "--clients", "1",
           "--keys", "500", "--bind", "127.0.0.44:0"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT * 2)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "round 1  baseline HEAD" in out and "round 1  this checkout" in out, out
    assert out.count("median ") == 2 and "change  throughput" in out, out
    assert "rounds  this checkout ahead in " in out and " of 1 on CPU per op (baseline " in out, out
    listed = subprocess.run(["git", "worktree", "list"], cwd=REPO, capture_output=True,
                            text=True).stdout
    assert "bench-ab-" not in listed  # the baseline worktree is gone


def test_flushed_reads_against_a_started_node(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench", "run", "read", "--flush", "--duration", "2",
           "--concurrency", "8", "--clients", "1", "--keys", "1000", "--bind",
           "127.0.0.65:9042", "--results-dir", str(tmp_path)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    out = _check(done, tmp_path, "read-uniform-flushed-1000keys-8inflight")
    assert "memtables flushed after the preload" in out
    # Every read asks the key cache; a key read again after its first read hits.
    key_cache = next(line for line in out.splitlines() if "caches         key cache:" in line)
    assert " of " in key_cache and "lookups hit" in key_cache, out
    assert "caches         chunk cache:" in out


def test_a_small_memtable_makes_the_node_flush_during_the_run(tmp_path: Path) -> None:
    # 1 MiB per shard holds about 800 standard1 partitions: 20k keys written for 3 s flush.
    done = _bench(tmp_path, "--bind", "127.0.0.69:9042", "--memtable-mib", "1", "--keys",
                  "20000", "--duration", "3", "--generator", "raw")
    out = _check(done, tmp_path, "write-memtable1MiB-raw-20000keys-8inflight")
    assert "1 MiB of memtable per shard" in out
    sstables = int(out.split("sstables")[1].split("on the node")[0])
    assert sstables >= 2, out
    # The flushes and compactions left at the end are counted until the node is idle.
    background = next(line for line in out.splitlines() if "background" in line)
    measured = int(out.split("server CPU")[1].split("µs/op")[0])
    settled = int(background.split("idle:")[1].split("µs/op")[0])
    assert settled >= measured, background
