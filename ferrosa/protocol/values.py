"""CQL value codecs: validate, serialize and deserialize values in Cassandra's wire format.

Values are stored and sent as their CQL serialization; this module converts between those bytes and
Python objects, and checks client-bound bytes the way Cassandra's TypeSerializer.validate does (same
acceptance, same messages).

Python representations (chosen so that deserialization loses nothing):

=====================  =========================================================================
ascii, text            str                      blob, custom types      bytes
tinyint..bigint,       int                      varint                  int
counter                                         decimal                 decimal.Decimal (scale kept)
float, double          float                    boolean                 bool
timestamp              int, ms since epoch      date                    int, days since epoch
time                   int, ns since midnight   duration                Duration(months, days, ns)
uuid, timeuuid         uuid.UUID                inet                    ipaddress.IPv4/IPv6Address
list, vector           list                     set                     list, in stored order
map                    dict; a list of (key, value) pairs when keys are collections, UDTs, vectors
                       or floating point (unhashable, or 0.0 == -0.0 would merge distinct keys)
tuple                  tuple of the components present on the wire (None for a null component)
user type              dict field -> value for the fields present on the wire (None for null)
=====================  =========================================================================

Many types accept a zero-length "empty value" (distinct from null); it deserializes to ``EMPTY``.
Null itself is a protocol matter ([bytes] length -1) and never reaches ``serialize``/``deserialize``
except as ``None`` inside tuples and user types. ``serialize`` also accepts datetime/date/time objects,
strings for uuid/inet, and any iterable for collections; sets and maps are sorted into Cassandra's
comparator order with duplicates removed, as Cassandra does when it receives them (that order comes
from schema.bytecomparable, imported lazily because schema builds on protocol).

Native-type codecs live in scalar_values.py; this module adds collections, tuples, user types and
vectors, and is the public entry point (it re-exports EMPTY, Duration, InvalidValue and the vint helpers).

This module must NOT know about frames, tables or storage, and must not do I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any, Callable

from ferrosa.protocol.scalar_values import (  # re-exported: this module is the public entry point
    EMPTY, NATIVE_CODECS, Bytes, Codec, Duration, InvalidValue, bad_value, custom_codec,
    encode_uvint, encode_vint, int_text, parse_time_of_day, read_uvint, read_vint, varint_bytes,
)
from ferrosa.protocol.types import (
    BIGINT, BLOB, BOOLEAN, COUNTER, DOUBLE, FLOAT, INT, TIMESTAMP, UUID, CqlType, CustomType, ListType,
    MapType, NativeType, SetType, TupleType, UserType, VectorType, cql_name, quote_identifier,
)

__all__ = [
    "EMPTY", "Duration", "InvalidValue", "deserialize", "encode_uvint", "encode_vint", "fixed_length",
    "int_text", "parse_time_of_day", "read_uvint", "read_vint", "serialize", "split_collection",
    "split_fields", "to_cql_literal", "validate", "validator", "varint_bytes",
]

_I32 = struct.Struct(">i")


_CODECS: dict[CqlType, Codec] = {}
_VALIDATORS: dict[CqlType, Callable[[Bytes], None]] = {}


def _codec(t: CqlType) -> Codec:
    codec = _CODECS.get(t)
    if codec is None:
        codec = _CODECS[t] = _BUILDERS[type(t)](t)
        _VALIDATORS[t] = codec.validate
    return codec


def validate(t: CqlType, data: Bytes) -> None:
    """Check a bound value as Cassandra does, without building Python objects where avoidable."""
    check = _VALIDATORS.get(t)
    if check is None:
        check = _codec(t).validate
    check(data)


def validator(t: CqlType) -> Callable[[Bytes], None] | None:
    """The check `validate` runs for ``t``, or None when every byte string is a valid value (a
    blob): callers that validate per request can then skip the call altogether."""
    if t is BLOB:
        return None
    check = _VALIDATORS.get(t)
    return check if check is not None else _codec(t).validate


def serialize(t: CqlType, value: Any) -> bytes:
    """Python value -> wire bytes. ``None`` is rejected: null is a [bytes] length of -1."""
    if value is None:
        raise InvalidValue(f"Cannot serialize null as a {cql_name(t)} value; send a null [bytes]")
    return _codec(t).serialize(value)


def deserialize(t: CqlType, data: Bytes) -> Any:
    """Wire bytes -> Python value (see the module docstring); raises InvalidValue, nothing else."""
    return _codec(t).deserialize(data)


def to_cql_literal(t: CqlType, value: Any) -> str:
    """Render a Python value as a CQL literal of type ``t`` (``None`` gives ``null``)."""
    if value is None:
        return "null"
    return _codec(t).literal(value)


# ------------------------------------------------------------------------------------ collections

def split_collection(data: Bytes, what: str, width: int) -> list[memoryview]:
    """The element slices of a list/set (width 1) or map (width 2), checked as Cassandra does."""
    n = len(data)
    if n < 4:
        raise InvalidValue(f"Not enough bytes to read a {what}")
    count = _I32.unpack_from(data, 0)[0]
    if count < 0:
        raise InvalidValue(f"The data cannot be deserialized as a {what}")
    view = memoryview(data)
    unpack = _I32.unpack_from
    out = []
    pos = 4
    try:
        for _ in range(count * width):  # each element eats >= 4 bytes, so a huge count fails fast
            size = unpack(view, pos)[0]
            pos += 4
            if size < 0:
                raise InvalidValue("Null value read when not allowed")
            end = pos + size
            if end > n:
                raise InvalidValue(f"Not enough bytes to read a {what}")
            out.append(view[pos:end])
            pos = end
    except struct.error:
        raise InvalidValue(f"Not enough bytes to read a {what}") from None
    if pos != n:
        raise InvalidValue(f"Unexpected extraneous bytes after {what} value")
    return out


def _pack_elements(items: list[bytes], count: int) -> bytes:
    parts = [_I32.pack(count)]
    pack = _I32.pack
    for item in items:
        parts.append(pack(len(item)))
        parts.append(item)
    return b"".join(parts)


def _elements(t: CqlType, value: Any) -> Iterable:
    if isinstance(value, (str, bytes, bytearray, memoryview, Mapping)) or not isinstance(value, Iterable):
        raise bad_value(t, value)
    return value


def _non_null(codec: Codec) -> Callable[[Any], bytes]:
    ser = codec.serialize

    def serialize_element(value: Any) -> bytes:
        if value is None:
            raise InvalidValue("null is not supported inside collections")
        return ser(value)
    return serialize_element


def _sorted_unique(items: list[tuple[bytes, Any]], element: CqlType, keep_last: bool) -> list:
    """Sort (serialized key, payload) pairs in Cassandra's comparator order, dropping equal keys."""
    from ferrosa.schema.bytecomparable import comparable_key  # schema builds on protocol

    key = comparable_key(element)
    decorated = sorted(((key(k), i, k, p) for i, (k, p) in enumerate(items)), key=lambda x: x[:2])
    out: list = []
    last = None
    for ck, _, k, p in decorated:
        if ck == last:
            if keep_last:
                out[-1] = (k, p)
            continue
        last = ck
        out.append((k, p))
    return out


