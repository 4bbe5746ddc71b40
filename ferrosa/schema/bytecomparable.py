"""Byte-comparable clustering keys: row order becomes a plain ``bytes`` comparison.

Theory of operation
-------------------
A clustering key (or a prefix of one) is the concatenation of its components. Each component is

    marker, then (for a non-empty value) a payload

with markers ``EMPTY_MARKER`` (0x20: the zero-length "empty value", which Cassandra sorts before
every other value) and ``VALUE_MARKER`` (0x40). Every payload encoding is *prefix-free* (no encoding
is a proper prefix of another) and *order-preserving* (bytewise order = Cassandra's comparator), so

* whole keys compare component by component, and a prefix sorts before all of its extensions;
* a DESC component is the same bytes inverted (x ^ 0xFF): inverting a prefix-free code reverses its
  order and keeps it prefix-free. Inverted markers are 0xDF/0xBF, so every key byte that sits where a
  marker could start is < ``BOUND_AFTER`` (0xFF), which is what the slice bounds rely on.

Payloads, per comparator (AbstractType.compare of each Cassandra type):

* tinyint/smallint/int/bigint/counter/timestamp: big-endian with the sign bit flipped.
* date, time: the raw bytes (Cassandra compares them as unsigned bytes). boolean: 0x00/0x01.
* float/double: Float.compare/Double.compare order (-0.0 < 0.0, NaN above +Infinity, all NaNs equal):
  IEEE bits, negatives inverted, positives with the sign bit set, NaN canonicalized.
* uuid: UUIDType order: version nibble, then for version 1 the timestamp (hi, mid, low), otherwise
  the remaining high bits, then the low 64 bits unsigned. timeuuid: TimeUUIDType order: timestamp,
  then the low 8 bytes compared as *signed* bytes (each byte ^ 0x80).
* ascii/text/blob/inet/duration/custom (byte order): 0x00 escaped as 00 FF, terminated by 00 00.
* varint: numeric. Sign/length header then magnitude (negatives complemented).
* decimal: numeric (DecimalType uses BigDecimal.compareTo, so 1.0 == 1.00: they are the SAME
  clustering key and encode identically). Sign byte, base-10 exponent, base-100 digit pairs.
* frozen list/set: each element as a component, then TERMINATOR (0x10) - shorter sorts first.
  frozen map: key component, value component, ..., TERMINATOR.
* tuple/UDT: components with NULL_MARKER (0x18) for null, trailing nulls dropped, TERMINATOR.
  Cassandra's TupleType.compare is not transitive for trailing *empty* components ((1,'') equals (1)
  but sorts after (1,null)); here null < empty < value always, and only trailing nulls are dropped.
* vector: the dimension's components back to back (the count is fixed by the type).

Equal encodings <=> Cassandra's comparator says 0 (modulo the tuple quirk above). The encoding is NOT
reversible in general (decimal scale, NaN payloads, non-minimal varints are normalized), so there is no
decoder: storage keeps the original serialized values next to the encoded key.

Slice bounds (``bound``): with P = encode(prefix), a key K has prefix P iff P <= K < P + 0xFF. So
  start inclusive -> P, start exclusive -> P + 0xFF, end inclusive -> P + 0xFF, end exclusive -> P,
and a slice selects exactly the keys with ``start <= K < end``; an empty prefix is unbounded (b"" as a
start, 0xFF as an end). Bounds are in *storage* order: on a
DESC column a CQL ``c > x`` restriction is an END bound here (the caller maps CQL ranges to storage).

This module must NOT validate values beyond what encoding needs, know about tables, or do I/O.
"""

from __future__ import annotations

import functools
import struct
from typing import Any, Callable, Sequence

from ferrosa.protocol.types import (
    ASCII, BIGINT, BLOB, BOOLEAN, COUNTER, DATE, DECIMAL, DOUBLE, DURATION, FLOAT, INET, INT,
    SMALLINT, TEXT, TIME, TIMESTAMP, TIMEUUID, TINYINT, UUID, VARINT, CqlType, CustomType, InvalidType,
    ListType, MapType, NativeType, SetType, TupleType, UserType, VectorType, cql_name,
)
from ferrosa.protocol.values import (
    InvalidValue, fixed_length, int_text, read_uvint, split_collection, split_fields,
)

TERMINATOR = 0x10      # ends a collection/tuple: below every marker, so shorter sorts first
NULL_MARKER = 0x18     # a null tuple/UDT component: Cassandra sorts null before empty and values
EMPTY_MARKER = 0x20    # a zero-length value: Cassandra sorts it before every non-empty value
VALUE_MARKER = 0x40
BOUND_AFTER = b"\xff"  # greater than any marker, inverted marker or terminator

