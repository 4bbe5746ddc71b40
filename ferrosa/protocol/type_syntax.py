"""CQL type syntax: the CQL type-text parser and the marshal class-string parser.

``parse_cql_type`` reads type text as Cassandra's grammar accepts it (case-insensitive keywords,
quoted user type names, nesting, ``frozen<>``, quoted custom class names) into an unprepared tree, then
prepares it with Cassandra's rules and messages (CQL3Type.Raw.prepare): non-frozen collections or UDTs
inside collections, counters in collections or tuples, durations in sets or as map keys, ``frozen<>``
on a non-freezable type, vector dimensions. ``parse_marshal_type`` reads TypeParser syntax
(``org.apache.cassandra.db.marshal.MapType(...)``). types.py re-exports both.

This module must NOT serialize values or do I/O; the type model itself lives in types.py.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ferrosa.protocol.types import (
    CQL_NATIVE_NAMES, COUNTER, DURATION, MARSHAL_PACKAGE, MAX_TYPE_NESTING, NATIVE_TYPES, TIMESTAMP,
    CqlType, CustomType, InvalidType, ListType, MapType, NativeType, SetType, TupleType, UdtResolver,
    UserType, VectorType, marshal_class,
)

_MARSHAL_NATIVES: dict[str, NativeType] = {t.marshal: t for t in NATIVE_TYPES.values()}
# Legacy timestamp comparator class; CQL shows it as timestamp and the protocol sends it as one.
_MARSHAL_NATIVES[MARSHAL_PACKAGE + "DateType"] = TIMESTAMP
_MARSHAL_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-+&]+")


class _MarshalParser:
    """Recursive descent over TypeParser's grammar: Name[(params)], blanks ignored."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> InvalidType:
        return InvalidType(f"Syntax error parsing '{self.text}' at char {self.pos}: {what}")

    def skip(self) -> str:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t\n\r":
            pos += 1
        self.pos = pos
        return text[pos] if pos < len(text) else ""

    def name(self) -> str:
        self.skip()
        m = _MARSHAL_NAME_CHARS.match(self.text, self.pos)
        if not m:
            raise self.fail("expected a type name")
        self.pos = m.end()
        return m.group()

    def expect(self, ch: str) -> None:
        if self.skip() != ch:
            raise self.fail(f"expected '{ch}'")
        self.pos += 1

    def params(self, depth: int, item: Callable[[int], object]) -> list:
        out: list = []
        self.expect("(")
        while self.skip() != ")":
            if out:
                self.expect(",")
            out.append(item(depth + 1))
        self.pos += 1
        return out

    def parse(self, depth: int = 0) -> CqlType:
        if depth > MAX_TYPE_NESTING:
            raise self.fail("type nested too deeply")
        name = self.name()
        full = name if "." in name else MARSHAL_PACKAGE + name
        short = full[len(MARSHAL_PACKAGE):] if full.startswith(MARSHAL_PACKAGE) else None
        has_params = self.skip() == "("
        if not has_params:
            return _MARSHAL_NATIVES.get(full) or CustomType(full)
        builder = _MARSHAL_BUILDERS.get(short)
        if builder is None:  # unknown parameterized class: keep its exact parameter text
            params_start = self.pos
            self._skip_balanced()
            return CustomType(full + self.text[params_start:self.pos])
        return builder(self, depth)

    def _skip_balanced(self) -> None:
        level = 0
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            level += (ch == "(") - (ch == ")")
            if level == 0:
                return
        raise self.fail("unbalanced parentheses")

    def types(self, depth: int, count: int | None = None) -> list[CqlType]:
        out = self.params(depth, self.parse)
        if count is not None and len(out) != count:
            raise self.fail(f"expected {count} type parameters, got {len(out)}")
        return out

    def user_type(self, depth: int) -> CqlType:
        self.expect("(")
        keyspace = self.name()
        self.expect(",")
        type_name = self._hex_name()
        names: list[str] = []
        types: list[CqlType] = []
        while self.skip() == ",":
            self.pos += 1
            names.append(self._hex_name())
            self.expect(":")
            types.append(self.parse(depth + 1).freeze())
        self.expect(")")
        return UserType(keyspace, type_name, names, types)

    def _hex_name(self) -> str:
        raw = self.name()
        try:
            return bytes.fromhex(raw).decode("utf-8")
        except ValueError as exc:
            raise self.fail(f"invalid hex name '{raw}'") from exc

    def vector(self, depth: int) -> CqlType:
        self.expect("(")
        element = self.parse(depth + 1).freeze()
        self.expect(",")
        dim = self.name()
        self.expect(")")
        if not re.fullmatch(r"-?\d+", dim):
            raise self.fail(f"invalid vector dimension '{dim}'")
        return VectorType(element, int(dim))