def _list_or_set_codec(t: ListType | SetType) -> Codec:
    elem = _codec(t.element)
    what = t.kind
    elem_validate, elem_deser, elem_ser = elem.validate, elem.deserialize, _non_null(elem)

    def check(data: Bytes) -> None:
        for item in split_collection(data, what, 1):
            elem_validate(item)

    def deser(data: Bytes) -> list:
        return [elem_deser(item) for item in split_collection(data, what, 1)]

    def ser(value: Any) -> bytes:
        items = [elem_ser(v) for v in _elements(t, value)]
        if what == "set":
            items = [k for k, _ in _sorted_unique([(i, None) for i in items], t.element, False)]
        return _pack_elements(items, len(items))

    open_, close = ("[", "]") if what == "list" else ("{", "}")

    def lit(value: Any) -> str:
        return open_ + ", ".join(elem.literal(v) for v in value) + close
    return Codec(check, ser, deser, lit)


def _dict_safe_keys(t: CqlType) -> bool:
    """Whether a dict can hold map keys of type ``t`` losslessly: they must be hashable, and Python
    equality must not merge keys Cassandra keeps apart (0.0 == -0.0 in Python, not in Cassandra)."""
    if isinstance(t, (NativeType, CustomType)):
        return t not in (FLOAT, DOUBLE)
    return isinstance(t, TupleType) and all(map(_dict_safe_keys, t.elements))