_MARK_EMPTY = bytes((EMPTY_MARKER,))
_MARK_VALUE = bytes((VALUE_MARKER,))
_MARK_NULL = bytes((NULL_MARKER,))
_TERM = bytes((TERMINATOR,))
_INVERT = bytes(255 - i for i in range(256))
_SIGNED_BYTES = bytes(i ^ 0x80 for i in range(256))
# b'\x40' followed by the first byte with its sign bit flipped: one lookup per integer.
_MARK_SIGN_FLIPPED = [bytes((VALUE_MARKER, i ^ 0x80)) for i in range(256)]
_U32, _U64 = struct.Struct(">I"), struct.Struct(">Q")
_F32_NAN, _F64_NAN = 0x7FC00000, 0x7FF8000000000000  # Java's canonical NaNs (floatToIntBits)
# varint/decimal headers: lengths below this fit in the header byte, longer ones add 4 length bytes.
_SHORT_LENGTH_LIMIT = 0x3E

Encoder = Callable[[bytes], bytes]


def _other_size(value: bytes, size: int) -> bytes:
    """A fixed-size type's value of another length: the empty value's marker, or an error."""
    n = len(value)
    if n == 0:
        return _MARK_EMPTY
    raise InvalidValue(f"Expected {size} bytes for a clustering value, got {n}")


def _fixed(size: int, payload: Encoder) -> Encoder:
    def encode(value: bytes) -> bytes:
        if len(value) == size:
            return payload(value)
        return _other_size(value, size)
    return encode


# The integer types' encoders do their payload inline, not through _fixed: clustering keys of
# ints, bigints and timestamps are the common ones (a call less per key value).
def _signed(size: int) -> Encoder:
    table = _MARK_SIGN_FLIPPED

    def encode(value: bytes) -> bytes:
        if len(value) == size:
            return table[value[0]] + value[1:]
        return _other_size(value, size)
    return encode


def _unsigned(size: int) -> Encoder:
    def encode(value: bytes) -> bytes:
        if len(value) == size:
            return _MARK_VALUE + bytes(value)
        return _other_size(value, size)
    return encode


def _is_nan_bits(bits: int, size: int) -> bool:
    if size == 4:
        return bits & 0x7F800000 == 0x7F800000 and bits & 0x007FFFFF != 0
    return bits & 0x7FF0000000000000 == 0x7FF0000000000000 and bits & 0x000FFFFFFFFFFFFF != 0


def _bytes_order(value: bytes) -> bytes:
    if not value:
        return _MARK_EMPTY
    return _MARK_VALUE + bytes(value).replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def _boolean(value: bytes) -> bytes:
    if not value:
        return _MARK_EMPTY
    if len(value) != 1:
        raise InvalidValue(f"Expected 1 byte for a clustering boolean, got {len(value)}")
    return b"\x40\x01" if value[0] else b"\x40\x00"


def _reorder_timestamp(msb: int) -> int:
    """TimeUUIDType.reorderTimestampBytes: time_hi (with version) | time_mid | time_low."""
    return ((msb << 48) | ((msb << 16) & 0xFFFF00000000) | (msb >> 32)) & 0xFFFFFFFFFFFFFFFF


def _uuid_payload(value: bytes) -> bytes:
    msb = _U64.unpack_from(value, 0)[0]
    version = (msb >> 12) & 0xF
    if version == 1:
        high = _reorder_timestamp(msb)
    else:
        high = (version << 60) | ((msb >> 4) & 0x0FFFFFFFFFFFF000) | (msb & 0xFFF)
    return _MARK_VALUE + _U64.pack(high) + bytes(value[8:])


def _timeuuid_payload(value: bytes) -> bytes:
    high = _reorder_timestamp(_U64.unpack_from(value, 0)[0])
    return _MARK_VALUE + _U64.pack(high) + bytes(value[8:]).translate(_SIGNED_BYTES)


def _length_header(base: int, length: int, negative: bool) -> bytes:
    """Header byte(s) for a magnitude of ``length`` bytes; larger lengths sort further from zero."""
    if length < _SHORT_LENGTH_LIMIT:
        return bytes((base - length if negative else base + length,))
    if negative:
        return bytes((base - _SHORT_LENGTH_LIMIT,)) + _U32.pack(0xFFFFFFFF - length)
    return bytes((base + _SHORT_LENGTH_LIMIT,)) + _U32.pack(length)


def _int_payload(number: int) -> bytes:
    """Order-preserving, prefix-free encoding of any integer (header 0x80 = zero)."""
    if number == 0:
        return b"\x80"
    magnitude = abs(number)
    length = (magnitude.bit_length() + 7) // 8
    if number > 0:
        return _length_header(0x80, length, False) + magnitude.to_bytes(length, "big")
    return _length_header(0x80, length, True) + ((1 << (8 * length)) - magnitude).to_bytes(length, "big")


