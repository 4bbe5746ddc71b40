"""CQL parser entry point: ``parse_statement(text) -> ast.Statement``.

This module must NOT do schema validation or execution; it dispatches on the first keyword(s) to the
statement rules (parser_dml, parser_ddl, parser_dcl) and turns internal parse failures into
Cassandra-style ``CqlSyntaxError`` messages.

Theory of operation
-------------------
``query: cqlStatement (';')* EOF`` as in Cassandra's Cql.g. The first token selects a handler
from ``_STATEMENTS``; CREATE / ALTER / DROP select on the second token through their own tables.
A failure records the offending token index; the message is then built as ANTLR + Cassandra's
ErrorCollector would: ``line L:C <message> (<up to 10 tokens before>[offending]...)`` where the
snippet is omitted at end of input (whose position reads ``0:-1``). A lexical error takes effect
only if the parser gets as far as the unlexable text.
"""

from __future__ import annotations

from typing import Callable

from ferrosa.cql import ast
from ferrosa.cql.errors import CqlInvalidRequest, CqlSyntaxError
from ferrosa.cql.lexer import describe_type, position_of, tokenize
from ferrosa.cql.parser_base import INVALID, MAX_NESTING_DEPTH, MESSAGE, MISMATCHED, NO_VIABLE, ParseFailure
from ferrosa.cql.parser_dcl import DclParser

__all__ = ["parse_statement", "MAX_NESTING_DEPTH", "StatementParser"]

# ErrorCollector's snippet starts this many tokens (hidden ones included) before the offending one.
SNIPPET_TOKENS_BEFORE = 10


class StatementParser(DclParser):
    """All statement rules; one instance parses one statement."""

    __slots__ = ("in_batch",)

    def statement(self) -> ast.Statement:
        handler = _STATEMENTS.get(self.types[self.i])
        if handler is None:
            raise ParseFailure(self.i, NO_VIABLE)
        return handler(self)

    def _second_keyword(self, table: dict[str, Callable[[StatementParser], ast.Statement]]) -> ast.Statement:
        handler = table.get(self.types[self.i + 1])
        if handler is None:
            raise ParseFailure(self.i + 1, NO_VIABLE)
        self.i += 2
        return handler(self)

    def create_statement(self) -> ast.Statement:
        return self._second_keyword(_CREATE)

    def alter_statement(self) -> ast.Statement:
        return self._second_keyword(_ALTER)

    def drop_statement(self) -> ast.Statement:
        return self._second_keyword(_DROP)


_P = StatementParser
_CREATE: dict[str, Callable[[StatementParser], ast.Statement]] = {
    "K_KEYSPACE": _P.create_keyspace,
    "K_COLUMNFAMILY": _P.create_table,
    "K_TYPE": _P.create_type,
    "K_INDEX": _P.create_index,
    "K_CUSTOM": _P.create_index,
    "K_MATERIALIZED": _P.create_view,
    "K_TRIGGER": _P.create_trigger,
    "K_FUNCTION": _P.create_function,
    "K_AGGREGATE": _P.create_aggregate,
    "K_OR": _P.create_or_replace,
    "K_ROLE": _P.create_role,
    "K_USER": _P.create_user,
}
_ALTER: dict[str, Callable[[StatementParser], ast.Statement]] = {
    "K_KEYSPACE": _P.alter_keyspace,
    "K_COLUMNFAMILY": _P.alter_table,
    "K_TYPE": _P.alter_type,
    "K_MATERIALIZED": _P.alter_view,
    "K_ROLE": _P.alter_role,
    "K_USER": _P.alter_user,
}
_DROP: dict[str, Callable[[StatementParser], ast.Statement]] = {
    "K_KEYSPACE": _P.drop_keyspace,
    "K_COLUMNFAMILY": _P.drop_table,
    "K_TYPE": _P.drop_type,
    "K_INDEX": _P.drop_index,
    "K_MATERIALIZED": _P.drop_view,
    "K_TRIGGER": _P.drop_trigger,
    "K_FUNCTION": _P.drop_function,
    "K_AGGREGATE": _P.drop_aggregate,
    "K_ROLE": _P.drop_role,
    "K_USER": _P.drop_user,
    "K_IDENTITY": _P.drop_identity,
}
_STATEMENTS: dict[str, Callable[[StatementParser], ast.Statement]] = {
    "K_SELECT": _P.select_statement,
    "K_INSERT": _P.insert_statement,
    "K_UPDATE": _P.update_statement,
    "K_DELETE": _P.delete_statement,
    "K_BEGIN": _P.batch_statement,
    "K_USE": _P.use_statement,
    "K_TRUNCATE": _P.truncate_statement,
    "K_CREATE": _P.create_statement,
    "K_ALTER": _P.alter_statement,
    "K_DROP": _P.drop_statement,
    "K_GRANT": _P.grant_statement,
    "K_REVOKE": _P.revoke_statement,
    "K_LIST": _P.list_statement,
    "K_DESCRIBE": _P.describe_statement,
    "K_DESC": _P.describe_statement,
    "K_ADD": _P.add_identity,
}


