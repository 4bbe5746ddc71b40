"""A/B comparison of two versions of Ferrosa on one workload, run alternately.

What it is: ``python -m bench ab --baseline REV <workload> [load options]``. It checks REV out
into a temporary git worktree, then runs the workload ``--rounds`` times against a fresh node of
each version in turn, and prints every run's figures, the medians, and how many rounds each
side won with the range of its figures. The baseline goes first
in odd rounds, this checkout in even ones: a version that always ran second would always meet
what the first run left behind (dirty pages still being written back, a CPU the hypervisor
has just lent to another guest), and the comparison would carry that as a difference.

Why alternate: on a shared machine the same build's figures drift by 10-25% over minutes (other
tenants, CPU frequency). Runs made one after the other, in alternation, see the same drift, so
their difference is the change's; comparing today's run with last week's README row is not.

What it must not do: write bench/results/ (its figures compare two builds; they are no
workload's latest), or touch the working tree (the baseline lives in its own worktree, removed
at the end).
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec

from bench.harness import RunOptions, RunResult
from bench.report import STEAL_SHOWN
from bench.server import REPO


class Side(msgspec.Struct):
    name: str
    source: Path | None  # None: this checkout
    results: list[RunResult] = []


def add_worktree(revision: str) -> Path:
    """A detached worktree of ``revision`` in a new temporary directory."""
    where = Path(tempfile.mkdtemp(prefix="bench-ab-")) / "baseline"
    done = subprocess.run(["git", "worktree", "add", "--detach", str(where), revision],
                          check=False, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git worktree add {revision} failed: {done.stderr.strip()}")
    return where


def remove_worktree(where: Path) -> None:
    """Remove a worktree of add_worktree, and the temporary directory made for it."""
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], check=False, cwd=REPO,
                   capture_output=True)
    try:
        where.parent.rmdir()
    except OSError:
        pass  # not empty: something else was put there, leave it


def compare(opts: RunOptions, revision: str, rounds: int, bind: tuple[str, int],
            run: Callable[..., RunResult], say: Callable[[str], None] = print) -> list[Side]:
    """Run baseline and candidate alternately, the first of each round swapped every round;
    returns both sides (baseline first) with their results."""
    baseline = add_worktree(revision)
    sides = [Side(f"baseline {revision}", baseline), Side("this checkout", None)]
    try:
        for round_ in range(1, rounds + 1):
            for side in (sides if round_ % 2 else sides[::-1]):
                result = run(opts, "ferrosa", bind, source=side.source)
                side.results.append(result)
                say(f"round {round_}  {side.name:<24} {line(result)}")
    finally:
        remove_worktree(baseline)
    return sides


def line(r: RunResult) -> str:
    """One run: throughput, CPU per op, the latency tail (p99, p99.9 and the maximum: a stall
    of the server shows in the last two long before p99), errors, and the hypervisor's steal
    when there was any: a round that lost cores to other guests measured a slower machine,
    and its pair says little about the change."""
    cpu = "-" if r.cpu_us_per_op is None else f"{r.cpu_us_per_op:.0f}"
    tail = "  ".join(f"{name} {_ms(r.latency_us.get(name))} ms" for name in ("p99", "p99.9", "max"))
    settled = ("" if r.settled_cpu_us_per_op is None
               else f"  settled {r.settled_cpu_us_per_op:.0f} µs/op")
    steal = "" if (r.stolen or 0) < STEAL_SHOWN else f"  {r.stolen:.0%} stolen"
    return (f"{r.throughput:>9,.0f} ops/s  {cpu:>4} µs/op{settled}  {tail}  errors {r.errors}"
            f"{steal}")


def _median(values: list[float | None]) -> float | None:
    """The median of the known values, None when there are none."""
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _ms(us: int | None) -> str:
    return "-" if us is None else f"{us / 1000:.2f}"


def summary(sides: list[Side]) -> str:
    """Medians per side and the candidate's change against the baseline."""
    rows = []
    medians = []
    for side in sides:
        ops = statistics.median(r.throughput for r in side.results)
        cpu = _median([r.cpu_us_per_op for r in side.results])
        settled = _median([r.settled_cpu_us_per_op for r in side.results])
        medians.append((ops, cpu, settled))
        rows.append(f"median  {side.name:<24} {ops:>9,.0f} ops/s  "
                    f"{'-' if cpu is None else f'{cpu:.0f}':>4} µs/op"
                    + ("" if settled is None else f"  settled {settled:.0f} µs/op"))
    (base_ops, base_cpu, base_settled), (new_ops, new_cpu, new_settled) = medians
    change = [f"throughput {new_ops / base_ops - 1:+.0%}"] if base_ops else []
    if base_cpu and new_cpu:
        change.append(f"CPU per op {new_cpu / base_cpu - 1:+.0%}")
    if base_settled and new_settled:
        change.append(f"settled CPU per op {new_settled / base_settled - 1:+.0%}")
    rows.append("change  " + ", ".join(change))
    rows.append(rounds_line(*sides))
    return "\n".join(rows)


def rounds_line(base: Side, new: Side) -> str:
    """How often this checkout came out ahead round by round, and each side's range: medians
    of a few rounds hide how far single runs scatter (an A/A of one build gave medians 3%
    apart and single pairs up to 27%, docs/performance.md)."""
    pairs = list(zip(base.results, new.results))
    faster = sum(n.throughput > b.throughput for b, n in pairs)
    text = f"rounds  this checkout ahead in {faster} of {len(pairs)} on throughput"
    cpu = [(b.cpu_us_per_op, n.cpu_us_per_op) for b, n in pairs
           if b.cpu_us_per_op is not None and n.cpu_us_per_op is not None]
    if cpu:
        cheaper = sum(n < b for b, n in cpu)
        text += (f", {cheaper} of {len(cpu)} on CPU per op (baseline {_span(b for b, _ in cpu)},"
                 f" this checkout {_span(n for _, n in cpu)} µs/op)")
    return text


def _span(values) -> str:
    values = list(values)
    return f"{min(values):.0f}-{max(values):.0f}"
