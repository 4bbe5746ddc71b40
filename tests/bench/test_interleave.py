"""bench.interleave serves reads, writes and both alternating, for real, and reports each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import interleave

REPO = Path(__file__).resolve().parents[2]


def test_the_three_runs_and_the_comparison_are_printed() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.interleave", "--ops", "2000",
                           "--batch", "4", "--rounds", "1"], check=False, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = {kind: float(value) for kind, value in
               re.findall(r"^(reads|writes|mixed): ([0-9.]+) µs of CPU per request",
                          done.stdout, re.MULTILINE)}
    assert sorted(figures) == ["mixed", "reads", "writes"], done.stdout
    assert all(value > 0 for value in figures.values()), done.stdout
    assert re.search(r"^mixed against the mean of reads and writes \([0-9.]+ µs\): [+-][0-9]+%$",
                     done.stdout, re.MULTILINE), done.stdout


def test_mixed_alternates_the_reads_and_writes_of_the_other_runs() -> None:
    table_id = b"\x01" * 16
    requests = interleave._requests(10, table_id)
    assert len(requests["reads"]) == len(requests["writes"]) == len(requests["mixed"]) == 10
    assert requests["mixed"][0::2] == requests["reads"][:5]
    assert requests["mixed"][1::2] == requests["writes"][5:]


@pytest.mark.parametrize("options", [["--ops", "1"], ["--batch", "0"], ["--rounds", "0"]])
def test_nonsense_options_are_refused(options: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.interleave", *options], check=False,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "must be at least" in done.stderr
