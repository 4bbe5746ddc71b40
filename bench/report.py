"""Reporting of benchmark runs: the console summary, the markdown file per run, the PNG of
throughput and p99 per second (when matplotlib is installed) and the results README, whose
table keeps the latest figures per workload label (one row each, replaced by every run).

This module must NOT run anything but git (for the commit id) and file writes.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

from bench.harness import RunResult
from bench.server import REPO, SAMPLE_INTERVAL
from bench.workloads import WORKLOADS

RESULTS_DIR = REPO / "bench" / "results"
_TABLE_BEGIN = "<!-- results:begin -->"
_TABLE_END = "<!-- results:end -->"
_README_HEAD = f"""# Benchmark results

Latest figures per workload, one row each, replaced by every `python -m bench run`. Each
row's date links the run's own summary. Latencies are client-observed (driver included);
server CPU is user+system seconds of every server process (supervisor and all descendants)
over the measured phase, divided by the operations completed; peak memory is the largest
sum of the server processes' RSS, sampled every {SAMPLE_INTERVAL} s (RSS counts shared pages once
per process, so it overstates shared-memory rings and libraries). "vs null" is the run's
throughput divided by the null server's (`--compare-null`: same workload, same settings, back
to back; the null server answers from the protocol codec alone and stores nothing).
Runs over another key count than the default 100,000 have their own rows (`-400000keys`).
A run's own summary gives the hit rates of the node's key and chunk caches: a flushed read
row over more keys than the key cache holds is mostly first reads.

Rows run at different times are not comparable on a shared virtual machine: one commit's
batch figure measured 4,983 and 2,798 ops/s in two sittings. Rows whose settings name
another processor ran on another host. To judge a change, run `python -m bench ab --baseline
REV`, which alternates the two versions in one sitting. Until 0ec99f0 (2026-11-25) the harness
started the server in a session of its own, which Linux schedules as a group apart from the
generator's: rows of earlier commits have largest latencies (and fixed-rate tails) that include
the generator's threads waiting for their group's turn, up to 213 ms (docs/performance.md,
twenty-ninth session). Each run's summary names the Python it ran on (from 9a80033): the rows
of earlier commits ran on pyenv's CPython 3.11.7 (a shared libpython, no profile-guided
optimisation), the rows of 9a80033 on Debian 12's python3.11, on which the same node served a
fifth more requests a second at saturation (docs/performance.md, "The interpreter's build").

"""
_COLUMNS = ("workload", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "CPU µs/op",
            "peak RSS MiB", "vs null", "limited by", "settings", "commit", "date")


def git_commit() -> str:
    """Short hash of HEAD, with '+dirty' when tracked files differ from it.

    bench/results/ is left out: the runs themselves rewrite it, so a series of runs would
    otherwise call every run after the first dirty."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no", "--", ".", ":(exclude)bench/results"],
                               capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def _ms(us: int | None) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def _mib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 2**20:.0f}"


def settings_text(r: RunResult) -> str:
    o = r.options
    s = o.settings
    parts = [f"{o.duration:g} s after {o.warmup:g} s warm-up", f"{o.concurrency} in flight",
             f"{len(r.client_cpu)} {o.generator} client procs", f"v{o.protocol}",
             f"compression {o.compression}",
             f"CL {o.consistency}", f"{s.keys} keys", f"{s.row_size} B columns"]
    if r.target == "ferrosa":
        parts.append(f"{o.shards} shards")
        if o.flush:
            parts.append("memtables flushed after the preload")
        if o.memtable_mib:
            parts.append(f"{o.memtable_mib} MiB of memtable per shard")
    if r.cpu:
        parts.append(f"{r.cores} cores of {r.cpu}")
    if o.rate:
        parts.insert(1, f"fixed rate {o.rate:,.0f} ops/s (latency from each scheduled start)")
    return ", ".join(parts)


