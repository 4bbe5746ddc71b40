"""bench/locustfile.py runs for real: a short headless Locust run against a real node, no failures."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.node import REPO, NodeProcess

# Only look for it: importing locust here would monkey-patch this whole pytest process with
# gevent (threads become greenlets), breaking every later test that uses threads.
if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed", allow_module_level=True)


def test_headless_locust_run_has_requests_and_no_failures(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "data", host="127.0.0.43", shards=2).start()
    try:
        out = subprocess.run(
            [str(Path(sys.executable).parent / "locust"), "-f", str(REPO / "bench" / "locustfile.py"),
             "--headless", "-u", "8", "-r", "8", "-t", "4s", "--host", "127.0.0.43:9042",
             "--csv", str(tmp_path / "run"), "--only-summary", "--stop-timeout", "5"],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        with open(tmp_path / "run_stats.csv") as stats:
            rows = {row["Name"]: row for row in csv.DictReader(stats)}
        for name in ("INSERT", "SELECT", "SLICE"):
            assert int(rows[name]["Request Count"]) > 0
        assert int(rows["Aggregated"]["Failure Count"]) == 0
    finally:
        assert node.stop() == 0
