"""Import throughput on generated large inputs (not a test).

Run: python -m tests.importer.bench_load [SMALL_ROWS [REAL_PARTITIONS [ferrosa-import options...]]]

Two LZ4 "nb" SSTables (bench_reader.py's inputs):

* ``small``: SMALL_ROWS (default 200,000) short rows: int key, int clustering, an int and a 20-byte
  text, 100 rows per partition;
* ``real``: REAL_PARTITIONS (default 400) copies of Cassandra's own legacy_nb_clust partitions,
  50 rows of ~1.3 KB each (text key, 1.2 KB text clustering, 128-byte text).

Each is measured stage by stage, so the limiting one shows:

* read: SSTableReader.partitions() (digest check excluded);
* convert: read + load.Converter (model -> Mutations);
* encode: read + convert + msgpack per mutation + batch framing (base64 JSON lines);
* dry-run: the real CLI with --dry-run (process start, digest check and validation pass);
* load: the real CLI into a fresh node (127.0.0.46, $FERROSA_SHARDS shards, default 2): validation
  pass, then sending over the admin socket, the front splitting batches, the shards applying them.

Prints rows/s and MiB/s (uncompressed Data.db bytes) per stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from ferrosa.importer.link import BatchBuilder, Limits
from ferrosa.importer.load import Converter
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.target import TargetTable, read_target

from ..integration.node import REPO, NodeProcess
from .bench_reader import real_partitions, small_partitions
from .synth import write_sstable

HOST = "127.0.0.46"
ROWS_PER_PARTITION = 100
TABLES_CQL = {
    "small": "CREATE TABLE bench.small (k int, c int, a int, v text, PRIMARY KEY (k, c))",
    "real": "CREATE TABLE bench.real (pk text, ck text, val text, PRIMARY KEY (pk, ck))",
}


def _stage(name: str, path: str, work, target: TargetTable) -> None:
    with SSTableReader(path, check_digest=False) as r:
        size = r.data.data_length
        t0 = time.perf_counter()
        rows = work(r, target)
        dt = time.perf_counter() - t0
    print(f"  {name:<8} {rows:>9,} rows {dt:6.2f} s  {rows / dt:>9,.0f} rows/s  "
          f"{size / 2**20 / dt:6.1f} MiB/s")


def _read(r: SSTableReader, _target: TargetTable) -> int:
    return sum(len(p.unfiltereds) for p in r.partitions())


def _convert(r: SSTableReader, target: TargetTable) -> int:
    conv = Converter(target, r.data_path)
    for p in r.partitions():
        conv.partition(p)
    return conv.counts.rows


def _encode(r: SSTableReader, target: TargetTable) -> int:
    conv = Converter(target, r.data_path)
    encode = msgspec.msgpack.Encoder().encode
    builder = BatchBuilder(47 * 1024, Limits(4 << 20, 47 * 1024, 2))
    for p in r.partitions():
        for mutation in conv.partition(p):
            builder.add(encode(mutation))
    builder.finish()
    return conv.counts.rows


def _cli(*args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "ferrosa.importer.main", *args], cwd=REPO,
                         capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"ferrosa-import failed ({out.returncode}): {out.stderr}")
    return dt, out.stdout.strip().splitlines()[-1]


def _inputs(tmp: str, small_rows: int, real_copies: int) -> dict[str, str]:
    parts, schema = small_partitions(small_rows // ROWS_PER_PARTITION, ROWS_PER_PARTITION)
    small = write_sstable(os.path.join(tmp, "bench", "small"), "nb", schema, parts)
    raw, schema = real_partitions(real_copies)
    real = write_sstable(os.path.join(tmp, "bench", "real"), "nb", schema, raw_partitions=raw)
    return {"small": small, "real": real}


def main() -> int:
    small_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    real_copies = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    extra = sys.argv[3:]
    shards = int(os.environ.get("FERROSA_SHARDS", "2"))
    with tempfile.TemporaryDirectory() as tmp:
        inputs = _inputs(tmp, small_rows, real_copies)
        node = NodeProcess(Path(tmp) / "node", host=HOST, shards=shards).start()
        try:
            from cassandra.cluster import Cluster

            cluster = Cluster([HOST])
            session = cluster.connect()
            session.execute("CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', "
                            "'replication_factor': 1}")
            for name, path in inputs.items():
                session.execute(TABLES_CQL[name])
                target = read_target(session, "bench", name)
                assert target is not None
                print(f"{name}: Data.db {os.path.getsize(path) / 2**20:.1f} MiB on disk, {shards} shards")
                for stage, work in (("read", _read), ("convert", _convert), ("encode", _encode)):
                    _stage(stage, path, work, target)
                common = ["--host", HOST, "--data-dir", str(node.data_dir), path]
                dt, line = _cli("--dry-run", *common)
                print(f"  dry-run  {dt:6.2f} s wall: {line}")
                dt, line = _cli(*extra, *common)
                print(f"  load     {dt:6.2f} s wall: {line}")
                count = session.execute(f"SELECT COUNT(*) FROM bench.{name}").one()[0]
                print(f"  read back: {count:,} rows")
            cluster.shutdown()
        finally:
            node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
