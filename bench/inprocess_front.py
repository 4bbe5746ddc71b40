"""The front parts of bench.inprocess (front, front-read, front-batch, front-slice): a
CqlConnection with an in-memory transport, the real Node and ShardRouter over real
shared-memory rings, and a stand-in shard in the same event loop (see bench.inprocess for what
each part measures).

Theory of operation
-------------------
The workload's keyspace, table and prepared statement are made through the connection as a
client makes them; then ``--ops`` EXECUTE (or BATCH) frames, encoded as the Python driver
encodes them for the chosen protocol version and compression, are fed ``--per-read`` at a time
to ``data_received``, as socket reads would deliver them. The stand-in shard answers each
drained batch as a shard does (rows for reads, one Acks for the writes); its CPU time is
measured and subtracted, so the figure is the front's. The last write's responses are decoded
and checked, so that a misframed request (answered with an ERROR, as fast as a result) cannot
pass for a served one.

This module must NOT be imported by ferrosa, and must NOT write outside its temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid

import msgspec

from bench.inprocess import COLUMNS, KEYS, VALUE_BYTES
from bench.workloads import BATCH_ROWS, CLUSTER_ROWS
from ferrosa.ipc import messages as m

# front: what the Python driver puts in every EXECUTE (its default fetch size; a client
# timestamp in microseconds, one more per request).
DRIVER_PAGE_SIZE = 5000
CLIENT_TIMESTAMP = 1_700_000_000_000_000
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


async def _front(ops: int, per_read: int, kind: str, version: int, compression: str | None,
                 set_up_only: bool) -> float:
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
        if set_up_only:
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
    BATCH_ROWS such INSERTs into one partition of clustered1. Their parameters are the Python
    driver's (and bench.rawproto's): a client timestamp on each, a page size on each EXECUTE,
    and skip_metadata on the SELECT's. `metadata_id` is the
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
                         compression: str | None = None, set_up_only: bool = False) -> float:
    """The front's CPU per request of `kind` (write, read, batch, slice), `per_read` EXECUTEs
    (or BATCHes) per socket read; `set_up_only`: stop before the timed work (0.0)."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_front(ops, per_read, kind, version, compression, set_up_only))
