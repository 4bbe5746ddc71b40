"""What an import reports while it runs and when it ends: the progress line and the summary.

What it is: ``Progress``, counters of the two passes (validated and loaded rows and Data.db bytes)
fed by the job (validation, in the main thread) and by the sender threads (acknowledged batches),
drawn as one self-overwriting line on a terminal at most every ``REDRAW_SECONDS``:

    loading ks.t (2/5 SSTables)  120,000 rows  45.2 MiB  98,000 rows/s  ETA 0:12

(rows and MiB of the current phase: validated while validating, acknowledged by the node while
loading; the rate is over the whole run.)

Work is measured in uncompressed Data.db bytes: every byte is validated once and (unless dry-run)
loaded once, so the ETA is the remaining work over the rate of work so far. ``summary`` formats the
closing report (partitions, rows, cells, tombstones, bytes, errors, throughput).

This module must NOT read SSTables or talk to the node; off a terminal it draws nothing.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from ferrosa.importer.load import Counts

REDRAW_SECONDS = 0.2
MIB = 1024 * 1024


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    def __init__(self, stream: TextIO, total_bytes: int, passes: int, sstables: int, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.total_work = max(1, total_bytes * passes)
        self.sstables = sstables
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.validated_rows = self.validated_bytes = 0
        self.loaded_rows = self.loaded_bytes = self.loaded_mutations = 0
        self.dry_run = passes == 1
        self.phase = "validating"
        self.table = ""
        self.index = 0
        self.drawn = 0.0
        self.width = 0

    def start(self, phase: str, table: str, index: int) -> None:
        self.phase, self.table, self.index = phase, table, index
        self.tick(force=True)

    def validated(self, rows: int, data_bytes: int) -> None:
        self.validated_rows += rows
        self.validated_bytes += data_bytes

    def loaded(self, rows: int, data_bytes: int, mutations: int) -> None:
        """Called by sender threads as batches are acknowledged."""
        with self.lock:
            self.loaded_rows += rows
            self.loaded_bytes += data_bytes
            self.loaded_mutations += mutations

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        elapsed = max(self.elapsed, 1e-9)
        validating = self.dry_run or self.phase == "validating"
        rows = self.validated_rows if validating else self.loaded_rows
        done_bytes = self.validated_bytes if validating else self.loaded_bytes
        work = self.validated_bytes + self.loaded_bytes
        eta = (self.total_work - work) / (work / elapsed) if work else None
        return (f"{self.phase} {self.table} ({self.index}/{self.sstables} SSTables)  {rows:,} rows  "
                f"{done_bytes / MIB:.1f} MiB  {rows / elapsed:,.0f} rows/s  "
                f"ETA {_clock(eta) if eta is not None else '?'}")

    def tick(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.drawn < REDRAW_SECONDS:
            return
        self.drawn = now
        text = self.line()
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def clear(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def summary(counts: Counts, sstables: int, data_bytes: int, errors: int, progress: Progress) -> str:
    """The closing report: what was read, and what was loaded how fast (or that nothing was)."""
    elapsed = max(progress.elapsed, 1e-9)
    lines = [f"sstables {sstables}, partitions {counts.partitions:,}, rows {counts.rows:,}, "
             f"cells {counts.cells:,}, tombstones {counts.tombstones:,}, bytes {data_bytes:,} "
             f"({data_bytes / MIB:.1f} MiB of Data.db), errors {errors}"]
    if progress.dry_run:
        lines.append(f"dry run: nothing written ({counts.mutations:,} mutations would be; "
                     f"{elapsed:.2f} s)")
    else:
        lines.append(f"loaded {progress.loaded_rows:,} rows as {progress.loaded_mutations:,} mutations in "
                     f"{elapsed:.2f} s: {progress.loaded_rows / elapsed:,.0f} rows/s, "
                     f"{progress.loaded_bytes / MIB / elapsed:.1f} MiB/s")
    return "\n".join(lines)
