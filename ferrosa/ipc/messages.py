"""Messages between the front process and shard processes (carried by the shared-memory rings).

What it is: the msgspec Structs of the front<->shard protocol. Every struct is tagged and array-like so
an encoded message is a compact msgpack array whose first element names its type; one Decoder for the
`ShardRequest` union and one for `ShardReply` decode any message of their direction.

What it must not do: carry Python objects the other side cannot rebuild (everything is bytes, ints,
strings and lists), or depend on the CQL front-end: shards never import ferrosa.front or ferrosa.cql.
Messages must not be put in reference cycles: every struct is `gc=False` (untracked by the cyclic
garbage collector), because both sides create them per request and tracked ones made the young
generation fill up and be collected several times as often (see ferrosa/heap.py).

Theory of operation:
- Every request carries a `req_id` chosen by the front, unique among its in-flight requests to that
  shard; the shard answers each request with exactly one reply carrying the same id (Ack, RowsReply or
  Failure), in any order.
- Values are CQL wire serializations. Partition keys are Cassandra's partition-key bytes (composite keys
  in Cassandra's composite form); clustering keys travel twice: `ck` is the byte-comparable form that
  orders rows, `ck_values` the serialized components a read returns to the client.
- Timestamps (microseconds) and expiry times (seconds) are fixed by the coordinator (the front), as
  Cassandra fixes them in UpdateParameters, so every replica of a write stores the same cells.
- A projection tells the shard which values to return per row, so the shard can hand back rows already
  encoded as the body of a RESULT Rows message: the front only prepends the metadata.
"""

from __future__ import annotations

import msgspec

# Projection item kinds: what a selected result column is made of.
PROJ_PK = 0  # arg: partition-key component index
PROJ_CK = 1  # arg: clustering component index
PROJ_CELL = 2  # arg: column name (regular or static)
PROJ_WRITETIME = 3  # arg: column name; value is the cell timestamp as a bigint
PROJ_TTL = 4  # arg: column name; value is the remaining TTL in seconds as an int
PROJ_STATIC = 5  # arg: static column name
PROJ_STATIC_WRITETIME = 6  # arg: static column name
PROJ_STATIC_TTL = 7  # arg: static column name
# Multi-cell (non-frozen) columns: arg is [column name, is_static]; the value is the collection
# serialized as the protocol does (element count, then [bytes] per element / key and value).
PROJ_LIST = 8
PROJ_SET = 9
PROJ_MAP = 10
# Non-frozen UDT: arg is [column name, is_static, field count]; the value is the UDT serialized as
# a tuple of its fields, null where a field has no live cell.
PROJ_UDT = 11
# WRITETIME/TTL of a multi-cell column (Cassandra 5.0): a list<bigint>/list<int> with one entry per
# live element (TTL entries null for elements without one); MAXWRITETIME of any column: the
# newest live cell's timestamp. arg: [column name, is_static].
PROJ_ELEMENT_WRITETIMES = 12
PROJ_ELEMENT_TTLS = 13
PROJ_MAX_WRITETIME = 14

ProjectionItem = tuple[int, int | str | list]

# A projection travels encoded (msgspec.Raw in Read and Scan): the coordinator encodes a
# statement's projection once, when it compiles it, and the shard decodes each distinct one once,
# keeping it and what it derives from it by these bytes (shards/encoder.py). Sending the list
# itself cost an encode and a decode of its items on every read, and a hash of them on the shard.
_projection_encoder = msgspec.msgpack.Encoder()
_projection_decoder = msgspec.msgpack.Decoder(list[ProjectionItem])


def encode_projection(items: list[ProjectionItem]) -> msgspec.Raw:
    return msgspec.Raw(_projection_encoder.encode(items))


def decode_projection(encoded: bytes) -> list[ProjectionItem]:
    """The items of an encoded projection; msgspec.DecodeError (a ValidationError included)
    when the bytes are not a projection."""
    return _projection_decoder.decode(encoded)

# What a CellWrite does to its column. Simple columns use CELL_SET (value None = a tombstone) and
# CELL_COUNTER_ADD. Multi-cell (non-frozen collection / UDT) columns address one element by `path`
# (its byte-comparable sort key; `key` is the element's serialized key: map key, set element, list
# timeuuid, UDT field index) or the whole column:
CELL_SET = 0  # put one cell (an element when `path` is set); value None deletes it
CELL_COUNTER_ADD = 1  # value: 8-byte signed delta added to the counter's current value
CELL_REPLACE = 2  # whole-column overwrite: deletes every element older than this write (t - 1)
CELL_DELETE = 3  # whole-column deletion at the write's timestamp
CELL_LIST_SET_INDEX = 4  # key: 4-byte index; value: the new element (None deletes it)
CELL_LIST_REMOVE = 5  # value: an element; every live element equal to it is deleted