_MARSHAL_BUILDERS: dict[str | None, Callable[[_MarshalParser, int], CqlType]] = {
    "ListType": lambda p, d: ListType(p.types(d, 1)[0].freeze()),
    "SetType": lambda p, d: SetType(p.types(d, 1)[0].freeze()),
    "MapType": lambda p, d: MapType(*(x.freeze() for x in p.types(d, 2))),
    "TupleType": lambda p, d: TupleType(x.freeze() for x in p.types(d)),
    "FrozenType": lambda p, d: p.types(d, 1)[0].freeze(),
    # Clustering order is not part of a type: callers that care use the column's own flag.
    "ReversedType": lambda p, d: p.types(d, 1)[0],
    "UserType": _MarshalParser.user_type,
    "VectorType": _MarshalParser.vector,
}


def parse_marshal_type(text: str) -> CqlType:
    """Parse a marshal class string (as TypeParser does); unknown classes become CustomType."""
    parser = _MarshalParser(text)
    t = parser.parse()
    if parser.skip():
        raise parser.fail("unexpected trailing characters")
    return t


# -------------------------------------------------------------------------------- CQL text parsing

_TOKEN = re.compile(
    r"""(?P<skip>\s+|--[^\n]*|//[^\n]*|/\*.*?\*/)
      | (?P<id>[A-Za-z][A-Za-z0-9_]*)
      | "(?P<qid>(?:[^"]|"")*)"
      | '(?P<str>(?:[^']|'')*)'
      | \$\$(?P<pg>.*?)\$\$
      | (?P<int>-?[0-9]+)
      | (?P<p>[<>,.])""",
    re.X | re.S,
)


def _frozen_wrap(text: str, frozen: bool) -> str:
    return f"frozen<{text}>" if frozen else text


class _Raw:
    """A parsed but unprepared type (Cassandra's CQL3Type.Raw): preparation applies the rules."""

    __slots__ = ("kind", "frozen", "parts", "value")
    supports_freezing = property(lambda self: self.kind in ("list", "set", "map", "udt", "tuple", "vector"))

    def __init__(self, kind: str, frozen: bool, parts: tuple = (), value: Any = None):
        self.kind, self.frozen, self.parts, self.value = kind, frozen, parts, value

    def is_native(self, t: NativeType) -> bool:
        return self.kind == "native" and self.value is t

    def freeze(self) -> _Raw:
        if self.kind in ("tuple", "vector"):
            return self
        if self.kind == "udt":
            return _Raw("udt", True, self.parts)
        if self.kind in ("list", "set", "map"):
            parts = tuple(p.freeze() if p.supports_freezing else p for p in self.parts)
            return _Raw(self.kind, True, parts)
        raise InvalidType(
            f"frozen<> is only allowed on collections, tuples, and user-defined types (got {self})")

    def __str__(self) -> str:
        kind, parts = self.kind, self.parts
        if kind == "native":
            return str(parts[0])
        if kind == "custom":
            return f"'{marshal_class(self.value)}'"
        if kind == "udt":
            name = f"{parts[1]}.{parts[0]}" if parts[1] is not None else parts[0]
            return _frozen_wrap(name, self.frozen)
        if kind == "vector":
            return f"vector<{parts[0]}, {self.value}>"
        inner = ", ".join(map(str, parts))
        return f"tuple<{inner}>" if kind == "tuple" else _frozen_wrap(f"{kind}<{inner}>", self.frozen)


