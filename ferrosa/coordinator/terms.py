"""Binding CQL terms to their receivers: literals, bind markers, collections and functions -> bytes.

What it is: `compile_term` turns an AST term and the type of what receives it (a column, a LIMIT, a
TTL...) into a `ValueFn`: a function of the statement's bound values returning the serialized value,
None (null) or UNSET. Literals are converted and serialized once, at prepare time; a bind marker
becomes a lookup that validates the client's bytes against the receiver type.

What it must not do: know about tables' storage or shards; it only produces values.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass
from typing import Callable

from ferrosa.cql import ast
from ferrosa.cql.literals import LiteralError, literal_value
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema.errors import InvalidRequest


class _Unset:
    """A bound value the client marked 'not set' (protocol v4+): the column is left untouched."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()
ValueFn = Callable[[list], "bytes | None | _Unset"]
_INT32 = struct.Struct(">i")


@dataclass(frozen=True)
class MarkerSpec:
    """What a bind marker receives: shown to drivers in the prepared statement's metadata."""

    index: int
    name: str
    type: T.CqlType
    keyspace: str
    table: str


def _constant(value: bytes | None) -> ValueFn:
    return lambda values: value


def _marker(marker: ast.BindMarker, t: T.CqlType, receiver: str, keyspace: str, table: str,
            specs: dict[int, MarkerSpec]) -> ValueFn:
    index = marker.index
    specs[index] = MarkerSpec(index, marker.name or receiver, t, keyspace, table)
    check = V.validator(t)
    if check is None:  # a blob: any bytes will do
        def bound(values: list) -> bytes | None | _Unset:
            return values[index]
    else:
        def bound(values: list) -> bytes | None | _Unset:
            value = values[index]
            if value is None or value is UNSET:
                return value
            try:
                check(value)
            except V.InvalidValue as exc:  # Constants.Marker.bindAndGet: the message as is
                raise InvalidRequest(str(exc)) from None
            return value
    # What `bind_all` needs to bind several markers at once, without a call per marker.
    bound.marker_index = index
    bound.marker_check = check
    return bound


def bind_all(fns: list[ValueFn]) -> Callable[[list], list]:
    """One function doing what `[fn(values) for fn in fns]` does, with fewer Python calls when
    every fn is a bind marker: the bound values as a list, then each validated. Markers in one
    ascending run, as the usual prepared INSERT binds its columns, are a slice of the values,
    taken by C code; a statement of blob columns then binds them without a Python call."""
    indexes = [getattr(fn, "marker_index", None) for fn in fns]
    if not indexes or None in indexes:
        return lambda values: [fn(values) for fn in fns]
    first = indexes[0]
    if indexes == list(range(first, first + len(indexes))):
        get = operator.itemgetter(slice(first, first + len(indexes)))
    else:
        pick = operator.itemgetter(*indexes)  # two or more: a run covers any single index

        def get(values: list) -> list:
            return list(pick(values))
    checks = [(i, fn.marker_check) for i, fn in enumerate(fns) if fn.marker_check is not None]
    if not checks:
        return get
    if len(checks) == 1:
        # One typed value among blobs and texts, as a clustering key's int: without the loop.
        [(at, check)] = checks

        def checked_one(values: list) -> list:
            bound = get(values)
            value = bound[at]
            if value is not None and value is not UNSET:
                try:
                    check(value)
                except V.InvalidValue as exc:  # as the marker's own function raises it
                    raise InvalidRequest(str(exc)) from None
            return bound
        return checked_one

    def checked(values: list) -> list:
        bound = get(values)
        for i, check in checks:
            value = bound[i]
            if value is not None and value is not UNSET:
                try:
                    check(value)
                except V.InvalidValue as exc:  # as each marker's own function raises it
                    raise InvalidRequest(str(exc)) from None
        return bound
    return checked


def _serialize_literal(term: ast.Term, t: T.CqlType, receiver: str) -> bytes | None:
    """A marker-free term's serialized value, computed once."""
    try:
        value = literal_python(term, t, receiver)
        return None if value is None else V.serialize(t, value)
    except (V.InvalidValue, LiteralError) as exc:
        raise InvalidRequest(str(exc)) from None


