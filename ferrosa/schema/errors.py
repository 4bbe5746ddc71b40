"""Errors raised by the schema package.

Each error carries the CQL native protocol error code Cassandra would answer with, so the
front can turn it into an ERROR frame without a lookup table of its own.  Messages follow
Cassandra 5.0's wording, because drivers, cqlsh and tests compare them verbatim.

This module must NOT import anything from the rest of Ferrosa (every other schema module
imports it) and must NOT format protocol frames.
"""

from __future__ import annotations

# Protocol error codes (native_protocol_v5.spec section 9).  Duplicated here rather than
# imported so that the schema package stays free of protocol imports.
SYNTAX_ERROR_CODE = 0x2000
INVALID_CODE = 0x2200
CONFIG_ERROR_CODE = 0x2300
ALREADY_EXISTS_CODE = 0x2400
UNAUTHORIZED_CODE = 0x2100


class SchemaError(Exception):
    """Base of every schema error; ``message`` is what goes on the wire."""

    error_code: int = INVALID_CODE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(SchemaError):
    """Cassandra's ConfigurationException: a schema option with an invalid value."""

    error_code = CONFIG_ERROR_CODE


class InvalidRequest(SchemaError):
    """Cassandra's InvalidRequestException: the request is well formed but not valid."""

    error_code = INVALID_CODE


class Unauthorized(SchemaError):
    """Cassandra's UnauthorizedException: the logged-in role may not do this."""

    error_code = UNAUTHORIZED_CODE


class KeyspaceNotDefined(InvalidRequest):
    """Cassandra's KeyspaceNotDefinedException (an InvalidRequestException)."""


class CqlSyntaxError(SchemaError):
    """Cassandra's SyntaxException, raised for unknown or malformed properties."""

    error_code = SYNTAX_ERROR_CODE


class AlreadyExists(SchemaError):
    """Cassandra's AlreadyExistsException; ``table`` is '' when a keyspace already exists.

    The ALREADY_EXISTS error body carries the keyspace and table names, hence the fields.
    """

    error_code = ALREADY_EXISTS_CODE

    def __init__(self, keyspace: str, table: str = "", message: str | None = None) -> None:
        if message is None:
            if table:
                message = f'Cannot add already existing table "{table}" to keyspace "{keyspace}"'
            else:
                message = f'Cannot add existing keyspace "{keyspace}"'
        super().__init__(message)
        self.keyspace = keyspace
        self.table = table
