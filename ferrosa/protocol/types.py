"""CQL data types: an immutable model of every type Cassandra 5 knows, and its three spellings.

A type has three external spellings and this module owns all of them:

* CQL text (``frozen<map<text, int>>``): ``parse_cql_type`` reads what Cassandra's grammar accepts and
  applies Cassandra's preparation rules (nested collections must be frozen, no counters in collections,
  ...); ``cql_name`` prints the canonical form stored in ``system_schema.columns.type``. The two text
  parsers live in type_syntax.py and are re-exported here.
* Marshal class strings (``org.apache.cassandra.db.marshal.MapType(...)``): ``marshal_class`` and
  ``parse_marshal_type``. Drivers see them for custom types, for vectors and for types newer than the
  client's protocol version.
* Protocol ``[option]`` bytes in result/prepared metadata: ``option_bytes`` (memoized per type object
  and protocol version) and ``read_option``.

Theory of operation: types are immutable and hashable. Native types are module-level singletons
(``INT``, ``TEXT``, ...) compared by identity; composite types compare structurally and cache their hash.
Freezing is a flag on collections and user types (tuples and vectors are always frozen). Clustering
order (``ReversedType``) is not part of a type; ``marshal_class(t, reversed=True)`` adds the wrapper.

This module must NOT serialize values (values.py does), touch schema storage, or do any I/O.
"""

from __future__ import annotations

import re
import struct
from typing import Any, Callable, ClassVar, Iterable, Sequence


class InvalidType(ValueError):
    """A type string, option or definition that Cassandra would reject (message is Cassandra's)."""


# Deepest nesting accepted from CQL text, marshal strings and wire options. Cassandra has no explicit
# limit; real schemas nest a handful of levels, and the bound keeps hostile input from exhausting the
# Python stack.
MAX_TYPE_NESTING = 64

MARSHAL_PACKAGE = "org.apache.cassandra.db.marshal."

# Oldest protocol version a client can be sent each kind of option id; older clients get the
# marshal class as a custom type instead (Cassandra's DataType.fromType does the same).
PROTOCOL_V3, PROTOCOL_V4, PROTOCOL_V5 = 3, 4, 5

OPTION_CUSTOM = 0x0000
OPTION_LIST, OPTION_MAP, OPTION_SET = 0x0020, 0x0021, 0x0022
OPTION_UDT, OPTION_TUPLE = 0x0030, 0x0031

# Cassandra 5.0's reserved keywords (cql3/reserved_keywords.txt): identifiers spelled like these must
# be double-quoted when printed.
RESERVED_KEYWORDS = frozenset(
    "add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe "
    "drop entries execute from full grant if in index infinity insert into is keyspace limit "
    "materialized modify nan norecursive not null of on or order primary rename revoke schema select "
    "set table to token truncate unlogged update use using view where with".split()
)
_UNQUOTED_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


def quote_identifier(name: str) -> str:
    """Cassandra's ColumnIdentifier.maybeQuote: bare if lowercase and not reserved, else double-quoted."""
    if _UNQUOTED_IDENTIFIER.match(name) and name not in RESERVED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


# resolve_udt(name, keyspace) -> UserType | None. keyspace is None when the name is unqualified.
UdtResolver = Callable[[str, "str | None"], "UserType | None"]


class CqlType:
    """Base of all CQL types. Immutable; use the module constants and constructors."""

    __slots__ = ("_key", "_hash", "_options", "__weakref__")
    _key: tuple
    _hash: int
    _options: dict[int, bytes]
    kind: ClassVar[str] = ""
    is_collection: ClassVar[bool] = False
    frozen: bool

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _init(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        key = tuple(fields.values())
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash((type(self).__name__, key)))
        object.__setattr__(self, "_options", {})

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        return self._hash == other._hash and self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"<CqlType {cql_name(self)}>"

    def __reduce__(self) -> tuple:
        return (type(self), self._key)

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return ()

    @property
    def is_multi_cell(self) -> bool:
        """True for non-frozen collections and user types (stored as one cell per element/field)."""
        return False

    def freeze(self) -> CqlType:
        """The frozen form, freezing nested collections too (as CQL's ``frozen<...>`` does)."""
        return self

    def unfreeze(self) -> CqlType:
        """The non-frozen form of a collection or user type (other types are returned unchanged)."""
        return self


