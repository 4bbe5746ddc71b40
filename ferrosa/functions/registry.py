"""Native function overloads and Cassandra 5.0's FunctionResolver: which function a call means.

Theory of operation
-------------------
A registry maps a function name to *fixed overloads* (Function / Aggregate objects with concrete
argument types) and to *factories* that build an overload from the arguments of a call (to_json,
max, map_keys, the masking functions...), like Cassandra's NativeFunctions. Resolving a call:

1. ``count(<literal>)`` in a selection becomes ``count_rows()``; ``token`` is built for the
   table's partition key; otherwise candidates = fixed overloads + what each factory builds (a
   factory infers its argument types from the arguments, then validates them).
2. One candidate: check the argument count and that each argument can be assigned to the
   parameter type ("Type error: ..."), and return it.
3. Several: drop those whose return type cannot be assigned to the receiver (when known); an
   overload whose arguments all match exactly wins at once; otherwise exactly one weak match must
   remain (else "Ambiguous call ..." / "Invalid call ... none of its type signatures match").

Arguments are described, not evaluated: a CqlType or ``TypedArg`` (a column, a function result,
a ``(type) ?`` hint: the type is known), an ``ast.Constant`` (a literal: its kind and text decide
what it can be assigned to, Constants.Literal.testAssignment), ``ast.Null``, ``None`` or an
``ast.BindMarker`` (assignable to anything), an ``ast.ListLiteral`` (an array literal).
Assignment results are Cassandra's EXACT_MATCH / WEAKLY_ASSIGNABLE / NOT_ASSIGNABLE, with type
compatibility from AbstractType.isValueCompatibleWith (text accepts ascii, blob accepts anything,
bigint and timestamp accept each other, varint accepts int and bigint, ...).

Names are matched exactly as the parser hands them over (lower-cased unless quoted), under the
``system`` keyspace or unqualified, as Cassandra does: ``toTimestamp`` works because the parser
lower-cases it to the legacy name ``totimestamp``.

This module must NOT implement any function body (see scalar.py, casts.py, aggregates.py,
collection_fcts.py, masking.py, json_codec.py; natives.py assembles the default registry).
"""

from __future__ import annotations

import decimal
import enum
import math
import struct
import uuid as uuid_module
from typing import Any, Callable, Iterable, Sequence

import msgspec

from ferrosa.cql import ast
from ferrosa.functions import java
from ferrosa.functions.errors import InvalidRequest, MarshalError
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

SYSTEM_KEYSPACE = "system"
PROTOCOL_VERSION = 5


class Match(enum.IntEnum):
    """AssignmentTestable.TestResult."""

    NOT_ASSIGNABLE = 0
    WEAKLY_ASSIGNABLE = 1
    EXACT_MATCH = 2


NOT, WEAK, EXACT = Match.NOT_ASSIGNABLE, Match.WEAKLY_ASSIGNABLE, Match.EXACT_MATCH


# ------------------------------------------------------------------------------ type compatibility

def _native_value_compatible(receiver: T.NativeType, provided: T.CqlType) -> bool:
    if receiver is provided or receiver is T.BLOB:  # BytesType can read anything
        return True
    return provided in _VALUE_COMPATIBLE.get(receiver, ())


# AbstractType.isValueCompatibleWithInternal of the native types (beyond equality).
_VALUE_COMPATIBLE: dict[T.NativeType, tuple[T.CqlType, ...]] = {
    T.TEXT: (T.ASCII,),
    T.BIGINT: (T.TIMESTAMP,),
    T.TIMESTAMP: (T.BIGINT,),
    T.VARINT: (T.INT, T.BIGINT, T.TIMESTAMP),
    T.UUID: (T.TIMEUUID,),
    T.DATE: (T.INT,),
    T.TIME: (T.BIGINT,),
}
# AbstractType.isCompatibleWith (same sort order) of the native types, beyond equality.
_COMPARATOR_COMPATIBLE: dict[T.NativeType, tuple[T.CqlType, ...]] = {
    T.BLOB: (T.ASCII, T.TEXT),
    T.TEXT: (T.ASCII,),
}


