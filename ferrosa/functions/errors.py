"""Errors raised by the native function library, CAST and the JSON codec.

Every error is a ``ferrosa.schema.errors.SchemaError`` so the front turns it into an ERROR frame
with the code Cassandra 5.0 would answer with:

* ``InvalidRequest`` (0x2200): resolution failures, bad arguments, Cassandra's
  InvalidRequestException raised while executing (blob_as_int of 3 bytes, bad masking padding...).
* ``MarshalError`` (an InvalidRequest): Cassandra's MarshalException, a value that cannot be read
  (mostly from JSON). INSERT JSON wraps its message ("Error decoding JSON value for c: ...");
  from_json() reports it as a FunctionFailure, as Cassandra does.
* ``FunctionFailure`` (0x1400 FUNCTION_FAILURE): Cassandra's FunctionExecutionException.
* ``FunctionServerError`` (0x0000 SERVER_ERROR): what Cassandra lets escape as a Java runtime
  exception (log of a varint <= 0, NaN cast to decimal...); the message is the Java exception's
  ``toString()`` as Cassandra would send it.

This module must NOT import anything else from ferrosa.functions.
"""

from __future__ import annotations

from ferrosa.schema.errors import InvalidRequest, SchemaError

__all__ = ["FunctionError", "FunctionFailure", "FunctionServerError", "InvalidRequest", "MarshalError",
           "FUNCTION_FAILURE_CODE", "SERVER_ERROR_CODE"]

# Native protocol error codes (native_protocol_v5.spec section 9) not defined by the schema package.
SERVER_ERROR_CODE = 0x0000
FUNCTION_FAILURE_CODE = 0x1400

# Any error this package raises (for "raises our error, nothing else" checks).
FunctionError = SchemaError


class MarshalError(InvalidRequest):
    """Cassandra's MarshalException: ``message`` is the bare text Cassandra puts in it."""


class FunctionFailure(SchemaError):
    """Cassandra's FunctionExecutionException; the FUNCTION_FAILURE body carries these fields."""

    error_code = FUNCTION_FAILURE_CODE

    def __init__(self, message: str, keyspace: str, function: str, arg_types: list[str]) -> None:
        super().__init__(message)
        self.keyspace = keyspace
        self.function = function
        self.arg_types = arg_types


class FunctionServerError(SchemaError):
    """A Java runtime exception Cassandra does not catch (answered as SERVER_ERROR)."""

    error_code = SERVER_ERROR_CODE
