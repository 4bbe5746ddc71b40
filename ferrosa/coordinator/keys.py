"""Primary-key restrictions of a WHERE clause: which partitions and which rows a statement targets.

What it is: the analysis shared by SELECT, UPDATE and DELETE of Cassandra's restriction rules for
key columns (every partition-key column restricted by = or IN; clustering columns restricted by =
on a prefix, optionally followed by one slice), compiled into functions of the bound values.

What it must not do: run queries; it produces partition keys, tokens and clustering bounds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ferrosa import partitioner
from ferrosa.coordinator.tableinfo import ColumnInfo, TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, ValueFn, bind_all, compile_term
from ferrosa.cql import ast
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema import bytecomparable as BC
from ferrosa.schema.errors import InvalidRequest

Op = ast.Operator
# A statement's IN lists multiply into this many partitions or rows at most (Cassandra warns at
# 100 and the cartesian product is bounded to keep one statement from fanning out unboundedly).
MAX_CARTESIAN_PRODUCT = 100_000
FILTERING_MESSAGE = ("Cannot execute this query as it might involve data filtering and thus may "
                     "have unpredictable performance. If you want to execute this query despite "
                     "the performance unpredictability, use ALLOW FILTERING")


@dataclass
class KeyRestriction:
    """Values (one or several, for IN) of one key column."""

    column: ColumnInfo
    values: list[ValueFn]  # each returns the serialized value
    in_marker: ValueFn | None = None  # `IN ?`: one list value

    def resolve(self, values: list) -> list[bytes]:
        if self.in_marker is not None:
            raw = self.in_marker(values)
            if raw is None or raw is UNSET:
                raise InvalidRequest(f"Invalid null value for IN restriction on "
                                     f"{self.column.name}" if raw is None else
                                     f"Invalid unset value for column {self.column.name}")
            items = V.deserialize(T.ListType(self.column.type), raw)
            return [V.serialize(self.column.type, item) for item in items]
        out = []
        for fn in self.values:
            value = fn(values)
            if value is None:
                raise InvalidRequest(f"Invalid null value in condition for column "
                                     f"{self.column.name}")
            if value is UNSET:
                raise InvalidRequest(f"Invalid unset value for column {self.column.name}")
            out.append(value)
        return out


@dataclass
class TupleSlice:
    """A tuple relation `(c1, .., cn) > (v1, .., vn)` on a clustering prefix: one bound each way,
    each a function returning the serialized tuple. Tuple relations compare values, so on DESC
    columns the bounds swap ends; mixed orders are refused (they need several slices)."""

    columns: list[ColumnInfo]
    lower: tuple[ValueFn, bool] | None = None  # (tuple value, inclusive)
    upper: tuple[ValueFn, bool] | None = None


@dataclass
class Slice:
    """A range restriction on one clustering column (after an equality prefix)."""

    column: ColumnInfo
    lower: tuple[ValueFn, bool] | None = None  # (value, inclusive)
    upper: tuple[ValueFn, bool] | None = None


@dataclass
class KeyPlan:
    table: TableInfo
    partition: list[KeyRestriction] = field(default_factory=list)
    clustering: list[KeyRestriction] = field(default_factory=list)
    slice: Slice | None = None
    tuple_slice: TupleSlice | None = None
    others: list[ast.Relation] = field(default_factory=list)
    # Prefix length -> the ClusteringEncoder of the table's first n clustering columns: looked
    # up once per plan instead of per row (the encoder cache hashes the column types).
    _encoders: dict[int, BC.ClusteringEncoder] = field(default_factory=dict, repr=False,
                                                         compare=False)

    # The common cases' binders, set by analyze_where once the plan is complete (plain
    # attributes: a cached_property is looked up more slowly than the call it saves).
    # one_key: `bind_all` of the partition key's value when the key is one column restricted
    # to one value (no IN). clustering_values: `bind_all` of the clustering restrictions'
    # values when each has exactly one (no IN): the prefix without resolve()'s lists.
    one_key: Callable[[list], list] | None = field(default=None, repr=False, compare=False)
    clustering_values: Callable[[list], list] | None = field(default=None, repr=False,
                                                             compare=False)
    # encode() of a prefix of every clustering restriction (what clustering_prefixes returns),
    # bound once: a write's key without encode()'s two calls. None without restrictions.
    prefix_encode: Callable[[list], bytes] | None = field(default=None, repr=False,
                                                          compare=False)

    def _bind_common_cases(self) -> None:
        partition = self.partition
        if len(partition) == 1 and partition[0].in_marker is None and len(partition[0].values) == 1:
            self.one_key = bind_all(partition[0].values)
        if all(r.in_marker is None and len(r.values) == 1 for r in self.clustering):
            self.clustering_values = bind_all([r.values[0] for r in self.clustering])
        if self.clustering:
            self.prefix_encode = self.encoder(len(self.clustering)).encode

    @property
    def has_partition_key(self) -> bool:
        return len(self.partition) == len(self.table.partition_key)

    @property
    def full_clustering(self) -> bool:
        return (len(self.clustering) == len(self.table.clustering) and self.slice is None
                and self.tuple_slice is None)

    @property
    def without_in(self) -> bool:
        """Every key restriction is one value (no IN): one partition key, one clustering prefix."""
        return all(r.in_marker is None and len(r.values) == 1
                   for r in (*self.partition, *self.clustering))

    def partition_keys(self, values: list) -> list[bytes]:
        one = self.one_key
        if one is not None:  # one key column, one value: without the product of IN lists
            value = one(values)
            if type(value[0]) is bytes and value[0]:
                return value  # anything else takes the general path and its errors
        partition = self.partition
        parts = [r.resolve(values) for r in partition]
        count = 1
        for p in parts:
            count *= len(p)
        if count > MAX_CARTESIAN_PRODUCT:
            raise InvalidRequest(f"IN restrictions select {count} partitions; at most "
                                 f"{MAX_CARTESIAN_PRODUCT} are allowed")
        keys = []
        for combo in itertools.product(*parts):
            for column, value in zip(self.table.partition_key, combo):
                if not value:
                    raise InvalidRequest("Key may not be empty")
            keys.append(combo[0] if len(combo) == 1 else partitioner.compose_partition_key(combo))
        return keys

    def clustering_prefixes(self, values: list) -> list[list[bytes]]:
        bind = self.clustering_values
        if bind is not None:  # no IN: the one prefix, straight from the markers
            prefix = bind(values)
            if None not in prefix and UNSET not in prefix:
                return [prefix]  # a null or unset value takes the general path and its error
        parts = [r.resolve(values) for r in self.clustering]
        if all(len(part) == 1 for part in parts):  # no IN: the one prefix, without the product
            return [[part[0] for part in parts]]
        return [list(combo) for combo in itertools.product(*parts)]

    def encode(self, prefix: list[bytes]) -> bytes:
        return self.encoder(len(prefix)).encode(prefix)

    def encoder(self, n: int) -> BC.ClusteringEncoder:
        """The ClusteringEncoder of the table's first `n` clustering columns."""
        encoder = self._encoders.get(n)
        if encoder is None:
            encoder = self._encoders[n] = BC.clustering_encoder(
                tuple(self.table.ck_types[:n]), tuple(self.table.ck_reversed[:n]))
        return encoder


