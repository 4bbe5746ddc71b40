"""The CQL abstract syntax tree: what the parser produces and the statement executor consumes.

Every node is a frozen msgspec Struct (cheap to build, immutable, comparable with ``==``). Class
names follow Cassandra's own statement and ``*.Raw`` classes so readers can map the two code bases.

This module must NOT validate anything against a schema, evaluate terms, or convert literal text to
typed values: a ``Constant`` keeps the literal's text, because its meaning (int vs bigint vs varint,
text vs timestamp, ...) depends on the column it is bound to, which only the executor knows.

Conventions
-----------
* Identifiers are plain ``str`` already normalised the way Cassandra does it: unquoted names are
  lower-cased, ``"Quoted"`` names keep their case (with ``""`` unescaped).
* Names that may be keyspace-qualified are ``QualifiedName(keyspace, name)``; ``keyspace`` is None
  when the statement did not say, and the executor substitutes the session's keyspace.
* Sequences are tuples; optional parts are None; properties (``WITH k = v AND ...``) are dicts
  mapping the property name to its raw string value or to a ``dict[str, str]`` for map values,
  exactly like Cassandra's ``PropertyDefinitions``.
* Every statement carries ``bind_markers``: one ``BindMarker`` per ``?`` / ``:name`` in order of
  appearance (the ``index`` of a marker is its position in that tuple).  In a BATCH the markers of
  all inner statements share one numbering and are listed on the BatchStatement; the inner
  statements' own ``bind_markers`` are empty.
* Terms (``Term``) are values: literals, markers, function calls, arithmetic. Selector-only nodes
  (``Selectable``) may appear in SELECT clauses and GROUP BY; in a selector tree the children of a
  shared node (FunctionCall, BinaryOp, literals...) may be selectables too.
"""

from __future__ import annotations

from ferrosa.cql.ast_dcl import *  # noqa: F401,F403
from ferrosa.cql.ast_dcl import __all__ as _dcl_names
from ferrosa.cql.ast_expressions import *  # noqa: F401,F403
from ferrosa.cql.ast_expressions import __all__ as _expression_names
from ferrosa.cql.ast_statements import *  # noqa: F401,F403
from ferrosa.cql.ast_statements import __all__ as _statement_names

__all__ = [*_expression_names, *_statement_names, *_dcl_names]
