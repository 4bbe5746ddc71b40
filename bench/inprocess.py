"""In-process micro-benchmarks: the CPU of the front's and a shard's code per request, without
processes, sockets or wake-ups.

    python -m bench.inprocess shard [--ops 40000] [--batch 11] [--repeat 5] [--overwrite]
    python -m bench.inprocess front [--ops 50000] [--per-read 16] [--repeat 3]
                                    [--protocol {3,4,5}] [--compression {lz4,snappy}]
    python -m bench.inprocess shard-read [--ops 40000] [--batch 11] [--repeat 5]
                                         [--flushed [--cold]]
    python -m bench.inprocess front-read [--ops 50000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess shard-batch [--ops 8000] [--batch 11] [--repeat 5]
    python -m bench.inprocess front-batch [--ops 10000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess front-slice [--ops 50000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess shard-slice [--ops 2000] [--batch 11] [--repeat 5] [--flushed]
    python -m bench.inprocess flush [--ops 100000] [--repeat 3]
    python -m bench.inprocess compact [--ops 100000] [--repeat 3]
    python -m bench.inprocess compact-series [--ops 40000] [--repeat 3]

Theory of operation
-------------------
``shard``: a ShardStore and a CommitLog in a temporary directory, fed encoded single-row Write
messages of the standard1 shape (a 10-byte key over 100000 keys, five 34-byte columns) in
batches of ``--batch`` (about what a shard drains per wake-up at saturation), each batch one
Requests group in a request ring, as the front's router sends a loop pass's requests: drain and
decode, apply, append the group (all accepted writes) to the commit log as it came, release the
acks: ShardWorker's path from its ring. The default run
writes mostly new rows (40000 writes over 100000 keys: 17% meet a row already there).
``--overwrite`` first fills the memtable with a row for every key (set-up, not timed), so that
every timed write replaces a row's cells: the state of a node's write run after its first
100000 writes, in which each cell is reconciled with the one it replaces.

``front``: a CqlConnection with an in-memory transport, the real Node and ShardRouter over real
shared-memory rings, and a stand-in shard inside the same event loop that answers every request
with Ack (its own CPU time is measured and subtracted). It prepares the workload's INSERT and
feeds EXECUTE frames ``--per-read`` at a time, as a socket read would deliver them. Each
EXECUTE carries what the Python driver's do: the bound values, a page size and a client
timestamp. ``--protocol`` and ``--compression`` (front parts) frame them as the driver does for
that version and compression: v3/v4 frames with compressed bodies, or v5 segments, one per
request (the driver's, unlike the front's replies, are not shared between requests).

``shard-read`` and ``front-read``: the same for the read workload's point SELECT (``SELECT *``
by key): the shard serves Read messages from a memtable holding every key (ShardWorker.serve
and the encoding of the RowsReply); the front's stand-in shard answers with one encoded row.

``shard-batch`` and ``front-batch``: the batch workload's unlogged BATCH of BATCH_ROWS prepared
INSERTs into one partition of clustered1 (a key and an int clustering column): the shard's Write
of BATCH_ROWS mutations, the front's BATCH message. The CPU per batch.

``front-slice``: the slice workload's read of SLICE_ROWS rows (``SELECT * ... WHERE key = ? AND
ck >= ? LIMIT ?``) as the front serves it; the stand-in shard answers SLICE_ROWS encoded rows,
cut by the limit as in a partition of CLUSTER_ROWS rows.

``shard-slice``: the slice workload's read (``SELECT * ... WHERE key = ? AND ck >= ? LIMIT 100``)
from a memtable of SLICE_PARTITIONS partitions of CLUSTER_ROWS rows: the CPU per row read.
``--flushed`` (shard-read, shard-slice): the same reads from an SSTable (the memtable flushed
first), the state of most of a real node's data. The reads then run once untimed first, so that
the shard's chunk and key caches are as warm as a node's after a few seconds of reads
(``--chunk-cache 0 --key-cache 0`` for none); ``--cold`` skips that pass and reads each key
once, as a node's first reads after a flush or a restart do.

``flush``: a ShardStore's memtable filled with ``--ops`` such writes (about 63% distinct keys),
then one flush to an SSTable: the CPU per partition written, fsyncs included. ``compact``: four
such SSTables (overlapping keys) merged by a major compaction: the CPU per partition read.
``compact-series``: four SSTables holding the next ``--ops`` / 4 rows of the same
SERIES_PARTITIONS partitions of clustered1 (a time series), merged by a major compaction:
the CPU per row read.

``--set-up-only`` (any part): build the store, the requests and the warmed caches, then stop
before the timed work; bench.instructions counts such runs to take them out of its figures.

All print the CPU per request, best of ``--repeat`` runs (each in a fresh interpreter would be
cleaner; the best of several in one is steadier on a shared machine). The node's own figures
(`python -m bench run`) are two to three times these: the difference is wake-ups, system calls
and cold caches (docs/performance.md). This module must NOT be imported by ferrosa.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
import uuid

import msgspec

from bench.workloads import BATCH_ROWS, CLUSTER_ROWS
from ferrosa.ipc import messages as m

KEYS = 100_000
# shard-slice: partitions of CLUSTER_ROWS rows (bench.workloads' clustered1 shape).
SLICE_PARTITIONS = 20
# compact-series: the partitions every input's rows are spread over.
SERIES_PARTITIONS = 100
COLUMNS = 5
VALUE_BYTES = 34
# front: what the Python driver puts in every EXECUTE (its default fetch size; a client
# timestamp in microseconds, one more per request).
DRIVER_PAGE_SIZE = 5000
CLIENT_TIMESTAMP = 1_700_000_000_000_000
# --set-up-only: each part builds its store, its requests and its caches, then returns before
# the timed work. bench.instructions counts such runs and subtracts them, so that its figure is
# the timed work's alone (making a front's EXECUTE frames costs a quarter of what the front
# spends on them).
SET_UP_ONLY = False
TABLE_DDL = ('CREATE TABLE ks.standard1 (key blob PRIMARY KEY, "C0" blob, "C1" blob, "C2" blob, '
             '"C3" blob, "C4" blob)')
INSERT = 'INSERT INTO ks.standard1 (key, "C0", "C1", "C2", "C3", "C4") VALUES (?, ?, ?, ?, ?, ?)'
# front-batch: the batch workload's table and statement (bench.workloads' clustered1 shape).
CLUSTERED_DDL = ('CREATE TABLE ks.clustered1 (key blob, ck int, "C0" blob, "C1" blob, "C2" blob, '
                 '"C3" blob, "C4" blob, PRIMARY KEY (key, ck))')
INSERT_CLUSTERED = ('INSERT INTO ks.clustered1 (key, ck, "C0", "C1", "C2", "C3", "C4") '
                    'VALUES (?, ?, ?, ?, ?, ?, ?)')
SELECT = "SELECT * FROM ks.standard1 WHERE key = ?"
# front-slice: the slice workload's read (bench.workloads' SLICE_CLUSTERED1) of SLICE_ROWS rows.
SLICE = "SELECT * FROM ks.clustered1 WHERE key = ? AND ck >= ? LIMIT ?"
SLICE_ROWS = 10


def _writes(count: int, table_id: bytes, seed: int = 1, every_key: bool = False,
            first_timestamp: int = 1_700_000_000_000_000) -> list[bytes]:
    """`count` encoded single-row Writes of random keys; `every_key`: keys 0, 1, ... instead."""
    from ferrosa.partitioner import token
    rng = random.Random(seed)
    encode = msgspec.msgpack.Encoder().encode
    values = [os.urandom(VALUE_BYTES) for _ in range(COLUMNS)]
    names = [f"C{j}" for j in range(COLUMNS)]
    out = []
    for i in range(count):
        pk = b"%010d" % (i if every_key else rng.randrange(KEYS))
        # The plain form, as the front sends an INSERT of simple columns.
        mutation = m.Mutation(table_id, token(pk), pk, b"", [], first_timestamp + i,
                              m.MUTATION_ROW_UPSERT, [], [], 0, 0, True, 1_700_000_000,
                              plain_names=names, plain_values=values)
        out.append(encode(m.Write(i, [mutation])))
    return out


def _batch_writes(count: int, table_id: bytes, seed: int = 1) -> list[bytes]:
    """Writes of the batch workload: BATCH_ROWS rows of one clustered1 partition each, as the
    front sends them (one Mutation, its first row's and then `rows`)."""
    from ferrosa.partitioner import token
    from ferrosa.protocol import types as T
    from ferrosa.schema.bytecomparable import clustering_encoder
    rng = random.Random(seed)
    encode = msgspec.msgpack.Encoder().encode
    ck_encoder = clustering_encoder((T.INT,), (False,))
    values = [os.urandom(VALUE_BYTES) for _ in range(COLUMNS)]
    names = [f"C{j}" for j in range(COLUMNS)]
    out = []
    for i in range(count):
        pk = b"%010d" % rng.randrange(KEYS)
        start = rng.randrange(CLUSTER_ROWS - BATCH_ROWS)
        rows = []
        for ck in range(start, start + BATCH_ROWS):
            ck_value = ck.to_bytes(4, "big")
            rows.append(m.RowWrite(ck_encoder.encode([ck_value]), [ck_value], values))
        mutation = m.Mutation(table_id, token(pk), pk, rows[0].ck, rows[0].ck_values,
                              1_700_000_000_000_000 + i, m.MUTATION_ROW_UPSERT, [], [], 0, 0,
                              True, 1_700_000_000, plain_names=names, plain_values=values,
                              rows=rows[1:])
        out.append(encode(m.Write(i, [mutation])))
    return out


def logging_worker(directory: str, store):
    """The serving half of a ShardWorker over `store` (no rings, no process), with a commit log
    in `directory` synced periodically (a node's default): it serves Writes as a shard does.
    Close its `commitlog` when done."""
    from shards.commitlog import AckQueue, CommitLog, CommitLogSettings
    from shards.worker import ShardWorker
    settings = CommitLogSettings(sync="periodic", sync_period_ms=10_000,
                                 sync_group_window_ms=1, segment_bytes=32 << 20)
    commitlog, _report = CommitLog.open(os.path.join(directory, "commitlog"), settings,
                                        lambda position, payload: set())

    class Worker(ShardWorker):
        def __init__(self) -> None:
            self.store, self.commitlog, self.acks, self.later = store, commitlog, AckQueue(), []
            self.max_log_record = commitlog.settings.max_record
            self._encode = msgspec.msgpack.Encoder().encode

    return Worker()


def grouped(messages: list[bytes], batch: int) -> list[bytes]:
    """`messages` as the front's router sends them to a shard, `batch` per loop pass: one ring
    record per pass, a Requests group of them (one message alone goes as itself)."""
    decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
    encode = msgspec.msgpack.Encoder().encode
    out = []
    for i in range(0, len(messages), batch):
        chunk = messages[i:i + batch]
        out.append(chunk[0] if len(chunk) == 1 else
                   encode(m.Requests([decode(payload) for payload in chunk])))
    return out


class _Unrung:
    """A doorbell nobody waits on: the in-process benchmarks time the drain, not a syscall."""

    def clear(self) -> None:
        pass

    def ring(self) -> None:
        pass


def request_channel(records: list[bytes]):
    """The shard's end of a request ring that holds `records`, made as ShardWorker makes it:
    recv_records(1) then gives a pass's requests as the worker's drain does (the ring's own
    work, the copy and the decode)."""
    from ferrosa.ipc.channel import Channel
    from ferrosa.ipc.ring import Ring, new_counters, record_size
    need = sum(record_size(len(record)) for record in records)
    ring = Ring(bytearray(1 << max(16, (2 * need).bit_length())), new_counters())
    for record in records:
        assert ring.try_push(record)
    return Channel(ring, _Unrung(), m.ShardRequest)


def shard_us_per_write(ops: int, batch: int, rows: int = 1, overwrite: bool = False) -> float:
    from ferrosa.heap import tune_collector
    from shards.store import ShardStore

    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store = ShardStore(0, os.path.join(directory, "data"), 1 << 30, None)
        worker = logging_worker(directory, store)
        commitlog = worker.commitlog
        table_id = uuid.uuid4().bytes
        store.handle(m.TableSchema(0, table_id))
        messages = _writes(ops, table_id) if rows == 1 else _batch_writes(ops, table_id)
        if overwrite:  # a row for every key, older than every timed write
            decode_write = msgspec.msgpack.Decoder(m.Write).decode
            for payload in _writes(KEYS, table_id, every_key=True,
                                   first_timestamp=1_600_000_000_000_000):
                store.handle(decode_write(payload))
        requests = request_channel(grouped(messages, batch))
        if SET_UP_ONLY:
            commitlog.close()
            return 0.0
        tune_collector()
        start = time.process_time()
        while served := requests.recv_records(1):
            ready = worker.serve(served)
            ready.extend(worker.acks.release(commitlog.ack_position))
        elapsed = time.process_time() - start
        commitlog.close()
        return elapsed / ops * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _point_reads(count: int, table_id: bytes, seed: int = 2,
                 distinct: bool = False) -> list[bytes]:
    """`count` encoded point Reads of random keys; `distinct`: no key twice (at most KEYS)."""
    from ferrosa.partitioner import token
    rng = random.Random(seed)
    keys = (rng.sample(range(KEYS), count) if distinct
            else [rng.randrange(KEYS) for _ in range(count)])
    encode = msgspec.msgpack.Encoder().encode
    projection = m.encode_projection([(m.PROJ_PK, 0),
                                      *((m.PROJ_CELL, f"C{j}") for j in range(COLUMNS))])
    out = []
    for i, key in enumerate(keys):
        pk = b"%010d" % key
        out.append(encode(m.Read(i, table_id, token(pk), pk, projection, 1_700_000_100)))
    return out


def shard_us_per_read(ops: int, batch: int, flushed: bool = False, cold: bool = False) -> float:
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _filled_store(directory, 3 * KEYS)  # about 95% of the keys
        reads = _point_reads(min(ops, KEYS) if cold else ops, table_id, distinct=cold)
        if flushed:
            store.flush(table_id)
            _run_jobs(store)
            if not cold:
                _serve_reads(store, reads, batch)  # warms the caches
        if SET_UP_ONLY:
            return 0.0
        elapsed, found = _serve_reads(store, reads, batch)
        assert found > len(reads) // 2, f"only {found} of {len(reads)} reads found their row"
        return elapsed / len(reads) * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _clustered_store(directory: str, partitions: int, rows: int):
    """A store whose table has an int clustering column: ``partitions`` of ``rows`` rows each."""
    store, table_id = _empty_store(directory)
    _write_rows(store, table_id, partitions, range(rows))
    return store, table_id


def _empty_store(directory: str):
    """A ShardStore in `directory` with one table (its id returned too) and no commit log."""
    from shards.store import ShardStore
    store = ShardStore(0, os.path.join(directory, "data"), 1 << 30, None)
    table_id = uuid.uuid4().bytes
    store.handle(m.TableSchema(0, table_id))
    return store, table_id


def _write_rows(store, table_id: bytes, partitions: int, cks: range) -> None:
    """Rows `cks` (int clustering values) of partitions 0 .. partitions - 1, five 34-byte
    columns each, in partition order."""
    from ferrosa.partitioner import token
    from ferrosa.protocol.types import INT
    from ferrosa.schema.bytecomparable import encode_clustering
    values = [os.urandom(VALUE_BYTES) for _ in range(COLUMNS)]
    names = [f"C{j}" for j in range(COLUMNS)]
    for p in range(partitions):
        pk = b"%010d" % p
        for ck in cks:
            raw = ck.to_bytes(4, "big")
            request = p * (1 << 32) + ck  # the write's timestamp too: unique, rising per row
            store.handle(m.Write(request, [m.Mutation(
                table_id, token(pk), pk, encode_clustering([INT], [False], [raw]), [raw],
                1_700_000_000_000_000 + request, m.MUTATION_ROW_UPSERT, [], [], 0, 0, True,
                1_700_000_000, plain_names=names, plain_values=values)]))


def shard_us_per_slice_row(ops: int, batch: int, rows: int = 100,
                           partitions: int = SLICE_PARTITIONS, flushed: bool = False) -> float:
    """CPU per row of `ops` slice reads of `rows` rows (`SELECT * ... WHERE key = ? AND
    ck >= ? LIMIT ?`), from a memtable of `partitions` partitions of CLUSTER_ROWS rows."""
    from ferrosa.partitioner import token
    from ferrosa.protocol.types import INT
    from ferrosa.schema.bytecomparable import encode_clustering

    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _clustered_store(directory, partitions, CLUSTER_ROWS)
        if flushed:
            store.flush(table_id)
            _run_jobs(store)
        rng = random.Random(3)
        encode = msgspec.msgpack.Encoder().encode
        projection = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CK, 0),
                                          *((m.PROJ_CELL, f"C{j}") for j in range(COLUMNS))])
        messages = []
        for i in range(ops):
            pk = b"%010d" % rng.randrange(partitions)
            start = rng.randrange(CLUSTER_ROWS - rows).to_bytes(4, "big")
            messages.append(encode(m.Read(i, table_id, token(pk), pk, projection, 1_700_000_100,
                                          start=encode_clustering([INT], [False], [start]),
                                          limit=rows)))
        if flushed:
            _serve_reads(store, messages, batch)  # warms the caches
        if SET_UP_ONLY:
            return 0.0
        elapsed, found = _serve_reads(store, messages, batch)
        assert found == ops * rows, f"{found} rows read, {ops * rows} expected"
        return elapsed / found * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _serve_reads(store, messages: list[bytes], batch: int) -> tuple[float, int]:
    """(CPU seconds, rows found) of ShardWorker.serve on the encoded Read `messages`, `batch`
    at a time, the replies encoded as for the ring."""
    from ferrosa.heap import tune_collector
    from shards.worker import ShardWorker

    class Worker(ShardWorker):
        def __init__(self) -> None:  # the serving half only: no rings, no process
            self.store, self.later, self._encode = store, [], None

    worker = Worker()
    encode_reply = msgspec.msgpack.Encoder().encode
    found = 0
    requests = request_channel(grouped(messages, batch))
    tune_collector()
    start = time.process_time()
    while served := requests.recv_records(1):
        for reply in worker.serve(served):
            encode_reply(reply)
            found += reply.count
    return time.process_time() - start, found


