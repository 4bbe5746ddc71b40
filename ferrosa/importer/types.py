"""Cassandra marshal type strings -> what the SSTable readers need to split and render values.

Statistics.db names every type by its marshal class string (``org.apache.cassandra.db.marshal.
MapType(...)``). ``ferrosa.protocol.types.parse_marshal_type`` already parses those (TypeParser syntax:
natives, FrozenType, ReversedType, List/Set/Map, Tuple, UserType with hex names, VectorType); it
drops ReversedType (clustering order is not part of a CQL type) and returns CompositeType,
DynamicCompositeType and unknown classes as an opaque CustomType. This module adds the storage facts:

* ``fixed_length``: AbstractType.valueLengthIfFixed(). Values of fixed-length types are written
  without a length prefix in Data.db; everything else is an unsigned vint length plus the bytes.
  Storage differs from the protocol here: counter cells hold a variable-length counter context, and
  smallint/tinyint/date/time are variable in Cassandra's storage format.
* ``complex``: the column is multi-cell (non-frozen collection or UDT): its cells carry a path.
* ``reversed``: a DESC clustering column (kept for rendering the schema; the bytes are unchanged).
* composite partition keys (CompositeType): ``KeyType.split`` cuts a key into its components
  (each: u16 length, bytes, one end-of-component byte).

This module must NOT decode values into Python objects (dump.py renders them) or read files.
"""

from __future__ import annotations

from ferrosa.importer.errors import CorruptSSTable, UnsupportedFormat
from ferrosa.protocol.types import (
    MARSHAL_PACKAGE, SMALLINT, TIMEUUID, CqlType, CustomType, InvalidType, ListType, MapType, NativeType,
    SetType, UserType, VectorType, parse_marshal_type,
)

VARIABLE_LENGTH = -1
# valueLengthIfFixed() of Cassandra's fixed-width storage types, by CQL name.
NATIVE_FIXED_LENGTHS: dict[str, int] = {
    "boolean": 1, "int": 4, "float": 4, "bigint": 8, "double": 8, "timestamp": 8, "uuid": 16, "timeuuid": 16,
}
# Marshal classes outside CQL's native types that are fixed-width.
CUSTOM_FIXED_LENGTHS: dict[str, int] = {
    MARSHAL_PACKAGE + "EmptyType": 0,
    MARSHAL_PACKAGE + "LexicalUUIDType": 16,
}
_REVERSED = MARSHAL_PACKAGE + "ReversedType("
_COMPOSITE = MARSHAL_PACKAGE + "CompositeType("
_UNSUPPORTED_KEYS = (MARSHAL_PACKAGE + "DynamicCompositeType", MARSHAL_PACKAGE + "PartitionerDefinedOrder")
# A composite key component ends with this byte (0 in a stored key; -1/1 only in slice bounds).
END_OF_COMPONENT = 0


def _qualified(text: str) -> str:
    text = text.strip()
    return text if "." in text.split("(", 1)[0] else MARSHAL_PACKAGE + text


def fixed_length_of(t: CqlType) -> int:
    if isinstance(t, NativeType):
        return NATIVE_FIXED_LENGTHS.get(t.name, VARIABLE_LENGTH)
    if isinstance(t, VectorType):
        element = fixed_length_of(t.element)
        return element * t.dimension if element >= 0 else VARIABLE_LENGTH
    if isinstance(t, CustomType):
        return CUSTOM_FIXED_LENGTHS.get(t.class_name, VARIABLE_LENGTH)
    return VARIABLE_LENGTH


def parse_type(text: str, path: str) -> CqlType:
    try:
        return parse_marshal_type(text)
    except InvalidType as exc:
        raise UnsupportedFormat(path, f"cannot parse type {text!r}: {exc}") from None


def value_length_if_fixed(text: str, path: str) -> int:
    return fixed_length_of(parse_type(text, path))