class _CqlTypeParser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.fail(f"unexpected character {text[pos]!r}")
            pos = m.end()
            group = m.lastgroup or ""
            if group != "skip":
                self.tokens.append((group, m.group(group)))
        self.i = 0

    def fail(self, what: str) -> InvalidType:
        return InvalidType(f"Invalid CQL type '{self.text}': {what}")

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof":
            raise self.fail("unexpected end of input")
        self.i += 1
        return tok

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if kind != "p" or value != punct:
            raise self.fail(f"expected '{punct}' but found '{value}'")

    def parse(self, depth: int = 0) -> _Raw:
        if depth > MAX_TYPE_NESTING:
            raise self.fail("type nested too deeply")
        kind, value = self.take()
        if kind in ("str", "pg"):
            text = value.replace("''", "'") if kind == "str" else value
            t = parse_marshal_type(text)
            return _Raw("custom", False, (text,), t)
        if kind == "id":
            word = value.lower()
            if self.peek() == ("p", "<") and word in _GENERIC_PARSERS:
                self.i += 1
                raw = _GENERIC_PARSERS[word](self, depth + 1)
                self.expect(">")
                return raw
            if word in CQL_NATIVE_NAMES and self.peek() != ("p", "."):
                return _Raw("native", False, (word,), CQL_NATIVE_NAMES[word])
            return self.user_type_name(word)
        if kind == "qid":
            return self.user_type_name(value.replace('""', '"'))
        raise self.fail(f"unexpected '{value}'")

    def user_type_name(self, first: str) -> _Raw:
        if self.peek() != ("p", "."):
            return _Raw("udt", False, (first, None))
        self.i += 1
        kind, value = self.take()
        if kind == "id":
            return _Raw("udt", False, (value.lower(), first))
        if kind == "qid":
            return _Raw("udt", False, (value.replace('""', '"'), first))
        raise self.fail(f"expected a type name after '{first}.'")

    def collection(self, kind: str, arity: int, depth: int) -> _Raw:
        parts = [self.parse(depth)]
        for _ in range(arity - 1):
            self.expect(",")
            parts.append(self.parse(depth))
        return _Raw(kind, False, tuple(parts))

    def tuple_(self, depth: int) -> _Raw:
        parts = [self.parse(depth)]
        while self.peek() == ("p", ","):
            self.i += 1
            parts.append(self.parse(depth))
        return _Raw("tuple", True, tuple(p.freeze() if p.supports_freezing else p for p in parts))

    def vector(self, depth: int) -> _Raw:
        element = self.parse(depth)
        self.expect(",")
        kind, value = self.take()
        if kind != "int" or not -(2**31) <= int(value) < 2**31:
            raise self.fail(f"invalid vector dimension '{value}'")
        return _Raw("vector", True, (element,), int(value))


_GENERIC_PARSERS: dict[str, Callable[[_CqlTypeParser, int], _Raw]] = {
    "frozen": lambda p, d: p.parse(d).freeze(),
    "list": lambda p, d: p.collection("list", 1, d),
    "set": lambda p, d: p.collection("set", 1, d),
    "map": lambda p, d: p.collection("map", 2, d),
    "tuple": _CqlTypeParser.tuple_,
    "vector": _CqlTypeParser.vector,
}


def _prepare(raw: _Raw, resolve: UdtResolver | None) -> CqlType:
    kind = raw.kind
    if kind in ("native", "custom"):
        return raw.value
    if kind == "udt":
        name, keyspace = raw.parts
        found = resolve(name, keyspace) if resolve is not None else None
        if found is None:
            raise InvalidType(f"Unknown type {keyspace + '.' + name if keyspace else name}")
        return found.with_frozen(raw.frozen)
    if kind == "tuple":
        if any(p.is_native(COUNTER) for p in raw.parts):
            raise InvalidType("Counters are not allowed inside tuples")
        return TupleType(_prepare(p, resolve) for p in raw.parts)
    if kind == "vector":
        return VectorType(_prepare(raw.parts[0], resolve), raw.value)
    return _prepare_collection(raw, resolve)


def _prepare_collection(raw: _Raw, resolve: UdtResolver | None) -> CqlType:
    """Cassandra's RawCollection.prepare checks, in its order, with its messages."""
    values = raw.parts[-1]
    keys = raw.parts[0] if raw.kind == "map" else None

    def check_nested(inner: _Raw) -> None:
        if not raw.frozen and inner.supports_freezing and not inner.frozen:
            what = "UDTs" if inner.kind == "udt" else "collections"
            raise InvalidType(f"Non-frozen {what} are not allowed inside collections: {raw}")

    check_nested(values)
    if values.is_native(COUNTER):
        raise InvalidType(f"Counters are not allowed inside collections: {raw}")
    if values.is_native(DURATION) and raw.kind == "set":
        raise InvalidType(f"Durations are not allowed inside sets: {raw}")
    if keys is not None:
        if keys.is_native(COUNTER):
            raise InvalidType(f"Counters are not allowed inside collections: {raw}")
        if keys.is_native(DURATION):
            raise InvalidType(f"Durations are not allowed as map keys: {raw}")
        check_nested(keys)
    value_type = _prepare(values, resolve)
    if keys is not None:
        return MapType(_prepare(keys, resolve), value_type, raw.frozen)
    return (ListType if raw.kind == "list" else SetType)(value_type, raw.frozen)


def parse_cql_type(text: str, resolve_udt: UdtResolver | None = None) -> CqlType:
    """Parse CQL type text; ``resolve_udt(name, keyspace)`` supplies user types (see types.py)."""
    parser = _CqlTypeParser(text)
    raw = parser.parse()
    if parser.peek()[0] != "eof":
        raise parser.fail(f"unexpected '{parser.peek()[1]}' after the type")
    return _prepare(raw, resolve_udt)