class NativeType(CqlType):
    """One of the 20 built-in scalar types. Singletons: compare with ``is``."""

    __slots__ = ("name", "option_id", "min_protocol_version", "marshal", "fixed_length")
    kind = "native"
    frozen = False

    def __init__(self, name: str, option_id: int, min_version: int, marshal: str, fixed: int | None):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "option_id", option_id)
        object.__setattr__(self, "min_protocol_version", min_version)
        object.__setattr__(self, "marshal", MARSHAL_PACKAGE + marshal)
        # Serialized size when every non-empty value has one size (Cassandra's valueLengthIfFixed;
        # decides vector element framing). smallint/tinyint/date/time are variable there, so are here.
        object.__setattr__(self, "fixed_length", fixed)
        object.__setattr__(self, "_key", (name,))
        object.__setattr__(self, "_hash", hash(("native", name)))
        object.__setattr__(self, "_options", {})

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __reduce__(self) -> tuple:
        return (native_type, (self.name,))


ASCII = NativeType("ascii", 0x0001, PROTOCOL_V3, "AsciiType", None)
BIGINT = NativeType("bigint", 0x0002, PROTOCOL_V3, "LongType", 8)
BLOB = NativeType("blob", 0x0003, PROTOCOL_V3, "BytesType", None)
BOOLEAN = NativeType("boolean", 0x0004, PROTOCOL_V3, "BooleanType", 1)
COUNTER = NativeType("counter", 0x0005, PROTOCOL_V3, "CounterColumnType", 8)
DECIMAL = NativeType("decimal", 0x0006, PROTOCOL_V3, "DecimalType", None)
DOUBLE = NativeType("double", 0x0007, PROTOCOL_V3, "DoubleType", 8)
FLOAT = NativeType("float", 0x0008, PROTOCOL_V3, "FloatType", 4)
INT = NativeType("int", 0x0009, PROTOCOL_V3, "Int32Type", 4)
TIMESTAMP = NativeType("timestamp", 0x000B, PROTOCOL_V3, "TimestampType", 8)
UUID = NativeType("uuid", 0x000C, PROTOCOL_V3, "UUIDType", 16)
TEXT = NativeType("text", 0x000D, PROTOCOL_V3, "UTF8Type", None)
VARINT = NativeType("varint", 0x000E, PROTOCOL_V3, "IntegerType", None)
TIMEUUID = NativeType("timeuuid", 0x000F, PROTOCOL_V3, "TimeUUIDType", 16)
INET = NativeType("inet", 0x0010, PROTOCOL_V3, "InetAddressType", None)
DATE = NativeType("date", 0x0011, PROTOCOL_V4, "SimpleDateType", None)
TIME = NativeType("time", 0x0012, PROTOCOL_V4, "TimeType", None)
SMALLINT = NativeType("smallint", 0x0013, PROTOCOL_V4, "ShortType", None)
TINYINT = NativeType("tinyint", 0x0014, PROTOCOL_V4, "ByteType", None)
DURATION = NativeType("duration", 0x0015, PROTOCOL_V5, "DurationType", None)

NATIVE_TYPES: dict[str, NativeType] = {
    t.name: t
    for t in (ASCII, BIGINT, BLOB, BOOLEAN, COUNTER, DECIMAL, DOUBLE, FLOAT, INT, TIMESTAMP, UUID,
              TEXT, VARINT, TIMEUUID, INET, DATE, TIME, SMALLINT, TINYINT, DURATION)
}
# CQL spellings, including the alias: varchar is text.
CQL_NATIVE_NAMES: dict[str, NativeType] = {**NATIVE_TYPES, "varchar": TEXT}


def native_type(name: str) -> NativeType:
    """The singleton for a CQL native type name (``varchar`` gives TEXT)."""
    return CQL_NATIVE_NAMES[name]


