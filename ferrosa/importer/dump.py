"""``ferrosa-import dump``: SSTable partitions as JSON lines, in the shape of Cassandra's sstabledump.

One line per partition::

    {"partition": {"key": [...], "position": N, ["deletion_info": {...}]},
     "rows": [{"type": "static_block" | "row", "position": N, "clustering": [...],
               "liveness_info": {"tstamp": ..., ["ttl", "expires_at", "expired"]},
               "deletion_info": {...}, "cells": [{"name", ["path"], "value", ["tstamp"],
               ["ttl", "expires_at", "expired"], ["deletion_info"]}]},
              {"type": "range_tombstone_bound" | "range_tombstone_boundary", "start"/"end": {...}}]}

Values are rendered with their CQL types (text as strings, numbers as numbers, blobs as 0x..., uuids,
inets, decimals, durations, dates and times as their CQL literals, collections/tuples as arrays, maps
and UDTs as objects). Timestamps are ISO-8601 UTC with microseconds, or raw integers with
``raw_timestamps`` (sstabledump -t). A value whose bytes are invalid for its type is rendered as
``{"invalid": "0x..."}`` rather than stopping the dump.

This module must NOT decode the SSTable format (reader.py does); it only renders model objects.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from typing import IO, Any

import msgspec

from ferrosa.importer.model import BoundKind, Cell, DeletionTime, Partition, RangeTombstoneMarker, Row
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.types import ColumnType, counter_context_total
from ferrosa.protocol.types import (
    COUNTER, DATE, TIME, TIMESTAMP, CqlType, ListType, MapType, NativeType, SetType, TupleType, UserType,
    VectorType,
)
from ferrosa.protocol.values import EMPTY, InvalidValue, deserialize, to_cql_literal

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_LITERAL_TYPES = (TIMESTAMP, DATE, TIME)
_encoder = msgspec.json.Encoder()


# ------------------------------------------------------------------------------------- values

def _strip_quotes(literal: str) -> str:
    if len(literal) >= 2 and literal[0] == literal[-1] == "'":
        return literal[1:-1].replace("''", "'")
    return literal


def _python_to_json(t: CqlType, value: Any) -> Any:
    if value is None:
        return None
    if value is EMPTY:
        return ""
    if isinstance(t, NativeType):
        if t in _LITERAL_TYPES or not isinstance(value, (str, bool, int, float, bytes)):
            return _strip_quotes(to_cql_literal(t, value))
        if isinstance(value, float) and not math.isfinite(value):
            return to_cql_literal(t, value)
        return "0x" + value.hex() if isinstance(value, bytes) else value
    if isinstance(t, (ListType, SetType)):
        return [_python_to_json(t.element, v) for v in value]
    if isinstance(t, VectorType):
        return [_python_to_json(t.element, v) for v in value]
    if isinstance(t, MapType):
        items = value.items() if isinstance(value, dict) else value
        rendered = [(_python_to_json(t.key, k), _python_to_json(t.value, v)) for k, v in items]
        if all(isinstance(k, str) for k, _ in rendered):
            return dict(rendered)
        return [[k, v] for k, v in rendered]
    if isinstance(t, TupleType):
        return [_python_to_json(e, v) for e, v in zip(t.elements, value)]
    if isinstance(t, UserType):
        types = dict(zip(t.field_names, t.field_types))
        return {name: _python_to_json(types[name], v) for name, v in value.items()}
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


def render_value(t: CqlType, data: bytes) -> Any:
    """A serialized value of type ``t`` as a JSON-ready object."""
    if t is COUNTER:
        try:
            return counter_context_total(data)
        except ValueError:
            return {"invalid": "0x" + data.hex()}
    try:
        return _python_to_json(t, deserialize(t, data))
    except (InvalidValue, ValueError, OverflowError):
        return {"invalid": "0x" + data.hex()}


# ------------------------------------------------------------------------------------- dumper

class Dumper:
    """Renders one SSTable's partitions (its types come from the SSTable's own header)."""

    def __init__(self, reader: SSTableReader, *, raw_timestamps: bool = False):
        self.reader = reader
        dec = reader.decoder
        self.key_type = dec.key_type
        self.clustering = dec.clustering_types
        self.columns: dict[str, ColumnType] = {}
        specs = dec.regulars + dec.statics
        for (name, _fixed, _complex), t in zip(specs, dec.regular_types + dec.static_types):
            self.columns[name] = t
        self.ts: Callable[[int], Any] = (lambda v: v) if raw_timestamps else _micros_to_iso
        self.secs: Callable[[int], Any] = (lambda v: v) if raw_timestamps else _seconds_to_iso

    def partition(self, p: Partition) -> dict:
        keys = self.key_type.split(p.key, self.reader.data_path, p.position)
        head: dict[str, Any] = {
            "key": [render_value(t.cql, k) for t, k in zip(self.key_type.components, keys)],
            "position": p.position,
        }
        if p.deletion is not None:
            head["deletion_info"] = self._deletion(p.deletion)
        rows = []
        if p.static_row is not None:
            rows.append(self.row(p.static_row))
        for u in p.unfiltereds:
            rows.append(self.row(u) if type(u) is Row else self.marker(u))  # type: ignore[arg-type]
        return {"partition": head, "rows": rows}

    def _deletion(self, d: DeletionTime) -> dict:
        return {"marked_deleted": self.ts(d.marked_for_delete_at),
                "local_delete_time": self.secs(d.local_deletion_time)}

    def _clustering(self, values: tuple) -> list:
        return [None if v is None else render_value(t.cql, v) for t, v in zip(self.clustering, values)]

    def row(self, r: Row) -> dict:
        out: dict[str, Any] = {"type": "static_block" if r.static else "row", "position": r.position}
        if r.clustering:
            out["clustering"] = self._clustering(r.clustering)
        if r.timestamp is not None:
            live: dict[str, Any] = {"tstamp": self.ts(r.timestamp)}
            if r.ttl:
                live.update(ttl=r.ttl, expires_at=self.secs(r.local_expiration_time or 0))
            out["liveness_info"] = live
        if r.deletion is not None:
            out["deletion_info"] = self._deletion(r.deletion)
            if r.shadowable:
                out["deletion_info"]["shadowable"] = True
        if r.complex_deletions:
            out["complex_deletions"] = [{"name": cd.column, "deletion_info": self._deletion(cd.deletion)}
                                        for cd in r.complex_deletions]
        out["cells"] = [self.cell(c, r.timestamp) for c in r.cells]
        return out

    def cell(self, c: Cell, row_timestamp: int | None) -> dict:
        t = self.columns[c.column]
        out: dict[str, Any] = {"name": c.column}
        value_type = t.cql
        if c.path is not None:
            out["path"], value_type = self._path(t, c.path)
        if c.value is None:
            out["deletion_info"] = {"local_delete_time": self.secs(c.local_deletion_time or 0)}
        elif not (isinstance(t.cql, SetType) and c.path is not None):
            out["value"] = render_value(value_type, c.value)
        if c.timestamp != row_timestamp:
            out["tstamp"] = self.ts(c.timestamp)
        if c.ttl:
            out.update(ttl=c.ttl, expires_at=self.secs(c.local_deletion_time or 0))
        return out

    def _path(self, t: ColumnType, path: bytes) -> tuple[list, CqlType]:
        if isinstance(t.cql, UserType):
            index = int.from_bytes(path, "big", signed=True) if len(path) == 2 else -1
            if 0 <= index < len(t.cql.field_names):
                return [t.cql.field_names[index]], t.cql.field_types[index]
            return [{"invalid": "0x" + path.hex()}], t.cql
        return [render_value(t.path_type, path)], t.cell_type  # type: ignore[arg-type]

    def marker(self, m: RangeTombstoneMarker) -> dict:
        bound = BoundKind(m.kind)
        inclusive_end = bound in (BoundKind.INCL_END_BOUND, BoundKind.INCL_END_EXCL_START_BOUNDARY)
        inclusive_start = bound in (BoundKind.INCL_START_BOUND, BoundKind.EXCL_END_INCL_START_BOUNDARY)
        kind = "range_tombstone_boundary" if bound.is_boundary else "range_tombstone_bound"
        out: dict[str, Any] = {"type": kind, "position": m.position}
        clustering = self._clustering(m.clustering)
        if m.close_deletion is not None:
            out["end"] = {"type": "inclusive" if inclusive_end else "exclusive", "clustering": clustering,
                          "deletion_info": self._deletion(m.close_deletion)}
        if m.open_deletion is not None:
            out["start"] = {"type": "inclusive" if inclusive_start else "exclusive", "clustering": clustering,
                            "deletion_info": self._deletion(m.open_deletion)}
        return out

    def dump(self, out: IO[bytes], *, via_index: bool = False) -> int:
        """Write every partition as one JSON line; returns the number of partitions."""
        count = 0
        source = self.reader.partitions_via_index() if via_index else self.reader.partitions()
        for p in source:
            out.write(_encoder.encode(self.partition(p)) + b"\n")
            count += 1
        return count


def _micros_to_iso(us: int) -> Any:
    try:
        return (_EPOCH + datetime.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        return us


def _seconds_to_iso(s: int) -> Any:
    try:
        return (_EPOCH + datetime.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return s
