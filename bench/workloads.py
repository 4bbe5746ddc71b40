"""Workloads of the benchmark: tables, statements, key distributions and the operation sources
that client processes draw from.

Theory of operation
-------------------
A workload is a table, its statements (prepared once per client: index 0 always inserts,
index 1 reads) plus two generators:
``preload`` yields the operations that fill the tables before measuring (each client process
takes every ``parts``-th item), and ``operations`` returns a zero-argument callable that the
client calls once per request to get ``(kind, params)``: ``kind`` indexes the statement list,
or is ``BATCH`` with ``params`` a list of row tuples for the workload's ``batch_statement``.

Tables mirror cassandra-stress: ``standard1`` is its default table (a blob key and five blob
columns "C0".."C4"); ``clustered1`` adds an int clustering column for slices and batches, with
``CLUSTER_ROWS`` rows per partition. Keys are 10-byte ASCII numbers, as stress's keys are
10 bytes. Column values come from a small pool of random blobs generated once per client, so
no per-request randomness is spent on payloads.

This module must NOT import the driver or do I/O: the client binds these to driver objects.
"""

from __future__ import annotations

import itertools
import random
from typing import Callable, Iterator

import msgspec
import numpy as np

KEYSPACE = "bench"
KEYSPACE_DDL = (f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}")
VALUE_COLUMNS = ('"C0"', '"C1"', '"C2"', '"C3"', '"C4"')
_COLS = ", ".join(VALUE_COLUMNS)
_BLOBS = ", ".join(f"{c} blob" for c in VALUE_COLUMNS)