class _Collection(CqlType):
    __slots__ = ()
    is_collection = True

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen

    def freeze(self) -> CqlType:
        if self.frozen and all(s.freeze() is s for s in self.subtypes):
            return self
        return self._rebuild([s.freeze() for s in self.subtypes], True)

    def unfreeze(self) -> CqlType:
        return self._rebuild(list(self.subtypes), False) if self.frozen else self

    def _rebuild(self, subtypes: list[CqlType], frozen: bool) -> CqlType:
        cls: Any = type(self)
        return cls(*subtypes, frozen=frozen)


class ListType(_Collection):
    __slots__ = ("element", "frozen")
    kind = "list"

    def __init__(self, element: CqlType, frozen: bool = False):
        self._init(element=element, frozen=bool(frozen))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return (self.element,)


class SetType(_Collection):
    __slots__ = ("element", "frozen")
    kind = "set"

    def __init__(self, element: CqlType, frozen: bool = False):
        self._init(element=element, frozen=bool(frozen))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return (self.element,)


class MapType(_Collection):
    __slots__ = ("key", "value", "frozen")
    kind = "map"

    def __init__(self, key: CqlType, value: CqlType, frozen: bool = False):
        self._init(key=key, value=value, frozen=bool(frozen))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return (self.key, self.value)


class TupleType(CqlType):
    """tuple<...>: always frozen; its elements are frozen too (Cassandra freezes them)."""

    __slots__ = ("elements",)
    kind = "tuple"
    frozen = True

    def __init__(self, elements: Iterable[CqlType]):
        self._init(elements=tuple(e.freeze() for e in elements))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return self.elements


class UserType(CqlType):
    """A user-defined type: keyspace, name, ordered field names and types; frozen or not."""

    __slots__ = ("keyspace", "name", "field_names", "field_types", "frozen")
    kind = "udt"

    def __init__(self, keyspace: str, name: str, field_names: Sequence[str],
                 field_types: Sequence[CqlType], frozen: bool = False):
        if len(field_names) != len(field_types):
            raise InvalidType(f"User type {name} has {len(field_names)} names for {len(field_types)} types")
        self._init(keyspace=keyspace, name=name, field_names=tuple(field_names),
                   field_types=tuple(field_types), frozen=bool(frozen))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return self.field_types

    @property
    def is_multi_cell(self) -> bool:
        return not self.frozen

    def freeze(self) -> CqlType:
        return self if self.frozen else self.with_frozen(True)

    def unfreeze(self) -> CqlType:
        return self.with_frozen(False) if self.frozen else self

    def with_frozen(self, frozen: bool) -> UserType:
        return UserType(self.keyspace, self.name, self.field_names, self.field_types, frozen)


class VectorType(CqlType):
    """vector<T, n>: always frozen, n > 0."""

    __slots__ = ("element", "dimension")
    kind = "vector"
    frozen = True

    def __init__(self, element: CqlType, dimension: int):
        if dimension <= 0:
            raise InvalidType(f"vectors may only have positive dimensions; given {dimension}")
        self._init(element=element, dimension=int(dimension))

    @property
    def subtypes(self) -> tuple[CqlType, ...]:
        return (self.element,)


class CustomType(CqlType):
    """A type known only by its Java class name; values are opaque bytes."""

    __slots__ = ("class_name",)
    kind = "custom"
    frozen = False

    def __init__(self, class_name: str):
        self._init(class_name=class_name)


# ----------------------------------------------------------------------------------------- CQL name

def cql_name(t: CqlType) -> str:
    """The canonical CQL spelling (system_schema.columns.type, DESCRIBE)."""
    return _CQL_NAMERS[type(t)](t)


def _frozen_wrap(text: str, frozen: bool) -> str:
    return f"frozen<{text}>" if frozen else text