def _map_codec(t: MapType) -> Codec:
    kc, vc = _codec(t.key), _codec(t.value)
    kser, vser = _non_null(kc), _non_null(vc)
    as_dict = _dict_safe_keys(t.key)

    def check(data: Bytes) -> None:
        kv, vv = kc.validate, vc.validate
        items = split_collection(data, "map", 2)
        for i in range(0, len(items), 2):
            kv(items[i])
            vv(items[i + 1])

    def deser(data: Bytes) -> Any:
        items = split_collection(data, "map", 2)
        kd, vd = kc.deserialize, vc.deserialize
        pairs = [(kd(items[i]), vd(items[i + 1])) for i in range(0, len(items), 2)]
        return dict(pairs) if as_dict else pairs

    def ser(value: Any) -> bytes:
        pairs = value.items() if isinstance(value, Mapping) else _elements(t, value)
        try:
            items = [(kser(k), vser(v)) for k, v in pairs]
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidValue):
                raise
            raise bad_value(t, value) from exc
        items = _sorted_unique(items, t.key, True)
        flat = [x for pair in items for x in pair]
        return _pack_elements(flat, len(items))

    def lit(value: Any) -> str:
        pairs = value.items() if isinstance(value, Mapping) else value
        return "{" + ", ".join(f"{kc.literal(k)}: {vc.literal(v)}" for k, v in pairs) + "}"
    return Codec(check, ser, deser, lit)


# ---------------------------------------------------------------------------- tuples and user types

def split_fields(data: Bytes, count: int, names: tuple[str, ...] | None) -> list[memoryview | None]:
    """TupleSerializer/UserTypeSerializer.validate: fewer fields than declared is fine, more is not."""
    view = memoryview(data)
    n = len(data)
    out: list[memoryview | None] = []
    pos = 0
    for i in range(count):
        if pos == n:
            return out
        what = f"{i}th component" if names is None else f"{i}th field {names[i]}"
        if n - pos < 4:
            raise InvalidValue(f"Not enough bytes to read size of {what}")
        size = _I32.unpack_from(view, pos)[0]
        pos += 4
        if size < 0:
            out.append(None)
            continue
        if n - pos < size:
            raise InvalidValue(f"Not enough bytes to read {what}")
        out.append(view[pos:pos + size])
        pos += size
    if pos != n:
        raise InvalidValue(f"Invalid remaining data after end of {'tuple' if names is None else 'UDT'} value")
    return out


def _pack_fields(items: list[bytes | None]) -> bytes:
    parts = []
    pack = _I32.pack
    for item in items:
        if item is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(pack(len(item)))
            parts.append(item)
    return b"".join(parts)


def _fields_codec(t: TupleType | UserType) -> Codec:
    codecs_ = [_codec(ft) for ft in t.subtypes]
    names = t.field_names if isinstance(t, UserType) else None

    def check(data: Bytes) -> None:
        for codec, item in zip(codecs_, split_fields(data, len(codecs_), names)):
            if item is not None:
                codec.validate(item)

    def components(data: Bytes) -> list:
        return [None if item is None else codec.deserialize(item)
                for codec, item in zip(codecs_, split_fields(data, len(codecs_), names))]

    def encode(values: list) -> bytes:
        return _pack_fields([None if v is None else c.serialize(v) for c, v in zip(codecs_, values)])

    if names is None:
        def deser(data: Bytes) -> Any:
            return tuple(components(data))

        def ser(value: Any) -> bytes:
            if not isinstance(value, (tuple, list)) or len(value) > len(codecs_):
                raise bad_value(t, value)
            return encode(list(value))

        def lit(value: Any) -> str:
            return "(" + ", ".join(_literal_or_null(c, v) for c, v in zip(codecs_, value)) + ")"
    else:
        index = {name: i for i, name in enumerate(names)}

        def deser(data: Bytes) -> Any:
            return dict(zip(names, components(data)))

        def ser(value: Any) -> bytes:
            if not isinstance(value, Mapping):
                raise bad_value(t, value)
            unknown = [k for k in value if k not in index]
            if unknown:
                raise InvalidValue(f"Unknown field '{unknown[0]}' in value for type {t.name}")
            present = max((index[k] for k in value), default=-1) + 1
            return encode([value.get(name) for name in names[:present]])

        def lit(value: Any) -> str:
            return "{" + ", ".join(f"{quote_identifier(k)}: {_literal_or_null(codecs_[index[k]], v)}"
                                   for k, v in value.items()) + "}"
    return Codec(check, ser, deser, lit)