def _varint(value: bytes) -> bytes:
    if not value:
        return _MARK_EMPTY
    return _MARK_VALUE + _int_payload(int.from_bytes(value, "big", signed=True))


def _decimal(value: bytes) -> bytes:
    if not value:
        return _MARK_EMPTY
    if len(value) < 5:
        raise InvalidValue("Invalid decimal clustering value")
    scale = struct.unpack_from(">i", value)[0]
    unscaled = int.from_bytes(value[4:], "big", signed=True)
    if unscaled == 0:
        return b"\x40\x80"
    digits = int_text(abs(unscaled))
    stripped = digits.rstrip("0")
    # value = 0.d1d2d3... * 10**exponent, d1 != 0
    exponent = len(digits) - scale
    body = _int_payload(exponent) + _digit_pairs(stripped)
    if unscaled > 0:
        return b"\x40\xc0" + body
    return b"\x40\x40" + body.translate(_INVERT)


def _digit_pairs(digits: str) -> bytes:
    """Two decimal digits per byte as 1..100, then 0x00: a shorter mantissa sorts first."""
    if len(digits) % 2:
        digits += "0"
    return bytes(1 + int(digits[i:i + 2]) for i in range(0, len(digits), 2)) + b"\x00"


def _float_encoder(size: int) -> Encoder:
    if size == 4:
        st, nan, sign, mask = _U32, _F32_NAN, 0x80000000, 0xFFFFFFFF
    else:
        st, nan, sign, mask = _U64, _F64_NAN, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF

    def payload(value: bytes) -> bytes:
        bits = st.unpack(value)[0]
        if _is_nan_bits(bits, size):
            bits = nan
        bits = bits ^ mask if bits & sign else bits | sign
        return _MARK_VALUE + st.pack(bits)
    return _fixed(size, payload)


_NATIVE_ENCODERS: dict[NativeType, Encoder] = {
    TINYINT: _signed(1), SMALLINT: _signed(2), INT: _signed(4), BIGINT: _signed(8),
    COUNTER: _signed(8), TIMESTAMP: _signed(8),
    DATE: _unsigned(4), TIME: _unsigned(8),
    BOOLEAN: _boolean,
    FLOAT: _float_encoder(4), DOUBLE: _float_encoder(8),
    UUID: _fixed(16, _uuid_payload), TIMEUUID: _fixed(16, _timeuuid_payload),
    ASCII: _bytes_order, TEXT: _bytes_order, BLOB: _bytes_order, INET: _bytes_order,
    DURATION: _bytes_order,
    VARINT: _varint, DECIMAL: _decimal,
}


# ----------------------------------------------------------------------------- composite encoders

def _collection_encoder(t: ListType | SetType | MapType) -> Encoder:
    parts = [comparable_key(s) for s in t.subtypes]
    what, width = t.kind, len(parts)

    def encode(value: bytes) -> bytes:
        if not value:
            return _MARK_EMPTY
        out = [_MARK_VALUE]
        for i, item in enumerate(split_collection(value, what, width)):
            out.append(parts[i % width](bytes(item)))
        out.append(_TERM)
        return b"".join(out)
    return encode


def _fields_encoder(t: TupleType | UserType) -> Encoder:
    parts = [comparable_key(s) for s in t.subtypes]
    names = t.field_names if isinstance(t, UserType) else None

    def encode(value: bytes) -> bytes:
        if not value:
            return _MARK_EMPTY
        fields = split_fields(value, len(parts), names)
        while fields and fields[-1] is None:  # (1, null) and (1) are the same value to Cassandra
            fields.pop()
        out = [_MARK_VALUE]
        for part, item in zip(parts, fields):
            out.append(_MARK_NULL if item is None else part(bytes(item)))
        out.append(_TERM)
        return b"".join(out)
    return encode


def _vector_encoder(t: VectorType) -> Encoder:
    part, dim, size = comparable_key(t.element), t.dimension, fixed_length(t.element)

    def encode(value: bytes) -> bytes:
        if not value:
            return _MARK_EMPTY
        out = [_MARK_VALUE]
        if size is not None:
            if len(value) != size * dim:
                raise InvalidValue(f"Invalid {cql_name(t)} clustering value")
            out.extend(part(value[i:i + size]) for i in range(0, size * dim, size))
            return b"".join(out)
        pos = 0
        for _ in range(dim):
            length, pos = read_uvint(value, pos)
            if pos + length > len(value):
                raise InvalidValue(f"Invalid {cql_name(t)} clustering value")
            out.append(part(value[pos:pos + length]))
            pos += length
        if pos != len(value):
            raise InvalidValue(f"Invalid {cql_name(t)} clustering value")
        return b"".join(out)
    return encode


