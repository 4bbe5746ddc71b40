"""bench.inprocess runs every part for real (a few thousand requests) and reports a figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("part", "ops", "unit"), [
    ("shard", "3000", "write"), ("shard-loop", "3000", "write"), ("front", "2000", "write"),
    ("shard-read", "3000", "read"), ("front-read", "2000", "read"),
    ("shard-slice", "200", "row read"), ("shard-batch", "300", "batch"),
    ("front-batch", "300", "batch"), ("front-slice", "2000", "slice"),
    ("flush", "4000", "partition"), ("compact", "4000", "partition"),
    ("compact-series", "2000", "row read"), ("sustained", "15000", "write"),
])
def test_each_part_reports_its_cpu(part: str, ops: str, unit: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--ops", ops,
                           "--repeat", "1"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    found = re.search(rf"^{part}: ([0-9.]+) µs of CPU per {unit}", done.stdout, re.M)
    assert found and float(found.group(1)) > 0, out


@pytest.mark.parametrize(("part", "options", "unit"), [
    ("shard-slice", ["--ops", "200"], "row read"),
    ("shard-read", ["--ops", "3000"], "read"),
    ("shard-read", ["--ops", "3000", "--cold"], "read"),
    ("shard-read", ["--ops", "2000", "--keys", "9000", "--sstables", "3"], "read"),
])
def test_reads_from_an_sstable(part: str, options: list[str], unit: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--flushed",
                           *options, "--repeat", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"^{part}: [0-9.]+ µs of CPU per {unit}", done.stdout, re.M)


@pytest.mark.parametrize("part", ["shard", "shard-loop", "front-read", "shard-read", "shard-slice", "flush",
                                  "compact", "compact-series", "sustained"])
def test_set_up_only_stops_before_the_timed_work(part: str) -> None:
    options = ["--flushed"] if part in ("shard-read", "shard-slice") else []
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--ops", "300",
                           "--repeat", "1", "--set-up-only", *options], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"{part}: set up only, nothing timed"


@pytest.mark.parametrize(("part", "unit"), [("shard", "write"), ("shard-batch", "batch")])
def test_overwrite_reports_its_cpu_and_belongs_to_the_shard_parts(part: str, unit: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, "--overwrite",
                           "--ops", "2000", "--repeat", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"^{part}: [0-9.]+ µs of CPU per {unit}", done.stdout, re.M)
    refused = subprocess.run([sys.executable, "-m", "bench.inprocess", "front", "--overwrite"],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "--overwrite is an option of the shard and shard-batch parts only" in refused.stderr


@pytest.mark.parametrize(("part", "options", "unit"), [
    ("front", ["--protocol", "5"], "write"),
    ("front-read", ["--protocol", "5", "--compression", "lz4"], "read"),
    ("front-batch", ["--protocol", "5"], "batch"),
    ("front-slice", ["--protocol", "5"], "slice"),
    ("front", ["--protocol", "3", "--compression", "snappy"], "write"),
    ("front-read", ["--compression", "lz4"], "read"),
])
def test_front_parts_speak_each_framing(part: str, options: list[str], unit: str) -> None:
    """The front parts frame their requests as the driver does for each protocol version and
    compression; a part whose requests the front refused would fail its check of the answers."""
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", part, *options, "--ops",
                           "300", "--repeat", "1"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"^{part}: [0-9.]+ µs of CPU per {unit}", done.stdout, re.M)


@pytest.mark.parametrize(("options", "message"), [
    (["shard", "--protocol", "5"], "--protocol and --compression are options of the front parts"),
    (["shard", "--keys", "1000"], "--keys and --sstables are options of shard-read only"),
    (["shard-read", "--sstables", "3"], "--sstables reads from SSTables: give --flushed too"),
    (["front", "--protocol", "5", "--compression", "snappy"], "protocol v5 compresses with lz4"),
])
def test_options_are_refused_where_they_mean_nothing(options: list[str],
                                                             message: str) -> None:
    refused = subprocess.run([sys.executable, "-m", "bench.inprocess", *options], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and message in refused.stderr