def _cpu_text(r: RunResult) -> str:
    if r.server_cpu_seconds is None:
        return "unknown (no server pid: pass --server-pid)"
    roles = ", ".join(f"{role} {cpu / r.seconds:.0%}" for role, cpu in
                      sorted(r.server_cpu_by_role.items(), key=lambda kv: -kv[1]))
    per_op = r.cpu_us_per_op
    head = f"{per_op:.0f} µs/op" if per_op is not None else "no operations"
    lost = f"; {r.lost_processes} process(es) exited mid-run, their CPU is missing" \
        if r.lost_processes else ""
    return f"{head} ({r.server_cpu_seconds:.2f} s over {r.seconds:g} s: {roles}){lost}"


def background_text(r: RunResult) -> str | None:
    """The flushes and compactions a small-memtable run left: None for other runs."""
    if not r.options.memtable_mib or r.server_cpu_seconds is None:
        return None
    if r.settled_cpu_us_per_op is None:
        return "the node was still busy long after the load; its background work is unknown"
    return (f"{r.background_cpu_seconds:.2f} s of CPU in the {r.settle_seconds:.0f} s after "
            f"the load until the node was idle: {r.settled_cpu_us_per_op:.0f} µs/op with it")


# Steal below this share of the cores' time rounds to 0% and is not printed.
STEAL_SHOWN = 0.005


def kernel_text(r: RunResult) -> str | None:
    """The server's kernel share and its sleeps, preemptions and page faults per operation
    (None when not sampled): where a node's CPU goes beyond its own code."""
    k = r.server_kernel
    if k is None or not r.ops or not r.server_cpu_seconds:
        return None
    faults = "" if k.faults is None else f", {k.faults / r.ops:.2f} page faults"
    return (f"{k.system_seconds / r.ops * 1e6:.0f} µs/op in the kernel "
            f"({k.system_seconds / r.server_cpu_seconds:.0%} of the server's CPU); per op "
            f"{k.sleeps / r.ops:.2f} sleeps, {k.preemptions / r.ops:.2f} preemptions{faults}")


# How a node's caches are named in the reports.
CACHE_NAMES = {"key": "key cache", "chunk": "chunk cache"}


def cache_texts(r: RunResult) -> list[str]:
    """One line per cache of a started node: the run's hit rate and what it held at the end
    (none for a cache the run never used, as a write run's). A read figure means little
    without them: a first read of a key costs far more than one the key cache knows."""
    out = []
    for name, use in r.caches.items():
        lookups = use.hits + use.misses
        if not lookups and not use.entries:
            continue
        rate = f"{use.hits / lookups:.1%} of {lookups:,} lookups hit" if lookups else "no lookups"
        out.append(f"{CACHE_NAMES.get(name, name)}: {rate} (warm-up included); at the end "
                   f"{use.entries:,} entries, {_mib(use.bytes)} of {_mib(use.capacity)} MiB")
    return out


