"""The flush of a frozen memtable: its partitions written to an SSTableWriter in (token, pk)
order, a bounded step per next().

What it is: `flush_steps(frozen, writer)`, run by TableStore's flush job between the writer's
making and its finish, and `token_order_steps`, the order it writes in.

What it must NOT do: open, finish or abort the writer (the caller owns it), or change the
memtable: it is frozen, and reads still go to it until the SSTable takes its place.

Theory of operation:
- An SSTable takes its partitions in token order, but a memtable's objects lie in memory in
  the order its partitions were made. Encoded in token order, every partition is a visit to
  memory at random: 4.1 µs a partition against 3.0 in the order they were made (the encoding
  alone, 63,000 standard1 partitions). So a flush runs in three passes:
  1. encode: in the order the memtable made them, every plain one-row partition (most) is
     encoded by SSTableWriter.encode_plain (which also tallies its stats and bloom key);
     other partitions are left to pass 3. Each step also takes its partitions' keys and
     tokens, while their objects are in the CPU's caches;
  2. order: the tokens are sorted a run per step, then the runs merged (numpy), equal tokens
     by pk; the order is a list of the partitions' places in pass 1's order;
  3. write: in that order, runs of encoded partitions go to SSTableWriter.add_encoded (one
     join and one Index pack per run), the others to SSTableWriter.add.
- Every step is bounded, since requests wait for the step the shard is in: on a node whose
  cores are shared, a long step's wall time was 2-4 times its CPU. No step walks the whole
  memtable or frees all of pass 1's work at once (each was a step of 2.3-3.3 ms for 46k
  partitions).
- The encoded partitions are held until the write pass, beside the memtable: about 40% of
  what the memtable accounts for them (standard1: 334 bytes encoded, about 375 with the
  bytes object and its list slot, against 926 accounted a partition), and each is freed
  once its run is written. That memory is not in the memtable's accounting; a node's peak
  RSS grew by 23-33 MiB with two 32 MiB memtables.
"""

from __future__ import annotations

from collections.abc import Generator
from itertools import islice
from operator import attrgetter

import numpy as np

from shards.memtable import Partition, TableData
from shards.sstable.writer import SSTableWriter

# Partitions encoded per step (pass 1): a step of about a quarter of a millisecond here.
ENCODE_STEP_PARTITIONS = 64
# Tokens sorted per step (pass 2), about 0.3 ms here; a step then merges the sorted runs (a
# stable sort of sorted runs is a merge in numpy's timsort: 0.5 ms for 46k), and one makes
# the order's list (0.6 ms for 46k).
SORT_RUN_PARTITIONS = 8192
# Partitions per write step (pass 3): one add_encoded call of about 500 encoded partitions
# (about 175 KB of standard1 joined, compressed and written: about 0.35 ms here), or at most
# ENCODE_STEP_PARTITIONS of the others, which `add` encodes one at a time. Halved from 1,024
# with RELEASE_STEP_PARTITIONS: p99 of sustained writes on a node 5.95-7.26 against
# 7.04-8.00 ms, for the same CPU (docs/performance.md, twenty-eighth session).
WRITE_STEP_PARTITIONS = 512

_TOKEN_OF = attrgetter("token")