class ColumnType:
    """One column's (or clustering component's) type with its storage facts."""

    __slots__ = ("cell_type", "complex", "cql", "fixed_length", "marshal", "path_type", "reversed")

    def __init__(self, marshal: str, path: str):
        self.marshal = marshal
        self.reversed = _qualified(marshal).startswith(_REVERSED)
        self.cql = parse_type(marshal, path)
        self.fixed_length = fixed_length_of(self.cql)
        self.complex = self.cql.is_multi_cell
        # For complex columns: the type of a cell's path and of its value.
        self.path_type: CqlType | None = None
        self.cell_type: CqlType = self.cql
        if self.complex:
            self.path_type, self.cell_type = _path_and_value(self.cql, path)

    def __repr__(self) -> str:
        return f"ColumnType({self.marshal!r})"


def _path_and_value(t: CqlType, path: str) -> tuple[CqlType | None, CqlType]:
    """Types of a multi-cell column's cell path and cell value (CollectionType / UserType cells)."""
    if isinstance(t, ListType):
        return TIMEUUID, t.element
    if isinstance(t, SetType):
        return t.element, t.element   # set cells have an empty value; the element is the path
    if isinstance(t, MapType):
        return t.key, t.value
    if isinstance(t, UserType):
        return SMALLINT, t     # the path is the field position; dump.py picks the field type
    raise UnsupportedFormat(path, f"multi-cell type {t!r} is not a collection or user type")


class KeyType:
    """The partition key type: one component, or a CompositeType of several."""

    __slots__ = ("components", "marshal")

    def __init__(self, marshal: str, path: str):
        self.marshal = marshal
        q = _qualified(marshal)
        if q.startswith(_UNSUPPORTED_KEYS):
            raise UnsupportedFormat(path, f"partition key type {marshal} is not supported")
        if q.startswith(_COMPOSITE) and q.endswith(")"):
            inner = q[len(_COMPOSITE):-1]
            self.components = tuple(ColumnType(part, path) for part in split_type_list(inner, path))
        else:
            self.components = (ColumnType(marshal, path),)

    @property
    def composite(self) -> bool:
        return len(self.components) > 1 or _qualified(self.marshal).startswith(_COMPOSITE)

    def split(self, key: bytes, path: str = "", offset: int | None = None) -> list[bytes]:
        """The serialized value of each key component."""
        if not self.composite:
            return [key]
        out: list[bytes] = []
        pos, n = 0, len(key)
        while pos < n:
            if pos + 2 > n:
                raise CorruptSSTable(path, "composite partition key ends inside a component length", offset)
            size = int.from_bytes(key[pos:pos + 2], "big")
            end = pos + 2 + size
            if end + 1 > n:
                raise CorruptSSTable(path, "composite partition key component runs past the key", offset)
            out.append(key[pos + 2:end])
            pos = end + 1  # end-of-component byte
        if len(out) != len(self.components):
            raise CorruptSSTable(path, f"composite partition key has {len(out)} components, "
                                       f"its type has {len(self.components)}", offset)
        return out


def split_type_list(text: str, path: str) -> list[str]:
    """Split ``A,B(C,D),E`` at top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UnsupportedFormat(path, f"unbalanced parentheses in type {text!r}")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise UnsupportedFormat(path, f"unbalanced parentheses in type {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


# Counter contexts (CounterContext): a header of a signed u16 count and that many u16 shard indexes,
# then shards of (counter id 16 bytes, clock i64, count i64). The value is the sum of the counts.
COUNTER_SHARD_SIZE = 32
COUNTER_COUNT_OFFSET = 24


def counter_context_total(context: bytes) -> int:
    """The value of a counter cell (sum of its shards' counts, wrapped to int64 as Java does)."""
    if len(context) < 2:
        raise ValueError("counter context shorter than its header")
    header = 2 + 2 * abs(int.from_bytes(context[:2], "big", signed=True))
    if header > len(context) or (len(context) - header) % COUNTER_SHARD_SIZE:
        raise ValueError(f"counter context of {len(context)} bytes is not a header plus whole shards")
    total = sum(int.from_bytes(context[at + COUNTER_COUNT_OFFSET:at + COUNTER_SHARD_SIZE], "big", signed=True)
                for at in range(header, len(context), COUNTER_SHARD_SIZE))
    total &= (1 << 64) - 1
    return total - (1 << 64) if total >= 1 << 63 else total
