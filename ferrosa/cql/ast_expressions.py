"""AST, part 1: names, types, terms, selectors and WHERE relations (re-exported by ast.py).

This module must NOT validate or evaluate anything; see ast.py for the conventions.
"""

from __future__ import annotations

import enum

import msgspec


class Node(msgspec.Struct, frozen=True, gc=False):
    """Base of every AST node."""


# ---------------------------------------------------------------------------------------------------
# Names and types
# ---------------------------------------------------------------------------------------------------


class QualifiedName(Node, frozen=True, gc=False):
    """``[keyspace.]name`` for tables, views, indexes, types, functions and aggregates."""

    keyspace: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.keyspace is None else f"{self.keyspace}.{self.name}"


class CqlType(Node, frozen=True, gc=False):
    """Base of the raw (unresolved) CQL types, Cassandra's ``CQL3Type.Raw``."""


class NativeType(CqlType, frozen=True, gc=False):
    """ascii, bigint, blob, boolean, counter, date, decimal, double, duration, float, inet, int,
    smallint, text, time, timestamp, timeuuid, tinyint, uuid, varchar, varint (lower-case name)."""

    name: str


class CollectionType(CqlType, frozen=True, gc=False):
    """``list<t>``, ``set<t>``, ``map<k, v>``; ``kind`` is "list", "set" or "map"."""

    kind: str
    element_types: tuple[CqlType, ...]
    frozen: bool = False


class TupleType(CqlType, frozen=True, gc=False):
    element_types: tuple[CqlType, ...]
    frozen: bool = False


class VectorType(CqlType, frozen=True, gc=False):
    element_type: CqlType
    dimension: int


class UserType(CqlType, frozen=True, gc=False):
    """A user-defined type referred to by name (resolution is the executor's job)."""

    name: QualifiedName
    frozen: bool = False


class CustomType(CqlType, frozen=True, gc=False):
    """A type given as a Java class name string, e.g. ``'org.apache.cassandra.db.marshal.BytesType'``."""

    class_name: str


# ---------------------------------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------------------------------


class ConstantType(enum.IntEnum):
    """The lexical kind of a literal, Cassandra's ``Constants.Type``."""

    STRING = 1
    INTEGER = 2
    UUID = 3
    FLOAT = 4
    BOOLEAN = 5
    HEX = 6
    DURATION = 7


class Term(Node, frozen=True, gc=False):
    """Base of value expressions (Cassandra's ``Term.Raw``)."""


class Constant(Term, frozen=True, gc=False):
    """A literal. ``text`` is the literal as written except: strings are unquoted and unescaped;
    booleans are lower-cased; NaN / -NaN are "NaN" and infinities "Infinity" / "-Infinity" (FLOAT)."""

    type: ConstantType
    text: str


class Null(Term, frozen=True, gc=False):
    """The ``null`` literal."""


NULL = Null()


class BindMarker(Term, frozen=True, gc=False):
    """``?`` (name None) or ``:name``. ``index`` is the position among the statement's markers."""

    index: int
    name: str | None = None


class ListLiteral(Term, frozen=True, gc=False):
    elements: tuple[Term, ...]


class SetLiteral(Term, frozen=True, gc=False):
    """A non-empty ``{a, b}``. (An empty ``{}`` is EmptyBraceLiteral: set or map is unknowable.)"""

    elements: tuple[Term, ...]


class MapLiteral(Term, frozen=True, gc=False):
    entries: tuple[tuple[Term, Term], ...]


class EmptyBraceLiteral(Term, frozen=True, gc=False):
    """``{}``: an empty set or an empty map, decided by the receiving column's type."""


EMPTY_BRACES = EmptyBraceLiteral()


class UserTypeLiteral(Term, frozen=True, gc=False):
    """``{field: term, ...}`` (field names are identifiers, which distinguishes it from a map)."""

    fields: tuple[tuple[str, Term], ...]


class TupleLiteral(Term, frozen=True, gc=False):
    """``(a, b, ...)``; in selector context a single parenthesised element is not a tuple."""

    elements: tuple[Term, ...]


class FunctionCall(Term, frozen=True, gc=False):
    """``f(args)``, ``ks.f(args)``, ``token(a, b)``, ``count(1)``. Names are lower-cased unless quoted."""

    name: QualifiedName
    args: tuple[Term, ...]


class TypeCast(Term, frozen=True, gc=False):
    """``(type) term``: a type hint for a literal or marker."""

    type: CqlType
    term: Term


class Cast(Term, frozen=True, gc=False):
    """``CAST(term AS native_type)`` (a real conversion function in Cassandra)."""

    term: Term
    type: NativeType


class BinaryOp(Term, frozen=True, gc=False):
    """Arithmetic ``left op right`` with op one of ``+ - * / %`` (Cassandra 4+)."""

    op: str
    left: Term
    right: Term