def is_compatible(receiver: T.CqlType, provided: T.CqlType) -> bool:
    """isCompatibleWith: values of ``provided`` can be read by ``receiver`` and sort the same."""
    if receiver == provided:
        return True
    if isinstance(receiver, T.NativeType):
        return provided in _COMPARATOR_COMPATIBLE.get(receiver, ())
    if isinstance(receiver, (T.ListType, T.SetType, T.MapType)):
        if type(provided) is not type(receiver) or receiver.is_multi_cell != provided.is_multi_cell:
            return False
        if isinstance(receiver, T.MapType):
            return is_compatible(receiver.key, provided.key) and (
                is_compatible(receiver.value, provided.value) if not receiver.is_multi_cell
                else is_value_compatible(receiver.value, provided.value))
        if isinstance(receiver, T.ListType) and receiver.is_multi_cell:
            return is_value_compatible(receiver.element, provided.element)
        return is_compatible(receiver.element, provided.element)
    if isinstance(receiver, T.TupleType):
        return isinstance(provided, T.TupleType) and _fields_compatible(receiver, provided, is_compatible)
    return False


def _fields_compatible(receiver: Any, provided: Any, check: Callable) -> bool:
    mine, theirs = receiver.subtypes, provided.subtypes
    return len(mine) >= len(theirs) and all(check(a, b) for a, b in zip(mine, theirs))


def is_value_compatible(receiver: T.CqlType, provided: T.CqlType) -> bool:
    """AbstractType.isValueCompatibleWith: ``receiver`` can read values of ``provided``."""
    if isinstance(receiver, T.NativeType):
        return _native_value_compatible(receiver, provided)
    if receiver == provided:
        return True
    if isinstance(receiver, (T.ListType, T.SetType, T.MapType)):
        if receiver.is_multi_cell:
            return is_compatible(receiver, provided)
        if type(provided) is not type(receiver) or provided.is_multi_cell:
            return False
        if isinstance(receiver, T.ListType):
            return is_value_compatible(receiver.element, provided.element)
        if isinstance(receiver, T.SetType):
            return is_compatible(receiver.element, provided.element)
        return is_compatible(receiver.key, provided.key) and is_value_compatible(receiver.value, provided.value)
    if isinstance(receiver, T.UserType):
        return (isinstance(provided, T.UserType) and receiver.is_multi_cell == provided.is_multi_cell
                and receiver.keyspace == provided.keyspace
                and _fields_compatible(receiver, provided, is_compatible))
    if isinstance(receiver, T.TupleType):
        return isinstance(provided, (T.TupleType, T.UserType)) and _fields_compatible(
            receiver, provided, is_value_compatible)
    return False


def type_assignment(provided: T.CqlType, receiver: T.CqlType) -> Match:
    """AbstractType.testAssignment: may a value of type ``provided`` go where ``receiver`` is?"""
    if not provided.is_multi_cell and isinstance(provided, (T.ListType, T.SetType, T.MapType, T.UserType)):
        receiver = receiver.freeze()
    if provided == receiver:
        return EXACT
    return WEAK if is_value_compatible(receiver, provided) else NOT


# -------------------------------------------------------------------------------------- arguments

class TypedArg(msgspec.Struct, frozen=True):
    """An argument whose type is known (column, function call, type hint); ``text`` is how
    Cassandra prints it in error messages (the column name, ``f(x)``, ...)."""

    type: T.CqlType
    text: str


Arg = T.CqlType | TypedArg | ast.Constant | ast.Null | ast.BindMarker | ast.ListLiteral | None

_STRING, _INTEGER, _UUID, _FLOAT, _BOOLEAN, _HEX, _DURATION = (
    ast.ConstantType.STRING, ast.ConstantType.INTEGER, ast.ConstantType.UUID, ast.ConstantType.FLOAT,
    ast.ConstantType.BOOLEAN, ast.ConstantType.HEX, ast.ConstantType.DURATION)