_CQL_NAMERS: dict[type, Callable[[Any], str]] = {
    NativeType: lambda t: t.name,
    ListType: lambda t: _frozen_wrap(f"list<{cql_name(t.element)}>", t.frozen),
    SetType: lambda t: _frozen_wrap(f"set<{cql_name(t.element)}>", t.frozen),
    MapType: lambda t: _frozen_wrap(f"map<{cql_name(t.key)}, {cql_name(t.value)}>", t.frozen),
    TupleType: lambda t: "frozen<tuple<" + ", ".join(map(cql_name, t.elements)) + ">>",
    UserType: lambda t: _frozen_wrap(quote_identifier(t.name), t.frozen),
    VectorType: lambda t: f"vector<{cql_name(t.element)}, {t.dimension}>",
    CustomType: lambda t: f"'{t.class_name}'",
}


# ------------------------------------------------------------------------------------ marshal class

def marshal_class(t: CqlType, *, reversed: bool = False) -> str:
    """Cassandra's AbstractType.toString(): the marshal class string, FrozenType/ReversedType included."""
    text = _marshal(t, False)
    return f"{MARSHAL_PACKAGE}ReversedType({text})" if reversed else text


def _marshal(t: Any, ignore_freezing: bool) -> str:
    kind = t.kind
    if kind == "native":
        return t.marshal
    if kind == "custom":
        return t.class_name
    if kind == "tuple":
        return f"{MARSHAL_PACKAGE}TupleType(" + ",".join(_marshal(e, True) for e in t.subtypes) + ")"
    if kind == "vector":
        return f"{MARSHAL_PACKAGE}VectorType({_marshal(t.element, ignore_freezing)} , {t.dimension})"
    inner_ignore = ignore_freezing or t.frozen
    if kind == "udt":
        fields = "".join(f",{n.encode().hex()}:{_marshal(ft, inner_ignore)}"
                         for n, ft in zip(t.field_names, t.field_types))
        body = f"{MARSHAL_PACKAGE}UserType({t.keyspace},{t.name.encode().hex()}{fields})"
    else:
        cls = {"list": "ListType", "set": "SetType", "map": "MapType"}[kind]
        body = f"{MARSHAL_PACKAGE}{cls}(" + ",".join(_marshal(s, inner_ignore) for s in t.subtypes) + ")"
    if t.frozen and not ignore_freezing:
        return f"{MARSHAL_PACKAGE}FrozenType({body})"
    return body


def parse_marshal_type(text: str) -> CqlType:
    """Parse a marshal class string (as Cassandra's TypeParser does); unknown classes become CustomType."""
    from ferrosa.protocol.type_syntax import parse_marshal_type as parse  # the parsers build on this module

    return parse(text)


def parse_cql_type(text: str, resolve_udt: UdtResolver | None = None) -> CqlType:
    """Parse CQL type syntax and apply Cassandra's preparation rules (see type_syntax.py).

    ``resolve_udt(name, keyspace)`` returns the UserType for a user type name (keyspace is None when
    the name is unqualified; identifiers arrive case-folded unless they were quoted) or None.
    """
    from ferrosa.protocol.type_syntax import parse_cql_type as parse

    return parse(text, resolve_udt)


# ---------------------------------------------------------------------------------- [option] codec

_U16 = struct.Struct(">H")


def _string_bytes(s: str) -> bytes:
    data = s.encode("utf-8")
    return _U16.pack(len(data)) + data


def _custom_option(t: CqlType, _v: int) -> bytes:
    return _U16.pack(OPTION_CUSTOM) + _string_bytes(marshal_class(t))


def _native_option(t: NativeType, v: int) -> bytes:
    if v < t.min_protocol_version:  # the client cannot know this id: send the class name instead
        return _custom_option(t, v)
    return _U16.pack(t.option_id)


def _udt_option(t: UserType, v: int) -> bytes:
    parts = [_U16.pack(OPTION_UDT), _string_bytes(t.keyspace), _string_bytes(t.name),
             _U16.pack(len(t.field_names))]
    for name, ftype in zip(t.field_names, t.field_types):
        parts.append(_string_bytes(name))
        parts.append(option_bytes(ftype, v))
    return b"".join(parts)


