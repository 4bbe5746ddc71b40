"""RESULT messages (spec 4.2.5): Void, Rows, Set_keyspace, Prepared, Schema_change, and the
result metadata they carry.

Two ways to encode, both producing a RESULT body:
  * fast path for servers: ``encode_rows_metadata`` once per statement (cache the bytes), then
    ``encode_rows_result(metadata, row_count, rows_bytes)`` per request, where ``rows_bytes`` is
    the concatenation of rows already encoded elsewhere (each row = its columns as [bytes]);
  * struct path (``RowsResult`` etc. through ``messages.encode_response``) for tests and tools.
Column types are opaque here: a ``ColumnSpec`` holds its type as encoded [option] bytes
(the type model in ``types.py`` produces them); decoding returns them raw as well.

This module must NOT interpret CQL values or types.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Sequence

import msgspec

from ferrosa.protocol.constants import (
    DIRECTION_MASK,
    M_GLOBAL_TABLES_SPEC,
    M_HAS_MORE_PAGES,
    M_METADATA_CHANGED,
    M_NO_METADATA,
    Opcode,
    ResultKind,
)
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.primitives import (
    INT,
    NULL_VALUE,
    Reader,
    pack_short,
    string_bytes,
    write_bytes,
    write_string,
)
from ferrosa.protocol.responses import Response, read_schema_change, write_schema_change


class ColumnSpec(msgspec.Struct, frozen=True, gc=False):
    keyspace: str
    table: str
    name: str
    type_option: bytes  # the column type as an encoded [option]


class ResultMetadata(msgspec.Struct, gc=False):
    """<metadata> of Rows (also <result_metadata> of Prepared). ``columns`` is None when the
    NO_METADATA flag is set; ``column_count`` is always known."""

    column_count: int
    columns: list[ColumnSpec] | None = None
    paging_state: bytes | None = None
    new_metadata_id: bytes | None = None
    flags: int = 0


class VoidResult(Response):
    pass


class RowsResult(Response):
    metadata: ResultMetadata
    rows: list[list[bytes | None]]


class SetKeyspaceResult(Response):
    keyspace: str


class PreparedResult(Response):
    query_id: bytes
    bind_columns: list[ColumnSpec]
    pk_indexes: list[int]  # sent for v4+
    result_metadata: ResultMetadata
    result_metadata_id: bytes | None = None  # v5


class SchemaChangeResult(Response):
    change_type: str
    target: str
    keyspace: str
    name: str | None = None
    arg_types: list[str] | None = None


VOID_RESULT_BODY = INT.pack(ResultKind.VOID)
_ROWS_KIND = INT.pack(ResultKind.ROWS)
_PREPARED_KIND = INT.pack(ResultKind.PREPARED)


def _same_table(columns: Sequence[ColumnSpec]) -> bool:
    if not columns:
        return False
    first = columns[0]
    ks, table = first.keyspace, first.table
    return all(c.keyspace == ks and c.table == table for c in columns)


def _column_specs(columns: Sequence[ColumnSpec], global_spec: bool) -> bytes:
    parts: list[bytes] = []
    if global_spec:
        parts.append(string_bytes(columns[0].keyspace))
        parts.append(string_bytes(columns[0].table))
        for c in columns:
            parts.append(string_bytes(c.name))
            parts.append(c.type_option)
    else:
        for c in columns:
            parts.append(string_bytes(c.keyspace))
            parts.append(string_bytes(c.table))
            parts.append(string_bytes(c.name))
            parts.append(c.type_option)
    return b"".join(parts)


def encode_rows_metadata(columns: Sequence[ColumnSpec], *, version: int,
                         paging_state: bytes | None = None, no_metadata: bool = False,
                         global_tables_spec: bool | None = None,
                         new_metadata_id: bytes | None = None,
                         column_count: int | None = None) -> bytes:
    """<metadata> of a Rows result (or a Prepared result's <result_metadata>).

    ``global_tables_spec`` None means "when all columns share one table" (Cassandra's rule).
    ``no_metadata`` (the client asked Skip_metadata) omits the column specs but keeps the count,
    which comes from ``column_count`` or ``len(columns)``. ``new_metadata_id`` (v5) sets
    Metadata_changed and excludes ``no_metadata``.
    """
    count = len(columns) if column_count is None else column_count
    flags = 0
    parts: list[bytes] = [b"", INT.pack(count)]
    if paging_state is not None:
        flags |= M_HAS_MORE_PAGES
        parts.append(INT.pack(len(paging_state)))
        parts.append(paging_state)
    if new_metadata_id is not None:
        if version < 5:
            raise ValueError("Metadata_changed (new_metadata_id) needs protocol v5")
        if no_metadata:
            raise ValueError("Metadata_changed cannot be combined with no_metadata")
        flags |= M_METADATA_CHANGED
        parts.append(pack_short(len(new_metadata_id)))
        parts.append(new_metadata_id)
    if no_metadata:
        flags |= M_NO_METADATA
    else:
        if len(columns) != count:
            raise ValueError(f"column_count {count} disagrees with {len(columns)} column specs")
        global_spec = _same_table(columns) if global_tables_spec is None else global_tables_spec
        if global_spec:
            if not _same_table(columns):
                raise ValueError("global_tables_spec needs columns of one single table")
            flags |= M_GLOBAL_TABLES_SPEC
        parts.append(_column_specs(columns, global_spec))
    parts[0] = INT.pack(flags)
    return b"".join(parts)


# The metadata of a result without rows (non-SELECT statements in a Prepared result).
EMPTY_RESULT_METADATA = INT.pack(M_NO_METADATA) + INT.pack(0)


def encode_rows_result(metadata: bytes, row_count: int, rows: bytes | Sequence[bytes]) -> bytes:
    """A complete Rows RESULT body from cached metadata bytes and already encoded rows."""
    if isinstance(rows, (bytes, bytearray, memoryview)):
        return b"".join((_ROWS_KIND, metadata, INT.pack(row_count), rows))
    return b"".join((_ROWS_KIND, metadata, INT.pack(row_count), *rows))


# A Rows RESULT response's frame header and result kind in one pack: the first byte (0x80 |
# version), no flags, the stream, the opcode, the body length, then [int] ResultKind.ROWS.
_ROWS_RESPONSE_HEAD = struct.Struct(">BxhBii")
_RESULT_OPCODE = int(Opcode.RESULT)
_ROWS = int(ResultKind.ROWS)


def encode_rows_response(version: int, stream: int, metadata: bytes, row_count: int,
                         rows: bytes) -> bytes:
    """A whole uncompressed RESULT Rows response (a v3/v4 frame or a v5 envelope): the frame
    of encode_rows_result's body, made in one join (a point read's answer)."""
    return b"".join((_ROWS_RESPONSE_HEAD.pack(DIRECTION_MASK | version, stream, _RESULT_OPCODE,
                                              8 + len(metadata) + len(rows), _ROWS),
                     metadata, INT.pack(row_count), rows))


def encode_row(values: Sequence[bytes | None]) -> bytes:
    """One row: its column values as consecutive [bytes] (None = null)."""
    pack = INT.pack
    parts: list[bytes] = []
    for v in values:
        if v is None:
            parts.append(NULL_VALUE)
        else:
            parts.append(pack(len(v)))
            parts.append(v)
    return b"".join(parts)


def encode_prepared_metadata(bind_columns: Sequence[ColumnSpec], pk_indexes: Sequence[int], *,
                             version: int, global_tables_spec: bool | None = None) -> bytes:
    """<metadata> of a Prepared result: the bind markers, with partition-key indexes in v4+."""
    global_spec = _same_table(bind_columns) if global_tables_spec is None else global_tables_spec
    if global_spec and not _same_table(bind_columns):
        raise ValueError("global_tables_spec needs bind columns of one single table")
    parts = [INT.pack(M_GLOBAL_TABLES_SPEC if global_spec else 0), INT.pack(len(bind_columns))]
    if version >= 4:
        parts.append(INT.pack(len(pk_indexes)))
        parts.extend(pack_short(i) for i in pk_indexes)
    parts.append(_column_specs(bind_columns, global_spec))
    return b"".join(parts)


def encode_prepared_result(query_id: bytes, prepared_metadata: bytes, result_metadata: bytes, *,
                           version: int, result_metadata_id: bytes | None = None) -> bytes:
    """A Prepared RESULT body from the two encoded metadata blocks."""
    parts = [_PREPARED_KIND, pack_short(len(query_id)), query_id]
    if version >= 5:
        if result_metadata_id is None:
            raise ValueError("a v5 Prepared result needs result_metadata_id")
        parts.append(pack_short(len(result_metadata_id)))
        parts.append(result_metadata_id)
    parts.append(prepared_metadata)
    parts.append(result_metadata)
    return b"".join(parts)


def encode_set_keyspace_result(keyspace: str) -> bytes:
    return INT.pack(ResultKind.SET_KEYSPACE) + string_bytes(keyspace)


def encode_schema_change_result(change_type: str, target: str, keyspace: str,
                                name: str | None = None, arg_types: list[str] | None = None, *,
                                version: int) -> bytes:
    out = bytearray(INT.pack(ResultKind.SCHEMA_CHANGE))
    write_schema_change(out, change_type, target, keyspace, name, arg_types, version)
    return bytes(out)


# --- struct path -----------------------------------------------------------------------------


def _metadata_bytes(m: ResultMetadata, version: int) -> bytes:
    return encode_rows_metadata(m.columns or [], version=version, paging_state=m.paging_state,
                                no_metadata=m.columns is None, new_metadata_id=m.new_metadata_id,
                                column_count=m.column_count)


def _enc_void(m: VoidResult, version: int, out: bytearray) -> None:
    out += VOID_RESULT_BODY


def _enc_rows(m: RowsResult, version: int, out: bytearray) -> None:
    out += _ROWS_KIND
    out += _metadata_bytes(m.metadata, version)
    out += INT.pack(len(m.rows))
    for row in m.rows:
        if len(row) != m.metadata.column_count:
            raise ValueError(f"row has {len(row)} values for {m.metadata.column_count} columns")
        for value in row:
            write_bytes(out, value)


def _enc_set_keyspace(m: SetKeyspaceResult, version: int, out: bytearray) -> None:
    out += INT.pack(ResultKind.SET_KEYSPACE)
    write_string(out, m.keyspace)


def _enc_prepared(m: PreparedResult, version: int, out: bytearray) -> None:
    out += encode_prepared_result(
        m.query_id, encode_prepared_metadata(m.bind_columns, m.pk_indexes, version=version),
        _metadata_bytes(m.result_metadata, version), version=version,
        result_metadata_id=m.result_metadata_id)


def _enc_schema_change(m: SchemaChangeResult, version: int, out: bytearray) -> None:
    out += INT.pack(ResultKind.SCHEMA_CHANGE)
    write_schema_change(out, m.change_type, m.target, m.keyspace, m.name, m.arg_types, version)


ENCODERS: dict[type, Callable[[Any, int, bytearray], None]] = {
    VoidResult: _enc_void,
    RowsResult: _enc_rows,
    SetKeyspaceResult: _enc_set_keyspace,
    PreparedResult: _enc_prepared,
    SchemaChangeResult: _enc_schema_change,
}


# --- decoders (client side) -----------------------------------------------------------------


def _read_count(r: Reader, what: str) -> int:
    count = r.read_int()
    if count < 0:
        raise ProtocolError(f"Negative {what} {count}")
    return count


def _read_column_specs(r: Reader, count: int, global_spec: bool) -> list[ColumnSpec]:
    columns = []
    if global_spec:
        ks, table = r.read_string(), r.read_string()
        for _ in range(count):
            columns.append(ColumnSpec(ks, table, r.read_string(), r.read_option()))
    else:
        for _ in range(count):
            columns.append(ColumnSpec(r.read_string(), r.read_string(), r.read_string(), r.read_option()))
    return columns


def read_rows_metadata(r: Reader, version: int) -> ResultMetadata:
    flags = r.read_int()
    count = _read_count(r, "column count")
    paging_state = r.read_bytes() if flags & M_HAS_MORE_PAGES else None
    new_id = r.read_short_bytes() if version >= 5 and flags & M_METADATA_CHANGED else None
    columns = None
    if not flags & M_NO_METADATA:
        columns = _read_column_specs(r, count, bool(flags & M_GLOBAL_TABLES_SPEC))
    return ResultMetadata(count, columns, paging_state, new_id, flags)


def _read_rows(r: Reader, row_count: int, column_count: int) -> list[list[bytes | None]]:
    if row_count and not column_count:
        raise ProtocolError(f"Rows result has {row_count} rows but no columns")
    read = r.read_bytes
    return [[read() for _ in range(column_count)] for _ in range(row_count)]


def _dec_rows(r: Reader, version: int) -> RowsResult:
    metadata = read_rows_metadata(r, version)
    rows = _read_rows(r, _read_count(r, "row count"), metadata.column_count)
    return RowsResult(metadata, rows)


def _dec_prepared(r: Reader, version: int) -> PreparedResult:
    query_id = r.read_short_bytes()
    metadata_id = r.read_short_bytes() if version >= 5 else None
    flags = r.read_int()
    count = _read_count(r, "bind marker count")
    pk_indexes = []
    if version >= 4:
        pk_indexes = [r.read_short() for _ in range(_read_count(r, "partition key count"))]
    bind_columns = _read_column_specs(r, count, bool(flags & M_GLOBAL_TABLES_SPEC))
    return PreparedResult(query_id, bind_columns, pk_indexes, read_rows_metadata(r, version), metadata_id)


DECODERS: dict[int, Callable[[Reader, int], Response]] = {
    ResultKind.VOID: lambda r, v: VoidResult(),
    ResultKind.ROWS: _dec_rows,
    ResultKind.SET_KEYSPACE: lambda r, v: SetKeyspaceResult(r.read_string()),
    ResultKind.PREPARED: _dec_prepared,
    ResultKind.SCHEMA_CHANGE: lambda r, v: SchemaChangeResult(*read_schema_change(r)),
}


def decode_result(r: Reader, version: int) -> Response:
    kind = r.read_int()
    try:
        decoder = DECODERS[kind]
    except KeyError:
        raise ProtocolError(f"Unknown RESULT kind {kind}") from None
    return decoder(r, version)