def literal_python(term: ast.Term, t: T.CqlType, receiver: str) -> object:
    """A marker-free literal term as the Python value of type `t`."""
    if isinstance(term, ast.Null):
        return None
    if isinstance(term, ast.TypeCast):
        return literal_python(term.term, t, receiver)
    if isinstance(term, ast.Constant):
        if isinstance(t, T.NativeType):
            return literal_value(term, t.name, receiver)
        raise InvalidRequest(f"Invalid {term.type.name} constant ({term.text}) for \"{receiver}\" "
                             f"of type {T.cql_name(t)}")
    handler = _COLLECTION_LITERALS.get(type(term))
    if handler is None:
        if isinstance(term, (ast.BinaryOp, ast.Negation)):
            raise InvalidRequest(f"Arithmetic operations (for \"{receiver}\") are not supported "
                                 f"yet by Ferrosa")
        raise InvalidRequest(f"Invalid value {type(term).__name__} for \"{receiver}\" of type "
                             f"{T.cql_name(t)}")
    return handler(term, t, receiver)


def _list_literal(term: ast.ListLiteral, t: T.CqlType, receiver: str) -> object:
    if isinstance(t, (T.ListType, T.SetType)):
        return [_element(e, t.subtypes[0], receiver) for e in term.elements]
    if isinstance(t, T.VectorType):
        if len(term.elements) != t.dimension:
            raise InvalidRequest(f"Invalid vector literal for {receiver} of type {T.cql_name(t)}; "
                                 f"expected {t.dimension} elements, but given {len(term.elements)}")
        return [_element(e, t.subtypes[0], receiver) for e in term.elements]
    raise InvalidRequest(f"Invalid list literal for {receiver} of type {T.cql_name(t)}")


def _element(term: ast.Term, t: T.CqlType, receiver: str) -> object:
    if isinstance(term, ast.Null):
        raise InvalidRequest("null is not supported inside collections")
    return literal_python(term, t, receiver)


def _set_literal(term: ast.SetLiteral, t: T.CqlType, receiver: str) -> object:
    if not isinstance(t, T.SetType):
        raise InvalidRequest(f"Invalid set literal for {receiver} of type {T.cql_name(t)}")
    return [_element(e, t.subtypes[0], receiver) for e in term.elements]


def _map_literal(term: ast.MapLiteral, t: T.CqlType, receiver: str) -> object:
    if not isinstance(t, T.MapType):
        raise InvalidRequest(f"Invalid map literal for {receiver} of type {T.cql_name(t)}")
    key_type, value_type = t.subtypes
    return {_element(k, key_type, receiver): _element(v, value_type, receiver)
            for k, v in term.entries}


def _empty_braces(term: ast.EmptyBraceLiteral, t: T.CqlType, receiver: str) -> object:
    if isinstance(t, T.MapType):
        return {}
    if isinstance(t, T.SetType):
        return []
    raise InvalidRequest(f"Invalid empty literal for {receiver} of type {T.cql_name(t)}")


def _tuple_literal(term: ast.TupleLiteral, t: T.CqlType, receiver: str) -> object:
    if not isinstance(t, T.TupleType):
        raise InvalidRequest(f"Invalid tuple literal for {receiver} of type {T.cql_name(t)}")
    types = t.subtypes
    if len(term.elements) > len(types):
        raise InvalidRequest(f"Invalid tuple literal for {receiver}: too many elements. Type "
                             f"{T.cql_name(t)} expects {len(types)} but got {len(term.elements)}")
    return tuple(literal_python(e, et, receiver) for e, et in zip(term.elements, types))


