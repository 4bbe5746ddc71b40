"""Errors raised by the CQL front-end (lexer and parser).

This module must NOT depend on the protocol package: the front maps these exceptions to
``ErrorCode.SYNTAX_ERROR`` / ``ErrorCode.INVALID`` itself.

Message style follows Cassandra's ``ErrorCollector``: recogniser errors read
``line L:C <what went wrong>[ (<snippet with the [offending] token>)]`` where ``L`` is 1-based and
``C`` is the 0-based column. As in Cassandra (ANTLR's EOF token carries no position), an error found
at the end of the input reads ``line 0:-1 ...``. Errors detected by grammar actions (duplicate
properties, bind markers where names are expected...) carry Cassandra's plain message without the
``line`` header, but still record where they were found.
"""

from __future__ import annotations

__all__ = ["CqlError", "CqlSyntaxError", "CqlInvalidRequest"]


class CqlError(Exception):
    """Base of the CQL front-end errors; ``message`` is the text sent to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CqlSyntaxError(CqlError):
    """The statement is not valid CQL (Cassandra's ``SyntaxException``).

    ``line`` (1-based) and ``column`` (0-based) locate the offending token or character in the
    statement text; both are None when the problem is not tied to a position. ``line`` is 0 and
    ``column`` -1 for errors at the end of the input, mirroring Cassandra's messages.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class CqlInvalidRequest(CqlError):
    """A grammatical statement that Cassandra's parser itself rejects as an invalid request
    (``InvalidRequestException`` thrown from a grammar action), e.g. an unqualified function name
    in ``GRANT ... ON FUNCTION f(int)``."""
