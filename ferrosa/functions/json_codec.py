"""CQL values <-> JSON exactly as Cassandra 5.0 does it (cql3/Json.java, AbstractType.toJSONString
and fromJSONObject of every type), plus SELECT JSON rows, INSERT JSON maps and to_json/from_json.

Theory of operation
-------------------
Output (``to_json``): one renderer per type, built once and cached. Strings are quoted with
Jackson's escaping (\\" \\\\ \\b \\t \\n \\f \\r, other control characters as \\u00XX, nothing else);
numbers print as Java does (Float/Double.toString, BigDecimal.toString, so 1.0E10 and -1.23E-12);
NaN and infinities print as ``null``; blobs as "0x..."; timestamps as "yyyy-MM-dd HH:mm:ss.SSSZ"
(SimpleDateFormat in UTC); dates, times, uuids, inets and durations as quoted text. Collections
and tuples are arrays, maps and user types objects. A map key that does not render as a JSON
string is quoted (and escaped) as one; a user type field whose name is not lower case is written
with double quotes inside the JSON string ("\\"Foo\\""), as are such column names in SELECT JSON.

Input (``from_json``): the value Jackson would have parsed (Python json gives the same shapes; an
int is Cassandra's Integer, Long or BigInteger by range, a float is a Double) is read by the
type's fromJSONObject: numbers may also come as strings (parsed with the type's fromString),
collections and tuples may come as strings holding JSON, map keys are always strings, user type
field names follow INSERT JSON's case rules, and the bigint/int/timestamp quirks are kept
(timestamp takes a number only if it does not fit an int, int refuses a Long, ...). Errors are
MarshalError with Cassandra's message (InvalidRequest for bad durations, as in Cassandra).

This module must NOT resolve functions or decide column defaults for INSERT JSON (DEFAULT NULL /
UNSET is the caller's: absent columns are simply absent from the returned map).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Callable, Mapping, Sequence

from ferrosa.functions import java, text_codec
from ferrosa.functions.errors import (
    FunctionFailure, FunctionServerError, InvalidRequest, MarshalError,
)
from ferrosa.functions.registry import AnyType, Factory, FixedType, Function, Overload
from ferrosa.functions.scalar import EMPTY_IS_NULL
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema.bytecomparable import comparable_key

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_U32, _F32, _F64 = struct.Struct(">I"), struct.Struct(">f"), struct.Struct(">d")
_NULL_FIELD = b"\xff\xff\xff\xff"
# JSON's whitespace (what Jackson skips between tokens).
_JSON_BLANKS = " \t\n\r"

# Jackson's JsonStringEncoder escapes.
_ESCAPES = {i: f"\\u{i:04X}" for i in range(32)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})


def quote_json(text: str) -> str:
    """JsonUtils.quoteAsJsonString (no surrounding quotes)."""
    return text.translate(_ESCAPES)


# ------------------------------------------------------------------------------------ JSON parsing

class JsonDecodeError(ValueError):
    """Text Jackson would refuse to read as JSON."""


_DECODER = json.JSONDecoder(parse_constant=lambda name: _refuse_constant(name))


def _refuse_constant(name: str) -> Any:
    raise JsonDecodeError(f"Non-standard token '{name}': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS "
                          f"to allow")


def parse_json(text: str) -> Any:
    """ObjectMapper.readValue(text, Object.class): the first JSON value, trailing text ignored."""
    start = len(text) - len(text.lstrip(_JSON_BLANKS))
    if start == len(text):
        raise JsonDecodeError("No content to map due to end-of-input")
    try:
        value, end = _DECODER.raw_decode(text, start)
    except JsonDecodeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonDecodeError(str(exc)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and end < len(text) \
            and text[end] not in _JSON_BLANKS:
        raise JsonDecodeError(f"Unexpected character ('{text[end]}' (code {ord(text[end])})): Expected space "
                              f"separating root-level values")
    return value


def _decode_nested(text: str) -> Any:
    """JsonUtils.decodeJson, used when a collection, tuple or user type arrives as a string."""
    try:
        return parse_json(text)
    except JsonDecodeError as exc:
        raise MarshalError(f"Error decoding JSON string: {exc}") from None


# ------------------------------------------------------------------------------------------ output

Renderer = Callable[[bytes], str]
_RENDERERS: dict[T.CqlType, Renderer] = {}


def to_json(t: T.CqlType, data: bytes | bytearray | memoryview | None, protocol_version: int = 5) -> str:
    """AbstractType.toJSONString of a serialized value (None renders as ``null``)."""
    if data is None:
        return "null"
    render = _RENDERERS.get(t)
    if render is None:
        render = _RENDERERS[t] = _BUILD_RENDERER[type(t)](t)
    try:
        return render(data)
    except (V.InvalidValue, struct.error, IndexError, UnicodeError) as exc:
        raise MarshalError(f"Invalid {T.cql_name(t)} value for JSON: {exc}") from None


def _quoted(text_of: Callable[[bytes], str]) -> Renderer:
    return lambda b: '"' + text_of(b) + '"' if b else '""'


def _number(text_of: Callable[[bytes], str]) -> Renderer:
    return lambda b: text_of(b) if b else '""'


def _floating(st: struct.Struct, text_of: Callable[[float], str]) -> Renderer:
    def render(b: bytes) -> str:
        if not b:
            return '""'
        x = st.unpack(b)[0]
        return "null" if math.isnan(x) or math.isinf(x) else text_of(x)
    return render


def _text_renderer(b: bytes) -> str:
    return '"' + quote_json(bytes(b).decode("utf-8", "surrogatepass")) + '"'


_lit = text_codec.literal_text
_NATIVE_RENDERERS: dict[T.NativeType, Renderer] = {
    T.ASCII: _text_renderer,
    T.TEXT: _text_renderer,
    T.BLOB: lambda b: '"0x' + bytes(b).hex() + '"',
    T.BOOLEAN: _number(lambda b: "true" if b[0] else "false"),
    T.TINYINT: lambda b: str(_I8.unpack(b)[0]),
    T.SMALLINT: lambda b: str(_I16.unpack(b)[0]),
    T.INT: _number(lambda b: str(_I32.unpack(b)[0])),
    T.BIGINT: _number(lambda b: str(_I64.unpack(b)[0])),
    T.COUNTER: _number(lambda b: str(_I64.unpack(b)[0])),
    T.VARINT: _number(lambda b: _lit(T.VARINT, b)),
    T.DECIMAL: _number(lambda b: _lit(T.DECIMAL, b)),
    T.FLOAT: _floating(_F32, java.float_to_string),
    T.DOUBLE: _floating(_F64, java.double_to_string),
    T.INET: _quoted(text_codec.inet_text),
    T.UUID: _quoted(text_codec.uuid_text),
    T.TIMEUUID: _quoted(text_codec.uuid_text),
    T.TIMESTAMP: _quoted(lambda b: text_codec.timestamp_text(_I64.unpack(b)[0], " ")),
    T.DATE: lambda b: '"' + text_codec.date_text(_U32.unpack(b)[0]) + '"',
    T.TIME: lambda b: '"' + text_codec.time_text(_I64.unpack(b)[0]) + '"',
    T.DURATION: lambda b: '"' + text_codec.duration_text(V.deserialize(T.DURATION, b)) + '"',
}


def _renderer(t: T.CqlType) -> Renderer:
    render = _RENDERERS.get(t)
    if render is None:
        render = _RENDERERS[t] = _BUILD_RENDERER[type(t)](t)
    return render


def _list_renderer(t: T.ListType | T.SetType) -> Renderer:
    element = _renderer(t.element)
    kind = t.kind

    def render(b: bytes) -> str:
        return "[" + ", ".join(element(item) for item in V.split_collection(b, kind, 1)) + "]"
    return render


def _map_renderer(t: T.MapType) -> Renderer:
    key, value = _renderer(t.key), _renderer(t.value)

    def render(b: bytes) -> str:
        items = V.split_collection(b, "map", 2)
        parts = []
        for i in range(0, len(items), 2):
            k = key(items[i])
            if not k.startswith('"'):  # JSON object keys must be strings
                k = '"' + quote_json(k) + '"'
            parts.append(k + ": " + value(items[i + 1]))
        return "{" + ", ".join(parts) + "}"
    return render


def _tuple_renderer(t: T.TupleType) -> Renderer:
    renderers = [_renderer(e) for e in t.elements]

    def render(b: bytes) -> str:
        fields = V.split_fields(b, len(renderers), None)
        fields += [None] * (len(renderers) - len(fields))
        return "[" + ", ".join("null" if f is None else r(f) for r, f in zip(renderers, fields)) + "]"
    return render


def _field_key(name: str) -> str:
    return '"' + quote_json(name if name == name.lower() else f'"{name}"') + '": '


def _udt_renderer(t: T.UserType) -> Renderer:
    renderers = [_renderer(ft) for ft in t.field_types]
    keys = [_field_key(name) for name in t.field_names]

    def render(b: bytes) -> str:
        fields = V.split_fields(b, len(renderers), t.field_names)
        fields += [None] * (len(renderers) - len(fields))
        return "{" + ", ".join(k + ("null" if f is None else r(f))
                               for k, r, f in zip(keys, renderers, fields)) + "}"
    return render


def _vector_renderer(t: T.VectorType) -> Renderer:
    element = _renderer(t.element)
    size = V.fixed_length(t.element)
    dimension = t.dimension

    def render(b: bytes) -> str:
        view = memoryview(b)
        if size is not None:
            items = [view[i * size:(i + 1) * size] for i in range(dimension)]
        else:
            items, pos = [], 0
            for _ in range(dimension):
                length, pos = V.read_uvint(view, pos)
                items.append(view[pos:pos + length])
                pos += length
        return "[" + ", ".join(element(item) for item in items) + "]"
    return render


_BUILD_RENDERER: dict[type, Callable[[Any], Renderer]] = {
    T.NativeType: lambda t: _NATIVE_RENDERERS[t],
    T.ListType: _list_renderer,
    T.SetType: _list_renderer,
    T.MapType: _map_renderer,
    T.TupleType: _tuple_renderer,
    T.UserType: _udt_renderer,
    T.VectorType: _vector_renderer,
    T.CustomType: lambda t: lambda b: '"0x' + bytes(b).hex() + '"',
}


def column_key(name: str) -> str:
    """How SELECT JSON names a column: double-quoted inside the JSON string unless lower case."""
    return '"' + quote_json(name if name == name.lower() else f'"{name}"') + '"'


def select_json_row(column_names: Sequence[str], types: Sequence[T.CqlType],
                    values: Sequence[bytes | None]) -> str:
    """The single "[json]" column of a SELECT JSON row (Selection.rowToJson)."""
    parts = []
    for name, t, value in zip(column_names, types, values):
        parts.append(column_key(name) + ": " + ("null" if value is None else to_json(t, value)))
    return "{" + ", ".join(parts) + "}"


# ------------------------------------------------------------------------------------------- input

Reader = Callable[[Any], bytes]
_READERS: dict[T.CqlType, Reader] = {}


def _reader(t: T.CqlType) -> Reader:
    read = _READERS.get(t)
    if read is None:
        read = _READERS[t] = _BUILD_READER[type(t)](t)
    return read


def from_json(t: T.CqlType, obj: Any) -> bytes | None:
    """AbstractType.fromJSONObject, bound: the serialized value (None for JSON null)."""
    if obj is None:
        return None
    return _reader(t)(obj)


def _got(what: str, obj: Any) -> MarshalError:
    return MarshalError(f"Expected {what}, but got a {java.simple_name(obj)}: {java.to_java_string(obj)}")


def _is_int(obj: Any) -> bool:
    return isinstance(obj, int) and not isinstance(obj, bool)


def _is_number(obj: Any) -> bool:
    return isinstance(obj, (int, float)) and not isinstance(obj, bool)


_from = text_codec.from_string


def _string_only(t: T.NativeType, what: str) -> Reader:
    def read(obj: Any) -> bytes:
        if not isinstance(obj, str):
            raise _got(what, obj)
        return _from(t, obj)
    return read


def _string_or_number(t: T.NativeType, what: str) -> Reader:
    """ByteType / ShortType: fromString(String.valueOf(parsed)) for strings and numbers."""
    def read(obj: Any) -> bytes:
        if isinstance(obj, str) or _is_number(obj):
            return _from(t, obj if isinstance(obj, str) else java.to_java_string(obj))
        raise _got(what, obj)
    return read


def _read_int(obj: Any) -> bytes:
    if isinstance(obj, str):
        return _from(T.INT, obj)
    if _is_int(obj) and java.INT32_MIN <= obj <= java.INT32_MAX:
        return _I32.pack(obj)
    raise _got("an int value", obj)


def _read_bigint(obj: Any) -> bytes:
    if isinstance(obj, str):
        return _from(T.BIGINT, obj)
    if _is_int(obj) and java.INT64_MIN <= obj <= java.INT64_MAX:
        return _I64.pack(obj)
    raise _got("a bigint value", obj)


def _read_float(obj: Any) -> bytes:
    if isinstance(obj, str):
        return _from(T.FLOAT, obj)
    if isinstance(obj, float):
        return _F32.pack(java.f32(obj))
    if _is_int(obj):
        return _F32.pack(java.int_to_f32(obj))
    raise _got("a float value", obj)


def _read_double(obj: Any) -> bytes:
    if isinstance(obj, str):
        return _from(T.DOUBLE, obj)
    if isinstance(obj, float):
        return _F64.pack(obj)
    if _is_int(obj):
        try:
            return _F64.pack(float(obj))
        except OverflowError:
            return _F64.pack(math.inf if obj > 0 else -math.inf)
    raise _got("a double value", obj)


def _read_decimal(obj: Any) -> bytes:
    text = java.to_java_string(obj)
    try:
        return _from(T.DECIMAL, text)
    except MarshalError:
        raise MarshalError(f"Value '{text}' is not a valid representation of a decimal value") from None


def _read_varint(obj: Any) -> bytes:
    text = java.to_java_string(obj)
    try:
        return V.varint_bytes(java.parse_biginteger(text))
    except ValueError:
        raise MarshalError(f"Value '{text}' is not a valid representation of a varint value") from None


def _read_boolean(obj: Any) -> bytes:
    if isinstance(obj, str):
        return _from(T.BOOLEAN, obj)
    if isinstance(obj, bool):
        return b"\x01" if obj else b"\x00"
    raise _got("a boolean value", obj)


def _read_text(obj: Any) -> bytes:
    if not isinstance(obj, str):
        raise _got("a UTF-8 string", obj)
    return obj.encode("utf-8", "replace")  # Java writes '?' for a lone surrogate


def _read_blob(obj: Any) -> bytes:
    shown = java.to_java_string(obj)
    if not isinstance(obj, str):
        raise MarshalError(f"Value '{shown}' is not a valid blob representation: "
                           f"{java.class_cast_message(obj, 'java.lang.String')}")
    if not obj.startswith("0x"):
        raise MarshalError(f"Value '{shown}' is not a valid blob representation: String representation of "
                           f"blob is missing 0x prefix: {obj}")
    try:
        return _from(T.BLOB, obj[2:])
    except MarshalError as exc:
        raise MarshalError(f"Value '{shown}' is not a valid blob representation: {exc.message}") from None


def _read_timestamp(obj: Any) -> bytes:
    if _is_int(obj) and not java.INT32_MIN <= obj <= java.INT32_MAX and java.INT64_MIN <= obj <= java.INT64_MAX:
        return _I64.pack(obj)  # only a Long is taken as milliseconds (Cassandra's quirk)
    if isinstance(obj, str):
        return _from(T.TIMESTAMP, obj)
    raise _got("a long or a datestring representation of a timestamp value", obj)


def _read_counter(obj: Any) -> bytes:
    raise FunctionServerError("java.lang.UnsupportedOperationException")


_NATIVE_READERS: dict[T.NativeType, Reader] = {
    T.ASCII: _string_only(T.ASCII, "an ascii string"),
    T.TEXT: _read_text,
    T.BLOB: _read_blob,
    T.BOOLEAN: _read_boolean,
    T.TINYINT: _string_or_number(T.TINYINT, "a byte value"),
    T.SMALLINT: _string_or_number(T.SMALLINT, "a short value"),
    T.INT: _read_int,
    T.BIGINT: _read_bigint,
    T.COUNTER: _read_counter,
    T.VARINT: _read_varint,
    T.DECIMAL: _read_decimal,
    T.FLOAT: _read_float,
    T.DOUBLE: _read_double,
    T.INET: _string_only(T.INET, "a string representation of an inet value"),
    T.UUID: _string_only(T.UUID, "a string representation of a uuid"),
    T.TIMEUUID: _string_only(T.TIMEUUID, "a string representation of a timeuuid"),
    T.TIMESTAMP: _read_timestamp,
    T.DATE: _string_only(T.DATE, "a string representation of a date value"),
    T.TIME: _string_only(T.TIME, "a string representation of a time value"),
    T.DURATION: _string_only(T.DURATION, "a string representation of a duration"),
}


def _pack_items(items: Sequence[bytes], count: int) -> bytes:
    parts = [_I32.pack(count)]
    for item in items:
        parts.append(_I32.pack(len(item)))
        parts.append(item)
    return b"".join(parts)


def _nested(obj: Any) -> Any:
    return _decode_nested(obj) if isinstance(obj, str) else obj


def _list_reader(t: T.ListType) -> Reader:
    element = _reader(t.element)

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, list):
            raise _got("a list", obj)
        items = []
        for item in obj:
            if item is None:
                raise MarshalError("Invalid null element in list")
            items.append(element(item))
        return _pack_items(items, len(items))
    return read


def _sorted_unique(pairs: list[tuple[bytes, Any]], t: T.CqlType, keep_last: bool) -> list[tuple[bytes, Any]]:
    key = comparable_key(t)
    decorated = sorted(((key(k), i, k, v) for i, (k, v) in enumerate(pairs)), key=lambda x: x[:2])
    out: list[tuple[bytes, Any]] = []
    last = None
    for ck, _, k, v in decorated:
        if ck == last:
            if keep_last:
                out[-1] = (k, v)
            continue
        last = ck
        out.append((k, v))
    return out


def _set_reader(t: T.SetType) -> Reader:
    element = _reader(t.element)

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, list):
            raise _got("a list (representing a set)", obj)
        items = []
        for item in obj:
            if item is None:
                raise MarshalError("Invalid null element in set")
            items.append((element(item), None))
        unique = _sorted_unique(items, t.element, False)
        return _pack_items([k for k, _ in unique], len(unique))
    return read


def _map_reader(t: T.MapType) -> Reader:
    key, value = _reader(t.key), _reader(t.value)

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, dict):
            raise _got("a map", obj)
        pairs = []
        for k, v in obj.items():
            if v is None:
                raise MarshalError("Invalid null value in map")
            pairs.append((key(k), value(v)))
        unique = _sorted_unique(pairs, t.key, True)
        return _pack_items([x for pair in unique for x in pair], len(unique))
    return read


def _pack_fields(fields: Sequence[bytes | None]) -> bytes:
    return b"".join(_NULL_FIELD if f is None else _I32.pack(len(f)) + f for f in fields)


def _tuple_reader(t: T.TupleType) -> Reader:
    readers = [_reader(e) for e in t.elements]
    size = len(readers)

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, list):
            raise _got("a list representation of a tuple", obj)
        if len(obj) > size:
            raise MarshalError(f"Tuple contains extra items (expected {size}): {java.to_java_string(obj)}")
        if len(obj) < size:
            raise MarshalError(f"Tuple is missing items (expected {size}): {java.to_java_string(obj)}")
        return _pack_fields([None if item is None else r(item) for r, item in zip(readers, obj)])
    return read


def handle_case_sensitivity(value_map: Mapping[str, Any]) -> dict[str, Any]:
    """JsonUtils.handleCaseSensitivity: "Quoted" keys keep their case, others are lower-cased."""
    out = dict(value_map)
    for key in list(value_map):
        if key.startswith('"') and key.endswith('"'):
            out[key[1:-1]] = out.pop(key)
            continue
        lowered = key.lower()
        if key != lowered:
            out[lowered] = out.pop(key)
    return out


def _udt_reader(t: T.UserType) -> Reader:
    readers = [_reader(ft) for ft in t.field_types]
    names = t.field_names

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, dict):
            raise _got("a map", obj)
        fields = handle_case_sensitivity(obj)
        values: list[bytes | None] = []
        found = 0
        for name, r in zip(names, readers):
            item = fields.get(name)
            if item is None:
                values.append(None)
            else:
                values.append(r(item))
                found += 1
        if found != len(fields):
            for name in fields:
                if name not in names:
                    raise MarshalError(f"Unknown field '{name}' in value of user defined type {t.name}")
        return _pack_fields(values)
    return read


def _vector_reader(t: T.VectorType) -> Reader:
    element = _reader(t.element)
    fixed = V.fixed_length(t.element) is not None
    dimension = t.dimension

    def read(obj: Any) -> bytes:
        obj = _nested(obj)
        if not isinstance(obj, list):
            raise _got("a list", obj)
        if len(obj) != dimension:
            raise MarshalError(f"List had incorrect size: expected {dimension} but given {len(obj)}; "
                               f"{java.to_java_string(obj)}")
        parts = []
        for item in obj:
            if item is None:
                raise MarshalError("Invalid null element in list")
            data = element(item)
            parts.append(data if fixed else V.encode_uvint(len(data)) + data)
        try:
            value = b"".join(parts)
            V.validate(t, value)
        except V.InvalidValue as exc:
            raise MarshalError(str(exc)) from None
        return value
    return read


def _custom_reader(t: T.CustomType) -> Reader:
    def read(obj: Any) -> bytes:
        raise MarshalError(f"JSON values of custom type {T.cql_name(t)} are not supported")
    return read


_BUILD_READER: dict[type, Callable[[Any], Reader]] = {
    T.NativeType: lambda t: _NATIVE_READERS[t],
    T.ListType: _list_reader,
    T.SetType: _set_reader,
    T.MapType: _map_reader,
    T.TupleType: _tuple_reader,
    T.UserType: _udt_reader,
    T.VectorType: _vector_reader,
    T.CustomType: _custom_reader,
}


# -------------------------------------------------------------------------------------- INSERT JSON

def parse_insert_json(text: str, columns: Mapping[str, T.CqlType]) -> dict[str, bytes | None]:
    """Json.parseJson for INSERT JSON: column -> serialized value (None for an explicit null).

    ``columns`` maps the table's column names (exact case) to their types, in table order. Columns
    absent from the JSON are absent from the result (DEFAULT NULL / UNSET is the caller's choice).
    """
    try:
        value_map = parse_json(text)
    except JsonDecodeError as exc:
        raise InvalidRequest(f"Could not decode JSON string as a map: {exc}. (String was: {text})") from None
    if value_map is None:
        raise InvalidRequest("Got null for INSERT JSON values")
    if not isinstance(value_map, dict):
        raise InvalidRequest(f"Could not decode JSON string as a map: Cannot deserialize value of type "
                             f"`java.util.LinkedHashMap<java.lang.Object,java.lang.Object>` from "
                             f"{java.simple_name(value_map)} value. (String was: {text})")
    remaining = handle_case_sensitivity(value_map)
    out: dict[str, bytes | None] = {}
    for name, t in columns.items():
        if name not in remaining:
            continue
        obj = remaining.pop(name)
        try:
            out[name] = from_json(t, obj)
        except MarshalError as exc:
            raise InvalidRequest(f"Error decoding JSON value for {name}: {exc.message}") from None
    if remaining:
        raise InvalidRequest(f"JSON values map contains unrecognized column: {next(iter(remaining))}")
    return out


# ----------------------------------------------------------------------------- to_json / from_json

def _to_json_function(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    t = types[0]
    empty_is_null = t in EMPTY_IS_NULL

    def body(args: list, protocol_version: int = 5) -> bytes:
        value = args[0]
        if value is None or (not value and empty_is_null):
            return b"null"
        return to_json(t, value, protocol_version).encode("utf-8", "surrogatepass")
    return Function(name, T.TEXT, (t,), body)


def _from_json_function(name: str, types: list, receiver: T.CqlType | None) -> Overload:
    if receiver is None:
        raise InvalidRequest(f"{name}() cannot be used in the selection clause of a SELECT statement")
    qualified = f"system.{name}"

    def failure(message: str) -> FunctionFailure:
        return FunctionFailure(message, "system", name, ["text"])

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if args[0] is None:
            return None
        text = bytes(args[0]).decode("utf-8", "replace")
        try:
            obj = parse_json(text)
        except JsonDecodeError as exc:
            raise failure(f"execution of '{qualified}[text]' failed: Could not decode JSON string '{text}': "
                          f"{exc}") from None
        try:
            return from_json(receiver, obj)
        except MarshalError as exc:
            raise failure(f"org.apache.cassandra.serializers.MarshalException: {exc.message}") from None
    return Function(name, receiver, (T.TEXT,), body)


def json_factories() -> list[Factory]:
    """to_json(any) and from_json(text) (needs a receiver), with their pre-5.0 names."""
    return [Factory(name, (AnyType(False),), _to_json_function) for name in ("to_json", "tojson")] + \
        [Factory(name, (FixedType(T.TEXT),), _from_json_function) for name in ("from_json", "fromjson")]