# Constants.Literal.testAssignment: the native receivers each literal kind may weakly go to.
_LITERAL_RECEIVERS: dict[ast.ConstantType, frozenset[T.NativeType]] = {
    _STRING: frozenset({T.ASCII, T.TEXT, T.INET, T.DATE, T.TIME, T.TIMESTAMP}),
    _INTEGER: frozenset({T.BIGINT, T.COUNTER, T.DATE, T.DECIMAL, T.DOUBLE, T.DURATION, T.FLOAT, T.INT,
                         T.SMALLINT, T.TIME, T.TIMESTAMP, T.TINYINT, T.VARINT}),
    _UUID: frozenset({T.UUID, T.TIMEUUID}),
    _FLOAT: frozenset({T.DECIMAL, T.DOUBLE, T.FLOAT}),
    _BOOLEAN: frozenset({T.BOOLEAN}),
    _HEX: frozenset({T.BLOB}),
    _DURATION: frozenset({T.DURATION}),
}


def _preferred_type(kind: ast.ConstantType, text: str) -> T.CqlType | None:
    """Constants.Type.getPreferedTypeFor (HEX prefers tinyint: a Cassandra quirk kept as is)."""
    if kind is _STRING:
        return T.ASCII if text.isascii() else T.TEXT
    if kind is _INTEGER:
        try:
            value = int(text)
        except ValueError:
            return None
        if java.INT32_MIN <= value <= java.INT32_MAX:
            return T.INT
        return T.BIGINT if java.INT64_MIN <= value <= java.INT64_MAX else T.VARINT
    if kind is _UUID:
        try:
            return T.TIMEUUID if uuid_module.UUID(text).version == 1 else T.UUID
        except ValueError:
            return None
    if kind is _FLOAT:
        return _preferred_float_type(text)
    return {_BOOLEAN: T.BOOLEAN, _HEX: T.TINYINT, _DURATION: T.DURATION}.get(kind)


def _preferred_float_type(text: str) -> T.CqlType:
    if text in ("NaN", "-NaN", "Infinity", "-Infinity"):
        return T.DOUBLE
    try:
        exact = decimal.Decimal(text)
        as_double = float(exact)
    except (decimal.InvalidOperation, OverflowError, ValueError):
        return T.DECIMAL
    if math.isinf(as_double):
        return T.DECIMAL
    return T.DOUBLE if exact == decimal.Decimal(java.double_to_string(as_double)) else T.DECIMAL


class _Argument:
    """One call argument, normalized: what it is assignable to, its type if known, its text."""

    __slots__ = ("text", "compatible_type", "is_literal", "_test", "elements")

    def __init__(self, text: str, compatible_type: T.CqlType | None, test: Callable[[T.CqlType], Match],
                 is_literal: bool = False, elements: tuple[_Argument, ...] | None = None) -> None:
        self.text, self.compatible_type, self._test = text, compatible_type, test
        self.is_literal, self.elements = is_literal, elements

    def test(self, receiver: T.CqlType) -> Match:
        return self._test(receiver)

    def __str__(self) -> str:
        return self.text


def _literal_argument(const: ast.Constant) -> _Argument:
    preferred = _preferred_type(const.type, const.text)
    weak = _LITERAL_RECEIVERS[const.type]

    def test(receiver: T.CqlType) -> Match:
        if isinstance(receiver, (T.ListType, T.SetType, T.MapType, T.UserType, T.VectorType)):
            return NOT
        if not isinstance(receiver, T.NativeType):
            return WEAK  # custom types and tuples are not checked here (Cassandra's choice)
        if receiver is preferred:
            return EXACT
        return WEAK if receiver in weak else NOT

    text = f"'{const.text}'" if const.type is _STRING else const.text
    return _Argument(text, preferred, test, is_literal=True)


def _array_argument(literal: ast.ListLiteral) -> _Argument:
    elements = tuple(as_argument(e) for e in literal.elements)

    def test(receiver: T.CqlType) -> Match:
        if isinstance(receiver, T.ListType) or isinstance(receiver, T.VectorType):
            if not elements:
                return WEAK
            results = [e.test(receiver.element) for e in elements]
            if NOT in results:
                return NOT
            return EXACT if all(r is EXACT for r in results) else WEAK
        return NOT

    known = {e.compatible_type for e in elements}
    compatible = T.ListType(known.pop()) if len(known) == 1 and None not in known and elements else None
    text = "[" + ", ".join(e.text for e in elements) + "]"
    return _Argument(text, compatible, test, elements=elements)