def pk_indexes(table: TableInfo, markers: list[MarkerSpec]) -> list[int]:
    """Marker index of each partition-key column, in key order, when all are bound by markers."""
    pk_names = [c.name for c in table.partition_key]
    found: dict[str, int] = {}
    for spec in markers:
        if spec.name in pk_names and spec.name not in found and spec.table == table.name:
            found[spec.name] = spec.index
    return [found[n] for n in pk_names] if len(found) == len(pk_names) else []




def _relation_column(table: TableInfo, name: str) -> ColumnInfo:
    column = table.column(name)
    if column is None:
        raise InvalidRequest(f"Undefined column name {name} in table "
                             f"{table.keyspace}.{table.name}")
    return column


def analyze_where(table: TableInfo, where: tuple[ast.Relation, ...],
                  specs: dict[int, MarkerSpec], for_write: bool = False,
                  filtering: bool = False) -> KeyPlan:
    """Sort a WHERE clause into partition-key, clustering and other restrictions.

    With `filtering` (a SELECT's general path), key restrictions that cannot select partitions
    or rows directly (a partial partition key, a clustering column after an unrestricted one,
    clustering restrictions without the partition key, CONTAINS on a key column) become `others`,
    to be evaluated row by row, instead of errors; the caller then asks for ALLOW FILTERING.
    """
    plan = KeyPlan(table)
    by_column: dict[str, list[ast.SingleColumnRelation]] = {}
    for rel in where:
        if isinstance(rel, ast.SingleColumnRelation):
            column = _relation_column(table, rel.column)
            if column.is_key and not (filtering and rel.operator not in _KEY_OPERATORS):
                by_column.setdefault(rel.column, []).append(rel)
                continue
        plan.others.append(rel)
    if filtering:
        _move_unusable_to_filters(plan, by_column)
    _partition_restrictions(plan, by_column, specs, for_write)
    _clustering_restrictions(plan, by_column, specs)
    if for_write:
        _tuple_restrictions(plan, specs)
    plan._bind_common_cases()
    return plan


