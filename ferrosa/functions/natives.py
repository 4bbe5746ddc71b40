"""The registry of Cassandra 5.0's native functions (NativeFunctions.instance) and the entry points
the CQL layer calls: ``resolve``, ``resolve_aggregate``, ``cast_function``, ``token_function``.

Covered: token; now, uuid, current_timestamp/_date/_time/_timeuuid; min/max_timeuuid;
to_date/to_timestamp/to_unix_timestamp; floor (timestamp, timeuuid, date, time); every X_as_blob /
blob_as_X; abs/exp/log/log10/round on each numeric type; the cast_as_X functions; count,
count_rows, sum, avg, min, max; map_keys, map_values, collection_count/min/max/sum/avg;
mask_null/default/replace/inner/outer/hash; similarity_cosine/euclidean/dot_product; to_json and
from_json; and every pre-5.0 name Cassandra 5.0 keeps (totimestamp, intasblob, castAsInt, ...).

This module must NOT implement function bodies; it only assembles and looks up.
"""

from __future__ import annotations

from typing import Sequence

from ferrosa.functions import aggregates, casts, collection_fcts, json_codec, masking, scalar
from ferrosa.functions.errors import InvalidRequest
from ferrosa.functions.registry import (
    Aggregate, Arg, Function, Overload, Registry, TypedArg, resolve_in,
)
from ferrosa.protocol import types as T


def build_registry() -> Registry:
    """A registry holding every native function of Cassandra 5.0 (see the module docstring)."""
    registry = Registry()
    for fn in casts.cast_overloads():
        registry.add(fn, casts.legacy_cast_name(fn.return_type))
    for fn, legacy in scalar.uuid_functions() + scalar.time_functions():
        registry.add(fn, legacy)
    for aggregate, legacy in aggregates.aggregate_overloads():
        registry.add(aggregate, legacy)
    for factory in aggregates.aggregate_factories():
        registry.add_factory(factory)
    for factory in (json_codec.json_factories() + collection_fcts.collection_factories()
                    + masking.masking_factories() + collection_fcts.vector_factories()):
        registry.add_factory(factory)
    for fn in scalar.blob_functions() + scalar.math_functions():
        registry.add(fn)
    return registry


NATIVE_FUNCTIONS = build_registry()


def resolve(name: str, args: Sequence[Arg], receiver: T.CqlType | None = None, *,
            keyspace: str | None = None,
            partition_key_types: Sequence[T.CqlType] | None = None) -> Overload:
    """The overload a call ``[keyspace.]name(args)`` means (FunctionResolver.get).

    ``args``: per argument a CqlType or TypedArg (type known), an ast.Constant (literal), ast.Null,
    None or an ast.BindMarker (bind marker), an ast.ListLiteral. ``receiver``: the type the result
    goes to when known (INSERT value, WHERE operand); None in a selection, which also decides the
    "Unknown function" wording. ``partition_key_types`` is needed for token().
    """
    builder = None
    if partition_key_types is not None:
        pk = tuple(partition_key_types)

        def builder() -> Function:  # built only when the call is token()
            return scalar.token_function(pk)
    return resolve_in(NATIVE_FUNCTIONS, name, args, receiver, keyspace=keyspace, token_builder=builder)


def resolve_aggregate(name: str, args: Sequence[Arg], *, keyspace: str | None = None) -> Aggregate:
    """resolve() for a selection that must be an aggregate (count(*) is ``count_rows``)."""
    found = resolve(name, args, None, keyspace=keyspace)
    if not isinstance(found, Aggregate):
        raise InvalidRequest(f"{found.qualified_name} is not an aggregate function")
    return found


def cast_function(from_type: T.CqlType, to_type: T.CqlType, arg_text: str | None = None) -> Function:
    """The function CAST(<arg> AS to_type) applies (Selectable.WithCast).

    ``arg_text`` is the argument as Cassandra prints it in errors (the column name); casting a type
    to itself is an identity function keeping the column's name.
    """
    text = arg_text if arg_text is not None else T.cql_name(from_type)
    if from_type == to_type:
        return casts.identity_cast(to_type)
    name = casts.cast_name(to_type)
    if name not in NATIVE_FUNCTIONS.overloads:
        raise InvalidRequest(f"{text} cannot be cast to {T.cql_name(to_type)}")
    found = resolve(name, [TypedArg(from_type, text)], keyspace="system")
    if not isinstance(found, Function):
        raise InvalidRequest(f"{text} cannot be cast to {T.cql_name(to_type)}")
    return found


token_function = scalar.token_function