def _filled_store(directory: str, ops: int, seed: int = 1):
    store, table_id = _empty_store(directory)
    decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
    for payload in _writes(ops, table_id, seed):
        store.handle(decode(payload))
    return store, table_id


def _run_jobs(store) -> None:
    while store.maintenance_step():
        pass


def flush_us_per_partition(ops: int) -> float:
    from ferrosa.heap import tune_collector
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _filled_store(directory, ops)
        table = store.tables[table_id]
        partitions = len(table.memtable.partitions)
        if SET_UP_ONLY:
            return 0.0
        tune_collector()
        start = time.process_time()
        store.flush(table_id)
        _run_jobs(store)
        elapsed = time.process_time() - start
        assert table.sstables, "the flush wrote no SSTable"
        return elapsed / partitions * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compact_us_per_partition(ops: int, inputs: int = 4) -> float:
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _filled_store(directory, ops // inputs)
        table = store.tables[table_id]
        decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
        read = 0
        for seed in range(2, inputs + 2):
            read += len(table.memtable.partitions)
            store.flush(table_id)
            _run_jobs(store)
            for payload in _writes(ops // inputs, table_id, seed):
                store.handle(decode(payload))
        read += len(table.memtable.partitions)
        store.flush(table_id)
        _run_jobs(store)
        if SET_UP_ONLY:
            return 0.0
        return _major_compaction_seconds(store, table_id) / read * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compact_series_us_per_row(rows: int, inputs: int = 4) -> float:
    """A major compaction of `inputs` SSTables that each hold the next rows of the same
    partitions (a time series: every partition is spread over every input, no row twice):
    the CPU per row read. Compaction copies such rows (compaction.py `_merged_rows`)."""
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _empty_store(directory)
        per_input = max(rows // (inputs * SERIES_PARTITIONS), 1)
        for i in range(inputs):
            _write_rows(store, table_id, SERIES_PARTITIONS,
                        range(i * per_input, (i + 1) * per_input))
            store.flush(table_id)
            _run_jobs(store)
        table = store.tables[table_id]
        read = sum(reader.stats.rows for reader in table.sstables)
        if SET_UP_ONLY:
            return 0.0
        elapsed = _major_compaction_seconds(store, table_id)
        assert table.sstables[0].stats.rows == read, "the compaction lost or merged rows"
        return elapsed / read * 1e6
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _major_compaction_seconds(store, table_id: bytes) -> float:
    """The CPU seconds of a major compaction of the table, run to its end."""
    from ferrosa.heap import tune_collector
    tune_collector()
    start = time.process_time()
    store.compact(table_id, major=True)
    _run_jobs(store)
    elapsed = time.process_time() - start
    assert len(store.tables[table_id].sstables) == 1, "the compaction left several SSTables"
    return elapsed


class _Transport:
    """What CqlConnection writes to: kept in memory, never a socket."""

    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def get_extra_info(self, *_args, **_kwargs):
        return ("127.0.0.1", 0)


class _Server:
    def __init__(self) -> None:
        self.connections: set = set()


class _WireClient:
    """The client's end of the front's connection, framed as the Python driver frames it: v3/v4
    frames whose bodies are compressed once STARTUP asked for it, or in v5, after the handshake,
    one segment per request (the driver's Connection.send_msg), LZ4-compressed if asked."""

    def __init__(self, version: int, compression: str | None) -> None:
        from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
        self.version = version
        self.compression = compression
        self.encoder = ConnectionEncoder(response=False)
        self.decoder = ConnectionDecoder(requests=False, version=version)

    def startup(self):
        from ferrosa.protocol import requests as Q
        options = {"CQL_VERSION": "3.0.0"}
        if self.compression is not None:
            options["COMPRESSION"] = self.compression
        return Q.Startup(options=options)

    def started(self) -> None:
        """Frame what follows as the server does after its READY (protocol/connection.py)."""
        if self.version >= 5:
            self.encoder.switch_to_segments(compressed=self.compression is not None)
        else:
            self.encoder.compression = self.decoder.compression = self.compression

    def request(self, msg, stream: int) -> bytes:
        from ferrosa.protocol import messages as P
        f = P.request_frame(msg, self.version, stream)
        return self.encoder.encode_one(f.version, f.stream, f.opcode, f.body, f.flags)

    def replies_of(self, chunk: bytes) -> list:
        """The responses in one of the server's writes after the handshake, decoded apart from
        the others' (a write holds whole frames, or in v5 whole segments): a check that costs
        the same at any request count, so that bench.instructions' difference drops it."""
        from ferrosa.protocol import messages as P
        from ferrosa.protocol.connection import ConnectionDecoder
        decoder = ConnectionDecoder(requests=False, version=self.version)
        if self.version >= 5:
            decoder.switch_to_segments(compressed=self.compression is not None)
        else:
            decoder.compression = self.compression
        return [P.decode_response(frame) for frame in decoder.feed(chunk)]

    def responses(self, data: bytes) -> list:
        from ferrosa.protocol import messages as P
        frames = self.decoder.feed(data)
        if self.decoder.awaiting_switch:
            frames += self.decoder.switch_to_segments(compressed=self.compression is not None)
        return [P.decode_response(frame) for frame in frames]


def _stand_in_replies(requests: list, row: bytes, count: int = 1) -> list:
    """What the front's stand-in shard answers to one drained batch, as a shard does: the
    `count` found rows `row` to each read (more than one: a slice its limit cut, as in a
    partition of CLUSTER_ROWS rows), one Acks for all the writes."""
    more = count > 1
    replies = [m.RowsReply(r.req_id, count, row, more, r.token, r.pk,
                           (count - 1).to_bytes(4, "big") if more else None)
               for r in requests if type(r) is m.Read]
    return replies + m.acks_of([r.req_id for r in requests if type(r) is not m.Read])


async def _front(ops: int, per_read: int, kind: str = "write", version: int = 4,
                 compression: str | None = None) -> float:
    from ferrosa.config import NodeConfig
    from ferrosa.coordinator.router import ShardLink, ShardRouter
    from ferrosa.front.connection import CqlConnection
    from ferrosa.front.node import Node
    from ferrosa.heap import tune_collector
    from ferrosa.ipc.channel import Channel
    from ferrosa.ipc.doorbell import Doorbell
    from ferrosa.ipc.errors import SegmentError
    from ferrosa.ipc.shm import RingPair
    from ferrosa.protocol import requests as Q

    loop = asyncio.get_running_loop()
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    config = msgspec.convert({"data_dir": directory, "shard_count": 2}, NodeConfig)
    reply_bell = Doorbell()
    node_id = "bip" + uuid.uuid4().hex[:7]
    links, rings = [], []
    shard_cpu = [0.0]
    values = [os.urandom(VALUE_BYTES) for _ in range(COLUMNS)]
    row = b"".join(len(v).to_bytes(4, "big") + v for v in [b"%010d" % 1, *values])
    count = 1
    if kind == "slice":
        count = SLICE_ROWS
        row = b"".join(len(v).to_bytes(4, "big") + v
                       for ck in range(count)
                       for v in [b"%010d" % 1, ck.to_bytes(4, "big"), *values])
    for index in range(2):
        pair = RingPair.create(node_id, 0, index, 1 << 20)
        rings.append(pair)
        bell = Doorbell()
        links.append(ShardLink(index, pair, bell, reply_bell))
        requests = Channel(pair.request.ring, bell, m.ShardRequest, m.Requests)
        replies = Channel(pair.reply.ring, reply_bell, m.ShardReply, m.Replies)

        def answer(requests=requests, replies=replies) -> None:
            started = time.process_time()
            out = _stand_in_replies(requests.recv_all(100_000), row, count)
            if out:
                replies.send_grouped(out)
            shard_cpu[0] += time.process_time() - started
        loop.add_reader(requests.fileno(), answer)
        replies.send_many([m.Hello(index, os.getpid(), 1)])
    try:
        router = ShardRouter(loop, links, reply_bell)
        await asyncio.sleep(0.05)
        connection = CqlConnection(Node(config, router), _Server())
        transport = _Transport()
        connection.connection_made(transport)
        client = _WireClient(version, compression)

        async def send(msg, stream: int = 1) -> None:
            connection.data_received(client.request(msg, stream))
            for _ in range(50):
                await asyncio.sleep(0.001)

        params = Q.QueryParameters(consistency=1)
        await send(client.startup())
        client.responses(b"".join(transport.out))
        client.started()
        await send(Q.Query("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
                           "'replication_factor': 1}", params))
        await send(Q.Query(CLUSTERED_DDL if kind in ("batch", "slice") else TABLE_DDL, params))
        transport.out.clear()
        await send(Q.Prepare({"write": INSERT, "read": SELECT, "batch": INSERT_CLUSTERED,
                              "slice": SLICE}[kind]))
        prepared = client.responses(b"".join(transport.out))[-1]
        transport.out.clear()
        metadata_id = prepared.result_metadata_id if version >= 5 else None
        frames_in = [client.request(_front_request(kind, prepared.query_id, i, values,
                                                   metadata_id), i % 30_000)
                     for i in range(ops)]
        reads = [b"".join(frames_in[i:i + per_read]) for i in range(0, ops, per_read)]
        if SET_UP_ONLY:
            return 0.0
        tune_collector()
        shard_cpu[0] = 0.0
        start = time.process_time()
        for data in reads:
            connection.data_received(data)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        while connection._in_flight:
            await asyncio.sleep(0)
        elapsed = time.process_time() - start - shard_cpu[0]
        _check_answers(client.replies_of(transport.out[-1]) if transport.out else [], kind)
        return elapsed / ops * 1e6
    finally:
        for link in links:
            loop.remove_reader(link.doorbell.fileno())
        for pair in rings:
            pair.unlink()
            try:
                pair.close()
            except SegmentError:
                pass  # views still held by the connection's objects: unmapped at exit
        shutil.rmtree(directory, ignore_errors=True)


def _check_answers(replies: list, kind: str) -> None:
    """Raise unless the front's last write answered requests as the workload expects: a
    request misframed for the connection's protocol or compression gets an ERROR, which is
    answered as fast as a result and would otherwise pass for one. A slice's answer holds
    the stand-in's SLICE_ROWS rows and no paging state: its LIMIT ended the query."""
    from ferrosa.protocol.results import RowsResult, VoidResult
    expected = RowsResult if kind in ("read", "slice") else VoidResult
    wrong = [reply for reply in replies if type(reply) is not expected
             or (kind == "slice" and (len(reply.rows) != SLICE_ROWS
                                      or reply.metadata.paging_state is not None))]
    if not replies or wrong:
        raise RuntimeError(f"the front answered {wrong[0] if wrong else 'nothing'} "
                           f"instead of a {expected.__name__}")


def _front_request(kind: str, query_id: bytes, i: int, values: list[bytes],
                   metadata_id: bytes | None = None):
    """The i-th request of the front's workload: an EXECUTE of the prepared INSERT, SELECT or
    slice SELECT (from a row of the partition, LIMIT SLICE_ROWS), or an unlogged BATCH of
    BATCH_ROWS such INSERTs into one partition of clustered1. Their parameters are the Python driver's (and bench.rawproto's): a client timestamp on each, a
    page size on each EXECUTE, and skip_metadata on the SELECT's. `metadata_id` is the
    PREPARED result's metadata id, which a v5 EXECUTE carries."""
    from ferrosa.protocol import requests as Q
    key = b"%010d" % (i * 7919 % KEYS)
    timestamp = CLIENT_TIMESTAMP + i
    if kind == "batch":
        start = i * 13 % (CLUSTER_ROWS - BATCH_ROWS)
        return Q.Batch(batch_type=1, consistency=1, statements=[
            Q.BatchStatement(query_id, [key, ck.to_bytes(4, "big"), *values])
            for ck in range(start, start + BATCH_ROWS)], timestamp=timestamp)
    bound = {"write": [key, *values], "read": [key],
             "slice": [key, (i % (CLUSTER_ROWS - SLICE_ROWS)).to_bytes(4, "big"),
                       SLICE_ROWS.to_bytes(4, "big")]}[kind]
    return Q.Execute(query_id=query_id, result_metadata_id=metadata_id, params=Q.QueryParameters(
        consistency=1, values=bound, skip_metadata=kind != "write", page_size=DRIVER_PAGE_SIZE,
        timestamp=timestamp))


def front_us_per_request(ops: int, per_read: int, kind: str = "write", version: int = 4,
                         compression: str | None = None) -> float:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_front(ops, per_read, kind, version, compression))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=("shard", "front", "shard-read", "front-read",
                                         "front-batch", "front-slice", "shard-batch",
                                         "shard-slice", "flush", "compact", "compact-series"))
    parser.add_argument("--ops", type=int, default=None)
    parser.add_argument("--batch", type=int, default=11, help="shard: requests per drained batch")
    parser.add_argument("--per-read", type=int, default=16, help="front: EXECUTEs per socket read")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--flushed", action="store_true",
                        help="shard-read, shard-slice: read from an SSTable, not the memtable")
    parser.add_argument("--cold", action="store_true",
                        help="shard-read --flushed: no untimed pass first, and no key read twice "
                             "(the reads just after a flush; --ops at most 100000)")
    parser.add_argument("--chunk-cache", type=int, default=None,
                        help="shard-read, shard-slice: the shard's ChunkCache bytes (default: "
                             "a node's, NodeConfig.chunk_cache_bytes; 0: none)")
    parser.add_argument("--overwrite", action="store_true",
                        help="shard: a row for every key first, so that each write replaces one")
    parser.add_argument("--protocol", type=int, choices=(3, 4, 5), default=4,
                        help="front parts: the connection's protocol version (v5: one segment "
                             "per request, as the Python driver sends them)")
    parser.add_argument("--compression", choices=("lz4", "snappy"), default=None,
                        help="front parts: the compression STARTUP asks for (v5: lz4 only)")
    parser.add_argument("--set-up-only", action="store_true",
                        help="build the store, the requests and the caches, then stop before "
                             "the timed work (for bench.instructions, which subtracts it)")
    parser.add_argument("--key-cache", type=int, default=None,
                        help="shard-read, shard-slice: the shard's KeyCache bytes (default: a "
                             "node's, NodeConfig.key_cache_bytes; 0: none)")
    args = parser.parse_args(argv)
    if args.overwrite and args.part != "shard":
        parser.error("--overwrite is an option of the shard part only")
    front = args.part in ("front", "front-read", "front-batch", "front-slice")
    if (args.protocol != 4 or args.compression) and not front:
        parser.error("--protocol and --compression are options of the front parts only")
    if args.protocol == 5 and args.compression == "snappy":
        parser.error("protocol v5 compresses with lz4 only")
    global SET_UP_ONLY
    SET_UP_ONLY = args.set_up_only
    from ferrosa.config import NodeConfig
    from shards.sstable.chunks import set_chunk_cache
    from shards.sstable.keycache import set_key_cache
    defaults = NodeConfig()
    set_chunk_cache(defaults.chunk_cache_bytes if args.chunk_cache is None else args.chunk_cache)
    set_key_cache(defaults.key_cache_bytes if args.key_cache is None else args.key_cache)
    if args.part == "shard-batch":
        ops, repeat = args.ops or 8_000, args.repeat or 5
        runs = [shard_us_per_write(ops, args.batch, BATCH_ROWS) for _ in range(repeat)]
    elif args.part in ("shard", "shard-read"):
        measure = shard_us_per_write if args.part == "shard" else shard_us_per_read
        ops, repeat = args.ops or 40_000, args.repeat or 5
        runs = [measure(ops, args.batch, flushed=args.flushed, cold=args.cold)
                if args.part == "shard-read"
                else measure(ops, args.batch, overwrite=args.overwrite) for _ in range(repeat)]
    elif args.part == "shard-slice":
        ops, repeat = args.ops or 2_000, args.repeat or 5
        runs = [shard_us_per_slice_row(ops, args.batch, flushed=args.flushed)
                for _ in range(repeat)]
    elif front:
        kind = {"front": "write", "front-read": "read", "front-batch": "batch",
                "front-slice": "slice"}[args.part]
        ops, repeat = args.ops or (10_000 if kind == "batch" else 50_000), args.repeat or 3
        runs = [front_us_per_request(ops, args.per_read, kind, args.protocol, args.compression)
                for _ in range(repeat)]
    elif args.part == "compact-series":
        ops, repeat = args.ops or 40_000, args.repeat or 3
        runs = [compact_series_us_per_row(ops) for _ in range(repeat)]
    else:
        measure = flush_us_per_partition if args.part == "flush" else compact_us_per_partition
        ops, repeat = args.ops or 100_000, args.repeat or 3
        runs = [measure(ops) for _ in range(repeat)]
    if SET_UP_ONLY:
        print(f"{args.part}: set up only, nothing timed")
        return 0
    unit = {"shard": "write", "front": "write", "shard-read": "read", "front-read": "read",
            "front-batch": "batch", "shard-batch": "batch", "front-slice": "slice",
            "shard-slice": "row read", "compact-series": "row read"}.get(args.part, "partition")
    print(f"{args.part}: {min(runs):.2f} µs of CPU per {unit} (best of {repeat}; all: "
          f"{', '.join(f'{r:.2f}' for r in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
