"""Measurements for the SSTable library (not a test): python -m tests.shards.sstable.bench_sstable

Writes 100k small partitions (one row of 5 cells x 34 bytes) with each compression, times point
reads through bloom filter + index (files in the page cache) and a 4-way compaction."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time

from ferrosa.partitioner import token as murmur3_token
from shards.memtable import Cell, Marker, Partition, Row
from shards.sstable import SSTableWriter, compact

TABLE = bytes(16)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def make(n: int, seed: int, ts: int, text: bool) -> list[Partition]:
    rng = random.Random(seed)
    parts = []
    for i in range(n):
        pk = b"user%010d" % i
        part = Partition(murmur3_token(pk), pk)
        row = Row([])
        row.marker = Marker(ts, 0, 0)
        for c in "abcde":
            value = (b"%034d" % rng.randrange(10**12)) if text else rng.randbytes(34)
            row.cells[c] = Cell(ts, value, 0, 0)
        part.rows[b""] = row
        parts.append(part)
    parts.sort(key=lambda p: (p.token, p.pk))
    return parts


def raw_bytes(parts: list[Partition]) -> int:
    return sum(len(p.pk) + sum(len(c[1]) for c in r.cells.values())
               for p in parts for r in p.rows.values())


def bench_write(d: str, parts: list[Partition], gen: int, compression: str,
                chunk_bytes: int = 64 * 1024):
    t = time.perf_counter()
    writer = SSTableWriter(d, TABLE, gen, compression=compression, chunk_bytes=chunk_bytes)
    for part in parts:
        writer.add(part)
    reader = writer.finish()
    elapsed = time.perf_counter() - t
    return reader, elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
        run(d)


def run(d: str) -> None:
    for text in (False, True):
        parts = make(N, 1, 1000, text)
        raw = raw_bytes(parts)
        print(f"values: {'digit text' if text else 'random bytes'}; raw (pk + values) "
              f"{raw / N:.0f} B/row")
        for gen, compression in enumerate(("lz4", "zstd", "none"), 1 + (10 if text else 0)):
            reader, elapsed = bench_write(d, parts, gen, compression)
            s = reader.stats
            print(f"  {compression:5} write {N / elapsed:8.0f} partitions/s "
                  f"{s.uncompressed_bytes / elapsed / 2**20:6.1f} MiB/s (uncompressed) | "
                  f"Data {s.compressed_bytes / N:6.1f} B/row, all files {reader.disk_size / N:6.1f}"
                  f" B/row, encoded {s.uncompressed_bytes / N:6.1f} B/row")
            if compression == "lz4" and not text:
                print(f"  get (64 KiB chunks): {point_reads(reader, parts)}")
                small, _ = bench_write(d, parts, 50, "lz4", 16 * 1024)
                print(f"  get (16 KiB chunks): {point_reads(small, parts)}")
                small.close()
            reader.close()
    # Compaction: 4 SSTables of N/2 partitions, each overlapping the next by half.
    readers = []
    total = 0
    for g in range(4):
        parts = make(N // 2, 10 + g, 2000 + g, True)[:]
        rng_keys = parts
        reader, _ = bench_write(d, rng_keys, 100 + g, "lz4")
        total += reader.stats.uncompressed_bytes
        readers.append(reader)
    t = time.perf_counter()
    out = compact(readers, lambda: SSTableWriter(d, TABLE, 200), now=10**9,
                  gc_grace_seconds=864000)
    elapsed = time.perf_counter() - t
    ins = sum(r.stats.partitions for r in readers)
    print(f"compaction 4 x {N // 2} partitions (same keys, newest wins) -> "
          f"{out.stats.partitions}: {ins / elapsed:.0f} input partitions/s, "
          f"{total / elapsed / 2**20:.1f} MiB/s of input (uncompressed)")


def point_reads(reader, parts: list[Partition]) -> str:
    keys = [(p.token, p.pk) for p in parts]
    rng = random.Random(2)
    for _ in range(2):  # the second round runs with the files in the page cache
        lat = []
        for token, pk in rng.sample(keys, 20_000):
            t0 = time.perf_counter_ns()
            reader.get(token, pk)
            lat.append(time.perf_counter_ns() - t0)
    lat.sort()
    miss = []
    for i in range(20_000):
        t0 = time.perf_counter_ns()
        reader.get(i, b"absent%d" % i)
        miss.append(time.perf_counter_ns() - t0)
    miss.sort()
    t = time.perf_counter()
    reopened = type(reader).open(reader.directory, reader.table_id, reader.generation)
    opened = time.perf_counter() - t
    reopened.close()
    return (f"hit p50 {lat[len(lat) // 2] / 1000:.1f} us p99 {lat[len(lat) * 99 // 100] / 1000:.1f}"
            f" us; absent key p50 {miss[len(miss) // 2] / 1000:.1f} us; open {opened * 1000:.1f} ms")


if __name__ == "__main__":
    main()
