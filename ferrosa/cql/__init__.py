"""ferrosa.cql: the CQL language front-end (lexer, parser, AST) and literal conversion.

Entry point: ``parse_statement(text) -> ast.Statement``; errors are ``CqlSyntaxError`` /
``CqlInvalidRequest`` (see errors.py). Sans-IO: nothing here touches sockets, asyncio or schemas.
"""

from __future__ import annotations

from ferrosa.cql.errors import CqlError, CqlInvalidRequest, CqlSyntaxError
from ferrosa.cql.parser import MAX_NESTING_DEPTH, parse_statement

__all__ = ["parse_statement", "MAX_NESTING_DEPTH", "CqlError", "CqlSyntaxError", "CqlInvalidRequest"]