def flush_steps(frozen: TableData, writer: SSTableWriter) -> Generator[None, None, None]:
    """Write every partition of `frozen` to `writer` (module docstring), a step per next()."""
    count = len(frozen.partitions)
    parts: list[Partition] = []
    keys: list[bytes] = []
    encoded: list[bytes | None] = []
    tokens = np.empty(count, np.int64)
    encode = writer.encode_plain
    # The memtable's dict is read a step at a time, not listed whole first: listing 46k
    # partitions (a reference taken on each, at random places in memory) was one step of
    # 2.3 ms, which the encoding that touches each partition anyway now absorbs. The dict is
    # frozen: a change while this runs would stop the iteration with a RuntimeError.
    pks, values = iter(frozen.partitions), iter(frozen.partitions.values())
    for start in range(0, count, ENCODE_STEP_PARTITIONS):
        chunk = list(islice(values, ENCODE_STEP_PARTITIONS))
        parts += chunk
        keys += islice(pks, len(chunk))
        tokens[start:start + len(chunk)] = np.fromiter(map(_TOKEN_OF, chunk), np.int64,
                                                      len(chunk))
        encoded += map(encode, chunk)
        yield
    order, tokens = yield from token_order_steps(tokens, parts, SORT_RUN_PARTITIONS)
    for start in range(0, len(parts), WRITE_STEP_PARTITIONS):
        places = order[start:start + WRITE_STEP_PARTITIONS]
        run = list(map(encoded.__getitem__, places))
        run_tokens = tokens[start:start + len(places)]
        if None not in run:
            writer.add_encoded(run_tokens, list(map(keys.__getitem__, places)), run)
        else:
            yield from _mixed_run(writer, parts, keys, places, run, run_tokens)
        # Each place comes once: its blob is freed with its run, not all at the end (freeing
        # 46k blobs when this generator returned was one step of 2.8 ms).
        for place in places:
            encoded[place] = None
        del run
        yield


def _mixed_run(writer: SSTableWriter, parts: list[Partition], keys: list[bytes],
               places: list[int], run: list[bytes | None],
               run_tokens: np.ndarray) -> Generator[None, None, None]:
    """Pass 3 over a run that holds partitions pass 1 left (None in `run`): each written by
    `add` between the runs of encoded ones around it, a step per ENCODE_STEP_PARTITIONS of
    them (the caller's step ends the run)."""
    begin = written = 0
    for i, found in enumerate(run):
        if found is not None:
            continue
        if i > begin:
            writer.add_encoded(run_tokens[begin:i], list(map(keys.__getitem__, places[begin:i])),
                               run[begin:i])  # type: ignore[arg-type]
        writer.add(parts[places[i]])
        begin = i + 1
        written += 1
        if written % ENCODE_STEP_PARTITIONS == 0:
            yield
    if begin < len(run):
        writer.add_encoded(run_tokens[begin:], list(map(keys.__getitem__, places[begin:])),
                           run[begin:])  # type: ignore[arg-type]


def token_order_steps(tokens: np.ndarray, parts: list[Partition],
                      run: int) -> Generator[None, None, tuple[list[int], np.ndarray]]:
    """The places in `parts` in (token, pk) order, and the tokens in that order (int64), sorted
    in bounded steps from `tokens` (the partitions' tokens, int64, in `parts`' order; left
    as it was): a step per `run` tokens sorts them in C, a step merges those sorted runs, and
    the last puts partitions of equal tokens, which the token sort leaves in arrival order, in
    pk order. (Sorting (token, pk) tuples in Python and merging runs by heapq cost a flush
    about a microsecond a partition, a tenth of it.)"""
    count = len(tokens)
    runs = np.empty(count, np.int64)
    places = np.empty(count, np.intp)
    for start in range(0, count, run):
        stop = min(start + run, count)
        by_token = np.argsort(tokens[start:stop], kind="stable")
        runs[start:stop] = tokens[start:stop][by_token]
        places[start:stop] = by_token + start
        yield
    merged = np.argsort(runs, kind="stable")
    yield
    runs = runs[merged]
    order: list[int] = places[merged].tolist()
    # Positions i where the token at i + 1 is the same; rare (64-bit tokens of distinct keys),
    # and each group of consecutive ones is a run of partitions of one token.
    ties = np.flatnonzero(runs[1:] == runs[:-1]).tolist() if count > 1 else []
    i = 0
    while i < len(ties):
        first = last = ties[i]
        i += 1
        while i < len(ties) and ties[i] == last + 1:
            last = ties[i]
            i += 1
        order[first:last + 2] = sorted(order[first:last + 2], key=lambda k: parts[k].pk)
    yield
    return order, runs
