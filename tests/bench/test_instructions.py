"""bench.instructions counts a real program's instructions under valgrind, the same each run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from bench import instructions

REPO = Path(__file__).resolve().parents[2]
needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind not installed (Debian package valgrind)")


def _loop(steps: int) -> list[str]:
    return [sys.executable, "-S", "-c", f"x = 0\nfor i in range({steps}):\n    x += i * i"]


@needs_valgrind
def test_the_same_program_counts_the_same() -> None:
    first = instructions.count(_loop(1000), REPO)
    second = instructions.count(_loop(1000), REPO)
    assert first > 1_000_000  # an interpreter's start alone is millions
    assert abs(first - second) <= first // 10_000


@needs_valgrind
def test_per_step_takes_the_start_out() -> None:
    # A loop step of `x += i * i` is a few hundred instructions of the interpreter; the start
    # (tens of millions) must not leak into it.
    per_step = instructions.per_step(_loop, 60_000, REPO)
    assert 50 < per_step < 2_000
    doubled = instructions.per_step(
        lambda n: [sys.executable, "-S", "-c",
                   f"x = 0\nfor i in range({n}):\n    x += i * i\n    x += i * i"], 60_000, REPO)
    assert 1.3 * per_step < doubled < 2.7 * per_step


@needs_valgrind
def test_a_failing_program_is_an_error() -> None:
    with pytest.raises(instructions.CountError, match="exit 3"):
        instructions.count([sys.executable, "-S", "-c", "raise SystemExit(3)"], REPO)


def test_without_valgrind_it_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(instructions.CountError, match="valgrind is not installed"):
        instructions.count([sys.executable, "-c", "pass"], REPO)


def test_too_few_steps_for_a_difference() -> None:
    with pytest.raises(ValueError, match="more than"):
        instructions.per_step(_loop, 1, REPO)


def test_the_command_line_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # A whole count of an inprocess part takes four runs of a minute under valgrind: too slow
    # for the suite. Its pieces are tested here and in test_inprocess (--set-up-only).
    monkeypatch.setenv("PATH", str(tmp_path))
    assert instructions.main(["shard", "--ops", "600", "--flushed"]) == 1
    assert "error: valgrind is not installed" in capsys.readouterr().err


def test_the_baseline_is_measured_with_this_checkouts_bench() -> None:
    where = instructions.baseline_worktree("HEAD")
    try:
        ours = (REPO / "bench" / "instructions.py").read_text()
        assert (where / "bench" / "instructions.py").read_text() == ours
        assert (where / "ferrosa" / "__init__.py").exists()
        assert not (where / "bench" / "results").exists()
        instructions.compile_sources(where)  # so that no counted run compiles what it imports
        assert list((where / "ferrosa" / "__pycache__").glob("__init__.*.pyc"))
        assert list((where / "shards" / "__pycache__").glob("*.pyc"))
    finally:
        instructions.remove_worktree(where)
    assert not where.exists() and not where.parent.exists()  # no empty temporary directory left