class CellWrite(msgspec.Struct, array_like=True, gc=False):
    """One cell (or collection element, or whole-column operation) of a mutation."""

    column: str
    value: bytes | None
    op: int = CELL_SET
    path: bytes | None = None
    key: bytes | None = None


class RowWrite(msgspec.Struct, array_like=True, gc=False):
    """One more row of a ROW_UPSERT Mutation's partition (Mutation.rows): its clustering key
    and the values of the Mutation's plain_names."""

    ck: bytes
    ck_values: list[bytes]
    plain_values: list[bytes | None]


class Mutation(msgspec.Struct, array_like=True, gc=False):
    """A write to one partition of one table. Applied atomically by the owning shard.

    kind: ROW_UPSERT (regular cells at ck, optional row liveness marker, and/or static cells),
    ROW_DELETE (row tombstone at ck), PARTITION_DELETE (partition tombstone; ck ignored),
    RANGE_DELETE (range tombstone over byte-comparable clustering keys ck <= K < ck_end; an empty
    ck_end is unbounded).
    """

    table_id: bytes
    token: int
    pk: bytes
    ck: bytes
    ck_values: list[bytes]
    timestamp: int
    kind: int
    cells: list[CellWrite] = []
    static_cells: list[CellWrite] = []
    # 0 = no TTL; otherwise the TTL in seconds and the absolute expiry (seconds since the epoch).
    ttl: int = 0
    expires_at: int = 0
    # INSERT creates a primary-key liveness marker so the row exists even with all columns null.
    row_marker: bool = False
    # The coordinator's clock (seconds): the local deletion time of the tombstones written.
    now: int = 0
    ck_end: bytes = b""
    # Whole-value writes of regular columns (CELL_SET, no path), the usual INSERT's cells, as two
    # parallel lists: decoding them makes no CellWrite per cell (a fifth of a shard's decoding).
    # A value of None writes a cell tombstone. Last, so records written before they existed
    # (commit log, hints) decode with them empty.
    plain_names: list[str] = []
    plain_values: list[bytes | None] = []
    # More rows of a ROW_UPSERT's partition, each written as this mutation's row is (timestamp,
    # TTL, row marker, plain_names) with its own key and values, and without cells: a BATCH of
    # rows into one partition is one Mutation, so a shard finds the partition and checks the
    # mutation once. None, not [], when there are none: nothing to make or decode per write.
    rows: list[RowWrite] | None = None


MUTATION_ROW_UPSERT = 0
MUTATION_ROW_DELETE = 1
MUTATION_PARTITION_DELETE = 2
MUTATION_RANGE_DELETE = 3
MUTATION_KINDS = frozenset((MUTATION_ROW_UPSERT, MUTATION_ROW_DELETE, MUTATION_PARTITION_DELETE,
                            MUTATION_RANGE_DELETE))