_MARKER = _Argument("?", None, lambda receiver: WEAK)
_NULL = _Argument("NULL", None, lambda receiver: NOT if receiver is T.COUNTER else WEAK)


def as_argument(arg: Arg | _Argument) -> _Argument:
    """Normalize one of the accepted argument descriptions."""
    if isinstance(arg, _Argument):
        return arg
    if arg is None:
        return _MARKER
    if isinstance(arg, T.CqlType):
        return _typed_argument(arg, T.cql_name(arg))
    if isinstance(arg, TypedArg):
        return _typed_argument(arg.type, arg.text)
    if isinstance(arg, ast.Constant):
        return _literal_argument(arg)
    if isinstance(arg, ast.Null):
        return _NULL
    if isinstance(arg, ast.BindMarker):
        return _MARKER if arg.name is None else _Argument(f":{arg.name}", None, lambda receiver: WEAK)
    if isinstance(arg, ast.ListLiteral):
        return _array_argument(arg)
    raise InvalidRequest(f"Unsupported function argument {type(arg).__name__}")


def _typed_argument(t: T.CqlType, text: str) -> _Argument:
    return _Argument(text, t, lambda receiver: type_assignment(t, receiver))


# -------------------------------------------------------------------------------------- functions

def type_text(t: T.CqlType) -> str:
    """AbstractFunction.toCqlString: tuples without their frozen<...> wrapper."""
    if isinstance(t, T.TupleType):
        return "tuple<" + ", ".join(map(T.cql_name, t.elements)) + ">"
    return T.cql_name(t)


Body = Callable[..., "bytes | None"]


def _guarded(body: Body) -> Body:
    """Bytes a value codec refuses (a 4-byte decimal passes validation but has no digits) fail as
    Cassandra's MarshalException instead of escaping as a codec error."""
    def call(args: list, protocol_version: int = PROTOCOL_VERSION) -> bytes | None:
        try:
            return body(args, protocol_version)
        except (V.InvalidValue, struct.error) as exc:
            raise MarshalError(str(exc)) from None
    return call


class Function:
    """One native scalar overload. ``call(args, protocol_version)`` maps argument bytes (None for
    null) to result bytes (None for null)."""

    __slots__ = ("name", "arg_types", "return_type", "is_pure", "call", "_body")
    is_aggregate = False
    keyspace = SYSTEM_KEYSPACE

    def __init__(self, name: str, return_type: T.CqlType, arg_types: Sequence[T.CqlType], body: Body,
                 *, pure: bool = True) -> None:
        self.name = name
        self.arg_types = tuple(arg_types)
        self.return_type = return_type
        self.is_pure = pure
        self.call = _guarded(body)
        self._body = body

    @property
    def qualified_name(self) -> str:
        return f"{SYSTEM_KEYSPACE}.{self.name}"

    def renamed(self, name: str) -> Function:
        """The same overload under another name (Cassandra's pre-5.0 legacy names)."""
        return type(self)(name, self.return_type, self.arg_types, self._body, pure=self.is_pure)

    def signature(self) -> str:
        """AbstractFunction.toString, as listed in resolution errors."""
        args = ", ".join(map(type_text, self.arg_types))
        return f"{self.qualified_name} : ({args}) -> {T.cql_name(self.return_type)}"

    def column_name(self, arg_names: Sequence[str]) -> str:
        """The result column's name in a selection (AbstractFunction.columnName)."""
        return f"{self.qualified_name}({', '.join(arg_names)})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.signature()}>"


class AggregateState:
    """The running state of one aggregation; subclasses implement ``add`` and ``result``."""

    __slots__ = ()

    def add(self, args: list) -> None:
        raise TypeError(f"{type(self).__name__} does not accept input")

    def result(self) -> bytes | None:
        raise TypeError(f"{type(self).__name__} has no result")