def _tuple_restrictions(plan: KeyPlan, specs: dict[int, MarkerSpec]) -> None:
    """Writes: tuple relations on the clustering columns become key restrictions (an equality
    or a range deletion), as Cassandra's MultiColumnRestriction."""
    table = plan.table
    tuples = [r for r in plan.others if isinstance(r, ast.MultiColumnRelation)]
    if not tuples:
        return
    if plan.clustering or plan.slice is not None:
        raise InvalidRequest("Mixing single column relations and multi column relations on "
                             "clustering columns is not allowed")
    names = tuples[0].columns
    if any(r.columns != names for r in tuples):
        raise InvalidRequest("Multi-column relations must restrict the same clustering columns")
    columns = [_relation_column(table, n) for n in names]
    if [c.name for c in columns] != [c.name for c in table.clustering[:len(columns)]]:
        raise InvalidRequest("Multi-column relations can only be applied to clustering columns "
                             "in their declared order, starting with the first one")
    tuple_type = T.TupleType([c.type for c in columns])
    ks, tb = table.keyspace, table.name
    label = "(" + ",".join(names) + ")"
    for rel in tuples:
        plan.others.remove(rel)
        if rel.operator is Op.EQ and len(tuples) == 1:
            fn = compile_term(rel.value, tuple_type, label, ks, tb, specs)
            plan.clustering.extend(KeyRestriction(c, [_tuple_part(fn, i, tuple_type, c)])
                                   for i, c in enumerate(columns))
            return
        if rel.operator not in (Op.LT, Op.LTE, Op.GT, Op.GTE):
            raise InvalidRequest(f"{rel.operator.value} multi-column relations are not supported "
                                 f"yet by Ferrosa in modification statements")
        if plan.tuple_slice is None:
            plan.tuple_slice = TupleSlice(columns)
        bound = (compile_term(rel.value, tuple_type, label, ks, tb, specs),
                 rel.operator in (Op.GTE, Op.LTE))
        if rel.operator in (Op.GT, Op.GTE):
            plan.tuple_slice.lower = bound
        else:
            plan.tuple_slice.upper = bound


def _tuple_part(fn: ValueFn, index: int, tuple_type: T.TupleType, column: ColumnInfo) -> ValueFn:
    def part(values: list):
        raw = fn(values)
        if raw is None or raw is UNSET:
            return raw
        value = V.deserialize(tuple_type, raw)[index]
        return None if value is None else V.serialize(column.type, value)
    return part


