"""Cassandra 5.0's native CQL functions, aggregates, CAST and the JSON value codec, as pure
libraries over serialized values (bytes, None for null).

Entry points: ``resolve`` / ``resolve_aggregate`` (which overload a call means), ``cast_function``,
``token_function``; ``to_json`` / ``from_json`` / ``select_json_row`` / ``parse_insert_json``.
Every error is a ``ferrosa.schema.errors.SchemaError`` subclass (see errors.py).

This package must NOT evaluate statements, read tables or know about sessions.
"""

from __future__ import annotations

from ferrosa.functions.errors import (
    FunctionError, FunctionFailure, FunctionServerError, InvalidRequest, MarshalError,
)
from ferrosa.functions.json_codec import (
    from_json, parse_insert_json, parse_json, select_json_row, to_json,
)
from ferrosa.functions.natives import (
    NATIVE_FUNCTIONS, cast_function, resolve, resolve_aggregate, token_function,
)
from ferrosa.functions.registry import (
    Aggregate, AggregateState, Function, TypedArg, argument_receiver_name, check_result_assignable,
)

__all__ = [
    "Aggregate", "AggregateState", "Function", "FunctionError", "FunctionFailure", "FunctionServerError",
    "InvalidRequest", "MarshalError", "NATIVE_FUNCTIONS", "TypedArg", "argument_receiver_name",
    "cast_function", "check_result_assignable", "from_json", "parse_insert_json", "parse_json", "resolve",
    "resolve_aggregate", "select_json_row", "to_json", "token_function",
]
