"""Cassandra 5.0's dynamic data masking functions (cql3/functions/masking/*).

* mask_null(x) -> null of x's type;
* mask_default(x) -> the type's fixed masked value ('****' for text, 0 for numbers, the epoch for
  timestamps and dates, 0.0.0.0 for inet, empty collections, masked fields for tuples and user
  types, masked elements for vectors) whatever x is, even null;
* mask_replace(x, replacement) -> replacement (same type as x);
* mask_inner(s, begin, end[, padding]) / mask_outer(...) on text/ascii: replace the inner part
  (all but ``begin`` leading and ``end`` trailing characters) or the outer part with ``padding``
  ('*' by default); characters are Java chars (UTF-16 code units), as in Cassandra;
* mask_hash(x[, algorithm]) -> blob: the digest (SHA-256 by default) of x's serialized bytes.

Hash algorithms are those Python's hashlib shares with Java's standard MessageDigest providers
(MD5, SHA-1, SHA-224/256/384/512, SHA-512/224, SHA-512/256, SHA3-*); MD2 is not available here.

This module must NOT register functions (natives.py) or resolve calls (registry.py).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Callable

from ferrosa.functions import scalar
from ferrosa.functions.errors import FunctionServerError, InvalidRequest, MarshalError
from ferrosa.functions.registry import (
    AnyType, Factory, FixedType, Function, OptionalParameter, Overload, SameAs, string_parameter,
)
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

DEFAULT_PADDING = "*"
DEFAULT_ALGORITHM = "SHA-256"
_I32 = struct.Struct(">i")

_MASKED_NATIVE: dict[T.NativeType, bytes] = {
    T.ASCII: b"****", T.TEXT: b"****", T.BOOLEAN: b"\x00", T.TINYINT: b"\x00", T.SMALLINT: bytes(2),
    T.INT: bytes(4), T.BIGINT: bytes(8), T.COUNTER: bytes(8), T.VARINT: b"\x00", T.FLOAT: bytes(4),
    T.DOUBLE: bytes(8), T.DECIMAL: bytes(5), T.BLOB: b"", T.TIMESTAMP: bytes(8),
    T.DATE: struct.pack(">I", scalar.DATE_EPOCH_OFFSET), T.TIME: bytes(8), T.DURATION: bytes(3),
    T.INET: bytes(4), T.UUID: bytes(16), T.TIMEUUID: scalar.min_timeuuid(0),
}


def masked_value(t: T.CqlType) -> bytes:
    """AbstractType.getMaskedValue."""
    if isinstance(t, T.NativeType):
        return _MASKED_NATIVE[t]
    if isinstance(t, (T.ListType, T.SetType, T.MapType)):
        return _I32.pack(0)
    if isinstance(t, (T.TupleType, T.UserType)):
        return b"".join(_I32.pack(len(v)) + v for v in map(masked_value, t.subtypes))
    if isinstance(t, T.VectorType):
        element = masked_value(t.element)
        if V.fixed_length(t.element) is None:
            element = V.encode_uvint(len(element)) + element
        return element * t.dimension
    raise FunctionServerError(f"java.lang.UnsupportedOperationException: There isn't a defined masked "
                              f"value for type {T.cql_name(t)}")


def _mask_null(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    return Function(name, types[0], (types[0],), lambda args, protocol_version=5: None)


def _mask_default(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    t = types[0]
    masked_value(t)  # refuse types without a masked value when the call is prepared

    def body(args: list, protocol_version: int = 5) -> bytes:
        return masked_value(t)
    return Function(name, t, (t,), body)


def _mask_replace(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    return Function(name, types[1], (types[0], types[1]), lambda args, protocol_version=5: args[1])


def _java_chars(text: str) -> list[str]:
    """The UTF-16 code units of a string (surrogate pairs split, as Java's char[] has them)."""
    if all(ord(c) <= 0xFFFF for c in text):
        return list(text)
    units = text.encode("utf-16-le", "surrogatepass")
    return [units[i:i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(units), 2)]


def partial_mask(value: str, begin: int, end: int, padding: str, inner: bool) -> str:
    """PartialMaskingFunction.Kind.mask."""
    if not value:
        return value
    chars = _java_chars(value)
    last = len(chars) - 1 - end
    if inner:
        return "".join(padding if begin <= i <= last else c for i, c in enumerate(chars))
    return "".join(padding if i < begin or i > last else c for i, c in enumerate(chars))


def _text(t: T.CqlType, data: bytes) -> str:
    """The string of a text argument; bytes Java cannot decode fail as Cassandra's MarshalException."""
    try:
        return V.deserialize(t, data)
    except V.InvalidValue as exc:
        raise MarshalError(str(exc)) from None


def _java_length(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _partial(inner: bool) -> Callable:
    def build(name: str, types: list, receiver: T.CqlType | None) -> Overload:
        t = types[0]
        qualified = f"system.{name}"
        arg_types = (t, T.INT, T.INT) + ((T.TEXT,) if len(types) == 4 else ())

        def body(args: list, protocol_version: int = 5) -> bytes | None:
            padding = DEFAULT_PADDING
            if len(args) == 4 and args[3] is not None:
                padding = _text(T.TEXT, args[3])
                if _java_length(padding) != 1:
                    raise InvalidRequest(f"The padding argument for function {qualified} should be "
                                         f"single-character, but '{padding}' has {_java_length(padding)} "
                                         f"characters.")
            if args[0] is None:
                return None
            begin = _I32.unpack(args[1])[0] if args[1] else 0
            end = _I32.unpack(args[2])[0] if args[2] else 0
            masked = partial_mask(_text(t, args[0]), begin, end, padding, inner)
            data = masked.encode("utf-8", "replace")  # Java writes '?' for a lone surrogate
            if t is T.ASCII and not data.isascii():
                raise FunctionServerError(
                    f"java.lang.RuntimeException: Return of function {qualified} : "
                    f"({', '.join(map(T.cql_name, arg_types))}) -> ascii ({data.hex()}) is not a valid "
                    f"value for its declared return type ascii")
            return data
        return Function(name, t, arg_types, body)
    return build


# Java MessageDigest names (matched case-insensitively) -> hashlib constructors.
_DIGESTS: dict[str, str] = {
    "MD5": "md5", "SHA": "sha1", "SHA1": "sha1", "SHA-1": "sha1", "SHA-224": "sha224", "SHA-256": "sha256",
    "SHA-384": "sha384", "SHA-512": "sha512", "SHA-512/224": "sha512_224", "SHA-512/256": "sha512_256",
    "SHA3-224": "sha3_224", "SHA3-256": "sha3_256", "SHA3-384": "sha3_384", "SHA3-512": "sha3_512",
}


def message_digest(algorithm: str) -> Callable[[bytes], bytes]:
    """MessageDigest.getInstance(algorithm).digest, or Cassandra's error for unknown names."""
    name = _DIGESTS.get(algorithm.upper())
    try:
        hashlib.new(name or "")
    except (ValueError, TypeError):
        raise InvalidRequest(f"Hash algorithm not found: {algorithm}") from None
    return lambda data: hashlib.new(name, data).digest()


def _mask_hash(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    arg_types = (types[0],) + ((T.TEXT,) if len(types) == 2 else ())
    default = message_digest(DEFAULT_ALGORITHM)

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        digest = default
        if len(args) == 2 and args[1] is not None:
            digest = message_digest(_text(T.TEXT, args[1]))
        if args[0] is None:
            return None
        return digest(bytes(args[0]))
    return Function(name, T.BLOB, arg_types, body)


def masking_factories() -> list[Factory]:
    return [
        Factory("mask_null", (AnyType(False),), _mask_null),
        Factory("mask_replace", (AnyType(True), SameAs(0, True, AnyType(True))), _mask_replace),
        Factory("mask_default", (AnyType(False),), _mask_default),
        Factory("mask_hash", (AnyType(False), OptionalParameter(FixedType(T.TEXT))), _mask_hash),
        Factory("mask_inner", (string_parameter(), FixedType(T.INT), FixedType(T.INT),
                               OptionalParameter(FixedType(T.TEXT))), _partial(True)),
        Factory("mask_outer", (string_parameter(), FixedType(T.INT), FixedType(T.INT),
                               OptionalParameter(FixedType(T.TEXT))), _partial(False)),
    ]
