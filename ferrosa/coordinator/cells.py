"""Column writes of modification statements: whole values, collection and UDT element operations,
counter increments, each compiled once into a `CellFn` that yields the CellWrites of one execution.

What it is: Cassandra's Operation / Lists / Sets / Maps / UserTypes setters, adders, discarders,
reduced to shard CellWrites (ferrosa/ipc/messages.py): a non-frozen collection is one cell per
element, addressed by a byte-comparable path (map key, set element, list timeuuid, UDT field
index); writing a whole collection deletes what was there before (CELL_REPLACE, Cassandra's
complex deletion at t-1). Operations that need the current value (list index set/delete, list
value removal, counter increments) travel as operations the owning shard applies atomically.

What it must not do: talk to shards, or accept an operation on the wrong kind of column: each
refusal is Cassandra's InvalidRequest with its message.
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import time
from typing import Callable

from ferrosa.coordinator.tableinfo import ColumnInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, compile_term
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema.bytecomparable import comparable_key
from ferrosa.schema.errors import InvalidRequest

CellFn = Callable[[list], list[m.CellWrite]]

_I32 = struct.Struct(">i")
_FIELD = struct.Struct(">H")
_BIGINT = struct.Struct(">q")
# Cassandra's Lists.PrecisionTime reference for prepends: 2010-01-01, counting backwards from it so
# prepended elements sort before every appended one (appends use the current time).
PREPEND_REFERENCE_MILLIS = 1262304000000
# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000
_TIMEUUID_KEY = comparable_key(T.TIMEUUID)


class _TimeUuids:
    """Strictly increasing (append) and decreasing (prepend) version-1 UUIDs for list elements."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self._prepend = PREPEND_REFERENCE_MILLIS * 10_000
        # Random clock sequence and node (multicast bit set, as RFC 4122 asks for random nodes).
        self._tail = bytes([0x80 | (os.urandom(1)[0] & 0x3F)]) + os.urandom(1) + bytes(
            [os.urandom(1)[0] | 0x01]) + os.urandom(5)

    def _make(self, ticks: int) -> bytes:
        low = ticks & 0xFFFFFFFF
        mid = (ticks >> 32) & 0xFFFF
        high = ((ticks >> 48) & 0x0FFF) | 0x1000
        return struct.pack(">IHH", low, mid, high) + self._tail

    def next_append(self) -> bytes:
        with self._lock:
            ticks = time.time_ns() // 100 + _UUID_EPOCH_OFFSET
            self._last = ticks = max(ticks, self._last + 1)
        return self._make(ticks)

    def next_prepend(self) -> bytes:
        with self._lock:
            self._prepend -= 1
            ticks = self._prepend + _UUID_EPOCH_OFFSET
        return self._make(ticks)


TIMEUUIDS = _TimeUuids()


def _elements(t: T.CqlType, value: bytes) -> list[bytes]:
    kind = t.kind
    items = V.split_collection(value, kind, 2 if kind == "map" else 1)
    return [bytes(item) for item in items]


def _list_cells(name: str, items: list[bytes], prepend: bool = False) -> list[m.CellWrite]:
    out = []
    # Prepended elements keep their order: the first gets the smallest (earliest) uuid.
    uuids = [TIMEUUIDS.next_prepend() for _ in items][::-1] if prepend else [
        TIMEUUIDS.next_append() for _ in items]
    for uuid, item in zip(uuids, items):
        out.append(m.CellWrite(name, item, m.CELL_SET, _TIMEUUID_KEY(uuid), uuid))
    return out


def _element_cells(column: ColumnInfo, value: bytes) -> list[m.CellWrite]:
    """The element cells of a whole non-frozen collection / UDT value."""
    t, name = column.type, column.name
    if isinstance(t, T.ListType):
        return _list_cells(name, _elements(t, value))
    if isinstance(t, T.SetType):
        key = comparable_key(t.element)
        return [m.CellWrite(name, b"", m.CELL_SET, key(e), e) for e in _elements(t, value)]
    if isinstance(t, T.MapType):
        key = comparable_key(t.key)
        items = _elements(t, value)
        return [m.CellWrite(name, v, m.CELL_SET, key(k), k) for k, v in zip(items[::2],
                                                                            items[1::2])]
    fields = _split_udt(value, len(t.field_types))
    return [m.CellWrite(name, f, m.CELL_SET, _FIELD.pack(i), _FIELD.pack(i))
            for i, f in enumerate(fields) if f is not None]


def _split_udt(value: bytes, count: int) -> list[bytes | None]:
    out: list[bytes | None] = []
    pos = 0
    while pos < len(value) and len(out) < count:
        (n,) = _I32.unpack_from(value, pos)
        pos += 4
        if n < 0:
            out.append(None)
        else:
            out.append(bytes(value[pos:pos + n]))
            pos += n
    return out + [None] * (count - len(out))