def console(r: RunResult, null: RunResult | None = None) -> str:
    lat = r.latency_us
    lines = [f"{r.label} against {r.target} at {r.address}: {settings_text(r)}",
             f"  throughput     {r.throughput:,.0f} ops/s ({r.rows_per_second:,.0f} rows "
             f"{'read' if WORKLOADS[r.workload].reads else 'written'}/s)",
             "  latency        " + "  ".join(f"{k} {_ms(v)} ms" for k, v in lat.items()),
             *(["  from the send  " + "  ".join(f"{k} {_ms(v)} ms"
                                                for k, v in r.service_us.items())
                + " (without the generator's lateness)"] if r.service_us else []),
             f"  errors         {r.errors} (+{r.late} unanswered at the end)",
             f"  server CPU     {_cpu_text(r)}",
             *([f"  server kernel  {kernel}"] if (kernel := kernel_text(r)) else []),
             "  server memory  " + ("unknown (pass --server-pid)" if r.peak_rss is None else
                                    f"peak {_mib(r.peak_rss)} MiB (sum of RSS, sampled every "
                                    f"{SAMPLE_INTERVAL} s)"),
             "  clients CPU    " + ", ".join(f"{c:.0%}" for c in r.client_cpu) + " of a core"
             + ("" if r.machine_busy is None else
                f"; all {r.cores} cores {r.machine_busy:.0%} busy, "
                f"{r.other_cpu:.0%} with other processes")
             + ("" if (r.stolen or 0) < STEAL_SHOWN else
                f", {r.stolen:.0%} stolen by the hypervisor"),
             *([f"  background     {background}"] if (background := background_text(r))
               else []),
             *([f"  sstables       {r.sstables} on the node's disk at the end"]
               if r.sstables is not None else []),
             *(f"  caches         {text}" for text in cache_texts(r)),
             f"  limited by     {r.verdict}",
             f"  setup          {r.preload_seconds:.1f} s to connect and preload "
             f"{r.preload_ops} operations ({r.preload_errors} errors)",
             *([f"  python         {r.python}"] if r.python else [])]
    for sample in r.error_samples:
        lines.append(f"  error sample   {sample}")
    if null is not None:
        lines.append(f"  vs null server {ratio(r, null):.2f} of its {null.throughput:,.0f} ops/s "
                     f"(null p99 {_ms(null.latency_us.get('p99'))} ms; null limited by "
                     f"{null.verdict})")
    return "\n".join(lines)


def ratio(r: RunResult, null: RunResult) -> float:
    return r.throughput / null.throughput if null.throughput else float("nan")


def markdown(r: RunResult, null: RunResult | None, commit: str, when: datetime.datetime) -> str:
    out = [f"# {r.label} ({r.target}), {when:%Y-%m-%d %H:%M}", "",
           f"- commit: `{commit}`", f"- settings: {settings_text(r)}",
           f"- address: {r.address}; machine: {r.cores} cores",
           *([f"- python (harness, clients and the servers it starts): {r.python}"]
             if r.python else []), ""]
    out += _figures_table(r, null)
    out += ["", f"Limited by: {r.verdict}.", "",
            f"Server CPU: {_cpu_text(r)}.", "",
            *([f"Background work: {background}.", ""] if (background := background_text(r))
              else []),
            *([f"Server kernel: {kernel}.", ""] if (kernel := kernel_text(r)) else []),
            *([f"Caches: {'; '.join(texts)}.", ""] if (texts := cache_texts(r)) else []),
            "Client processes' CPU (share of a core): "
            + ", ".join(f"{c:.0%}" for c in r.client_cpu) + "."
            + ("" if r.machine_busy is None else
               f" All {r.cores} cores {r.machine_busy:.0%} busy, {r.other_cpu:.0%} of them with "
               "processes other than the server and the clients.")
            + ("" if (r.stolen or 0) < STEAL_SHOWN else
               f" The hypervisor ran other guests for {r.stolen:.0%} of the cores' time "
               "(steal), time the processes wanted to run."), ""]
    if r.error_samples:
        out += ["Errors seen:", ""] + [f"- `{s}`" for s in r.error_samples] + [""]
    out += ["## Per second", "", "| second | ops/s | errors | p99 ms |"
            + (" null ops/s | null p99 ms |" if null else ""),
            "|---:|---:|---:|---:|" + ("---:|---:|" if null else "")]
    for i, s in enumerate(r.per_second):
        row = f"| {i + 1} | {s.ops} | {s.errors} | {_ms(s.p99_us)} |"
        if null is not None and i < len(null.per_second):
            n = null.per_second[i]
            row += f" {n.ops} | {_ms(n.p99_us)} |"
        out.append(row)
    return "\n".join(out) + "\n"


