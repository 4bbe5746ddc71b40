"""SELECT clause expressions evaluated in the front on raw rows (the general SELECT path).

What it is: each selector compiled into an `Expr`: a function of one raw row (serialized values from
coordinator/rowsource.py) returning the serialized result, its CQL type and its result column name
as Cassandra names it; aggregates (`Aggregate`) fold the rows of a group into one value. Column
values come from a `RawProjection`, which adds the projection items a selector needs.

What it must not do: read data or decide which rows qualify (rowsource.py and filters.py do).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable

from ferrosa import functions as F
from ferrosa.coordinator.tableinfo import ColumnInfo, TableInfo
from ferrosa.coordinator.terms import UNSET
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema import bytecomparable as BC
from ferrosa.schema.errors import InvalidRequest

_I32 = struct.Struct(">i")
_BIGINT = struct.Struct(">q")
_MULTI_CELL_KINDS = {"list": m.PROJ_LIST, "set": m.PROJ_SET, "map": m.PROJ_MAP}
_META_NAMES = {ast.WritetimeOrTTLKind.WRITE_TIME: "writetime",
               ast.WritetimeOrTTLKind.MAX_WRITE_TIME: "maxwritetime",
               ast.WritetimeOrTTLKind.TTL: "ttl"}


def projection_item(column: ColumnInfo) -> tuple[int, Any]:
    """The shard projection item that returns `column`'s value."""
    if column.kind == "partition_key":
        return (m.PROJ_PK, column.position)
    if column.kind == "clustering":
        return (m.PROJ_CK, column.position)
    t = column.type
    if t.is_multi_cell:
        if t.kind == "udt":
            return (m.PROJ_UDT, [column.name, column.is_static, len(t.field_types)])
        return (_MULTI_CELL_KINDS[t.kind], [column.name, column.is_static])
    return (m.PROJ_STATIC if column.is_static else m.PROJ_CELL, column.name)


class RawProjection:
    """The projection of the general path: every key component first, then what is asked."""

    def __init__(self, table: TableInfo) -> None:
        self.table = table
        self.items: list[tuple[int, Any]] = []
        self._index: dict[str, int] = {}
        for column in table.partition_key + table.clustering:
            self.column(column)

    def _add(self, key: str, item: tuple[int, Any]) -> int:
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.items)
            self.items.append(item)
        return index

    def column(self, column: ColumnInfo) -> int:
        return self._add(f"c:{column.name}", projection_item(column))

    def meta(self, column: ColumnInfo, kind: ast.WritetimeOrTTLKind) -> int:
        return self._add(f"{kind.name}:{column.name}", meta_item(column, kind)[0])


_ELEMENT_META_KINDS = {ast.WritetimeOrTTLKind.WRITE_TIME: m.PROJ_ELEMENT_WRITETIMES,
                       ast.WritetimeOrTTLKind.TTL: m.PROJ_ELEMENT_TTLS,
                       ast.WritetimeOrTTLKind.MAX_WRITE_TIME: m.PROJ_MAX_WRITETIME}


def check_meta(column: ColumnInfo, node: ast.WritetimeOrTTL) -> str:
    """Cassandra's checks of WRITETIME/TTL/MAXWRITETIME(column); returns the function's name."""
    name = _META_NAMES[node.kind]
    if column.is_key:
        raise InvalidRequest(f"Cannot use selection function {name} on PRIMARY KEY part "
                             f"{column.name}")
    if node.selected != ast.ColumnRef(column.name):
        raise InvalidRequest(f"{name} of a collection element or UDT field is not supported "
                             f"yet by Ferrosa")
    return name


def meta_item(column: ColumnInfo, kind: ast.WritetimeOrTTLKind) -> tuple[tuple[int, Any],
                                                                         T.CqlType]:
    """The shard projection item of WRITETIME/TTL/MAXWRITETIME(column) and its result type:
    Cassandra 5.0 answers a list per element (per field for UDTs) for multi-cell columns."""
    t = column.type
    result_type = T.INT if kind is ast.WritetimeOrTTLKind.TTL else T.BIGINT
    if t.is_multi_cell or kind is ast.WritetimeOrTTLKind.MAX_WRITE_TIME:
        extra = [len(t.field_types)] if t.kind == "udt" and t.is_multi_cell else []
        if t.is_multi_cell and kind is not ast.WritetimeOrTTLKind.MAX_WRITE_TIME:
            result_type = T.ListType(result_type, frozen=True)
        return (_ELEMENT_META_KINDS[kind], [column.name, column.is_static, *extra]), result_type
    if kind is ast.WritetimeOrTTLKind.TTL:
        item_kind = m.PROJ_STATIC_TTL if column.is_static else m.PROJ_TTL
    else:
        item_kind = m.PROJ_STATIC_WRITETIME if column.is_static else m.PROJ_WRITETIME
    return (item_kind, column.name), result_type