def _udt_literal(term: ast.UserTypeLiteral, t: T.CqlType, receiver: str) -> object:
    if not isinstance(t, T.UserType):
        raise InvalidRequest(f"Invalid user type literal for {receiver} of type {T.cql_name(t)}")
    fields = dict(zip(t.field_names, t.subtypes))
    out = {}
    for name, value in term.fields:
        if name not in fields:
            raise InvalidRequest(f"Unknown field '{name}' in value of user defined type {t.name}")
        out[name] = literal_python(value, fields[name], receiver)
    return out


_COLLECTION_LITERALS = {
    ast.ListLiteral: _list_literal,
    ast.SetLiteral: _set_literal,
    ast.MapLiteral: _map_literal,
    ast.EmptyBraceLiteral: _empty_braces,
    ast.TupleLiteral: _tuple_literal,
    ast.UserTypeLiteral: _udt_literal,
}


_LITERAL_ARGS = (ast.Constant, ast.Null, ast.BindMarker, ast.ListLiteral, ast.SetLiteral,
                 ast.MapLiteral, ast.TupleLiteral, ast.UserTypeLiteral, ast.EmptyBraceLiteral,
                 ast.TypeCast)


def _function(term: ast.FunctionCall, t: T.CqlType, receiver: str, keyspace: str, table: str,
              specs: dict[int, MarkerSpec]) -> ValueFn:
    """A function call as a value (INSERT/UPDATE values, WHERE operands), resolved against the
    receiver's type as Cassandra's FunctionCall.Raw does; pure calls of constants run once."""
    from ferrosa import functions as F
    resolution: list = []
    for arg in term.args:
        if isinstance(arg, ast.FunctionCall):
            inner = F.resolve(arg.name.name, [a if isinstance(a, _LITERAL_ARGS) else None
                                              for a in arg.args], None,
                              keyspace=arg.name.keyspace)
            resolution.append(F.TypedArg(inner.return_type, str(arg.name.name)))
        else:
            resolution.append(arg)
    fn = F.resolve(term.name.name, resolution, t, keyspace=term.name.keyspace)
    if isinstance(fn, F.Aggregate):
        raise InvalidRequest(f"Aggregate function {fn.name} cannot be used as a value "
                             f"for {receiver}")
    F.check_result_assignable(fn, t, receiver)
    args = [compile_term(arg, fn.arg_types[i], F.argument_receiver_name(fn, i), keyspace, table,
                         specs) for i, arg in enumerate(term.args)]
    call = fn.call
    if fn.is_pure and not any(_has_marker(a) or isinstance(a, ast.FunctionCall)
                              for a in term.args):
        value = call([a([]) for a in args])
        return lambda values: value

    def run(values: list) -> bytes | None:
        inputs = []
        for a in args:
            v = a(values)
            inputs.append(None if v is UNSET else v)
        return call(inputs)
    return run


def compile_term(term: ast.Term, t: T.CqlType, receiver: str, keyspace: str, table: str,
                 specs: dict[int, MarkerSpec]) -> ValueFn:
    """A ValueFn producing `term`'s serialized value for a receiver of type `t`."""
    if isinstance(term, ast.BindMarker):
        return _marker(term, t, receiver, keyspace, table, specs)
    if isinstance(term, ast.FunctionCall):
        return _function(term, t, receiver, keyspace, table, specs)
    if isinstance(term, ast.TypeCast) and isinstance(term.term, ast.BindMarker):
        return _marker(term.term, t, receiver, keyspace, table, specs)
    if _has_marker(term):
        return _composite(term, t, receiver, keyspace, table, specs)
    return _constant(_serialize_literal(term, t, receiver))


def _pack(items: list[bytes | None]) -> bytes:
    return b"".join(_INT32.pack(-1) if v is None else _INT32.pack(len(v)) + v for v in items)


def _collection_item(fn: ValueFn, values: list, receiver: str) -> bytes:
    value = fn(values)
    if value is None:
        raise InvalidRequest("null is not supported inside collections")
    if value is UNSET:
        raise InvalidRequest(f"Invalid unset value for {receiver}")
    return value