def _figures_table(r: RunResult, null: RunResult | None) -> list[str]:
    runs = [r] + ([null] if null else [])
    rows = [("ops/s", lambda x: f"{x.throughput:,.0f}"),
            ("rows read/s" if WORKLOADS[r.workload].reads else "rows written/s",
             lambda x: f"{x.rows_per_second:,.0f}"),
            *[(f"{k} ms", (lambda k: lambda x: _ms(x.latency_us.get(k)))(k))
              for k in r.latency_us],
            *[(f"{k} ms from the send", (lambda k: lambda x: _ms(x.service_us.get(k)))(k))
              for k in r.service_us],
            ("errors (+unanswered)", lambda x: f"{x.errors} (+{x.late})"),
            ("server CPU µs/op", lambda x: "unknown" if x.cpu_us_per_op is None
             else f"{x.cpu_us_per_op:.0f}"),
            ("server peak RSS MiB", lambda x: _mib(x.peak_rss))]
    head = "| figure | " + " | ".join(x.target for x in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]
    lines += [f"| {name} | " + " | ".join(fn(x) for x in runs) + " |" for name, fn in rows]
    if null is not None:
        lines.append(f"| {r.target} / null throughput | {ratio(r, null):.2f} | |")
    return lines


def plot(r: RunResult, null: RunResult | None, path: Path) -> bool:
    """Throughput and p99 per second as a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return False
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for run in [r] + ([null] if null else []):
        xs = range(1, len(run.per_second) + 1)
        top.plot(xs, [s.ops for s in run.per_second], marker="o", label=run.target)
        bottom.plot(xs, [s.p99_us / 1000 for s in run.per_second], marker="o", label=run.target)
    top.set_ylabel("ops/s")
    top.set_ylim(bottom=0)
    top.set_title(f"{r.label}: {settings_text(r)}", fontsize=8)
    top.legend()
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("second of the measured phase")
    bottom.set_ylim(bottom=0)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def readme_row(r: RunResult, null: RunResult | None, commit: str, date: str, link: str) -> str:
    name = r.label if r.target != "null" else f"{r.label} (null server)"
    cells = (name, f"{r.throughput:,.0f}", _ms(r.latency_us.get("p50")),
             _ms(r.latency_us.get("p99")), _ms(r.latency_us.get("p99.9")), str(r.errors),
             "-" if r.cpu_us_per_op is None else f"{r.cpu_us_per_op:.0f}", _mib(r.peak_rss),
             f"{ratio(r, null):.2f}" if null else "-", r.verdict.split(":")[0],
             settings_text(r), f"`{commit}`", f"[{date}]({link})")
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def update_readme(path: Path, row: str) -> None:
    """Replace (or add) the row of the same workload in the README's table."""
    text = path.read_text() if path.exists() else ""
    rows: dict[str, str] = {}
    match = re.search(re.escape(_TABLE_BEGIN) + r"(.*?)" + re.escape(_TABLE_END), text, re.S)
    if match:
        for line in match.group(1).splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and cells[0] not in ("workload", "") and \
                    not set(cells[0]) <= set("-:"):
                rows[cells[0]] = line
    rows[row.strip("| ").split(" | ")[0]] = row
    table = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    table += [rows[k] for k in sorted(rows)]
    path.write_text(_README_HEAD + _TABLE_BEGIN + "\n" + "\n".join(table) + "\n" + _TABLE_END + "\n")


def write_results(results_dir: Path, r: RunResult, null: RunResult | None) -> list[Path]:
    """The run's markdown (+ PNG) and the README row; returns the files written."""
    results_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now()
    commit = git_commit()
    stem = f"{now:%Y-%m-%d}-{r.label}" + ("-null" if r.target == "null" else "")
    md = results_dir / f"{stem}.md"
    text = markdown(r, null, commit, now)
    png = results_dir / f"{stem}.png"
    written = [md]
    if plot(r, null, png):
        text += f"\n![throughput and p99 per second]({png.name})\n"
        written.append(png)
    md.write_text(text)
    readme = results_dir / "README.md"
    update_readme(readme, readme_row(r, null, commit, f"{now:%Y-%m-%d}", md.name))
    written.append(readme)
    return written