class Write(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Apply mutations (one statement or the part of a batch owned by this shard)."""

    req_id: int
    mutations: list[Mutation]


class Read(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Read one partition: rows whose byte-comparable clustering key is within [start, end).

    `start`/`end` empty mean unbounded. `after` (paging) resumes strictly after that clustering key
    (or strictly before it when `reverse`). `limit` counts rows; 0 means no limit.
    """

    req_id: int
    table_id: bytes
    token: int
    pk: bytes
    projection: msgspec.Raw  # encode_projection(items)
    now: int
    # How many components the partition key has (1 = the key bytes are the single value).
    pk_components: int = 1
    start: bytes = b""
    end: bytes = b""
    limit: int = 0
    reverse: bool = False
    after: bytes | None = None


class Scan(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Read rows of many partitions in token order, resuming after (token, pk, ck) when paging."""

    req_id: int
    table_id: bytes
    projection: msgspec.Raw  # encode_projection(items)
    now: int
    pk_components: int = 1
    limit: int = 0
    after_token: int | None = None
    after_pk: bytes = b""
    after_ck: bytes | None = None
    # Last token to read (inclusive); None = to the end of the shard's slice.
    end_token: int | None = None
    # At most this many rows per partition (DISTINCT, PER PARTITION LIMIT); 0 = no limit. A
    # partition cut by it counts as finished: paging resumes at the next partition.
    per_partition_limit: int = 0
    # The per-partition limit left for the resumed partition (after_pk), when paging stopped
    # inside it; 0 = the full per_partition_limit.
    resume_partition_limit: int = 0


class DropTable(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Forget a table's data (DROP TABLE, DROP KEYSPACE, TRUNCATE)."""

    req_id: int
    table_id: bytes


class TableSchema(msgspec.Struct, tag=True, array_like=True, gc=False):
    """What a shard must know of a table's schema (sent at each Hello and schema change).

    `dropped`: column name -> drop time (microseconds); cells of that name written at or before
    it are hidden from reads and purged by compaction, so a dropped column's data never comes back
    when a column of the same name is added again.
    """

    req_id: int
    table_id: bytes
    dropped: dict[str, int] = {}
    gc_grace_seconds: int = 864000
    compression: str = "lz4"
    # The table's compaction option 'enabled' (Cassandra: 'enabled': 'false' stops automatic
    # compactions; ferrosa-ctl compact still runs).
    auto_compaction: bool = True
    # The table's compression option chunk_length_in_kb, in bytes: the SSTable Data chunk that
    # one read decompresses (Cassandra's default, 16 KiB).
    chunk_bytes: int = 16 * 1024


class KnownTables(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Every user table that exists (sent after the TableSchemas at each Hello and schema change):
    a shard drops the data of any other table, e.g. one dropped while the shard was down."""

    req_id: int
    table_ids: list[bytes]


class Flush(msgspec.Struct, tag=True, array_like=True, gc=False):
    """ferrosa-ctl flush: write the memtables (of one table, or all when empty) to SSTables;
    answered with Ack once done."""

    req_id: int
    table_id: bytes = b""


class Compact(msgspec.Struct, tag=True, array_like=True, gc=False):
    """ferrosa-ctl compact: merge all SSTables of a table (or of every table when empty) into one;
    answered with Ack once done."""

    req_id: int
    table_id: bytes = b""


class Ping(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Liveness and statistics probe (ferrosa-ctl status)."""

    req_id: int


class Requests(msgspec.Struct, tag=True, array_like=True, gc=False):
    """The requests the front queued for one shard in one loop pass, in one ring record
    (Channel.send_grouped), as Replies are for the way back. Never nested; the shard's Channel
    gives the items back one by one, in order."""

    items: list[Write | Read | Scan | DropTable | TableSchema | KnownTables | Flush | Compact
                | Ping]


ShardRequest = (Write | Read | Scan | DropTable | TableSchema | KnownTables | Flush | Compact
                | Ping | Requests)


class Ack(msgspec.Struct, tag=True, array_like=True, gc=False):
    req_id: int


class Acks(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Writes applied and logged (as the commit log's mode requires): a shard acknowledges the
    writes one loop pass released in one message, instead of an Ack each."""

    req_ids: list[int]


# The most req_ids one Acks carries. A req_id takes at most 5 bytes in msgpack (they wrap below
# 2**31), so a full message stays far below the smallest ring's max_record.
MAX_ACKS_PER_MESSAGE = 1024


def acks_of(req_ids: list[int]) -> list[Acks]:
    """The Acks messages for `req_ids` (none for none), MAX_ACKS_PER_MESSAGE ids at most each."""
    if 0 < len(req_ids) <= MAX_ACKS_PER_MESSAGE:  # a shard's loop pass: one message
        return [Acks(req_ids)]
    return [Acks(req_ids[i:i + MAX_ACKS_PER_MESSAGE])
            for i in range(0, len(req_ids), MAX_ACKS_PER_MESSAGE)]


class RowsReply(msgspec.Struct, tag=True, array_like=True, gc=False):
    """Rows already encoded as a RESULT body's rows part (each value a protocol [bytes]).

    `more` is set when the limit cut the result; `last_*` locate the last row returned so the
    coordinator can build a paging state.
    """

    req_id: int
    count: int
    rows: bytes
    more: bool = False
    last_token: int = 0
    last_pk: bytes = b""
    last_ck: bytes | None = None


class Failure(msgspec.Struct, tag=True, array_like=True, gc=False):
    """A request the shard could not serve; `code` is a protocol ErrorCode."""

    req_id: int
    code: int
    message: str


class CacheStats(msgspec.Struct, array_like=True, gc=False):
    """One of a shard's read caches (its key cache, its chunk cache) since the shard started:
    what `ferrosa-ctl status` reports, as `nodetool info` reports Cassandra's."""

    entries: int
    bytes: int
    capacity: int  # the budget in bytes
    hits: int
    misses: int


class Stats(msgspec.Struct, tag=True, array_like=True, gc=False):
    req_id: int
    shard: int
    pid: int
    partitions: int
    memtable_bytes: int
    requests: int
    sstables: int = 0
    sstable_bytes: int = 0
    pending_jobs: int = 0
    # None: the shard runs without that cache (its budget is 0).
    key_cache: CacheStats | None = None
    chunk_cache: CacheStats | None = None


class Hello(msgspec.Struct, tag=True, array_like=True, gc=False):
    """First message of a (re)started shard: the front may route to it from now on."""

    shard: int
    pid: int
    generation: int


class Replies(msgspec.Struct, tag=True, array_like=True, gc=False):
    """The replies of one shard loop pass in one ring record (Channel.send_grouped): the shard
    stages one record and the front drains and decodes one, instead of one per reply. Never
    nested; the front's Channel gives the items back one by one."""

    items: list[Ack | Acks | RowsReply | Failure | Stats | Hello]


ShardReply = Ack | Acks | RowsReply | Failure | Stats | Hello | Replies