@dataclass
class Expr:
    fn: Callable[[list, list], bytes | None]  # (bound values, raw row) -> serialized value
    type: T.CqlType
    name: str
    column: ColumnInfo | None = None  # set when the expression is a bare column


class Aggregate:
    """An aggregate selector: `start()` a state per group, `add(state, row)`, `result(state)`."""

    def __init__(self, name: str, t: T.CqlType, start: Callable[[], Any],
                 add: Callable[[Any, list, list], Any],
                 result: Callable[[Any], bytes | None]) -> None:
        self.name, self.type = name, t
        self.start, self.add, self.result = start, add, result


def count_rows(name: str = "count") -> Aggregate:
    return Aggregate(name, T.BIGINT, lambda: 0, lambda state, values, row: state + 1,
                     lambda state: _BIGINT.pack(state))


def _field(receiver: Expr, field: str) -> Expr:
    t = receiver.type
    if t.kind != "udt":
        raise InvalidRequest(f"Invalid field selection: {receiver.name} of type "
                             f"{T.cql_name(t)} is not a user type")
    if field not in t.field_names:
        raise InvalidRequest(f"{T.cql_name(t)} has no field {field}")
    index = list(t.field_names).index(field)
    get = receiver.fn

    def fn(values: list, row: list) -> bytes | None:
        value = get(values, row)
        if value is None:
            return None
        pos = 0
        for i in range(index + 1):
            if pos + 4 > len(value):
                return None  # a UDT serialized before the field was added
            (n,) = _I32.unpack_from(value, pos)
            pos += 4
            if i == index:
                return None if n < 0 else bytes(value[pos:pos + n])
            pos += max(n, 0)
        return None
    return Expr(fn, t.field_types[index], f"{receiver.name}.{field}")


def _element(receiver: Expr, key_fn: Callable[[list], Any], text: str) -> Expr:
    t = receiver.type
    if t.kind not in ("map", "set"):
        raise InvalidRequest(f"Element selection is only allowed on sets and maps, but "
                             f"{receiver.name} is a {t.kind}" if t.kind == "list" else
                             f"Invalid element selection: {receiver.name} is of type "
                             f"{T.cql_name(t)} is not a collection")
    key_type = t.key if t.kind == "map" else t.element
    compare = BC.comparable_key(key_type)
    width = 2 if t.kind == "map" else 1
    get = receiver.fn

    def fn(values: list, row: list) -> bytes | None:
        value = get(values, row)
        wanted = key_fn(values)
        if value is None or wanted is None or type(wanted) is not bytes:
            return None
        target = compare(wanted)
        items = V.split_collection(value, t.kind, width)
        for i in range(0, len(items), width):
            if compare(bytes(items[i])) == target:
                return bytes(items[i + width - 1])
        return None
    return Expr(fn, t.value if t.kind == "map" else t.element, f"{receiver.name}[{text}]")