class Aggregate:
    """One native aggregate overload: ``new_state()``, ``add(state, args)``, ``result(state)``."""

    __slots__ = ("name", "arg_types", "return_type", "new_state", "_column")
    is_aggregate = True
    is_pure = True
    keyspace = SYSTEM_KEYSPACE

    def __init__(self, name: str, return_type: T.CqlType, arg_types: Sequence[T.CqlType],
                 new_state: Callable[[], AggregateState], *, column: str | None = None) -> None:
        self.name = name
        self.arg_types = tuple(arg_types)
        self.return_type = return_type
        self.new_state = new_state
        self._column = column

    qualified_name = Function.qualified_name
    signature = Function.signature
    __repr__ = Function.__repr__

    def renamed(self, name: str) -> Aggregate:
        return Aggregate(name, self.return_type, self.arg_types, self.new_state, column=self._column)

    @staticmethod
    def add(state: AggregateState, args: list) -> None:
        try:
            state.add(args)
        except (V.InvalidValue, struct.error) as exc:
            raise MarshalError(str(exc)) from None

    @staticmethod
    def result(state: AggregateState) -> bytes | None:
        return state.result()

    def column_name(self, arg_names: Sequence[str]) -> str:
        if self._column is not None:
            return self._column
        return f"{self.qualified_name}({', '.join(arg_names)})"


Overload = Function | Aggregate


# -------------------------------------------------------------------------------------- factories

class Parameter:
    """FunctionParameter: how a factory infers and checks one argument's type."""

    optional = False

    def infer(self, arg: _Argument, receiver: T.CqlType | None,
              inferred: list[T.CqlType | None] | None) -> T.CqlType | None:
        return arg.compatible_type

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        """Raise InvalidRequest if ``t`` is not acceptable here."""


class AnyType(Parameter):
    def __init__(self, infer_from_receiver: bool) -> None:
        self.from_receiver = infer_from_receiver

    def infer(self, arg: _Argument, receiver: T.CqlType | None, inferred: Any) -> T.CqlType | None:
        t = arg.compatible_type
        return receiver if t is None and self.from_receiver else t

    def __str__(self) -> str:
        return "any"


class FixedType(Parameter):
    def __init__(self, *types: T.CqlType, names: Sequence[str] | None = None) -> None:
        self.types = types
        self.names = tuple(names) if names is not None else tuple(T.cql_name(t) for t in types)

    def infer(self, arg: _Argument, receiver: T.CqlType | None, inferred: Any) -> T.CqlType | None:
        return arg.compatible_type if arg.compatible_type is not None else self.types[0]

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        if all(type_assignment(t, accepted) is NOT for accepted in self.types):
            raise InvalidRequest(f"Function {fname} requires an argument of type {self}, but found "
                                 f"argument {arg} of type {T.cql_name(t)}")

    def __str__(self) -> str:
        return self.names[0] if len(self.names) == 1 else "[" + "|".join(self.names) + "]"


def string_parameter() -> FixedType:
    """FunctionParameter.string(): text, varchar or ascii."""
    return FixedType(T.TEXT, T.TEXT, T.ASCII, names=("text", "varchar", "ascii"))


class OptionalParameter(Parameter):
    optional = True

    def __init__(self, wrapped: Parameter) -> None:
        self.wrapped = wrapped

    def infer(self, arg: _Argument, receiver: T.CqlType | None, inferred: Any) -> T.CqlType | None:
        return self.wrapped.infer(arg, receiver, inferred)

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        self.wrapped.validate(fname, arg, t)

    def __str__(self) -> str:
        return f"[{self.wrapped}]"


class SameAs(Parameter):
    """FunctionParameter.sameAs: take the type of another argument (first, or as a fallback)."""

    def __init__(self, index: int, prefer_other: bool, wrapped: Parameter) -> None:
        self.index, self.prefer_other, self.wrapped = index, prefer_other, wrapped

    def infer(self, arg: _Argument, receiver: T.CqlType | None,
              inferred: list[T.CqlType | None] | None) -> T.CqlType | None:
        other = inferred[self.index] if inferred is not None else None
        if self.prefer_other:
            return other if other is not None else self.wrapped.infer(arg, receiver, inferred)
        own = self.wrapped.infer(arg, receiver, inferred)
        return other if own is None and inferred is not None else own

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        self.wrapped.validate(fname, arg, t)

    def __str__(self) -> str:
        return str(self.wrapped)