STANDARD1_DDL = f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.standard1 (key blob PRIMARY KEY, {_BLOBS})"
CLUSTERED1_DDL = (f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.clustered1 (key blob, ck int, {_BLOBS}, "
                  "PRIMARY KEY (key, ck))")
INSERT_STANDARD1 = f"INSERT INTO {KEYSPACE}.standard1 (key, {_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
SELECT_STANDARD1 = f"SELECT * FROM {KEYSPACE}.standard1 WHERE key = ?"
INSERT_CLUSTERED1 = (f"INSERT INTO {KEYSPACE}.clustered1 (key, ck, {_COLS}) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)")
SLICE_CLUSTERED1 = f"SELECT * FROM {KEYSPACE}.clustered1 WHERE key = ? AND ck >= ? LIMIT ?"

# Rows per partition of clustered1: room for the 100-row slices at many start offsets, while
# --keys 100000 still spreads over 100 partitions.
CLUSTER_ROWS = 1000
# Rows per unlogged batch when preloading clustered1: one partition per batch, ~4 KB of values
# at the default row size, under Cassandra's 5 KB batch_size_warn_threshold.
PRELOAD_BATCH_ROWS = 20
# Rows per batch of the batch workload (the "unlogged batches of 10 rows").
BATCH_ROWS = 10
# Random values drawn once per client; rotating through them costs no randomness per request.
VALUE_POOL = 251
# YCSB's default skew: key 0 gets ~8 % of requests over 100 k keys.
ZIPF_THETA = 0.99
# Keys summed per numpy chunk while computing zeta(n): bounds memory for huge key counts.
_ZETA_CHUNK = 1 << 20
# Share of reads in the mixed workload (the 50/50).
MIXED_READ_SHARE = 0.5
BATCH = -1
DISTRIBUTIONS = ("uniform", "zipfian")
SLICE_SIZES = (10, 100)

Op = tuple[int, object]


class Settings(msgspec.Struct, frozen=True):
    """What the generators need to know of a run (identical in every client process)."""

    keys: int = 100_000
    row_size: int = 34
    dist: str = "uniform"
    slice_rows: int = 10
    seed: int = 1


def key_bytes(n: int) -> bytes:
    return b"%010d" % n


class Zipfian:
    """Zipf-distributed integers in [0, n): rank k is drawn with weight 1 / (k + 1) ** theta.

    The algorithm of Gray et al. ("Quickly generating billion-record synthetic databases",
    SIGMOD 1994), as YCSB uses it: O(n) set-up to compute zeta(n), O(1) per draw.
    """

    __slots__ = ("n", "theta", "zetan", "alpha", "eta", "_half_pow")

    def __init__(self, n: int, theta: float = ZIPF_THETA) -> None:
        if n < 1:
            raise ValueError(f"Zipfian needs n >= 1, got {n}")
        if not 0 < theta < 1:
            raise ValueError(f"Zipfian theta must be in (0, 1), got {theta}")
        self.n = n
        self.theta = theta
        self.zetan = zeta(n, theta)
        zeta2 = zeta(min(n, 2), theta)
        self.alpha = 1.0 / (1.0 - theta)
        self.eta = ((1.0 - (2.0 / n) ** (1.0 - theta)) / (1.0 - zeta2 / self.zetan)
                    if n > 2 else 0.0)
        self._half_pow = 1.0 + 0.5 ** theta

    def draw(self, u: float) -> int:
        """The rank for a uniform ``u`` in [0, 1)."""
        uz = u * self.zetan
        if uz < 1.0:
            return 0
        if uz < self._half_pow or self.n <= 2:
            return min(1, self.n - 1)
        rank = int(self.n * (self.eta * u - self.eta + 1.0) ** self.alpha)
        return rank if rank < self.n else self.n - 1

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        draw, rand = self.draw, rng.random
        return lambda: draw(rand())


def zeta(n: int, theta: float) -> float:
    total = 0.0
    for start in range(1, n + 1, _ZETA_CHUNK):
        ranks = np.arange(start, min(n, start + _ZETA_CHUNK - 1) + 1, dtype=np.float64)
        total += float(np.sum(ranks ** -theta))
    return total


def key_chooser(dist: str, n: int, rng: random.Random) -> Callable[[], int]:
    if dist == "uniform":
        return lambda: rng.randrange(n)
    if dist == "zipfian":
        return Zipfian(n).sampler(rng)
    raise ValueError(f"unknown key distribution {dist!r} (choose from {', '.join(DISTRIBUTIONS)})")


def value_pool(row_size: int, rng: random.Random) -> list[bytes]:
    return [rng.randbytes(row_size) for _ in range(VALUE_POOL)]


def _rotating_values(pool: list[bytes]) -> Callable[[], tuple[bytes, ...]]:
    """Five column values per call, cycling through the pool."""
    rows = itertools.cycle([tuple(pool[(i + j) % len(pool)] for j in range(5))
                            for i in range(len(pool))])
    return rows.__next__


def partitions(settings: Settings) -> int:
    return max(1, settings.keys // CLUSTER_ROWS)


# --- the workloads ---------------------------------------------------------------------------


class Workload(msgspec.Struct, frozen=True):
    name: str
    tables: tuple[str, ...]
    statements: tuple[str, ...]
    preload: Callable[[Settings, int, int], Iterator[Op]]
    operations: Callable[[Settings, int, int], Callable[[], Op]]
    # Statement that BATCH operations repeat (preloads and batches only insert).
    batch_statement: int = 0
    # Rows one write operation writes (a batch of 10 is 10 rows).
    rows_per_op: Callable[[Settings], int] = lambda s: 1
    # Whether operations read: rows/s then counts the rows the reads returned.
    reads: bool = False

    def label(self, settings: Settings) -> str:
        """The results name: workload plus the settings that change what is measured."""
        if self.name in ("read", "mixed"):
            return f"{self.name}-{settings.dist}"
        base = f"slice-{settings.slice_rows}" if self.name == "slice" else self.name
        if self.name == "write" or settings.dist == "uniform":  # writes ignore --dist
            return base
        return f"{base}-{settings.dist}"


def _rng(settings: Settings, part: int) -> random.Random:
    return random.Random(settings.seed * 1_000_003 + part)


def _no_preload(settings: Settings, part: int, parts: int) -> Iterator[Op]:
    return iter(())


def _preload_standard1(settings: Settings, part: int, parts: int) -> Iterator[Op]:
    values = _rotating_values(value_pool(settings.row_size, _rng(settings, part)))
    for n in range(part, settings.keys, parts):
        yield 0, (key_bytes(n), *values())


def _preload_clustered1(settings: Settings, part: int, parts: int) -> Iterator[Op]:
    values = _rotating_values(value_pool(settings.row_size, _rng(settings, part)))
    chunks = [(p, start) for p in range(partitions(settings))
              for start in range(0, CLUSTER_ROWS, PRELOAD_BATCH_ROWS)]
    for p, start in chunks[part::parts]:
        key = key_bytes(p)
        yield BATCH, [(key, ck, *values())
                      for ck in range(start, min(CLUSTER_ROWS, start + PRELOAD_BATCH_ROWS))]


def _write_ops(settings: Settings, part: int, parts: int) -> Callable[[], Op]:
    """Sequential keys, striped over the clients (cassandra-stress's default for writes)."""
    values = _rotating_values(value_pool(settings.row_size, _rng(settings, part)))
    order = itertools.cycle(range(part % settings.keys, settings.keys, parts)).__next__
    return lambda: (0, (key_bytes(order()), *values()))


def _read_ops(settings: Settings, part: int, parts: int) -> Callable[[], Op]:
    choose = key_chooser(settings.dist, settings.keys, _rng(settings, part))
    return lambda: (1, (key_bytes(choose()),))


def _mixed_ops(settings: Settings, part: int, parts: int) -> Callable[[], Op]:
    rng = _rng(settings, part)
    choose = key_chooser(settings.dist, settings.keys, rng)
    values = _rotating_values(value_pool(settings.row_size, rng))
    rand = rng.random

    def op() -> Op:
        key = key_bytes(choose())
        if rand() < MIXED_READ_SHARE:
            return 1, (key,)
        return 0, (key, *values())
    return op


def _slice_ops(settings: Settings, part: int, parts: int) -> Callable[[], Op]:
    if not 0 < settings.slice_rows <= CLUSTER_ROWS:
        raise ValueError(f"--slice-rows must be in 1..{CLUSTER_ROWS}, got {settings.slice_rows}")
    rng = _rng(settings, part)
    choose = key_chooser(settings.dist, partitions(settings), rng)
    rows, last_start = settings.slice_rows, CLUSTER_ROWS - settings.slice_rows
    randint = rng.randint
    return lambda: (1, (key_bytes(choose()), randint(0, last_start), rows))


def _batch_ops(settings: Settings, part: int, parts: int) -> Callable[[], Op]:
    rng = _rng(settings, part)
    choose = key_chooser(settings.dist, partitions(settings), rng)
    values = _rotating_values(value_pool(settings.row_size, rng))
    randint, last_start = rng.randint, CLUSTER_ROWS - BATCH_ROWS

    def op() -> Op:
        key, start = key_bytes(choose()), randint(0, last_start)
        return BATCH, [(key, ck, *values()) for ck in range(start, start + BATCH_ROWS)]
    return op


_STANDARD1 = ((STANDARD1_DDL,), (INSERT_STANDARD1, SELECT_STANDARD1))
_CLUSTERED1 = ((CLUSTERED1_DDL,), (INSERT_CLUSTERED1, SLICE_CLUSTERED1))

WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("write", *_STANDARD1, _no_preload, _write_ops),
    Workload("read", *_STANDARD1, _preload_standard1, _read_ops, reads=True),
    Workload("mixed", *_STANDARD1, _preload_standard1, _mixed_ops, reads=True),
    Workload("slice", *_CLUSTERED1, _preload_clustered1, _slice_ops, reads=True),
    Workload("batch", *_CLUSTERED1, _no_preload, _batch_ops, rows_per_op=lambda s: BATCH_ROWS),
)}
