"""bench.inprocess runs both parts for real (a few thousand requests) and reports a figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_shard_and_front_report_cpu_per_write() -> None:
    for part, ops in (("shard", "3000"), ("front", "2000")):
        done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--ops", ops,
                               "--repeat", "1"], cwd=REPO, capture_output=True, text=True,
                              timeout=120)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        found = re.search(rf"^{part}: ([0-9.]+) µs of CPU per write", done.stdout, re.M)
        assert found and float(found.group(1)) > 0, out


def test_flush_and_compact_report_cpu_per_partition() -> None:
    for part in ("flush", "compact"):
        done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--ops", "4000",
                               "--repeat", "1"], cwd=REPO, capture_output=True, text=True,
                              timeout=120)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out
        found = re.search(rf"^{part}: ([0-9.]+) µs of CPU per partition", done.stdout, re.M)
        assert found and float(found.group(1)) > 0, out
