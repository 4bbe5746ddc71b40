"""In-process micro-benchmarks: the CPU of the front's and a shard's code per request, without
processes, sockets or wake-ups.

    python -m bench.inprocess shard [--ops 40000] [--batch 11] [--repeat 5] [--overwrite]
    python -m bench.inprocess shard-loop [--ops 40000] [--batch 11] [--repeat 5]
    python -m bench.inprocess front [--ops 50000] [--per-read 16] [--repeat 3]
                                    [--protocol {3,4,5}] [--compression {lz4,snappy}]
    python -m bench.inprocess shard-read [--ops 40000] [--batch 11] [--repeat 5]
                                         [--flushed [--cold] [--sstables N]]
                                         [--keys 100000]
    python -m bench.inprocess front-read [--ops 50000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess shard-batch [--ops 8000] [--batch 11] [--repeat 5] [--overwrite]
    python -m bench.inprocess front-batch [--ops 10000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess front-slice [--ops 50000] [--per-read 16] [--repeat 3]
    python -m bench.inprocess shard-slice [--ops 2000] [--batch 11] [--repeat 5] [--flushed]
    python -m bench.inprocess flush [--ops 100000] [--repeat 3]
    python -m bench.inprocess compact [--ops 100000] [--repeat 3]
    python -m bench.inprocess compact-series [--ops 40000] [--repeat 3]
    python -m bench.inprocess sustained [--ops 100000] [--repeat 3]

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

``shard-loop``: the same writes served by ShardWorker.run itself, over real shared-memory
rings and doorbells, ``--batch`` writes arriving per wake-up: where the loop would sleep, a
stand-in front takes the replies and sends the next writes as one group (its CPU time is
left out). Beside ``shard``'s serving, each wake-up's own costs: the drain and the doorbell
read, the empty-ring check, the background and sync steps, the Acks record and the doorbell
ring. ``--batch 1`` is a shard at moderate load, a wake-up per request; the default is about
saturation's batch.

``front`` (bench/inprocess_front.py): a CqlConnection with an in-memory transport, the real
Node and ShardRouter over real shared-memory rings, and a stand-in shard inside the same event
loop that answers every request with Ack (its own CPU time is measured and subtracted). It
prepares the workload's INSERT and feeds EXECUTE frames ``--per-read`` at a time, as a socket read would deliver them. Each
EXECUTE carries what the Python driver's do: the bound values, a page size and a client
timestamp. ``--protocol`` and ``--compression`` (front parts) frame them as the driver does for
that version and compression: v3/v4 frames with compressed bodies, or v5 segments, one per
request (the driver's, unlike the front's replies, are not shared between requests).

``shard-read`` and ``front-read``: the same for the read workload's point SELECT (``SELECT *``
by key): the shard serves Read messages from a memtable holding every key (ShardWorker.serve
and the encoding of the RowsReply); the front's stand-in shard answers with one encoded row.

``shard-batch`` and ``front-batch``: the batch workload's unlogged BATCH of BATCH_ROWS prepared
INSERTs into one partition of clustered1 (a key and an int clustering column): the shard's Write
of BATCH_ROWS mutations, the front's BATCH message. The CPU per batch. The shard's batches go to
the node run's BATCH_PARTITIONS partitions (of CLUSTER_ROWS rows) from a random first row: from
an empty memtable (the default, a node's memtable after a flush) most rows go in between rows
already there and some replace one; ``--overwrite`` first writes every row of those partitions,
so that every timed row replaces one (a node's memtable before its flush).

``front-slice``: the slice workload's read of SLICE_ROWS rows (``SELECT * ... WHERE key = ? AND
ck >= ? LIMIT ?``) as the front serves it; the stand-in shard answers SLICE_ROWS encoded rows,
cut by the limit as in a partition of CLUSTER_ROWS rows.

``shard-slice``: the slice workload's read (``SELECT * ... WHERE key = ? AND ck >= ? LIMIT 100``)
from a memtable of SLICE_PARTITIONS partitions of CLUSTER_ROWS rows: the CPU per row read.
``--flushed`` (shard-read, shard-slice): the same reads from an SSTable (the memtable flushed
first), the state of most of a real node's data. The reads then run once untimed first, so that
the shard's chunk and key caches are as warm as a node's after a few seconds of reads
(``--chunk-cache 0 --key-cache 0`` for none); ``--cold`` skips that pass and reads each key
once, as a node's first reads after a flush or a restart do. ``--keys`` sets the key space and
``--sstables N`` writes every key once, in order, into N SSTables, as a node's preload does:
``--keys 200000 --sstables 3`` is a shard of the node's 400,000-key flushed read, whose data
outgrows the key and chunk caches.

``flush``: a ShardStore's memtable filled with ``--ops`` such writes (about 63% distinct keys),
then one flush to an SSTable: the CPU per partition written, fsyncs included. ``compact``: four
such SSTables (overlapping keys) merged by a major compaction: the CPU per partition read.
``compact-series``: four SSTables holding the next ``--ops`` / 4 rows of the same
SERIES_PARTITIONS partitions of clustered1 (a time series), merged by a major compaction:
the CPU per row read.

``sustained``: ``--ops`` single-row writes of the standard1 shape over 100000 keys into a
ShardStore whose memtable budget is SUSTAINED_MEMTABLE_BYTES, with the background work they
cause run as the worker schedules it (a flush when the memtables outgrow the budget, then any
size-tiered compaction ready, each job to its end): the CPU per write of the writes and of
every flush and compaction, the shard's cost under sustained writes. A node's run with
``--memtable-mib`` measures the same, but how many compactions a 30 s window holds moves it
by about 10% from one round to the next; here the work for a given number of writes is fixed.
A run that flushes fewer than twice is refused (bench.instructions' smaller run is a sixth of
``--ops``: give it 60000 or more).

``--set-up-only`` (any part): build the store, the requests and the warmed caches, then stop
before the timed work; bench.instructions counts such runs to take them out of its figures.

All print the CPU per request, best of ``--repeat`` runs (each in a fresh interpreter would be
cleaner; the best of several in one is steadier on a shared machine). The node's own figures
(`python -m bench run`) are two to three times these: the difference is wake-ups, system calls
and cold caches (docs/performance.md). This module must NOT be imported by ferrosa.
"""

