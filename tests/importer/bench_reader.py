"""Reader throughput on larger inputs (not a test; run: python -m tests.importer.bench_reader).

Two inputs, written as LZ4 "nb" SSTables in a temporary directory:

* ``real``: the partitions of Cassandra's own legacy_nb_clust Data.db (50 rows of ~1.3 KB each),
  byte for byte, repeated under new keys (a partition's bytes do not depend on its position).
* ``small``: many short rows (int key, int clustering, a 20-byte text and an int), encoded by synth.py.

Prints rows/s and MiB/s of the uncompressed stream for partitions() (digest check excluded and
reported separately).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from ferrosa.importer.model import Cell, Partition, Row
from ferrosa.importer.reader import SSTableReader

from .synth import TESTDATA, M, Schema, write_sstable

REAL_CLUST = os.path.join(TESTDATA, "nb/legacy_tables/legacy_nb_clust/nb-1-big-Data.db")


def real_partitions(copies: int) -> tuple[list[bytes], Schema]:
    with SSTableReader(REAL_CLUST) as r:
        parts = list(r.partitions())
        stream = b"".join(r.data.chunk(i) for i in range(r.data.chunk_count))
        h = r.header
    bodies = [stream[p.position + 2 + len(p.key):p.end] for p in parts]
    raw = []
    for i in range(copies):
        key = f"k{i:08d}".encode()
        raw.append(len(key).to_bytes(2, "big") + key + bodies[i % len(bodies)])
    schema = Schema(key_type=h.key_type, clustering=list(h.clustering_types),
                    regulars=[(c.name.decode(), c.type) for c in h.regular_columns],
                    min_ts=h.min_timestamp, min_ldt=h.min_local_deletion_time, min_ttl=h.min_ttl)
    return raw, schema


def small_partitions(partitions: int, rows: int) -> tuple[list[Partition], Schema]:
    s = Schema(key_type=f"{M}Int32Type", clustering=[f"{M}Int32Type"],
               regulars=[("a", f"{M}Int32Type"), ("v", f"{M}UTF8Type")], min_ts=1_700_000_000_000_000)
    out = []
    for k in range(partitions):
        out.append(Partition(k.to_bytes(4, "big"), None, None, [
            Row((i.to_bytes(4, "big"),), s.min_ts + k * rows + i,
                cells=[Cell("a", (i * 7).to_bytes(4, "big"), s.min_ts + k * rows + i),
                       Cell("v", b"value-%014d" % i, s.min_ts + k * rows + i)]) for i in range(rows)]))
    return out, s


def measure(path: str) -> None:
    t0 = time.perf_counter()
    with SSTableReader(path, check_digest=True):
        pass
    t_open = time.perf_counter() - t0
    with SSTableReader(path, check_digest=False) as r:
        size = r.data.data_length
        t0 = time.perf_counter()
        rows = 0
        for p in r.partitions():
            rows += len(p.unfiltereds)
        dt = time.perf_counter() - t0
    mib = size / 2**20
    print(f"  {rows:,} rows, {mib:.1f} MiB uncompressed ({os.path.getsize(path) / 2**20:.1f} MiB on disk): "
          f"{dt:.2f} s = {rows / dt:,.0f} rows/s, {mib / dt:.1f} MiB/s; open+digest {t_open * 1000:.0f} ms")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        raw, schema = real_partitions(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
        print("real (Cassandra-written partitions, 50 rows x ~1.3 KB):")
        measure(write_sstable(os.path.join(tmp, "ks", "real"), "nb", schema, raw_partitions=raw))
        parts, schema = small_partitions(2000, 100)
        print("small (200,000 rows of ~40 bytes):")
        measure(write_sstable(os.path.join(tmp, "ks", "small"), "nb", schema, parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
