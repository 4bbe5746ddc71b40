"""Row filters of SELECT ... ALLOW FILTERING: WHERE restrictions evaluated on each row in the front.

What it is: each relation that does not select partitions or rows directly (coordinator/keys.py
decides) compiled into a predicate over a raw row (the serialized values of rowsource.py), with
Cassandra's comparison semantics: values compare with their type's comparator (through the
byte-comparable encoding), null never matches, multi-column relations compare clustering prefixes
in clustering order, CONTAINS / CONTAINS KEY look inside collections.

What it must not do: read data, or accept a relation Cassandra refuses: each refusal is its
InvalidRequest with its message.
"""

from __future__ import annotations

from typing import Callable

from ferrosa.coordinator.tableinfo import ColumnInfo, TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, compile_term
from ferrosa.cql import ast
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema import bytecomparable as BC
from ferrosa.schema.errors import InvalidRequest

Op = ast.Operator
Row = list
Predicate = Callable[[list, Row], bool]  # (bound values, raw row) -> keep?
# Looks up the raw-row index of a column's value, adding it to the projection if needed.
ColumnIndex = Callable[[ColumnInfo], int]

_COMPARE: dict[Op, Callable[[bytes, bytes], bool]] = {
    Op.EQ: lambda a, b: a == b,
    Op.LT: lambda a, b: a < b,
    Op.LTE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GTE: lambda a, b: a >= b,
}


def _bound(fn, values: list, name: str) -> bytes:
    value = fn(values)
    if value is None:
        raise InvalidRequest(f"Invalid null value in condition for column {name}")
    if value is UNSET:
        raise InvalidRequest(f"Invalid unset value for column {name}")
    return value