class SelectorCompiler:
    def __init__(self, table: TableInfo, projection: RawProjection,
                 term: Callable[[ast.Term, T.CqlType, str], Callable[[list], Any]]) -> None:
        self.table = table
        self.projection = projection
        self.term = term  # compile_term bound to the statement (markers)

    def column(self, name: str) -> ColumnInfo:
        column = self.table.column(name)
        if column is None:
            raise InvalidRequest(f"Undefined column name {name} in table "
                                 f"{self.table.keyspace}.{self.table.name}")
        return column

    def expr(self, node: ast.Term) -> Expr:
        if isinstance(node, ast.ColumnRef):
            column = self.column(node.name)
            i = self.projection.column(column)
            return Expr(lambda values, row: row[i], column.type, column.name, column)
        if isinstance(node, ast.WritetimeOrTTL):
            return self._meta(node)
        if isinstance(node, ast.FieldSelection):
            return _field(self.expr(node.receiver), node.field)
        if isinstance(node, ast.ElementSelection):
            receiver = self.expr(node.receiver)
            t = receiver.type
            key_type = t.key if isinstance(t, T.MapType) else getattr(t, "element", T.BLOB)
            fn = self.term(node.element, key_type, f"key({receiver.name})")
            return _element(receiver, fn, _literal_text(node.element))
        if isinstance(node, ast.FunctionCall):
            found, args = self._call(node)
            if isinstance(found, F.Aggregate):
                raise InvalidRequest(f"Aggregate {found.name} cannot be nested in another "
                                     f"selector (not supported yet by Ferrosa)")
            return self._scalar(found, args)
        if isinstance(node, ast.Cast):
            inner = self.expr(node.term)
            target = T.parse_cql_type(node.type.name)
            fn = F.cast_function(inner.type, target, inner.name)
            get = inner.fn
            call = fn.call
            return Expr(lambda values, row: call([get(values, row)]), fn.return_type,
                        f"cast({inner.name} as {T.cql_name(target)})")
        if isinstance(node, (ast.Constant, ast.Null, ast.BindMarker, ast.TypeCast)):
            raise InvalidRequest("Terms in the selection need a type: use a function or a type "
                                 "hint such as (int)1 (not supported yet by Ferrosa)")
        raise InvalidRequest(f"Selector {type(node).__name__} is not supported yet by Ferrosa")

    def _call(self, node: ast.FunctionCall) -> tuple[Any, list]:
        """Resolve a call as Cassandra does; `args` are Exprs, or terms for literal arguments."""
        args: list = []
        resolution: list = []
        for arg in node.args:
            if isinstance(arg, (ast.Constant, ast.Null, ast.BindMarker, ast.ListLiteral,
                                ast.SetLiteral, ast.MapLiteral)):
                args.append(arg)
                resolution.append(arg)
            else:
                expr = self.expr(arg)
                args.append(expr)
                resolution.append(F.TypedArg(expr.type, expr.name))
        table = self.table
        found = F.resolve(node.name.name, resolution, None, keyspace=node.name.keyspace,
                          partition_key_types=[c.type for c in table.partition_key])
        return found, args

    def _arg_fns(self, found: Any, args: list) -> list[Callable[[list, list], Any]]:
        fns = []
        for i, arg in enumerate(args):
            if isinstance(arg, Expr):
                fns.append(arg.fn)
            else:
                value = self.term(arg, found.arg_types[i], F.argument_receiver_name(found, i))
                fns.append(lambda values, row, value=value: _unset_as_null(value(values)))
        return fns

    def _scalar(self, found: Any, args: list) -> Expr:
        fns = self._arg_fns(found, args)
        call = found.call
        names = [a.name if isinstance(a, Expr) else _literal_text(a) for a in args]

        def fn(values: list, row: list) -> bytes | None:
            return call([f(values, row) for f in fns])
        return Expr(fn, found.return_type, found.column_name(names))

    def aggregate(self, node: ast.FunctionCall, alias: str | None) -> Aggregate | None:
        """An aggregate selector (count, min, max, sum, avg), or None if `node` is not one."""
        found, args = self._call(node)
        if not isinstance(found, F.Aggregate):
            return None
        fns = self._arg_fns(found, args)
        names = [a.name if isinstance(a, Expr) else _literal_text(a) for a in args]
        add = found.add

        def feed(state: Any, values: list, row: list) -> Any:
            add(state, [f(values, row) for f in fns])
            return state
        return Aggregate(alias or found.column_name(names), found.return_type, found.new_state,
                         feed, found.result)

    def _meta(self, node: ast.WritetimeOrTTL) -> Expr:
        column = self.column(node.column)
        name = check_meta(column, node)
        i = self.projection.meta(column, node.kind)
        t = meta_item(column, node.kind)[1]
        return Expr(lambda values, row: row[i], t, f"{name}({column.name})")


def _unset_as_null(value: Any) -> bytes | None:
    return None if value is UNSET else value


def _literal_text(term: ast.Term) -> str:
    if isinstance(term, ast.Constant):
        if term.type is ast.ConstantType.STRING:
            return "'" + term.text.replace("'", "''") + "'"
        return term.text
    return "?"