_KEY_OPERATORS = frozenset({Op.EQ, Op.IN, Op.LT, Op.LTE, Op.GT, Op.GTE})


def _move_unusable_to_filters(plan: KeyPlan, by_column: dict[str, list]) -> None:
    """Leave in `by_column` only what selects partitions/rows directly; the rest filters."""
    table = plan.table

    def to_filters(name: str) -> None:
        plan.others.extend(by_column.pop(name))

    pk_usable = all(len(by_column.get(c.name, ())) == 1
                    and by_column[c.name][0].operator in (Op.EQ, Op.IN)
                    for c in table.partition_key)
    if not pk_usable:
        for column in table.partition_key:
            if column.name in by_column:
                to_filters(column.name)
        for column in table.clustering:
            if column.name in by_column:
                to_filters(column.name)
        return
    sliced = False
    for column in table.clustering:
        rels = by_column.get(column.name)
        if sliced or not rels:
            sliced = True
            if rels:
                to_filters(column.name)
            continue
        ops = {r.operator for r in rels}
        if not (ops <= {Op.EQ, Op.IN} and len(rels) == 1):
            if ops <= {Op.LT, Op.LTE, Op.GT, Op.GTE} and len(rels) <= 2:
                sliced = True  # the one slice the key plan can use
            else:
                to_filters(column.name)
                sliced = True


def _eq_or_in(table: TableInfo, column: ColumnInfo, rel: ast.SingleColumnRelation,
              specs: dict[int, MarkerSpec]) -> KeyRestriction:
    ks, tb = table.keyspace, table.name
    if rel.operator is Op.EQ:
        return KeyRestriction(column, [compile_term(rel.value, column.type, column.name, ks, tb,
                                                    specs)])
    if isinstance(rel.value, ast.BindMarker):
        fn = compile_term(rel.value, T.ListType(column.type), f"in({column.name})", ks, tb, specs)
        return KeyRestriction(column, [], fn)
    items = rel.value.items if isinstance(rel.value, ast.TermList) else (rel.value,)
    return KeyRestriction(column, [compile_term(v, column.type, column.name, ks, tb, specs)
                                   for v in items])


def _partition_restrictions(plan: KeyPlan, by_column: dict, specs: dict[int, MarkerSpec],
                            for_write: bool) -> None:
    table = plan.table
    restricted = [c for c in table.partition_key if c.name in by_column]
    if not restricted:
        return
    for column in table.partition_key:
        rels = by_column.get(column.name)
        if not rels:
            missing = [c.name for c in table.partition_key if c.name not in by_column]
            raise InvalidRequest(f"Some partition key parts are missing: {', '.join(missing)}"
                                 if for_write else FILTERING_MESSAGE)
        if len(rels) > 1 or rels[0].operator not in (Op.EQ, Op.IN):
            raise InvalidRequest("Only EQ and IN relation are supported on the partition key "
                                 "(unless you use the token() function)")
        plan.partition.append(_eq_or_in(table, column, rels[0], specs))