class FilterCompiler:
    def __init__(self, table: TableInfo, specs: dict[int, MarkerSpec], index: ColumnIndex) -> None:
        self.table = table
        self.specs = specs
        self.index = index

    def term(self, term: ast.Term, t: T.CqlType, receiver: str):
        return compile_term(term, t, receiver, self.table.keyspace, self.table.name, self.specs)

    def column(self, name: str) -> ColumnInfo:
        column = self.table.column(name)
        if column is None:
            raise InvalidRequest(f"Undefined column name {name} in table "
                                 f"{self.table.keyspace}.{self.table.name}")
        return column

    def compile(self, rel: ast.Relation) -> Predicate:
        if isinstance(rel, ast.SingleColumnRelation):
            return self._single(rel)
        if isinstance(rel, ast.MapElementRelation):
            return self._map_element(rel)
        if isinstance(rel, ast.MultiColumnRelation):
            return self._multi(rel)
        if isinstance(rel, ast.CustomIndexExpression):
            raise InvalidRequest("Custom index expressions need a custom index: secondary "
                                 "indexes are not supported yet by Ferrosa")
        raise InvalidRequest(f"{type(rel).__name__} restrictions are not supported yet by Ferrosa")

    def _single(self, rel: ast.SingleColumnRelation) -> Predicate:
        column = self.column(rel.column)
        op = rel.operator
        if op is Op.NEQ:
            raise InvalidRequest(f"Unsupported \"!=\" relation: {rel.column} != ?")
        if op in (Op.CONTAINS, Op.CONTAINS_KEY):
            return self._contains(column, rel)
        if op is Op.IN:
            return self._in(column, rel)
        if op not in _COMPARE:
            raise InvalidRequest(f"Unsupported restriction: {rel.column} {op.value} ... "
                                 f"(not supported yet by Ferrosa)")
        if column.type is T.DURATION and op is not Op.EQ:
            raise InvalidRequest("Slice restrictions are not supported on duration columns")
        if column.type.is_multi_cell:
            raise InvalidRequest(f"Collection column '{column.name}' ({T.cql_name(column.type)}) "
                                 f"cannot be restricted by a '{op.value}' relation")
        fn = self.term(rel.value, column.type, column.name)
        key = BC.comparable_key(column.type)
        compare = _COMPARE[op]
        i = self.index(column)
        name = column.name

        def predicate(values: list, row: Row) -> bool:
            got = row[i]
            return got is not None and compare(key(got), key(_bound(fn, values, name)))
        return predicate

    def _in(self, column: ColumnInfo, rel: ast.SingleColumnRelation) -> Predicate:
        key = BC.comparable_key(column.type)
        i = self.index(column)
        if isinstance(rel.value, ast.BindMarker):
            fn = self.term(rel.value, T.ListType(column.type), f"in({column.name})")

            def wanted(values: list) -> set[bytes]:
                raw = _bound(fn, values, column.name)
                return {key(bytes(item)) for item in V.split_collection(raw, "list", 1)}
        else:
            items = rel.value.items if isinstance(rel.value, ast.TermList) else (rel.value,)
            fns = [self.term(v, column.type, column.name) for v in items]

            def wanted(values: list) -> set[bytes]:
                return {key(_bound(fn, values, column.name)) for fn in fns}

        def predicate(values: list, row: Row) -> bool:
            got = row[i]
            return got is not None and key(got) in wanted(values)
        return predicate

    def _contains(self, column: ColumnInfo, rel: ast.SingleColumnRelation) -> Predicate:
        t = column.type
        is_key = rel.operator is Op.CONTAINS_KEY
        if t.kind not in ("list", "set", "map") or (is_key and t.kind != "map"):
            what = "map" if is_key else "collection"
            raise InvalidRequest(f"Cannot use {rel.operator.value} on non-{what} column "
                                 f"{column.name}")
        if is_key:
            element = t.key
        else:
            element = t.value if isinstance(t, T.MapType) else t.element
        fn = self.term(rel.value, element, column.name)
        key = BC.comparable_key(element)
        width = 2 if t.kind == "map" else 1
        offset = 1 if (t.kind == "map" and not is_key) else 0
        i = self.index(column)

        def predicate(values: list, row: Row) -> bool:
            got = row[i]
            if got is None:
                return False
            target = key(_bound(fn, values, column.name))
            items = V.split_collection(got, t.kind, width)
            return any(key(bytes(item)) == target for item in items[offset::width])
        return predicate

    def _map_element(self, rel: ast.MapElementRelation) -> Predicate:
        column = self.column(rel.column)
        t = column.type
        if not isinstance(t, T.MapType):
            raise InvalidRequest(f"Column {column.name} cannot be used as a map")
        if rel.operator is not Op.EQ:
            raise InvalidRequest("Only EQ relations are supported on map entries")
        key_fn = self.term(rel.key, t.key, column.name)
        value_fn = self.term(rel.value, t.value, column.name)
        kkey, vkey = BC.comparable_key(t.key), BC.comparable_key(t.value)
        i = self.index(column)

        def predicate(values: list, row: Row) -> bool:
            got = row[i]
            if got is None:
                return False
            wanted_key = kkey(_bound(key_fn, values, column.name))
            items = V.split_collection(got, "map", 2)
            for k, v in zip(items[::2], items[1::2]):
                if kkey(bytes(k)) == wanted_key:
                    return vkey(bytes(v)) == vkey(_bound(value_fn, values, column.name))
            return False
        return predicate

    def _multi(self, rel: ast.MultiColumnRelation) -> Predicate:
        table = self.table
        columns = [self.column(n) for n in rel.columns]
        expected = table.clustering[:len(columns)]
        if [c.name for c in columns] != [c.name for c in expected]:
            raise InvalidRequest("Multi-column relations can only be applied to clustering "
                                 "columns in their declared order, starting with the first one")
        types = [c.type for c in columns]
        # Tuple relations compare values (CASSANDRA-7281), whatever the clustering order.
        rev = [False] * len(columns)
        tuple_type = T.TupleType(types)
        indexes = [self.index(c) for c in columns]
        op = rel.operator

        def encode(raw: bytes) -> bytes:
            parts = V.deserialize(tuple_type, raw)
            if any(p is None for p in parts):
                raise InvalidRequest("Invalid null value in condition for clustering column "
                                     f"{columns[[p is None for p in parts].index(True)].name}")
            return BC.encode_clustering(types, rev, [V.serialize(t, p)
                                                      for t, p in zip(types, parts)])
        if op is Op.IN:
            items = rel.value.items if isinstance(rel.value, ast.TermList) else None
            if items is None:
                raise InvalidRequest("IN ? on multi-column relations is not supported yet by "
                                     "Ferrosa; list the tuples")
            fns = [self.term(v, tuple_type, "(" + ",".join(rel.columns) + ")") for v in items]

            def predicate(values: list, row: Row) -> bool:
                got = [row[i] for i in indexes]
                if any(g is None for g in got):
                    return False
                mine = BC.encode_clustering(types, rev, got)
                return mine in {encode(_bound(fn, values, "tuple")) for fn in fns}
            return predicate
        if op not in _COMPARE:
            raise InvalidRequest(f"Unsupported multi-column relation {op.value}")
        fn = self.term(rel.value, tuple_type, "(" + ",".join(rel.columns) + ")")
        compare = _COMPARE[op]

        def predicate(values: list, row: Row) -> bool:
            got = [row[i] for i in indexes]
            if any(g is None for g in got):
                return False
            return compare(BC.encode_clustering(types, rev, got),
                           encode(_bound(fn, values, "tuple")))
        return predicate
