"""Short constructors for expected ASTs in the parser tests."""

from __future__ import annotations

from ferrosa.cql import ast as A

Op = A.Operator
CT = A.ConstantType


def I(text: str) -> A.Constant:  # noqa: E743 - short names keep the golden tables readable
    return A.Constant(CT.INTEGER, text)


def F(text: str) -> A.Constant:
    return A.Constant(CT.FLOAT, text)


def S(text: str) -> A.Constant:
    return A.Constant(CT.STRING, text)


def B(text: str) -> A.Constant:
    return A.Constant(CT.BOOLEAN, text)


def M(index: int, name: str | None = None) -> A.BindMarker:
    return A.BindMarker(index, name)


def Q(name: str, keyspace: str | None = None) -> A.QualifiedName:
    return A.QualifiedName(keyspace, name)


def T(name: str) -> A.NativeType:
    return A.NativeType(name)


def col(name: str) -> A.ColumnRef:
    return A.ColumnRef(name)


def sel(expr: A.Term, alias: str | None = None) -> A.Selector:
    return A.Selector(expr, alias)


def rel(column: str, op: A.Operator, value: A.Term) -> A.SingleColumnRelation:
    return A.SingleColumnRelation(column, op, value)


def fn(name: str, *args: A.Term, keyspace: str | None = None) -> A.FunctionCall:
    return A.FunctionCall(A.QualifiedName(keyspace, name), tuple(args))


def markers(count: int) -> tuple[A.BindMarker, ...]:
    return tuple(A.BindMarker(i) for i in range(count))