def _clustering_restrictions(plan: KeyPlan, by_column: dict, specs: dict[int, MarkerSpec]) -> None:
    table = plan.table
    ks, tb = table.keyspace, table.name
    for index, column in enumerate(table.clustering):
        rels = by_column.get(column.name)
        if not rels:
            later = [c.name for c in table.clustering[index + 1:] if c.name in by_column]
            if later:
                raise InvalidRequest(f"PRIMARY KEY column \"{later[0]}\" cannot be restricted as "
                                     f"preceding column \"{column.name}\" is not restricted")
            return
        ops = {r.operator for r in rels}
        if ops <= {Op.EQ, Op.IN} and len(rels) == 1:
            plan.clustering.append(_eq_or_in(table, column, rels[0], specs))
            continue
        if not ops <= {Op.LT, Op.LTE, Op.GT, Op.GTE}:
            raise InvalidRequest(f"Unsupported restriction on clustering column {column.name}: "
                                 f"{', '.join(sorted(o.value for o in ops))}")
        plan.slice = Slice(column)
        for rel in rels:
            fn = compile_term(rel.value, column.type, column.name, ks, tb, specs)
            if rel.operator in (Op.GT, Op.GTE):
                if plan.slice.lower is not None:
                    raise InvalidRequest(f"More than one restriction was found for the start "
                                         f"bound on {column.name}")
                plan.slice.lower = (fn, rel.operator is Op.GTE)
            else:
                if plan.slice.upper is not None:
                    raise InvalidRequest(f"More than one restriction was found for the end "
                                         f"bound on {column.name}")
                plan.slice.upper = (fn, rel.operator is Op.LTE)
        later = [c.name for c in table.clustering[index + 1:] if c.name in by_column]
        if later:
            raise InvalidRequest(f"Clustering column \"{later[0]}\" cannot be restricted (preceding "
                                 f"column \"{column.name}\" is restricted by a non-EQ relation)")
        return


def _tuple_bounds(plan: KeyPlan, values: list) -> tuple[bytes, bytes]:
    ts = plan.tuple_slice
    n = len(ts.columns)
    types, rev = plan.table.ck_types[:n], plan.table.ck_reversed[:n]
    if len(set(rev)) > 1:
        raise InvalidRequest("Tuple relations over clustering columns of mixed order are not "
                             "supported yet by Ferrosa")
    tuple_type = T.TupleType(list(types))

    def encode(bound, is_start: bool) -> bytes:
        raw = bound[0](values)
        if raw is None or raw is UNSET:
            raise InvalidRequest("Invalid null value in condition for clustering columns")
        parts = V.deserialize(tuple_type, raw)
        return BC.bound(types, rev, [V.serialize(t, p) for t, p in zip(types, parts)],
                        bound[1], is_start)
    lower, upper = ts.lower, ts.upper
    if rev and rev[0]:  # DESC: the greatest values come first in storage
        lower, upper = upper, lower
    start = encode(lower, True) if lower is not None else b""
    end = encode(upper, False) if upper is not None else b""
    return start, end


# The bounds of every row of a partition: empty start and end (byte-comparable).
WHOLE_PARTITION = (b"", b"")


def slice_bounds(plan: KeyPlan, prefix: list[bytes], values: list) -> tuple[bytes, bytes]:
    """Byte-comparable [start, end) of the rows a clustering prefix (and slice) selects."""
    if plan.tuple_slice is not None:
        return _tuple_bounds(plan, values)
    n = len(prefix)
    if plan.slice is None:
        if n == 0:
            return WHOLE_PARTITION
        encoder = plan.encoder(n)
        return encoder.bound(prefix, True, True), encoder.bound(prefix, True, False)
    lower, upper = plan.slice.lower, plan.slice.upper
    # On a DESC column the value order is inverted: a lower value bound is an upper key bound.
    if plan.table.ck_reversed[n]:
        lower, upper = upper, lower
    if n:
        encoder = plan.encoder(n)
        start, end = encoder.bound(prefix, True, True), encoder.bound(prefix, True, False)
    else:
        start, end = b"", b""
    if lower is not None:
        value = _bound_value(lower[0], values, plan.slice.column)
        start = plan.encoder(n + 1).bound(prefix + [value], lower[1], True)
    if upper is not None:
        value = _bound_value(upper[0], values, plan.slice.column)
        end = plan.encoder(n + 1).bound(prefix + [value], upper[1], False)
    return start, end


def _bound_value(fn: ValueFn, values: list, column: ColumnInfo) -> bytes:
    value = fn(values)
    if value is None:
        raise InvalidRequest(f"Invalid null value in condition for column {column.name}")
    if value is UNSET:
        raise InvalidRequest(f"Invalid unset value for column {column.name}")
    return value