class KindParameter(Parameter):
    """anyCollection / setOrList / numericSetOrList / anyMap: a check on the argument's kind."""

    def __init__(self, label: str, accepts: Callable[[T.CqlType], bool], requirement: str) -> None:
        self.label, self.accepts, self.requirement = label, accepts, requirement

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        if not self.accepts(t):
            raise InvalidRequest(f"Function {fname} requires {self.requirement} argument, but found "
                                 f"argument {arg} of type {T.cql_name(t)}")

    def __str__(self) -> str:
        return self.label


class FloatVector(Parameter):
    """FunctionParameter.vector(float): an array literal counts as vector<float, n>."""

    def infer(self, arg: _Argument, receiver: T.CqlType | None, inferred: Any) -> T.CqlType | None:
        if arg.elements is not None:
            return T.VectorType(T.FLOAT, len(arg.elements)) if arg.elements else None
        return arg.compatible_type if arg.compatible_type is not None else receiver

    def validate(self, fname: str, arg: _Argument, t: T.CqlType) -> None:
        # Cassandra also lets some list types through here, only to fail on a class cast later;
        # they are refused up front instead.
        if isinstance(t, T.VectorType) and t.element is T.FLOAT:
            return
        raise InvalidRequest(f"Function {fname} requires a float vector argument, but found argument "
                             f"{arg} of type {T.cql_name(t)}")

    def __str__(self) -> str:
        return "vector<float, n>"


class Factory:
    """FunctionFactory: builds the overload of ``name`` for the inferred argument types."""

    def __init__(self, name: str, parameters: Sequence[Parameter],
                 build: Callable[[str, list[T.CqlType], T.CqlType | None], Overload]) -> None:
        self.name = name
        self.parameters = tuple(parameters)
        self.build = build
        self.mandatory = sum(1 for p in self.parameters if not p.optional)

    def __str__(self) -> str:
        return f"{SYSTEM_KEYSPACE}.{self.name}({', '.join(map(str, self.parameters))})"

    def invalid_arguments(self) -> InvalidRequest:
        return InvalidRequest(f"Invalid number of arguments for function {self}")

    def create(self, args: list[_Argument], receiver: T.CqlType | None) -> Overload:
        if not self.mandatory <= len(args) <= len(self.parameters):
            raise self.invalid_arguments()
        params = self.parameters
        types: list[T.CqlType | None] = [p.infer(a, receiver, None) for p, a in zip(params, args)]
        fname = f"{SYSTEM_KEYSPACE}.{self.name}"
        for i, (param, arg) in enumerate(zip(params, args)):
            t = param.infer(arg, receiver, types)
            if t is None:
                raise InvalidRequest(f"Cannot infer type of argument {arg} in call to function {self}: "
                                     f"use type casts to disambiguate")
            param.validate(fname, arg, t)
            types[i] = t
        return self.build(self.name, types, receiver)


# --------------------------------------------------------------------------------------- resolver

class Registry:
    """NativeFunctions: fixed overloads and factories by name."""

    def __init__(self) -> None:
        self.overloads: dict[str, list[Overload]] = {}
        self.factories: dict[str, list[Factory]] = {}

    def add(self, overload: Overload, legacy_name: str | None = None) -> None:
        self.overloads.setdefault(overload.name, []).append(overload)
        if legacy_name is not None:
            self.overloads.setdefault(legacy_name, []).append(overload.renamed(legacy_name))

    def add_factory(self, factory: Factory) -> None:
        self.factories.setdefault(factory.name, []).append(factory)

    def names(self) -> set[str]:
        return set(self.overloads) | set(self.factories)

    def candidates(self, name: str, args: list[_Argument], receiver: T.CqlType | None) -> list[Overload]:
        found: list[Overload] = list(self.overloads.get(name, ()))
        for factory in self.factories.get(name, ()):
            found.append(factory.create(args, receiver))
        return found