def _composite(term: ast.Term, t: T.CqlType, receiver: str, keyspace: str, table: str,
               specs: dict[int, MarkerSpec]) -> ValueFn:
    """A collection, tuple or UDT literal with bind markers inside, serialized per execution."""
    from ferrosa.schema.bytecomparable import comparable_key

    def sub(item: ast.Term, item_type: T.CqlType, name: str) -> ValueFn:
        return compile_term(item, item_type, name, keyspace, table, specs)
    if isinstance(term, (ast.ListLiteral, ast.SetLiteral)) and isinstance(
            t, (T.ListType, T.SetType)):
        fns = [sub(e, t.element, f"value({receiver})") for e in term.elements]
        key = comparable_key(t.element) if isinstance(t, T.SetType) else None

        def collection(values: list) -> bytes:
            items = [_collection_item(fn, values, receiver) for fn in fns]
            if key is not None:  # a set: sorted by its element type, duplicates removed
                items = list({key(i): i for i in items}.values())
                items.sort(key=key)
            return _INT32.pack(len(items)) + _pack(items)
        return collection
    if isinstance(term, ast.MapLiteral) and isinstance(t, T.MapType):
        pairs = [(sub(k, t.key, f"key({receiver})"), sub(v, t.value, f"value({receiver})"))
                 for k, v in term.entries]
        key = comparable_key(t.key)

        def mapping(values: list) -> bytes:
            entries: dict[bytes, tuple[bytes, bytes]] = {}
            for kf, vf in pairs:
                k = _collection_item(kf, values, receiver)
                entries[key(k)] = (k, _collection_item(vf, values, receiver))
            ordered = [entries[k] for k in sorted(entries)]
            return _INT32.pack(len(ordered)) + _pack([x for pair in ordered for x in pair])
        return mapping
    if isinstance(term, ast.TupleLiteral) and isinstance(t, T.TupleType):
        if len(term.elements) > len(t.subtypes):
            raise InvalidRequest(f"Invalid tuple literal for {receiver}: too many elements. Type "
                                 f"{T.cql_name(t)} expects {len(t.subtypes)} but got "
                                 f"{len(term.elements)}")
        fns = [sub(e, et, f"{receiver}[{i}]") for i, (e, et) in
               enumerate(zip(term.elements, t.subtypes))]
        return lambda values: _pack([_no_unset(fn(values)) for fn in fns])
    if isinstance(term, ast.UserTypeLiteral) and isinstance(t, T.UserType):
        known = dict(zip(t.field_names, t.subtypes))
        given = {}
        for name, value in term.fields:
            if name not in known:
                raise InvalidRequest(f"Unknown field '{name}' in value of user defined type "
                                     f"{t.name}")
            given[name] = sub(value, known[name], f"{receiver}.{name}")
        order = [given.get(name) for name in t.field_names]
        return lambda values: _pack([None if fn is None else _no_unset(fn(values))
                                     for fn in order])
    raise InvalidRequest(f"Invalid literal for {receiver} of type {T.cql_name(t)}")


def _no_unset(value: bytes | None | _Unset) -> bytes | None:
    return None if value is UNSET else value


def _has_marker(term: ast.Term) -> bool:
    if isinstance(term, ast.BindMarker):
        return True
    for child in getattr(term, "elements", ()) or ():
        if _has_marker(child):
            return True
    for key, value in getattr(term, "entries", ()) or ():
        if _has_marker(key) or _has_marker(value):
            return True
    for _name, value in getattr(term, "fields", ()) or ():
        if isinstance(value, ast.Term) and _has_marker(value):
            return True
    return False


def compile_int(term: ast.Term | None, receiver: str, keyspace: str, table: str,
                specs: dict[int, MarkerSpec], t: T.CqlType = T.INT) -> Callable[[list], int | None]:
    """LIMIT, TTL, TIMESTAMP...: an integer-valued term (None when absent, null or unset)."""
    if term is None:
        return lambda values: None
    fn = compile_term(term, t, receiver, keyspace, table, specs)

    def value(values: list) -> int | None:
        raw = fn(values)
        if raw is None or raw is UNSET:
            return None
        return int.from_bytes(raw, "big", signed=True)
    return value