class Negation(Term, frozen=True, gc=False):
    """Unary minus applied to a non-literal (``-?``, ``-f(x)``); ``-3`` lexes as a Constant."""

    term: Term


class TermList(Term, frozen=True, gc=False):
    """The parenthesised value list of ``IN (...)`` / ``BETWEEN a AND b`` (Cassandra's ``Terms.Raw``)."""

    items: tuple[Term, ...]


# ---------------------------------------------------------------------------------------------------
# Selectors (SELECT clause, GROUP BY)
# ---------------------------------------------------------------------------------------------------


class Selectable(Term, frozen=True, gc=False):
    """Base of selector-only nodes (Cassandra's ``Selectable.Raw``)."""


class ColumnRef(Selectable, frozen=True, gc=False):
    """A column name in a selector."""

    name: str


class CountRows(Selectable, frozen=True, gc=False):
    """``COUNT(*)``. (``COUNT(1)`` is an ordinary FunctionCall to ``count``.)"""


COUNT_ROWS = CountRows()


class WritetimeOrTTLKind(enum.IntEnum):
    WRITE_TIME = 1
    MAX_WRITE_TIME = 2
    TTL = 3


class WritetimeOrTTL(Selectable, frozen=True, gc=False):
    """``WRITETIME(c)``, ``MAXWRITETIME(c)``, ``TTL(c)``. ``selected`` is the column with any
    element/field modifiers applied (``WRITETIME(m['k'])``); ``column`` is the bare column."""

    column: str
    selected: Term
    kind: WritetimeOrTTLKind


class FieldSelection(Selectable, frozen=True, gc=False):
    """``receiver.field`` (UDT field)."""

    receiver: Term
    field: str


class ElementSelection(Selectable, frozen=True, gc=False):
    """``receiver[element]`` (map key or list index / set element)."""

    receiver: Term
    element: Term


class SliceSelection(Selectable, frozen=True, gc=False):
    """``receiver[start..end]`` with either bound possibly None (open)."""

    receiver: Term
    start: Term | None
    end: Term | None


class Selector(Node, frozen=True, gc=False):
    """One SELECT clause item: an expression and its ``AS`` alias."""

    expr: Term
    alias: str | None = None


# ---------------------------------------------------------------------------------------------------
# WHERE clause
# ---------------------------------------------------------------------------------------------------


class Operator(enum.Enum):
    """Relation and condition operators, Cassandra's ``Operator``; value is the CQL spelling."""

    EQ = "="
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    NEQ = "!="
    IN = "IN"
    NOT_IN = "NOT IN"
    CONTAINS = "CONTAINS"
    NOT_CONTAINS = "NOT CONTAINS"
    CONTAINS_KEY = "CONTAINS KEY"
    NOT_CONTAINS_KEY = "NOT CONTAINS KEY"
    LIKE = "LIKE"
    IS_NOT = "IS NOT"
    BETWEEN = "BETWEEN"
    ANN = "ANN"  # not produced by the parser: ORDER BY ... ANN OF lives in Ordering.ann_of


class Relation(Node, frozen=True, gc=False):
    """Base of WHERE clause items."""


class SingleColumnRelation(Relation, frozen=True, gc=False):
    """``col op value``. For IN / NOT IN ``value`` is a TermList or a BindMarker (``IN ?``);
    for BETWEEN a TermList of two; for ``IS NOT NULL`` op is IS_NOT and value is NULL."""

    column: str
    operator: Operator
    value: Term


class MapElementRelation(Relation, frozen=True, gc=False):
    """``col[key] op value``."""

    column: str
    key: Term
    operator: Operator
    value: Term


class TokenRelation(Relation, frozen=True, gc=False):
    """``token(a, b) op value`` (BETWEEN: value is a TermList of two)."""

    columns: tuple[str, ...]
    operator: Operator
    value: Term


class MultiColumnRelation(Relation, frozen=True, gc=False):
    """``(a, b) op value``. Comparison: value is a TupleLiteral or BindMarker. IN: a TermList of
    TupleLiterals / BindMarkers, or one BindMarker (``IN ?``). BETWEEN: a TermList of two."""

    columns: tuple[str, ...]
    operator: Operator
    value: Term


class CustomIndexExpression(Relation, frozen=True, gc=False):
    """``expr(index_name, value)``."""

    index: QualifiedName
    value: Term


class Ordering(Node, frozen=True, gc=False):
    """``ORDER BY column [ANN OF term] [ASC|DESC]``."""

    column: str
    descending: bool = False
    ann_of: Term | None = None


__all__ = [
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and getattr(value, "__module__", None) == __name__
] + ["NULL", "EMPTY_BRACES", "COUNT_ROWS"]