def whole_value(column: ColumnInfo, fn) -> CellFn:
    """``c = value`` (INSERT and UPDATE SET)."""
    name = column.name
    if not column.type.is_multi_cell:
        def simple(values: list) -> list[m.CellWrite]:
            value = fn(values)
            return [] if value is UNSET else [m.CellWrite(name, value)]
        simple.simple_value = fn  # lets CompiledWrite build the CellWrites itself (hot path)
        return simple

    def multi(values: list) -> list[m.CellWrite]:
        value = fn(values)
        if value is UNSET:
            return []
        if value is None:
            return [m.CellWrite(name, None, m.CELL_DELETE)]
        return [m.CellWrite(name, None, m.CELL_REPLACE)] + _element_cells(column, value)
    return multi


def _describe(op: ast.Operation) -> str:
    names = {ast.SetElement: "{c}[?] = ?", ast.SetField: "{c}.{f} = ?", ast.Addition: "{c} = {c} + ?",
             ast.Subtraction: "{c} = {c} - ?", ast.Prepend: "{c} = ? + {c}"}
    return names[type(op)].format(c=op.column, f=getattr(op, "field", ""))


class OperationCompiler:
    """Compiles UPDATE SET operations and DELETE items of one statement (shares its markers)."""

    def __init__(self, keyspace: str, table: str, specs: dict[int, MarkerSpec]) -> None:
        self.ks, self.tb, self.specs = keyspace, table, specs

    def term(self, term: ast.Term, t: T.CqlType, receiver: str):
        return compile_term(term, t, receiver, self.ks, self.tb, self.specs)

    # -- UPDATE ---------------------------------------------------------------------------------
    def update(self, column: ColumnInfo, op: ast.Operation) -> CellFn:
        t = column.type
        if isinstance(op, ast.SetValue):
            if t is T.COUNTER:
                raise InvalidRequest(f"Cannot set the value of counter column {column.name} "
                                     f"(counters can only be incremented/decremented, not set)")
            return whole_value(column, self.term(op.value, t, column.name))
        handler = {ast.SetElement: self._set_element, ast.SetField: self._set_field,
                   ast.Addition: self._addition, ast.Subtraction: self._subtraction,
                   ast.Prepend: self._prepend}[type(op)]
        return handler(column, op)

    def _need_multi_cell(self, column: ColumnInfo, op: ast.Operation, kinds: tuple[str, ...],
                         what: str) -> T.CqlType:
        t = column.type
        if t.kind not in kinds:
            raise InvalidRequest(f"Invalid operation ({_describe(op)}) for non {what} column "
                                 f"{column.name}")
        if not t.is_multi_cell:
            frozen = "UDT" if t.kind == "udt" else "collection"
            raise InvalidRequest(f"Invalid operation ({_describe(op)}) for frozen {frozen} column "
                                 f"{column.name}")
        return t

    def _set_element(self, column: ColumnInfo, op: ast.SetElement) -> CellFn:
        t = self._need_multi_cell(column, op, ("list", "map", "set"), "collection")
        name = column.name
        if isinstance(t, T.SetType):
            raise InvalidRequest(f"Invalid operation ({_describe(op)}) for set column {name}")
        if isinstance(t, T.ListType):
            index_fn = self.term(op.key, T.INT, f"idx({name})")
            value_fn = self.term(op.value, t.element, f"value({name})")

            def set_index(values: list) -> list[m.CellWrite]:
                index = index_fn(values)
                if index is None or index is UNSET:
                    raise InvalidRequest("Invalid null value for list index")
                value = value_fn(values)
                if value is UNSET:
                    return []
                return [m.CellWrite(name, value, m.CELL_LIST_SET_INDEX, None, bytes(index))]
            return set_index
        key_fn = self.term(op.key, t.key, f"key({name})")
        value_fn = self.term(op.value, t.value, f"value({name})")
        encode = comparable_key(t.key)

        def set_key(values: list) -> list[m.CellWrite]:
            key = key_fn(values)
            if key is None:
                raise InvalidRequest("Invalid null map key")
            value = value_fn(values)
            if key is UNSET or value is UNSET:
                return []
            return [m.CellWrite(name, value, m.CELL_SET, encode(key), key)]
        return set_key

    def _field_index(self, column: ColumnInfo, field: str) -> int:
        t = column.type
        if field not in t.field_names:
            raise InvalidRequest(f"UDT column {column.name} does not have a field named {field}")
        return list(t.field_names).index(field)

    def _set_field(self, column: ColumnInfo, op: ast.SetField) -> CellFn:
        t = self._need_multi_cell(column, op, ("udt",), "UDT")
        index = self._field_index(column, op.field)
        value_fn = self.term(op.value, t.field_types[index], f"{column.name}.{op.field}")
        name, path = column.name, _FIELD.pack(index)

        def set_field(values: list) -> list[m.CellWrite]:
            value = value_fn(values)
            return [] if value is UNSET else [m.CellWrite(name, value, m.CELL_SET, path, path)]
        return set_field

    def _counter(self, column: ColumnInfo, term: ast.Term, negate: bool) -> CellFn:
        if isinstance(term, ast.Null):
            raise InvalidRequest("Invalid null value for counter increment/decrement")
        fn = self.term(term, T.BIGINT, column.name)
        name = column.name

        def add(values: list) -> list[m.CellWrite]:
            value = fn(values)
            if value is UNSET:
                return []
            if value is None:
                raise InvalidRequest("Invalid null value for counter increment")
            if negate:
                delta = _BIGINT.unpack(value)[0]
                if delta == -(1 << 63):
                    raise InvalidRequest("The negation of -9223372036854775808 overflows supported "
                                         "counter precision (signed 8 bytes integer)")
                value = _BIGINT.pack(-delta)
            return [m.CellWrite(name, value, m.CELL_COUNTER_ADD)]
        return add

    def _addition(self, column: ColumnInfo, op: ast.Addition) -> CellFn:
        if column.type is T.COUNTER:
            return self._counter(column, op.value, False)
        if column.type.kind not in ("list", "set", "map"):
            raise InvalidRequest(f"Invalid operation ({_describe(op)}) for non counter column "
                                 f"{column.name}")
        t = self._need_multi_cell(column, op, ("list", "set", "map"), "collection")
        fn = self.term(op.value, t, column.name)

        def add(values: list) -> list[m.CellWrite]:
            value = fn(values)
            if value is UNSET or value is None:
                return []
            return _element_cells(column, value)
        return add

    def _subtraction(self, column: ColumnInfo, op: ast.Subtraction) -> CellFn:
        if column.type is T.COUNTER:
            return self._counter(column, op.value, True)
        t = self._need_multi_cell(column, op, ("list", "set", "map"), "collection")
        name = column.name
        # Map subtraction takes a set of keys (Cassandra: `m = m - {'k1', 'k2'}`).
        operand = T.SetType(t.key) if isinstance(t, T.MapType) else t
        fn = self.term(op.value, operand, name)
        encode = None if isinstance(t, T.ListType) else comparable_key(
            t.key if isinstance(t, T.MapType) else t.element)

        def discard(values: list) -> list[m.CellWrite]:
            value = fn(values)
            if value is UNSET or value is None:
                return []
            items = _elements(operand, value)
            if encode is None:
                return [m.CellWrite(name, item, m.CELL_LIST_REMOVE) for item in dict.fromkeys(items)]
            return [m.CellWrite(name, None, m.CELL_SET, encode(item), item) for item in items]
        return discard

    def _prepend(self, column: ColumnInfo, op: ast.Prepend) -> CellFn:
        t = self._need_multi_cell(column, op, ("list",), "list")
        fn = self.term(op.value, t, column.name)
        name = column.name

        def prepend(values: list) -> list[m.CellWrite]:
            value = fn(values)
            if value is UNSET or value is None:
                return []
            return _list_cells(name, _elements(t, value), prepend=True)
        return prepend

    # -- DELETE ---------------------------------------------------------------------------------
    def delete(self, column: ColumnInfo, item: ast.Deletion) -> CellFn:
        name, t = column.name, column.type
        if isinstance(item, ast.ColumnDeletion):
            op = m.CELL_DELETE if t.is_multi_cell else m.CELL_SET
            writes = [m.CellWrite(name, None, op)]
            return lambda values: writes
        if isinstance(item, ast.FieldDeletion):
            if t.kind != "udt":
                raise InvalidRequest(f"Invalid deletion operation for non-UDT column {name}")
            if not t.is_multi_cell:
                raise InvalidRequest(f"Frozen UDT column {name} does not support field deletions")
            path = _FIELD.pack(self._field_index(column, item.field))
            writes = [m.CellWrite(name, None, m.CELL_SET, path, path)]
            return lambda values: writes
        return self._delete_element(column, item)

    def _delete_element(self, column: ColumnInfo, item: ast.ElementDeletion) -> CellFn:
        name, t = column.name, column.type
        if t.kind not in ("list", "set", "map"):
            raise InvalidRequest(f"Invalid deletion operation for non collection column {name}")
        if not t.is_multi_cell:
            raise InvalidRequest(f"Invalid deletion operation for frozen collection column {name}")
        if isinstance(t, T.ListType):
            index_fn = self.term(item.element, T.INT, f"idx({name})")

            def by_index(values: list) -> list[m.CellWrite]:
                index = index_fn(values)
                if index is None:
                    raise InvalidRequest("Invalid null value for list index")
                if index is UNSET:
                    return []
                return [m.CellWrite(name, None, m.CELL_LIST_SET_INDEX, None, bytes(index))]
            return by_index
        key_type = t.key if isinstance(t, T.MapType) else t.element
        key_fn = self.term(item.element, key_type, f"key({name})")
        encode = comparable_key(key_type)

        def by_key(values: list) -> list[m.CellWrite]:
            key = key_fn(values)
            if key is None:
                raise InvalidRequest(f"Invalid null {'map key' if t.kind == 'map' else 'set value'}")
            if key is UNSET:
                return []
            return [m.CellWrite(name, None, m.CELL_SET, encode(key), key)]
        return by_key


def chain(fns: list[CellFn]) -> Callable[[list], list[m.CellWrite]]:
    """All the writes of several columns' CellFns, in column order."""
    return lambda values: list(itertools.chain.from_iterable(fn(values) for fn in fns))