_BUILDERS: dict[type, Callable[[Any], Encoder]] = {
    NativeType: lambda t: _NATIVE_ENCODERS[t],
    ListType: _collection_encoder,
    SetType: _collection_encoder,
    MapType: _collection_encoder,
    TupleType: _fields_encoder,
    UserType: _fields_encoder,
    VectorType: _vector_encoder,
    CustomType: lambda t: _bytes_order,  # unknown comparators: Cassandra's default is byte order
}
_ENCODERS: dict[CqlType, Encoder] = dict(_NATIVE_ENCODERS)


def comparable_key(t: CqlType) -> Encoder:
    """Serialized value -> ascending byte-comparable component (marker + payload) for type ``t``.

    Sorting serialized values by this key gives Cassandra's comparator order; equal keys mean the
    comparator says equal. Also used to order set elements and map keys.
    """
    encoder = _ENCODERS.get(t)
    if encoder is None:
        encoder = _ENCODERS[t] = _BUILDERS[type(t)](t)
    return encoder


def _invert(encoder: Encoder) -> Encoder:
    def encode(value: bytes) -> bytes:
        return encoder(value).translate(_INVERT)
    return encode


class ClusteringEncoder:
    """Encodes keys of one table's clustering columns (types and ASC/DESC flags fixed up front)."""

    __slots__ = ("types", "reversed_flags", "_encoders")

    def __init__(self, types: Sequence[CqlType], reversed_flags: Sequence[bool]):
        if len(types) != len(reversed_flags):
            raise InvalidType(f"{len(types)} clustering types but {len(reversed_flags)} order flags")
        self.types = tuple(types)
        self.reversed_flags = tuple(bool(f) for f in reversed_flags)
        self._encoders = tuple(_invert(comparable_key(t)) if desc else comparable_key(t)
                               for t, desc in zip(self.types, self.reversed_flags))

    def column_encoder(self, index: int) -> Encoder:
        """The encoder of column `index` alone: a one-column key's encode() of a bytes value,
        without encode()'s checks of the list (the caller's: one bytes value, not None)."""
        return self._encoders[index]

    def encode(self, values: Sequence[bytes | memoryview]) -> bytes:
        """A full key or a prefix (the first len(values) clustering columns), in storage order."""
        encoders = self._encoders
        if len(values) == 1 and encoders and type(values[0]) is bytes:  # one column, the usual
            return encoders[0](values[0])
        if len(values) > len(encoders):
            raise InvalidValue(f"Got {len(values)} clustering values for {len(encoders)} columns")
        parts = []
        for encoder, value in zip(encoders, values):
            if value is None:
                raise InvalidValue("Invalid null value for clustering column")
            parts.append(encoder(value if isinstance(value, bytes) else bytes(value)))
        return b"".join(parts)

    def bound(self, prefix_values: Sequence[bytes | memoryview], inclusive: bool, is_start: bool) -> bytes:
        """Slice bound in storage order; a slice is ``start <= key < end`` (see module docstring)."""
        if not prefix_values:  # no restriction: the whole partition, whatever ``inclusive`` says
            return b"" if is_start else BOUND_AFTER
        prefix = self.encode(prefix_values)
        return prefix + BOUND_AFTER if inclusive != is_start else prefix


# Tables have few distinct clustering signatures; the cache only saves rebuilding closures.
_ENCODER_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_ENCODER_CACHE_SIZE)
def clustering_encoder(types: tuple[CqlType, ...], reversed_flags: tuple[bool, ...]) -> ClusteringEncoder:
    """A cached ClusteringEncoder for these clustering column types and DESC flags."""
    return ClusteringEncoder(types, reversed_flags)


def encode_clustering(types: Sequence[CqlType], reversed_flags: Sequence[bool],
                      values: Sequence[bytes | memoryview]) -> bytes:
    """Byte-comparable key for serialized clustering ``values`` (a full key or a prefix)."""
    return clustering_encoder(tuple(types), tuple(reversed_flags)).encode(values)


def bound(types: Sequence[CqlType], reversed_flags: Sequence[bool],
          prefix_values: Sequence[bytes | memoryview], inclusive: bool, is_start: bool) -> bytes:
    """Slice bound for a clustering prefix: keys in the slice satisfy ``start <= key < end``.

    start inclusive -> keys >= every key with this prefix; start exclusive -> keys after all of them;
    end inclusive -> keys up to and including all of them; end exclusive -> keys before all of them.
    """
    return clustering_encoder(tuple(types), tuple(reversed_flags)).bound(prefix_values, inclusive, is_start)