from __future__ import annotations

import argparse
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
# shard-batch: the batch workload's partitions on a node run with the default --keys (bench.
# workloads.partitions: a partition per CLUSTER_ROWS keys), each batch BATCH_ROWS rows of one
# of them from a random first row, so that rows land between and over the rows there.
BATCH_PARTITIONS = KEYS // CLUSTER_ROWS
# shard-slice: partitions of CLUSTER_ROWS rows (bench.workloads' clustered1 shape).
SLICE_PARTITIONS = 20
# compact-series: the partitions every input's rows are spread over.
SERIES_PARTITIONS = 100
COLUMNS = 5
VALUE_BYTES = 34
# sustained: the shard's memtable budget, small enough that 100000 writes flush about 20 times
# and compact the flushed SSTables more than once (size-tiered, 4 at a time).
SUSTAINED_MEMTABLE_BYTES = 4 << 20
# --set-up-only: each part builds its store, its requests and its caches, then returns before
# the timed work. bench.instructions counts such runs and subtracts them, so that its figure is
# the timed work's alone (making a front's EXECUTE frames costs a quarter of what the front
# spends on them).
SET_UP_ONLY = False


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


def _batch_writes(count: int, table_id: bytes, seed: int = 1, every_row: bool = False,
                  first_timestamp: int = 1_700_000_000_000_000) -> list[bytes]:
    """Writes of the batch workload: BATCH_ROWS rows of one clustered1 partition each, as the
    front sends them (one Mutation, its first row's and then `rows`), over the node's
    BATCH_PARTITIONS partitions at a random first row; `every_row`: all the rows of those
    partitions in order instead (`count` is then ignored)."""
    from ferrosa.partitioner import token
    from ferrosa.protocol import types as T
    from ferrosa.schema.bytecomparable import clustering_encoder
    rng = random.Random(seed)
    encode = msgspec.msgpack.Encoder().encode
    ck_encoder = clustering_encoder((T.INT,), (False,))
    values = [os.urandom(VALUE_BYTES) for _ in range(COLUMNS)]
    names = [f"C{j}" for j in range(COLUMNS)]
    out = []
    firsts = ([(p, start) for p in range(BATCH_PARTITIONS)
               for start in range(0, CLUSTER_ROWS, BATCH_ROWS)] if every_row else
              [(rng.randrange(BATCH_PARTITIONS), rng.randrange(CLUSTER_ROWS - BATCH_ROWS + 1))
               for _ in range(count)])
    for i, (partition, start) in enumerate(firsts):
        pk = b"%010d" % partition
        rows = []
        for ck in range(start, start + BATCH_ROWS):
            ck_value = ck.to_bytes(4, "big")
            rows.append(m.RowWrite(ck_encoder.encode([ck_value]), [ck_value], values))
        mutation = m.Mutation(table_id, token(pk), pk, rows[0].ck, rows[0].ck_values,
                              first_timestamp + i, m.MUTATION_ROW_UPSERT, [], [], 0, 0,
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
            older = 1_600_000_000_000_000
            for payload in (_writes(KEYS, table_id, every_key=True, first_timestamp=older)
                            if rows == 1 else
                            _batch_writes(0, table_id, every_row=True, first_timestamp=older)):
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


class _Feeder:
    """shard-loop's front: stands in for the worker's request doorbell. Each time the loop would
    sleep, it takes the replies (counting the writes acknowledged) and sends the next
    `per_wake` writes as one Requests group (the router's record of a loop pass), then lets
    the loop go on; its own CPU time is summed in `cpu`, for the figure to leave out. After
    the last writes are served it stops the loop."""

    def __init__(self, worker, requests, replies, writes: list, per_wake: int) -> None:
        self.worker, self.requests, self.replies = worker, requests, replies
        self.writes, self.per_wake = writes, per_wake
        self.sent = self.acked = 0
        self.started = self.ended = self.cpu = 0.0

    def wait(self, timeout: float | None = None) -> bool:
        now = time.process_time()
        if not self.started:
            self.started = now
        for reply in self.replies.recv_all():
            if type(reply) is m.Acks:
                self.acked += len(reply.req_ids)
        if self.sent >= len(self.writes):
            self.ended = now
            self.worker.running = False
            return True
        batch = self.writes[self.sent:self.sent + self.per_wake]
        if self.requests.send_grouped(batch) != len(batch):
            raise RuntimeError("shard-loop: the request ring is full")
        self.sent += len(batch)
        self.cpu += time.process_time() - now
        return True


def shard_loop_us_per_write(ops: int, per_wake: int) -> float:
    """CPU per write of ShardWorker.run over real shared-memory rings, `per_wake` writes
    arriving per wake-up: the serving of `shard` plus what each wake-up costs the loop (the
    drain, the empty-ring check, the background step, the sync check, the Acks, the reply
    record and its doorbell)."""
    from ferrosa.config import NodeConfig
    from ferrosa.heap import tune_collector
    from ferrosa.ipc.channel import Channel
    from ferrosa.ipc.doorbell import Doorbell
    from ferrosa.ipc.shm import RingPair
    from shards.worker import ShardWorker

    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    config = msgspec.convert({"data_dir": directory, "shard_count": 1}, NodeConfig)
    pair = RingPair.create("bil" + uuid.uuid4().hex[:7], 0, 0, config.ring_bytes)
    bell, reply_bell = Doorbell(), Doorbell()
    worker = None
    try:
        requests = Channel(pair.request.ring, bell, m.ShardRequest, m.Requests)
        replies = Channel(pair.reply.ring, reply_bell, m.ShardReply, m.Replies)
        worker = ShardWorker(0, pair, bell, reply_bell, 1, config)
        table_id = uuid.uuid4().bytes
        requests.send(m.TableSchema(0, table_id))
        decode = msgspec.msgpack.Decoder(m.Write).decode
        writes = [decode(w) for w in _writes(ops, table_id)]
        if SET_UP_ONLY:
            worker.commitlog.close()
            return 0.0
        feeder = worker.request_bell = _Feeder(worker, requests, replies, writes, per_wake)
        tune_collector()
        worker.run()
        if feeder.acked != ops:
            raise RuntimeError(f"shard-loop: {feeder.acked} of {ops} writes acknowledged")
        return (feeder.ended - feeder.started - feeder.cpu) / ops * 1e6
    finally:
        if worker is not None:
            worker.requests = worker.replies = None
        pair.unlink()
        pair.close()
        bell.close()
        reply_bell.close()
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


def shard_us_per_read(ops: int, batch: int, flushed: bool = False, cold: bool = False,
                      sstables: int = 0) -> float:
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        if sstables:
            store, table_id = _preloaded_store(directory, sstables)
        else:
            store, table_id = _filled_store(directory, 3 * KEYS)  # about 95% of the keys
        reads = _point_reads(min(ops, KEYS) if cold else ops, table_id, distinct=cold)
        if flushed:
            store.flush(table_id)
            _run_jobs(store)
            held = len(store.tables[table_id].sstables)
            assert not sstables or held == sstables, f"{held} SSTables, not {sstables}"
            if not cold:
                # Warms the caches: with --sstables over other keys, as a node's earlier reads
                # of a key space larger than its caches.
                warm = _point_reads(ops, table_id, seed=3) if sstables else reads
                _serve_reads(store, warm, batch)
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


def _empty_store(directory: str, memtable_bytes: int = 1 << 30):
    """A ShardStore in `directory` with one table (its id returned too) and no commit log."""
    from shards.store import ShardStore
    store = ShardStore(0, os.path.join(directory, "data"), memtable_bytes, None)
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


def _preloaded_store(directory: str, sstables: int):
    """Every key written once in order, as `bench run`'s preload writes them, in `sstables`
    SSTables of about KEYS / `sstables` keys (disjoint key sets, each token range whole)."""
    store, table_id = _empty_store(directory)
    decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
    for i, payload in enumerate(_writes(KEYS, table_id, every_key=True), 1):
        store.handle(decode(payload))
        if i % -(-KEYS // sstables) == 0 and i < KEYS:
            store.flush(table_id)
            _run_jobs(store)
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


def sustained_us_per_write(ops: int) -> float:
    """The CPU per write of `ops` writes and of the flushes and compactions they cause (module
    docstring: ``sustained``)."""
    from ferrosa.heap import tune_collector
    directory = tempfile.mkdtemp(prefix="bench-inprocess-")
    try:
        store, table_id = _empty_store(directory, SUSTAINED_MEMTABLE_BYTES)
        decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
        writes = [decode(payload) for payload in _writes(ops, table_id)]
        if SET_UP_ONLY:
            return 0.0
        flushes = 0
        tune_collector()
        start = time.process_time()
        for write in writes:
            store.handle(write)
            store.schedule()
            if store.jobs:  # a flush: run it, then the compactions it makes ready
                flushes += 1
                _run_jobs(store)
                store.queue_compactions()
                _run_jobs(store)
        elapsed = time.process_time() - start
        assert flushes >= 2, f"{ops} writes flushed {flushes} times: too few to measure"
        return elapsed / ops * 1e6
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=("shard", "shard-loop", "front", "shard-read",
                                         "front-read", "front-batch", "front-slice",
                                         "shard-batch", "shard-slice", "flush", "compact",
                                         "compact-series", "sustained"))
    parser.add_argument("--ops", type=int, default=None)
    parser.add_argument("--batch", type=int, default=11,
                        help="shard parts: requests per drained batch (shard-loop: writes per "
                             "wake-up)")
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
                        help="shard, shard-batch: a row for every key (every row of the "
                             "batch partitions) first, so that each write replaces one")
    parser.add_argument("--protocol", type=int, choices=(3, 4, 5), default=4,
                        help="front parts: the connection's protocol version (v5: one segment "
                             "per request, as the Python driver sends them)")
    parser.add_argument("--compression", choices=("lz4", "snappy"), default=None,
                        help="front parts: the compression STARTUP asks for (v5: lz4 only)")
    parser.add_argument("--set-up-only", action="store_true",
                        help="build the store, the requests and the caches, then stop before "
                             "the timed work (for bench.instructions, which subtracts it)")
    parser.add_argument("--keys", type=int, default=None,
                        help="shard-read: the key space (a node's 400,000-key run holds "
                             "200,000 in each of its two shards)")
    parser.add_argument("--sstables", type=int, default=0,
                        help="shard-read --flushed: every key written once, in this many "
                             "SSTables (a node's preload, flushed as its memtable fills); "
                             "default: 300,000 random writes in one")
    parser.add_argument("--key-cache", type=int, default=None,
                        help="shard-read, shard-slice: the shard's KeyCache bytes (default: a "
                             "node's, NodeConfig.key_cache_bytes; 0: none)")
    args = parser.parse_args(argv)
    if args.overwrite and args.part not in ("shard", "shard-batch"):
        parser.error("--overwrite is an option of the shard and shard-batch parts only")
    front = args.part in ("front", "front-read", "front-batch", "front-slice")
    if (args.protocol != 4 or args.compression) and not front:
        parser.error("--protocol and --compression are options of the front parts only")
    if args.protocol == 5 and args.compression == "snappy":
        parser.error("protocol v5 compresses with lz4 only")
    if (args.keys or args.sstables) and args.part != "shard-read":
        parser.error("--keys and --sstables are options of shard-read only")
    if args.sstables and not args.flushed:
        parser.error("--sstables reads from SSTables: give --flushed too")
    global SET_UP_ONLY, KEYS
    SET_UP_ONLY, KEYS = args.set_up_only, args.keys or KEYS
    from ferrosa.config import NodeConfig
    from shards.sstable.chunks import set_chunk_cache
    from shards.sstable.keycache import set_key_cache
    defaults = NodeConfig()
    set_chunk_cache(defaults.chunk_cache_bytes if args.chunk_cache is None else args.chunk_cache)
    set_key_cache(defaults.key_cache_bytes if args.key_cache is None else args.key_cache)
    if args.part == "shard-loop":
        ops, repeat = args.ops or 40_000, args.repeat or 5
        runs = [shard_loop_us_per_write(ops, args.batch) for _ in range(repeat)]
    elif args.part == "shard-batch":
        ops, repeat = args.ops or 8_000, args.repeat or 5
        runs = [shard_us_per_write(ops, args.batch, BATCH_ROWS, overwrite=args.overwrite)
                for _ in range(repeat)]
    elif args.part in ("shard", "shard-read"):
        measure = shard_us_per_write if args.part == "shard" else shard_us_per_read
        ops, repeat = args.ops or 40_000, args.repeat or 5
        runs = [measure(ops, args.batch, flushed=args.flushed, cold=args.cold,
                        sstables=args.sstables)
                if args.part == "shard-read"
                else measure(ops, args.batch, overwrite=args.overwrite) for _ in range(repeat)]
    elif args.part == "shard-slice":
        ops, repeat = args.ops or 2_000, args.repeat or 5
        runs = [shard_us_per_slice_row(ops, args.batch, flushed=args.flushed)
                for _ in range(repeat)]
    elif front:
        from bench.inprocess_front import front_us_per_request
        kind = {"front": "write", "front-read": "read", "front-batch": "batch",
                "front-slice": "slice"}[args.part]
        ops, repeat = args.ops or (10_000 if kind == "batch" else 50_000), args.repeat or 3
        runs = [front_us_per_request(ops, args.per_read, kind, args.protocol, args.compression,
                                     SET_UP_ONLY) for _ in range(repeat)]
    elif args.part == "compact-series":
        ops, repeat = args.ops or 40_000, args.repeat or 3
        runs = [compact_series_us_per_row(ops) for _ in range(repeat)]
    elif args.part == "sustained":
        ops, repeat = args.ops or 100_000, args.repeat or 3
        runs = [sustained_us_per_write(ops) for _ in range(repeat)]
    else:
        measure = flush_us_per_partition if args.part == "flush" else compact_us_per_partition
        ops, repeat = args.ops or 100_000, args.repeat or 3
        runs = [measure(ops) for _ in range(repeat)]
    if SET_UP_ONLY:
        print(f"{args.part}: set up only, nothing timed")
        return 0
    unit = {"shard": "write", "shard-loop": "write", "front": "write", "shard-read": "read",
            "front-read": "read", "front-batch": "batch", "shard-batch": "batch",
            "front-slice": "slice", "shard-slice": "row read",
            "compact-series": "row read", "sustained": "write"}.get(args.part, "partition")
    print(f"{args.part}: {min(runs):.2f} µs of CPU per {unit} (best of {repeat}; all: "
          f"{', '.join(f'{r:.2f}' for r in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