def _literal_or_null(codec: Codec, value: Any) -> str:
    return "null" if value is None else codec.literal(value)


# ------------------------------------------------------------------------------------------ vector

def fixed_length(t: CqlType) -> int | None:
    """Cassandra's valueLengthIfFixed: the size every value of ``t`` has, or None if it varies."""
    if isinstance(t, NativeType):
        return t.fixed_length
    if isinstance(t, VectorType):
        size = fixed_length(t.element)
        return None if size is None else size * t.dimension
    return None


def _vector_codec(t: VectorType) -> Codec:
    elem = _codec(t.element)
    dim, size = t.dimension, fixed_length(t.element)
    name = cql_name(t)
    # Fixed-size elements whose validity is just their length need no per-element check.
    trivial = size is not None and t.element in (BIGINT, BOOLEAN, COUNTER, DOUBLE, FLOAT, INT, UUID,
                                                   TIMESTAMP)

    def split(data: Bytes) -> list[memoryview]:
        n = len(data)
        if n == 0:
            raise InvalidValue("Invalid empty vector value")
        view = memoryview(data)
        if size is not None:
            if n < size * dim:
                raise InvalidValue(f"Not enough bytes to read a {name}")
            pos, out = size * dim, [view[i:i + size] for i in range(0, size * dim, size)]
        else:
            out, pos = [], 0
            for _ in range(dim):
                if pos >= n:
                    raise InvalidValue(f"Not enough bytes to read a {name}")
                length, pos = read_uvint(view, pos)
                if pos + length > n:
                    raise InvalidValue(f"Not enough bytes to read a {name}")
                out.append(view[pos:pos + length])
                pos += length
        if pos != n:
            raise InvalidValue(f"Unexpected {n - pos} extraneous bytes after {name} value")
        return out

    trivial_size = size * dim if trivial and size is not None else -1

    def check(data: Bytes) -> None:
        if len(data) == trivial_size:
            return
        for item in split(data):
            elem.validate(item)

    def deser(data: Bytes) -> list:
        items = split(data)
        return [elem.deserialize(item) for item in items]

    def ser(value: Any) -> bytes:
        items = list(_elements(t, value))
        if len(items) != dim:
            raise InvalidValue(f"Required {dim} elements, but saw {len(items)}")
        parts = []
        for i, item in enumerate(items):
            if item is None:
                raise InvalidValue(f"Element at index {i} is null (expected type {cql_name(t.element)})")
            data = elem.serialize(item)
            if size is None:
                parts.append(encode_uvint(len(data)))
            elif len(data) != size:
                raise InvalidValue(f"Element at index {i} is empty (expected type {cql_name(t.element)})")
            parts.append(data)
        return b"".join(parts)

    def lit(value: Any) -> str:
        return "[" + ", ".join(elem.literal(v) for v in value) + "]"
    return Codec(check, ser, deser, lit)


_BUILDERS: dict[type, Callable[[Any], Codec]] = {
    NativeType: lambda t: NATIVE_CODECS[t],
    ListType: _list_or_set_codec,
    SetType: _list_or_set_codec,
    MapType: _map_codec,
    TupleType: _fields_codec,
    UserType: _fields_codec,
    VectorType: _vector_codec,
    CustomType: custom_codec,
}
_VALIDATORS.update({t: c.validate for t, c in NATIVE_CODECS.items()})
_CODECS.update(NATIVE_CODECS)
