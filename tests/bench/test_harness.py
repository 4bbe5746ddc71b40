"""Harness pieces that need no processes: in-flight split, verdict, README table upkeep."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import msgspec
import pytest

from bench import harness, report
from bench.harness import RunOptions, RunResult, Second, split_in_flight, verdict
from bench.workloads import WORKLOADS, Settings


def test_split_in_flight() -> None:
    assert split_in_flight(64, 2) == [32, 32]
    assert split_in_flight(10, 3) == [4, 3, 3]
    assert split_in_flight(2, 5) == [1, 1]  # never a client with nothing in flight


def test_verdicts() -> None:
    assert verdict([0.97, 0.5], {"front": 4.0}, 10, 4, 0.6).startswith("generator")
    assert verdict([0.5], {"front": 9.6, "shard 0": 2.0}, 10, 4, 0.7).startswith(
        "server: its front")
    assert verdict([0.6, 0.6], {"front": 6.0}, 10, 2, 0.95).startswith("machine")
    assert verdict([0.4], {"front": 4.0}, 10, 4, 0.3).startswith("round trips")
    assert verdict([0.4], {}, 10, 4, None).startswith("unknown")
    assert verdict([0.4], {"front": 4.0}, 10, 4, 0.3, kept_up=True).startswith("offered load")
    assert verdict([0.97], {"front": 4.0}, 10, 4, 0.5, kept_up=True).startswith("offered load")


def _result(label: str, ops: int, target: str = "ferrosa") -> RunResult:
    return RunResult(
        target=target, address="127.0.0.1:9042", workload="write", label=label,
        options=RunOptions(workload="write", settings=Settings()), ops=ops, errors=0, late=0,
        seconds=10, throughput=ops / 10, rows_per_second=ops / 10,
        latency_us={"p50": 1000, "p95": 2000, "p99": 3000, "p99.9": 4000, "max": 5000},
        per_second=[Second(ops // 10, 0, 3000)] * 10, client_cpu=[0.5, 0.5],
        server_cpu_seconds=5.0, server_cpu_by_role={"front": 4.0, "shard 0": 1.0},
        lost_processes=0, peak_rss=200 * 2**20, machine_busy=0.8, verdict="round trips: x",
        cores=2, error_samples=[], preload_ops=0, preload_errors=0, preload_seconds=0.1)


def test_readme_keeps_one_row_per_workload(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    report.update_readme(readme, report.readme_row(_result("write", 1000), None, "abc", "d1", "a.md"))
    report.update_readme(readme, report.readme_row(_result("read-uniform", 2000), None, "abc", "d1", "b.md"))
    report.update_readme(readme, report.readme_row(_result("write", 3000), None, "def", "d2", "c.md"))
    text = readme.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| write") or
            line.startswith("| read")]
    assert len(rows) == 2
    assert "| 300 |" in rows[1] and "`def`" in rows[1]  # replaced, sorted after read-uniform
    assert rows[0].startswith("| read-uniform | 200 |")


def test_summary_files(tmp_path: Path) -> None:
    r, null = _result("write", 1000), _result("write", 2000, "null")
    written = report.write_results(tmp_path, r, null)
    md = next(p for p in written if p.suffix == ".md" and p.name != "README.md")
    text = md.read_text()
    assert "| ferrosa / null throughput | 0.50 |" in text and "commit" in text
    assert "0.50" in (tmp_path / "README.md").read_text()
    assert "vs null server 0.50" in report.console(r, null)


def test_commit_label_ignores_the_results_directory(tmp_path: Path, monkeypatch) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "README.md").write_text("old\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(report, "REPO", tmp_path)
    clean = report.git_commit()
    assert clean and "+dirty" not in clean and clean != "unknown"
    (tmp_path / "bench" / "results" / "README.md").write_text("new\n")
    assert report.git_commit() == clean  # a run rewriting the results is not a code change
    (tmp_path / "code.py").write_text("x = 2\n")
    assert report.git_commit() == clean + "+dirty"


def test_steal_is_reported_when_the_hypervisor_took_time() -> None:
    """A run on a vCPU the hypervisor gave to other guests says so (console and markdown);
    a run without steal (bare metal) prints nothing about it."""
    calm, stolen = _result("write", 1000), _result("write", 1000)
    stolen.stolen, calm.stolen = 0.12, 0.001
    assert "stolen" not in report.console(calm, None)
    calm.stolen = None  # not sampled (a server given by address)
    assert "stolen" not in report.console(calm, None)
    assert "12% stolen by the hypervisor" in report.console(stolen, None)
    when = __import__("datetime").datetime(2026, 11, 22)
    assert "other guests for 12%" in report.markdown(stolen, None, "abc", when)
    assert "other guests" not in report.markdown(calm, None, "abc", when)


def test_the_sampler_measures_steal_between_marks() -> None:
    """ProcessSampler.stolen_share: the steal counter's growth over the cores' time."""
    import os
    from bench.server import ProcessSampler
    sampler = ProcessSampler(os.getpid())
    first = sampler.mark("start")
    second = sampler.mark("end")
    second.at = first.at + 2.0
    second.stolen = first.stolen + 1.0
    cores = __import__("psutil").cpu_count()
    # approx: the marks hold the machine's own clock and steal counter, and adding to a large
    # float then subtracting it again need not give back exactly what was added
    assert sampler.stolen_share("start", "end") == pytest.approx(min(1.0, 1.0 / (2.0 * cores)))


def test_the_sampler_counts_the_kernels_work_between_marks() -> None:
    """ProcessSampler.kernel_between: sleeps and page faults of the sampled processes."""
    import os
    import time

    from bench.server import ProcessSampler
    sampler = ProcessSampler(os.getpid())
    sampler.mark("start")
    for _ in range(5):
        time.sleep(0.002)  # each one blocks: a voluntary context switch
    touched = bytearray(16 << 20)  # fresh anonymous pages, faulted in as they are zeroed
    sampler.mark("end")
    counters = sampler.kernel_between("start", "end")
    assert len(touched) and counters.sleeps >= 5
    assert counters.faults is not None and counters.faults >= 4  # 16 MiB, even in huge pages
    assert counters.system_seconds >= 0.0 and counters.preemptions >= 0


def test_kernel_line_in_the_report() -> None:
    from bench.server import KernelCounters
    r = _result("write", 1000)
    assert "server kernel" not in report.console(r, None)  # not sampled
    r.server_kernel = KernelCounters(system_seconds=0.5, sleeps=700, preemptions=50, faults=None)
    line = next(x for x in report.console(r, None).splitlines() if "server kernel" in x)
    assert "500 µs/op in the kernel (10% of the server's CPU)" in line
    assert "0.70 sleeps, 0.05 preemptions" in line and "page faults" not in line
    r.server_kernel.faults = 2500
    assert "2.50 page faults" in report.markdown(r, None, "abc", __import__("datetime").datetime.now())


def test_ab_lines_show_the_latency_tail() -> None:
    from bench import ab
    line = ab.line(_result("write", 1000))
    assert "100 ops/s" in line and "5000 µs/op" in line
    assert line.endswith("p99 3.00 ms  p99.9 4.00 ms  max 5.00 ms  errors 0")
    r = _result("write", 1000)
    r.stolen = 0.004
    assert ab.line(r).endswith("errors 0")  # below STEAL_SHOWN: rounds to nothing
    r.stolen = 0.07
    assert ab.line(r).endswith("errors 0  7% stolen")


def _busy_child(busy_seconds: float):
    """A child process that burns CPU for `busy_seconds`, then sleeps."""
    import sys
    code = ("import time\nend = time.process_time() + %r\n"
            "while time.process_time() < end:\n    pass\ntime.sleep(60)\n" % busy_seconds)
    return subprocess.Popen([sys.executable, "-c", code])


def test_the_sampler_settles_once_the_work_is_done() -> None:
    """ProcessSampler.settle: the mark comes after the busy second, before the quiet ones."""
    from bench.server import ProcessSampler
    child = _busy_child(1.0)
    try:
        sampler = ProcessSampler(child.pid)
        sampler.mark("end")
        assert sampler.settle("settled", 0.05, 0.25, 2, timeout=30.0)
        busy = sampler.cpu_between("end", "settled")[0]
        assert 0.9 <= busy <= 1.3, busy
        assert sampler.marks["settled"].at - sampler.marks["end"].at >= 0.9
    finally:
        child.kill()
        child.wait()


def test_the_sampler_gives_up_on_a_process_that_stays_busy() -> None:
    from bench.server import ProcessSampler
    child = _busy_child(60.0)
    try:
        sampler = ProcessSampler(child.pid)
        assert not sampler.settle("settled", 0.05, 0.2, 2, timeout=1.0)
        assert "settled" not in sampler.marks
    finally:
        child.kill()
        child.wait()


def test_background_work_in_the_report_and_the_ab_lines() -> None:
    import datetime

    from bench import ab
    r = _result("write-memtable32MiB", 1000)
    assert "background" not in report.console(r, None) and "settled" not in ab.line(r)
    r.options = RunOptions(workload="write", settings=Settings(), memtable_mib=32)
    assert "still busy long after the load" in report.console(r, None)
    r.background_cpu_seconds, r.settle_seconds = 2.5, 12.4
    assert r.settled_cpu_us_per_op == 7500
    expected = "2.50 s of CPU in the 12 s after the load until the node was idle: 7500 µs/op"
    assert expected in report.console(r, None)
    assert expected in report.markdown(r, None, "abc", datetime.datetime.now())
    assert "5000 µs/op  settled 7500 µs/op  p99" in ab.line(r)
    side = ab.Side("this checkout", None)
    side.results = [r]
    base = ab.Side("baseline", None)
    base.results = [_result("write-memtable32MiB", 1000)]
    base.results[0].background_cpu_seconds = 5.0
    assert "settled CPU per op -25%" in ab.summary([base, side])


def test_ab_counts_the_rounds_each_side_won() -> None:
    """Three rounds: this checkout has more throughput in two, and less CPU per op in one."""
    from bench import ab
    base, new = ab.Side("baseline", None), ab.Side("this checkout", None)
    base.results = [_result("b", ops) for ops in (1000, 1000, 1000)]
    new.results = [_result("n", ops) for ops in (1100, 900, 1200)]
    new.results[0].server_cpu_seconds = 4.0
    new.results[1].server_cpu_seconds = 6.0
    new.results[2].server_cpu_seconds = 7.0
    assert [round(r.cpu_us_per_op) for r in new.results] == [3636, 6667, 5833]
    assert ab.summary([base, new]).splitlines()[-1] == (
        "rounds  this checkout ahead in 2 of 3 on throughput, 1 of 3 on CPU per op "
        "(baseline 5000-5000, this checkout 3636-6667 µs/op)")


def test_ab_swaps_which_version_runs_first_each_round() -> None:
    """Round 1 runs the baseline first, round 2 this checkout, and so on; each side keeps its
    own results in round order. The runs here are stand-ins: tests/bench/test_run.py runs
    `bench ab` against real nodes."""
    from bench import ab
    order: list[str] = []

    def run(opts, target, bind, source=None):
        order.append("baseline" if source is not None else "this checkout")
        return _result(f"run {len(order)}", 1000 * len(order))

    lines: list[str] = []
    sides = ab.compare(RunOptions(workload="write", settings=Settings()), "HEAD", 3,
                       ("127.0.0.1", 0), run, say=lines.append)
    assert order == ["baseline", "this checkout", "this checkout", "baseline", "baseline",
                     "this checkout"]
    assert [r.label for r in sides[0].results] == ["run 1", "run 4", "run 5"]
    assert [r.label for r in sides[1].results] == ["run 2", "run 3", "run 6"]
    assert [text.split()[:3] for text in lines[2:4]] == [["round", "2", "this"],
                                                         ["round", "2", "baseline"]]


def test_run_labels_name_what_sets_a_run_apart() -> None:
    """Runs that differ from the default in what they measure get their own results rows."""
    def label(settings: dict | None = None, **options) -> str:
        return harness.run_label(WORKLOADS["read"], RunOptions(
            workload="read", settings=Settings(**(settings or {})), **options))
    assert label() == "read-uniform"
    assert label(flush=True, generator="raw") == "read-uniform-flushed-raw"
    assert (label(flush=True, generator="raw", settings={"keys": 400_000})
            == "read-uniform-flushed-raw-400000keys")
    assert label(rate=5000) == "read-uniform@5000ops"
    assert label(memtable_mib=32) == "read-uniform-memtable32MiB"
    assert label(generator="raw", concurrency=256) == "read-uniform-raw-256inflight"
    assert label(concurrency=64) == "read-uniform"
    assert label(generator="raw", protocol=5, compression="lz4") == "read-uniform-raw-v5-lz4"
    assert label(protocol=3, compression="snappy") == "read-uniform-v3-snappy"
    assert label(protocol=4, compression="none") == "read-uniform"


def test_cache_lines_give_the_runs_hit_rates() -> None:
    from bench.server import CacheUse
    r = _result("read-uniform-flushed", 1000)
    assert report.cache_texts(r) == [] and "caches" not in report.console(r)
    before = CacheUse(10, 1 << 20, 32 << 20, 5, 10)
    r.caches = {"key": CacheUse(90_000, 12 << 20, 32 << 20, 1_505, 510).since(before),
                "chunk": CacheUse(400, 6 << 20, 64 << 20, 0, 0).since(None)}
    assert report.cache_texts(r) == [
        ("key cache: 75.0% of 2,000 lookups hit (warm-up included); at the end 90,000 entries, "
         "12 of 32 MiB"),
        "chunk cache: no lookups (warm-up included); at the end 400 entries, 6 of 64 MiB"]
    assert "  caches         key cache: 75.0%" in report.console(r)
    import datetime
    assert "Caches: key cache: 75.0%" in report.markdown(r, None, "abc", datetime.datetime.now())
    r.caches = {"key": CacheUse(0, 0, 32 << 20, 0, 0)}  # a write run never reads
    assert report.cache_texts(r) == []


def test_the_processor_model_names_the_host(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n")
    assert harness.cpu_model(str(cpuinfo)) == "AMD EPYC 7B13"
    cpuinfo.write_text("processor\t: 0\nCPU implementer\t: 0x41\n")  # no model name (ARM)
    assert harness.cpu_model(str(cpuinfo)) == ""
    assert harness.cpu_model(str(tmp_path / "missing")) == ""
    r = msgspec.structs.replace(_result("write", 1000), cpu="AMD EPYC 7B13")
    assert report.settings_text(r).endswith("2 shards, 2 cores of AMD EPYC 7B13")
    summary = report.markdown(r, None, "abc", datetime.datetime(2026, 11, 23))
    assert "2 shards, 2 cores of AMD EPYC 7B13\n" in summary
    assert "cores of" not in report.settings_text(_result("write", 1000))


def test_the_python_is_recorded_with_the_run() -> None:
    python = "CPython 3.11.2, /usr/bin/python3.11, libpython linked into the executable"
    r = msgspec.structs.replace(_result("write", 1000), python=python)
    summary = report.markdown(r, None, "abc", datetime.datetime(2026, 11, 25))
    assert f"- python (harness, clients and the servers it starts): {python}\n" in summary
    assert f"  python         {python}" in report.console(r).splitlines()
    unknown = _result("write", 1000)
    assert "python" not in report.markdown(unknown, None, "abc", datetime.datetime(2026, 11, 25))
    assert "  python" not in report.console(unknown)
