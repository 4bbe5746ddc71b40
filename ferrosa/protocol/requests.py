"""Request messages (client -> server) as msgspec Structs, with body decoders (server side) and
body encoders (client side: tests, fuzzer, benchmark client).

Decoders take a ``Reader`` positioned after any custom payload and the frame's protocol version;
they raise ``ProtocolError`` for malformed bodies and ignore trailing bytes (spec section 2.4:
bodies may grow in later versions). Validation follows Cassandra's messages (StartupMessage,
QueryOptions.Codec, BatchMessage, RegisterMessage) so drivers see familiar errors.

This module must NOT execute anything: it does not know keyspaces, statements or types.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ferrosa.protocol.compression import FRAME_COMPRESSIONS, SNAPPY
from ferrosa.protocol.constants import (
    Q_KEYSPACE,
    Q_NAMES_FOR_VALUES,
    Q_NOW_IN_SECONDS,
    Q_PAGE_SIZE,
    Q_PAGING_STATE,
    Q_SERIAL_CONSISTENCY,
    Q_SKIP_METADATA,
    Q_TIMESTAMP,
    Q_VALUES,
    STARTUP_COMPRESSION,
    STARTUP_CQL_VERSION,
    STARTUP_DRIVER_NAME,
    STARTUP_DRIVER_VERSION,
    STARTUP_THROW_ON_OVERLOAD,
    BatchType,
    EventType,
    PrepareFlag,
)
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.primitives import (
    Reader,
    pack_byte,
    pack_int,
    pack_short,
    write_bytes,
    write_consistency,
    write_long,
    write_long_string,
    write_short_bytes,
    write_string,
    write_string_list,
    write_string_map,
    write_uint,
    write_value,
)

# v3/v4 carry query flags in a [byte]; bit 0x80 has no meaning there.
_V4_QUERY_FLAG_MASK = 0x7F
# The one [long] a client timestamp may not be (Cassandra's bounds are the long's range
# without it); protocol/executelayouts.py refuses it too.
TIMESTAMP_MIN = -(1 << 63)
# The optional parameters the Python and Java drivers send with every EXECUTE and QUERY: a
# page size (their default fetch size) and a client-side timestamp.
_PAGE_SIZE_AND_TIMESTAMP = Q_PAGE_SIZE | Q_TIMESTAMP
# Cassandra's CassandraVersion grammar: major.minor[.patch][-pre][+build]
_CQL_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-[.\w]+)?(?:[.+][.\w]+)?")
_MIN_CQL_VERSION = (2, 99, 0)
_EVENT_TYPES = frozenset(e.value for e in EventType)


class Request(msgspec.Struct, kw_only=True, gc=False):
    """Base of all requests; ``custom_payload`` is the optional [bytes map] of flag 0x04 (v4+)."""

    custom_payload: dict[str, bytes | None] | None = None


class Startup(Request):
    options: dict[str, str]

    @property
    def cql_version(self) -> str:
        return self.options[STARTUP_CQL_VERSION]

    @property
    def compression(self) -> str | None:
        value = self.options.get(STARTUP_COMPRESSION)
        return value.lower() if value is not None else None

    @property
    def driver_name(self) -> str | None:
        return self.options.get(STARTUP_DRIVER_NAME)

    @property
    def driver_version(self) -> str | None:
        return self.options.get(STARTUP_DRIVER_VERSION)

    @property
    def throw_on_overload(self) -> bool:
        return self.options.get(STARTUP_THROW_ON_OVERLOAD) == "1"


class Options(Request):
    pass


class QueryParameters(msgspec.Struct, gc=False):
    """<query_parameters> of QUERY and EXECUTE (also the tail of BATCH).

    ``values`` holds bytes, ``None`` (null) or ``primitives.UNSET`` (not set); ``names`` is set
    only with flag 0x40. Optional parts are ``None`` when their flag is absent; ``flags`` keeps
    the raw bits.
    """

    consistency: int
    values: list[Any] = []
    names: list[str] | None = None
    skip_metadata: bool = False
    page_size: int | None = None
    paging_state: bytes | None = None
    serial_consistency: int | None = None
    timestamp: int | None = None
    keyspace: str | None = None
    now_in_seconds: int | None = None
    flags: int = 0


class Query(Request):
    query: str
    params: QueryParameters


class Prepare(Request):
    query: str
    keyspace: str | None = None


class Execute(Request):
    query_id: bytes
    params: QueryParameters
    result_metadata_id: bytes | None = None  # v5


class BatchStatement(msgspec.Struct, gc=False):
    """One <query_i> of a BATCH: a query string (kind 0) or a prepared id (kind 1) + values."""

    query_or_id: str | bytes
    values: list[Any] = []

    @property
    def is_prepared(self) -> bool:
        return isinstance(self.query_or_id, bytes)


class Batch(Request):
    batch_type: int
    statements: list[BatchStatement]
    consistency: int
    serial_consistency: int | None = None
    timestamp: int | None = None
    keyspace: str | None = None
    now_in_seconds: int | None = None
    flags: int = 0


class Register(Request):
    event_types: list[str]


class AuthResponse(Request):
    token: bytes | None


# --- decoders -----------------------------------------------------------------------------------


def _check_cql_version(value: str) -> None:
    match = _CQL_VERSION_RE.fullmatch(value)
    if match is None:
        raise ProtocolError(f"Invalid version value: {value}", fatal=False)
    version = (int(match[1]), int(match[2]), int(match[3] or 0))
    if version < _MIN_CQL_VERSION:
        raise ProtocolError(f"CQL version {value} is not supported by the binary protocol "
                            "(supported version are >= 3.0.0)", fatal=False)


def _check_compression(value: str, version: int) -> None:
    algorithm = value.lower()
    if algorithm not in FRAME_COMPRESSIONS:
        raise ProtocolError(f"Unknown compression algorithm: {algorithm}", fatal=False)
    if algorithm == SNAPPY and version >= 5:
        raise ProtocolError("Snappy compression is not supported in protocol V5", fatal=False)


def decode_startup(r: Reader, version: int) -> Startup:
    options = {key.upper(): value for key, value in r.read_string_map().items()}
    cql_version = options.get(STARTUP_CQL_VERSION)
    if cql_version is None:
        raise ProtocolError("Missing value CQL_VERSION in STARTUP message", fatal=False)
    _check_cql_version(cql_version)
    compression = options.get(STARTUP_COMPRESSION)
    if compression is not None:
        _check_compression(compression, version)
    return Startup(options)


def decode_options(r: Reader, version: int) -> Options:
    return Options()


def _timestamp_out_of_bounds(timestamp: int) -> ProtocolError:
    return ProtocolError(f"Out of bound timestamp, must be in [{TIMESTAMP_MIN + 1}, "
                         f"{-TIMESTAMP_MIN - 1}] (got {timestamp})")


def read_query_parameters(r: Reader, version: int) -> QueryParameters:
    consistency, flags, count = r.read_query_head(version)
    if version < 5:
        flags &= _V4_QUERY_FLAG_MASK
    allow_unset = version >= 4
    values: list[Any] = []
    names = None
    if flags & Q_VALUES:
        if flags & Q_NAMES_FOR_VALUES:
            names, values = r.read_named_values(count, allow_unset)
        else:
            values = r.read_values(count, allow_unset)
    rest = flags & ~(Q_VALUES | Q_SKIP_METADATA | Q_NAMES_FOR_VALUES)
    if not rest:
        return QueryParameters(consistency, values, names, bool(flags & Q_SKIP_METADATA), flags=flags)
    if rest == _PAGE_SIZE_AND_TIMESTAMP:  # the drivers' usual parameters: one unpack for both
        page_size, timestamp = r.read_int_and_long()
        if timestamp == TIMESTAMP_MIN:
            raise _timestamp_out_of_bounds(timestamp)
        return QueryParameters(consistency, values, names, bool(flags & Q_SKIP_METADATA),
                               page_size, None, None, timestamp, flags=flags)
    page_size = r.read_int() if flags & Q_PAGE_SIZE else None
    paging_state = r.read_bytes() if flags & Q_PAGING_STATE else None
    serial = r.read_consistency() if flags & Q_SERIAL_CONSISTENCY else None
    timestamp = None
    if flags & Q_TIMESTAMP:
        timestamp = r.read_long()
        if timestamp == TIMESTAMP_MIN:
            raise _timestamp_out_of_bounds(timestamp)
    keyspace = r.read_string() if flags & Q_KEYSPACE else None
    now = r.read_int() if flags & Q_NOW_IN_SECONDS else None
    return QueryParameters(consistency, values, names, bool(flags & Q_SKIP_METADATA), page_size,
                           paging_state, serial, timestamp, keyspace, now, flags)


def decode_query(r: Reader, version: int) -> Query:
    query = r.read_long_string()
    return Query(query, read_query_parameters(r, version))


def decode_prepare(r: Reader, version: int) -> Prepare:
    query = r.read_long_string()
    keyspace = None
    if version >= 5 and r.read_uint() & PrepareFlag.WITH_KEYSPACE:
        keyspace = r.read_string()
    return Prepare(query, keyspace)


def decode_execute(r: Reader, version: int) -> Execute:
    query_id = r.read_short_bytes()
    metadata_id = r.read_short_bytes() if version >= 5 else None
    return Execute(query_id, read_query_parameters(r, version), metadata_id)


def decode_batch(r: Reader, version: int) -> Batch:
    batch_type = r.read_byte()
    if batch_type > BatchType.COUNTER:
        raise ProtocolError(f"Invalid BATCH message type {batch_type}")
    allow_unset = version >= 4
    statements = []
    buf = r.buf
    # The kind, id and value count of the last prepared statement, as they were on the wire:
    # the usual batch repeats one prepared statement, and the next one that starts with the
    # same bytes is the same statement, read without a call per field. Its id is then the same
    # object, which lets the front look the statement up once per batch.
    prefix = b""
    count = 0
    query_or_id: str | bytes = b""
    for _ in range(r.read_short()):
        pos = r.pos
        if prefix and buf[pos:pos + len(prefix)] == prefix:
            r.pos = pos + len(prefix)
        else:
            kind = r.read_byte()
            if kind == 0:
                query_or_id = r.read_long_string()
            elif kind == 1:
                query_or_id = r.read_short_bytes()
            else:
                raise ProtocolError(f"Invalid query kind in BATCH messages. Must be 0 or 1 but got {kind}")
            count = r.read_short()
            prefix = buf[pos:r.pos] if kind == 1 else b""
        statements.append(BatchStatement(query_or_id, r.read_values(count, allow_unset)))
    # Cassandra decodes the tail with the QUERY options codec; names (0x40) cannot work for
    # BATCH (spec, CASSANDRA-10246), so per-statement values never carry names.
    tail = read_query_parameters(r, version)
    return Batch(batch_type, statements, tail.consistency, tail.serial_consistency, tail.timestamp,
                 tail.keyspace, tail.now_in_seconds, tail.flags)


def decode_register(r: Reader, version: int) -> Register:
    event_types = []
    for name in r.read_string_list():
        upper = name.upper()
        if upper not in _EVENT_TYPES:
            raise ProtocolError(f"Invalid value '{name}' for Type")
        event_types.append(upper)
    return Register(event_types)


def decode_auth_response(r: Reader, version: int) -> AuthResponse:
    return AuthResponse(r.read_bytes())


def decode_credentials(r: Reader, version: int) -> Request:
    """Opcode 0x04 (v1 CREDENTIALS): Cassandra 4/5 answer exactly this."""
    raise ProtocolError("Unsupported message")


# --- encoders (client side) ---------------------------------------------------------------------


def encode_startup(msg: Startup, version: int, out: bytearray) -> None:
    write_string_map(out, msg.options)


def encode_options(msg: Options, version: int, out: bytearray) -> None:
    return None


def _query_flags(p: QueryParameters, version: int) -> int:
    flags = p.flags & ~0x1FF  # keep unknown bits a test may want to send
    if p.values or p.names:
        flags |= Q_VALUES
    if p.names is not None:
        flags |= Q_NAMES_FOR_VALUES
    if p.skip_metadata:
        flags |= Q_SKIP_METADATA
    if p.page_size is not None:
        flags |= Q_PAGE_SIZE
    if p.paging_state is not None:
        flags |= Q_PAGING_STATE
    if p.serial_consistency is not None:
        flags |= Q_SERIAL_CONSISTENCY
    if p.timestamp is not None:
        flags |= Q_TIMESTAMP
    if p.keyspace is not None or p.now_in_seconds is not None:
        if version < 5:
            raise ValueError("keyspace and now_in_seconds need protocol v5")
        flags |= (Q_KEYSPACE if p.keyspace is not None else 0)
        flags |= (Q_NOW_IN_SECONDS if p.now_in_seconds is not None else 0)
    return flags


def write_query_parameters(p: QueryParameters, version: int, out: bytearray) -> None:
    flags = _query_flags(p, version)
    write_consistency(out, p.consistency)
    if version >= 5:
        write_uint(out, flags)
    else:
        out += pack_byte(flags & 0xFF)
    if flags & Q_VALUES:
        out += pack_short(len(p.values))
        if p.names is not None:
            if len(p.names) != len(p.values):
                raise ValueError("names and values differ in length")
            for name, value in zip(p.names, p.values):
                write_string(out, name)
                write_value(out, value)
        else:
            for value in p.values:
                write_value(out, value)
    if p.page_size is not None:
        out += pack_int(p.page_size)
    if p.paging_state is not None:
        write_bytes(out, p.paging_state)
    if p.serial_consistency is not None:
        write_consistency(out, p.serial_consistency)
    if p.timestamp is not None:
        write_long(out, p.timestamp)
    if p.keyspace is not None:
        write_string(out, p.keyspace)
    if p.now_in_seconds is not None:
        out += pack_int(p.now_in_seconds)


def encode_query(msg: Query, version: int, out: bytearray) -> None:
    write_long_string(out, msg.query)
    write_query_parameters(msg.params, version, out)


def encode_prepare(msg: Prepare, version: int, out: bytearray) -> None:
    write_long_string(out, msg.query)
    if version >= 5:
        write_uint(out, PrepareFlag.WITH_KEYSPACE if msg.keyspace is not None else 0)
        if msg.keyspace is not None:
            write_string(out, msg.keyspace)
    elif msg.keyspace is not None:
        raise ValueError("PREPARE with a keyspace needs protocol v5")


def encode_execute(msg: Execute, version: int, out: bytearray) -> None:
    write_short_bytes(out, msg.query_id)
    if version >= 5:
        if msg.result_metadata_id is None:
            raise ValueError("EXECUTE in protocol v5 needs result_metadata_id")
        write_short_bytes(out, msg.result_metadata_id)
    write_query_parameters(msg.params, version, out)


def encode_batch(msg: Batch, version: int, out: bytearray) -> None:
    out += pack_byte(msg.batch_type)
    out += pack_short(len(msg.statements))
    for stmt in msg.statements:
        if isinstance(stmt.query_or_id, str):
            out += b"\x00"
            write_long_string(out, stmt.query_or_id)
        else:
            out += b"\x01"
            write_short_bytes(out, stmt.query_or_id)
        out += pack_short(len(stmt.values))
        for value in stmt.values:
            write_value(out, value)
    tail = QueryParameters(msg.consistency, serial_consistency=msg.serial_consistency,
                           timestamp=msg.timestamp, keyspace=msg.keyspace,
                           now_in_seconds=msg.now_in_seconds, flags=msg.flags & ~0x1FF)
    write_query_parameters(tail, version, out)


def encode_register(msg: Register, version: int, out: bytearray) -> None:
    write_string_list(out, msg.event_types)


def encode_auth_response(msg: AuthResponse, version: int, out: bytearray) -> None:
    write_bytes(out, msg.token)