def _unknown(display: str, receiver: T.CqlType | None) -> InvalidRequest:
    if receiver is None:
        return InvalidRequest(f"Unknown function '{display}'")
    return InvalidRequest(f"Unknown function {display} called")


def validate_types(fn: Overload, args: list[_Argument]) -> None:
    """FunctionResolver.validateTypes: the precise errors of a single-candidate call."""
    if len(args) != len(fn.arg_types):
        raise InvalidRequest(f"Invalid number of arguments in call to function {fn.qualified_name}: "
                             f"{len(fn.arg_types)} required but {len(args)} provided")
    for i, (arg, t) in enumerate(zip(args, fn.arg_types)):
        if arg.test(t) is NOT:
            raise InvalidRequest(f"Type error: {arg} cannot be passed as argument {i} of function "
                                 f"{fn.qualified_name} of type {T.cql_name(t)}")


def match_arguments(fn: Overload, args: list[_Argument]) -> Match:
    if len(args) != len(fn.arg_types):
        return NOT
    result = EXACT
    for arg, t in zip(args, fn.arg_types):
        r = arg.test(t)
        if r is NOT:
            return NOT
        if r is WEAK:
            result = WEAK
    return result


def _pick_best(display: str, args: list[_Argument], receiver: T.CqlType | None,
               candidates: list[Overload]) -> Overload:
    compatibles = []
    for fn in candidates:
        if receiver is not None and type_assignment(fn.return_type, receiver) is NOT:
            continue
        r = match_arguments(fn, args)
        if r is EXACT:
            return fn
        if r is WEAK:
            compatibles.append(fn)
    if not compatibles:
        raise InvalidRequest(f"Invalid call to function {display}, none of its type signatures match "
                             f"(known type signatures: {_format(candidates)})")
    if len(compatibles) > 1:
        raise InvalidRequest(f"Ambiguous call to function {display} (can be matched by following "
                             f"signatures: {_format(compatibles)}): use type casts to disambiguate")
    return compatibles[0]


def _format(functions: Iterable[Overload]) -> str:
    return ", ".join(fn.signature() for fn in functions)


def resolve_in(registry: Registry, name: str, args: Sequence[Arg], receiver: T.CqlType | None = None, *,
               keyspace: str | None = None,
               token_builder: Callable[[], Function] | None = None) -> Overload:
    """FunctionResolver.get over ``registry`` (see the module docstring)."""
    display = name if keyspace is None else f"{keyspace}.{name}"
    if keyspace is not None and keyspace != SYSTEM_KEYSPACE:
        raise _unknown(display, receiver)
    arguments = [as_argument(a) for a in args]
    if (name == "count" and receiver is None and len(arguments) == 1 and arguments[0].is_literal):
        name, arguments = "count_rows", []  # COUNT(1) and friends count rows (Selectable.WithFunction)
    if name == "token":
        if token_builder is None:
            raise InvalidRequest(f"No receiver table has been specified for function {SYSTEM_KEYSPACE}.token")
        candidates: list[Overload] = [token_builder()]
    else:
        candidates = registry.candidates(name, arguments, receiver)
    if not candidates:
        raise _unknown(display, receiver)
    if len(candidates) == 1:
        validate_types(candidates[0], arguments)
        return candidates[0]
    return _pick_best(display, arguments, receiver, candidates)


def check_result_assignable(fn: Overload, receiver: T.CqlType, receiver_name: str) -> None:
    """FunctionCall.Raw.prepare's check that the result fits the receiver (WHERE, INSERT values)."""
    if type_assignment(fn.return_type, receiver) is NOT:
        raise InvalidRequest(f"Type error: cannot assign result of function {fn.qualified_name} (type "
                             f"{T.cql_name(fn.return_type)}) to {receiver_name} (type {T.cql_name(receiver)})")


def argument_receiver_name(fn: Overload, index: int) -> str:
    """The name literals are checked against when prepared for argument ``index``: arg0(system.abs)."""
    return f"arg{index}({fn.qualified_name.lower()})"