def parse_statement(text: str) -> ast.Statement:
    """Parse exactly one CQL statement (optionally followed by ``;``).

    Raises CqlSyntaxError for anything Cassandra's parser rejects as a syntax error, and
    CqlInvalidRequest for the few statements its grammar actions reject as invalid requests.
    """
    tokens = tokenize(text)
    parser = StatementParser(tokens)
    parser.in_batch = False
    try:
        statement = parser.statement()
        types = parser.types
        i = parser.i
        while types[i] == ";":
            i += 1
        if i != tokens.count:
            raise ParseFailure(i, MISMATCHED, "EOF")
    except ParseFailure as failure:
        raise _to_error(tokens, failure) from None
    if tokens.error is not None:
        raise tokens.error
    return statement


def _to_error(tokens, failure: ParseFailure) -> Exception:  # type: ignore[no-untyped-def]
    index = failure.index
    if tokens.error is not None and index >= tokens.count:
        return tokens.error
    if failure.kind == INVALID:
        return CqlInvalidRequest(failure.detail or "")
    at_eof = index >= tokens.count
    if at_eof:
        line, column = 0, -1
    else:
        line, column = position_of(tokens.text, tokens.starts[index])
    if failure.kind == MESSAGE:
        real_line, real_column = (line, column) if not at_eof else position_of(tokens.text, len(tokens.text))
        return CqlSyntaxError(failure.detail or "", real_line, real_column)
    shown = "'<EOF>'" if at_eof else "'" + _display_text(tokens, index) + "'"
    if failure.kind == MISMATCHED:
        what = f"mismatched input {shown} expecting {describe_type(failure.detail or 'EOF')}"
    else:
        what = f"no viable alternative at input {shown}"
    message = f"line {line}:{column} {what}"
    if not at_eof:
        message += _snippet(tokens.text, tokens.starts[index])
    return CqlSyntaxError(message, line, column)


def _display_text(tokens, index: int) -> str:  # type: ignore[no-untyped-def]
    """ANTLR's token display: the token text (string contents for literals), escapes for controls."""
    ttype = tokens.types[index]
    if ttype in ("STRING_LITERAL", "QUOTED_NAME"):
        raw = tokens.values[index]
    else:
        raw = tokens.text[tokens.starts[index] : tokens.ends[index]]
    return raw.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _snippet(text: str, offending_start: int) -> str:
    """`` (...before [offending]...)`` as Cassandra's ErrorCollector builds it.

    The snippet starts SNIPPET_TOKENS_BEFORE tokens (hidden ones included) before the offending token
    and ends with it: ANTLR's token stream has usually read no further when the error is reported
    (a rule that looked further ahead would show more; that detail is not reproduced)."""
    everything = tokenize(text, keep_hidden=True)
    starts = everything.starts
    index = starts.index(offending_start)
    begin = starts[max(0, index - SNIPPET_TOKENS_BEFORE)]
    end = everything.ends[index]
    body = f"{text[begin:offending_start]}[{text[offending_start:end]}]".replace("\n", "")
    prefix = "" if begin == 0 else "..."
    suffix = "" if not text[end:].rstrip("\n") else "..."
    return f" ({prefix}{body}{suffix})"
