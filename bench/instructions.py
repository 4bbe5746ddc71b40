"""Instructions per request of an in-process benchmark, counted by valgrind: a figure that does
not move with the machine.

    python -m bench.instructions <part> [--ops N] [--baseline REV] [<bench.inprocess options>]

Theory of operation
-------------------
On a shared VM the CPU time of the same code drifts by a factor of two within an hour
(docs/performance.md), so a change worth 3% cannot be seen in µs, even in alternating pairs.
The number of instructions executed does not drift: valgrind counts them on a simulated CPU
(``--tool=cachegrind --cache-sim=no``, the count alone, twice as fast as callgrind), the same
total for the same program, inputs and environment whatever else the machine does. So this
runs ``python -m bench.inprocess <part> --repeat 1`` under valgrind twice, with ``--ops`` / 6
and ``--ops`` requests; the difference of the two totals divided by the difference of the
request counts is the cost of one request, with the interpreter's start and the imports (the
same in both runs) taken out. What the benchmark does per request before its timer starts
(making the requests: a quarter of the front's count; the pass that warms the caches of a
``--flushed`` read) grows with the request count too, so the same two runs are made again with
``--set-up-only``, which stops there, and their difference is subtracted: the figure is the
timed work's alone. PYTHONHASHSEED is fixed, and numpy's idle threads are kept from spinning
(FIXED_ENV), so that two runs of the same program count the same to a few thousand
instructions in a billion. The sources are compiled to bytecode files first: else the first
run of a fresh worktree, or of a module just edited, would compile it and the next would not
(and, where PYTHONDONTWRITEBYTECODE is set, every run would compile every module it imports,
half of an import's instructions).

With ``--baseline REV`` the same count is made for REV, from a temporary git worktree (as
``bench ab`` does), and the change is printed. The worktree's bench/ is replaced by this
checkout's: both sides are measured with the same instrument (and REV may predate
``--set-up-only``); only ferrosa/ and shards/ are REV's.

Instructions are not time: a cache miss or a system call costs far more than its instruction
count says, so this judges changes to the Python work per request (objects made, calls,
lookups), not changes to memory layout or to the hand-offs between processes; those need
``bench ab`` on a node. The unit is the part's ``--ops`` unit: a write for ``flush`` and
``compact`` (whose µs figures are per partition), a slice read for ``shard-slice`` (per row).

Under valgrind a program runs 20-50 times slower: the default 12,000 requests of ``front`` take
about a minute and a half, much of it the imports, four times; a part that fills a store first
(shard-read, shard-slice, flush, compact) takes several minutes.

What it must not do: time anything, or change the working tree (the baseline lives in its own
worktree, removed at the end; the bytecode files go to the ignored __pycache__ folders).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.ab import add_worktree, remove_worktree
from bench.server import REPO

# The smaller of the two runs does this fraction of the larger one's requests: far enough apart
# that the per-request difference dwarfs the few thousand instructions two identical start-ups
# differ by (garbage collections at other moments), close enough that the larger run stays short.
SMALL_RUN_DIVISOR = 6
DEFAULT_OPS = 12_000
# The environment of every counted run. A fixed hash seed gives the same dict and set layouts
# each run; numpy's OpenBLAS starts a pool of threads that spin while idle, tens of millions of
# instructions that vary from run to run (measured: 4% of a shard's per-request figure): one
# thread, none to spin.
FIXED_ENV = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
# cachegrind's summary line on stderr: "==123== I   refs:      3,621,027,792".
_COLLECTED = re.compile(r"^==\d+== I\s+refs:\s+([\d,]+)$", re.MULTILINE)


class CountError(RuntimeError):
    """valgrind is missing, or the counted program failed."""


def count(command: list[str], cwd: Path, pythonpath: Path | None = None) -> int:
    """The instructions ``command`` executes, counted by valgrind (children not followed)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise CountError("valgrind is not installed (Debian package valgrind)")
    env = dict(os.environ, **FIXED_ENV)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run([valgrind, "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null",
                           *command], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise CountError(f"{' '.join(command)} failed under valgrind (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_step(command_for: Callable[[int], list[str]], steps: int, cwd: Path,
             pythonpath: Path | None = None) -> float:
    """Instructions per step: ``command_for(n)`` runs n steps; counted at steps // divisor and
    at steps, the difference divided by the steps between them."""
    small = max(1, steps // SMALL_RUN_DIVISOR)
    if steps <= small:
        raise ValueError(f"need more than {small} steps to take a difference, got {steps}")
    low = count(command_for(small), cwd, pythonpath)
    high = count(command_for(steps), cwd, pythonpath)
    return (high - low) / (steps - small)


def inprocess_command(part: str, extra: list[str]) -> Callable[[int], list[str]]:
    def command(ops: int) -> list[str]:
        return [sys.executable, "-m", "bench.inprocess", part, "--ops", str(ops), "--repeat", "1",
                *extra]
    return command


# The packages a bench.inprocess run imports, compiled before counting.
SOURCES = ("ferrosa", "shards", "bench")


def compile_sources(cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "compileall", "-q", *SOURCES], check=False,
                          cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise CountError(f"compiling the sources in {cwd} failed:\n{done.stdout}{done.stderr}")


def per_request(part: str, extra: list[str], ops: int, cwd: Path,
                pythonpath: Path | None = None) -> float:
    """Instructions of the timed work of one request of a bench.inprocess part."""
    compile_sources(cwd)
    whole = per_step(inprocess_command(part, extra), ops, cwd, pythonpath)
    set_up = per_step(inprocess_command(part, [*extra, "--set-up-only"]), ops, cwd, pythonpath)
    return whole - set_up


def baseline_worktree(revision: str) -> Path:
    """A worktree of `revision` whose bench/ is this checkout's (the same instrument)."""
    where = add_worktree(revision)
    shutil.rmtree(where / "bench")
    shutil.copytree(REPO / "bench", where / "bench",
                    ignore=shutil.ignore_patterns("results", "__pycache__"))
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("part", help="a bench.inprocess part: front, shard, front-read, ...")
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS,
                        help=f"requests of the larger run (default {DEFAULT_OPS})")
    parser.add_argument("--baseline", help="git revision to count too, and compare with")
    # Every other option (after a "--" or not) goes to bench.inprocess, e.g. --flushed.
    args, extra = parser.parse_known_args(argv)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    try:
        here = per_request(args.part, extra, args.ops, REPO)
        print(f"{args.part}: {here:,.0f} instructions per request (this checkout)")
        if args.baseline:
            where = baseline_worktree(args.baseline)
            try:
                base = per_request(args.part, extra, args.ops, where, pythonpath=where)
            finally:
                remove_worktree(where)
            print(f"{args.part}: {base:,.0f} instructions per request (baseline "
                  f"{args.baseline})")
            print(f"change: {(here - base) / base:+.1%}")
    except (RuntimeError, ValueError) as exc:  # CountError and git's worktree errors
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