_OPTION_WRITERS: dict[type, Callable] = {
    NativeType: _native_option,
    ListType: lambda t, v: _U16.pack(OPTION_LIST) + option_bytes(t.element, v),
    SetType: lambda t, v: _U16.pack(OPTION_SET) + option_bytes(t.element, v),
    MapType: lambda t, v: _U16.pack(OPTION_MAP) + option_bytes(t.key, v) + option_bytes(t.value, v),
    TupleType: lambda t, v: b"".join([_U16.pack(OPTION_TUPLE), _U16.pack(len(t.elements)),
                                      *(option_bytes(e, v) for e in t.elements)]),
    UserType: _udt_option,
    VectorType: _custom_option,
    CustomType: _custom_option,
}


def option_bytes(t: CqlType, protocol_version: int = PROTOCOL_V5) -> bytes:
    """The [option] describing ``t`` in result/prepared metadata for a client of that version."""
    cache = t._options
    data = cache.get(protocol_version)
    if data is None:
        data = cache[protocol_version] = _OPTION_WRITERS[type(t)](t, protocol_version)
    return data


_NATIVE_BY_ID: dict[int, NativeType] = {t.option_id: t for t in NATIVE_TYPES.values()}
_NATIVE_BY_ID[0x000A] = TEXT  # the old 'text' id; servers send 0x000D but both mean UTF8Type


def _read_string(buf: bytes | memoryview, pos: int) -> tuple[str, int]:
    (n,) = _U16.unpack_from(buf, pos)
    end = pos + 2 + n
    if end > len(buf):
        raise InvalidType("Not enough bytes to read an option string")
    try:
        return bytes(buf[pos + 2:end]).decode("utf-8"), end
    except UnicodeDecodeError as exc:
        raise InvalidType("Invalid UTF-8 in an option string") from exc


def _read_udt(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
    keyspace, pos = _read_string(buf, pos)
    name, pos = _read_string(buf, pos)
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    names, types = [], []
    for _ in range(count):
        field, pos = _read_string(buf, pos)
        ftype, pos = _read_option(buf, pos, depth)
        names.append(field)
        types.append(ftype.freeze())  # field types of a user type are always frozen
    return UserType(keyspace, name, names, types), pos


def _read_tuple(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    elements = []
    for _ in range(count):
        element, pos = _read_option(buf, pos, depth)
        elements.append(element.freeze())
    return TupleType(elements), pos


def _read_single(cls: type) -> Callable:
    def read(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
        element, pos = _read_option(buf, pos, depth)
        return cls(element.freeze()), pos
    return read


def _read_map(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
    key, pos = _read_option(buf, pos, depth)
    value, pos = _read_option(buf, pos, depth)
    return MapType(key.freeze(), value.freeze()), pos


def _read_custom(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
    text, pos = _read_string(buf, pos)
    return parse_marshal_type(text), pos


_OPTION_READERS: dict[int, Callable] = {
    OPTION_CUSTOM: _read_custom,
    OPTION_LIST: _read_single(ListType),
    OPTION_SET: _read_single(SetType),
    OPTION_MAP: _read_map,
    OPTION_UDT: _read_udt,
    OPTION_TUPLE: _read_tuple,
}


def _read_option(buf: bytes | memoryview, pos: int, depth: int) -> tuple[CqlType, int]:
    if depth > MAX_TYPE_NESTING:
        raise InvalidType("Option nested too deeply")
    (oid,) = _U16.unpack_from(buf, pos)
    native = _NATIVE_BY_ID.get(oid)
    if native is not None:
        return native, pos + 2
    reader = _OPTION_READERS.get(oid)
    if reader is None:
        raise InvalidType(f"Unknown option id {oid}")
    return reader(buf, pos + 2, depth + 1)


def read_option(buf: bytes | memoryview, pos: int = 0) -> tuple[CqlType, int]:
    """Decode one [option] at ``pos``; returns (type, position after it).

    Collections read from the wire are non-frozen at the top (the protocol does not say) with frozen
    contents, like Cassandra's DataType.toType; user types come back non-frozen.
    """
    try:
        return _read_option(buf, pos, 0)
    except struct.error as exc:
        raise InvalidType("Not enough bytes to read an option") from exc
