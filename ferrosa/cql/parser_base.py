"""Parser foundation: the token cursor, error reporting, names, types and properties.

This module must NOT parse statements (see parser_dml / parser_ddl / parser_dcl) and must not
consult any schema: it knows only the grammar (Cassandra's Parser.g, read for facts; this is our
own recursive-descent code).

Theory of operation
-------------------
The lexer gives parallel lists (types, values) padded with EOF tokens, so lookahead
``types[i + k]`` for small k never needs a bounds check. Parse methods advance ``self.i``.
Failures raise the light internal ``ParseFailure`` (token index + what went wrong); only the entry
point turns it into a ``CqlSyntaxError`` with Cassandra's message and snippet, so speculative
parses (``(type) term`` casts vs tuples) can fail and rewind cheaply. Recursion is bounded by
``MAX_NESTING_DEPTH`` so hostile input gets a syntax error, never a RecursionError.
"""

from __future__ import annotations

from typing import NoReturn

import msgspec

from ferrosa.cql import ast
from ferrosa.cql.lexer import Tokens

__all__ = [
    "MAX_NESTING_DEPTH",
    "ParseFailure",
    "ParserBase",
    "UNRESERVED_KEYWORDS",
    "BASIC_UNRESERVED_KEYWORDS",
    "NATIVE_TYPE_KEYWORDS",
    "IDENT_TYPES",
    "CIDENT_TYPES",
    "FUNCTION_NAME_TYPES",
    "CONSTANT_TYPES",
]

# Nesting limit for terms, selectors, types and parenthesised relations (each level costs a few
# Python frames). Real statements nest a handful of levels; 64 keeps the worst case far from
# Python's recursion limit even when parse_statement is itself called deep in a stack.
MAX_NESTING_DEPTH = 64

# Cassandra's basic_unreserved_keyword (Parser.g): keywords that remain usable as identifiers.
BASIC_UNRESERVED_KEYWORDS = frozenset(
    "K_" + w.upper()
    for w in """keys as cluster clustering compact storage tables type types values map list filtering
    permission permissions keyspaces all user users role roles identity superuser superusers nosuperuser
    login nologin options password generated hashed exists custom trigger contains internals only static
    frozen tuple function functions aggregate aggregates sfunc stype finalfunc initcond returns language
    called input like per partition group datacenters cidrs access default mbean mbeans replace unset
    masked unmask select_masked vector ann between check indexes""".split()
)

# Cassandra's native_type alternatives.
NATIVE_TYPE_KEYWORDS = frozenset(
    "K_" + w.upper()
    for w in """ascii bigint blob boolean counter decimal double duration float inet int smallint text
    timestamp tinyint uuid varchar varint timeuuid date time""".split()
)

# unreserved_function_keyword: usable as a function name.
UNRESERVED_FUNCTION_KEYWORDS = BASIC_UNRESERVED_KEYWORDS | NATIVE_TYPE_KEYWORDS

# unreserved_keyword: usable as a column / keyspace / table name.
UNRESERVED_KEYWORDS = UNRESERVED_FUNCTION_KEYWORDS | frozenset(
    ("K_TTL", "K_COUNT", "K_WRITETIME", "K_MAXWRITETIME", "K_KEY", "K_CAST", "K_JSON", "K_DISTINCT")
)

IDENT_TYPES = UNRESERVED_KEYWORDS | {"IDENT", "QUOTED_NAME"}
CIDENT_TYPES = IDENT_TYPES | {"EMPTY_QUOTED_NAME"}
FUNCTION_NAME_TYPES = UNRESERVED_FUNCTION_KEYWORDS | {"IDENT", "QUOTED_NAME", "K_TOKEN", "K_COUNT"}
# non_type_ident: a user type's own name (no native type names).
NON_TYPE_IDENT_TYPES = BASIC_UNRESERVED_KEYWORDS | {"IDENT", "QUOTED_NAME", "K_KEY"}
TYPE_START_TYPES = IDENT_TYPES | {"K_SET", "STRING_LITERAL"}

# Type names Cassandra refuses for user types although they are not keywords.
RESERVED_TYPE_NAMES = frozenset(("byte", "complex", "enum", "date", "interval", "macaddr", "bitstring"))

_NAN = ("FLOAT", "NaN")
# token type -> (ConstantType, fixed text or None to use the token value)
CONSTANT_TYPES: dict[str, tuple[ast.ConstantType, str | None]] = {
    "STRING_LITERAL": (ast.ConstantType.STRING, None),
    "INTEGER": (ast.ConstantType.INTEGER, None),
    "FLOAT": (ast.ConstantType.FLOAT, None),
    "BOOLEAN": (ast.ConstantType.BOOLEAN, None),
    "DURATION": (ast.ConstantType.DURATION, None),
    "UUID": (ast.ConstantType.UUID, None),
    "HEXNUMBER": (ast.ConstantType.HEX, None),
    "K_POSITIVE_NAN": (ast.ConstantType.FLOAT, "NaN"),
    "K_NEGATIVE_NAN": (ast.ConstantType.FLOAT, "NaN"),
    "K_POSITIVE_INFINITY": (ast.ConstantType.FLOAT, "Infinity"),
    "K_NEGATIVE_INFINITY": (ast.ConstantType.FLOAT, "-Infinity"),
}

MISMATCHED = 1  # detail: the expected token type
NO_VIABLE = 2  # detail: None
MESSAGE = 3  # detail: a plain SyntaxException message (grammar action errors)
INVALID = 4  # detail: an InvalidRequestException message


class ParseFailure(Exception):
    """Internal, cheap failure signal; converted to CqlSyntaxError by the entry point."""

    __slots__ = ("index", "kind", "detail")

    def __init__(self, index: int, kind: int, detail: str | None = None) -> None:
        self.index = index
        self.kind = kind
        self.detail = detail


class ParserBase:
    """Token cursor plus the grammar's leaf rules (names, types, constants, properties)."""

    __slots__ = ("tokens", "text", "types", "values", "i", "markers", "depth")

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self.text = tokens.text
        self.types = tokens.types
        self.values = tokens.values
        self.i = 0
        self.markers: list[ast.BindMarker] = []
        self.depth = 0

    # -- cursor -------------------------------------------------------------------------------

    def fail_mismatch(self, expected: str) -> NoReturn:
        raise ParseFailure(self.i, MISMATCHED, expected)

    def fail_no_viable(self, index: int | None = None) -> NoReturn:
        raise ParseFailure(self.i if index is None else index, NO_VIABLE)

    def fail_message(self, message: str) -> NoReturn:
        raise ParseFailure(self.i, MESSAGE, message)

    def fail_invalid(self, message: str) -> NoReturn:
        raise ParseFailure(self.i, INVALID, message)

    def expect(self, ttype: str) -> str:
        i = self.i
        if self.types[i] != ttype:
            raise ParseFailure(i, MISMATCHED, ttype)
        self.i = i + 1
        return self.values[i]

    def accept(self, ttype: str) -> bool:
        if self.types[self.i] == ttype:
            self.i += 1
            return True
        return False

    def accept_seq(self, *ttypes: str) -> bool:
        """Consume the whole sequence if it is next (used for IF [NOT] EXISTS and the like)."""
        i = self.i
        types = self.types
        for k, ttype in enumerate(ttypes):
            if types[i + k] != ttype:
                return False
        self.i = i + len(ttypes)
        return True

    def if_not_exists(self) -> bool:
        if self.types[self.i] == "K_IF":
            self.i += 1
            self.expect("K_NOT")
            self.expect("K_EXISTS")
            return True
        return False

    def if_exists(self) -> bool:
        if self.types[self.i] == "K_IF":
            self.i += 1
            self.expect("K_EXISTS")
            return True
        return False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            self.fail_message(f"Statement is nested too deeply (more than {MAX_NESTING_DEPTH} levels)")

    def source_text(self, first: int, last: int) -> str:
        """Raw statement text from token ``first`` to token ``last`` inclusive."""
        return self.text[self.tokens.starts[first] : self.tokens.ends[last]]

    # -- identifiers and names ----------------------------------------------------------------

    def ident(self) -> str:
        """ident / noncol_ident / fident / sident: IDENT, QUOTED_NAME or an unreserved keyword."""
        i = self.i
        if self.types[i] in IDENT_TYPES:
            self.i = i + 1
            return self.values[i]
        raise ParseFailure(i, NO_VIABLE)

    def cident(self) -> str:
        """Like ident, but also the empty quoted name ``""`` (legacy column references)."""
        i = self.i
        if self.types[i] in CIDENT_TYPES:
            self.i = i + 1
            return self.values[i]
        raise ParseFailure(i, NO_VIABLE)

    def _object_name(self, kind: str) -> str:
        if self.types[self.i] == "QMARK":
            self.fail_message(f"Bind variables cannot be used for {kind} names")
        return self.ident()

    def keyspace_name(self) -> str:
        return self._object_name("keyspace")

    def qualified_name(self, kind: str = "table") -> ast.QualifiedName:
        """``[ks.]name`` (columnFamilyName / indexName); ``kind`` words the bind-marker error."""
        first = self._object_name("keyspace" if self.types[self.i + 1] == "." else kind)
        if self.types[self.i] == ".":
            self.i += 1
            return ast.QualifiedName(first, self._object_name(kind))
        return ast.QualifiedName(None, first)

    def function_name(self) -> ast.QualifiedName:
        """functionName: ``[ks.]allowedFunctionName``."""
        types = self.types
        keyspace = None
        if types[self.i + 1] == "." and types[self.i] != "K_TOKEN":
            keyspace = self.keyspace_name()
            self.i += 1
        i = self.i
        if types[i] in FUNCTION_NAME_TYPES:
            self.i = i + 1
            return ast.QualifiedName(keyspace, self.values[i])
        raise ParseFailure(i, NO_VIABLE)

    def allowed_function_name(self) -> str:
        i = self.i
        if self.types[i] in FUNCTION_NAME_TYPES:
            self.i = i + 1
            return self.values[i]
        raise ParseFailure(i, NO_VIABLE)

    def user_type_name(self) -> ast.QualifiedName:
        """userTypeName: ``[ks.]non_type_ident``."""
        keyspace = None
        if self.types[self.i + 1] == ".":
            keyspace = self.ident()
            self.i += 1
        i = self.i
        ttype = self.types[i]
        if ttype not in NON_TYPE_IDENT_TYPES:
            raise ParseFailure(i, NO_VIABLE)
        name = self.values[i]
        if ttype == "IDENT" and name in RESERVED_TYPE_NAMES:
            self.fail_message(f"Invalid (reserved) user type name {self.source_text(i, i)}")
        self.i = i + 1
        return ast.QualifiedName(keyspace, name)

    # -- types --------------------------------------------------------------------------------

    def cql_type(self) -> ast.CqlType:
        """comparatorType."""
        types = self.types
        i = self.i
        ttype = types[i]
        follows_angle = types[i + 1] == "<"
        if ttype in NATIVE_TYPE_KEYWORDS and types[i + 1] != ".":
            self.i = i + 1
            return ast.NativeType(self.values[i])
        if follows_angle and ttype in _COMPOUND_TYPE_PARSERS:
            self.enter()
            self.i = i + 2
            result = _COMPOUND_TYPE_PARSERS[ttype](self)
            self.expect(">")
            self.depth -= 1
            return result
        if ttype == "STRING_LITERAL":
            self.i = i + 1
            return ast.CustomType(self.values[i])
        return ast.UserType(self.user_type_name())

    def native_type(self) -> ast.NativeType:
        i = self.i
        if self.types[i] in NATIVE_TYPE_KEYWORDS:
            self.i = i + 1
            return ast.NativeType(self.values[i])
        raise ParseFailure(i, NO_VIABLE)

    def _map_type(self) -> ast.CqlType:
        key = self.cql_type()
        self.expect(",")
        return ast.CollectionType("map", (key, self.cql_type()))

    def _list_type(self) -> ast.CqlType:
        return ast.CollectionType("list", (self.cql_type(),))

    def _set_type(self) -> ast.CqlType:
        return ast.CollectionType("set", (self.cql_type(),))

    def _tuple_type(self) -> ast.CqlType:
        elements = [self.cql_type()]
        while self.accept(","):
            elements.append(self.cql_type())
        return ast.TupleType(tuple(elements))

    def _vector_type(self) -> ast.CqlType:
        element = self.cql_type()
        self.expect(",")
        dimension = self.expect("INTEGER")
        if not -(2**31) <= int(dimension) < 2**31:
            self.fail_message(f"Invalid vector dimension {dimension}")
        return ast.VectorType(element, int(dimension))

    def _frozen_type(self) -> ast.CqlType:
        start = self.i
        inner = self.cql_type()
        if isinstance(inner, (ast.CollectionType, ast.TupleType, ast.UserType)):
            return msgspec.structs.replace(inner, frozen=True)
        if isinstance(inner, ast.VectorType):
            return inner
        got = self.source_text(start, self.i - 1)
        self.fail_message(
            f"frozen<> is only allowed on collections, tuples, and user-defined types (got {got})"
        )

    # -- constants and properties ---------------------------------------------------------------

    def constant(self) -> ast.Constant:
        i = self.i
        spec = CONSTANT_TYPES.get(self.types[i])
        if spec is None:
            raise ParseFailure(i, NO_VIABLE)
        self.i = i + 1
        return ast.Constant(spec[0], spec[1] or self.values[i])

    def property_map(self) -> dict[str, str]:
        """fullMapLiteral as a property map (convertPropertyMap): constant keys and values only."""
        self.expect("{")
        result: dict[str, str] = {}
        if self.accept("}"):
            return result
        while True:
            key_start = self.i
            key = self.term()  # type: ignore[attr-defined]  # provided by TermParser
            key_text = self.source_text(key_start, self.i - 1)
            self.expect(":")
            value_start = self.i
            value = self.term()  # type: ignore[attr-defined]
            if not isinstance(key, ast.Constant):
                self.fail_message(_invalid_property("name", key_text, key))
            if not isinstance(value, ast.Constant):
                value_text = self.source_text(value_start, self.i - 1)
                self.fail_message(_invalid_property("value", f"{value_text} for property: {key_text}", value))
            if key.text in result:
                self.fail_message(f"Multiple definition for property {key.text}")
            result[key.text] = value.text
            if not self.accept(","):
                break
        self.expect("}")
        return result

    def property_into(self, props: ast.Properties) -> None:
        """property: ``name = constant | unreserved_keyword | {map}``."""
        name = self.ident()
        self.expect("=")
        ttype = self.types[self.i]
        if ttype == "{":
            value: ast.PropertyValue = self.property_map()
        elif ttype in CONSTANT_TYPES:
            value = self.constant().text
        elif ttype in UNRESERVED_KEYWORDS:
            value = self.source_text(self.i, self.i)
            self.i += 1
        else:
            self.fail_no_viable()
        if name in props:
            self.fail_message(f"Multiple definition for property {name}")
        props[name] = value

    def properties(self) -> ast.Properties:
        props: ast.Properties = {}
        self.property_into(props)
        while self.accept("K_AND"):
            self.property_into(props)
        return props


def _invalid_property(what: str, text: str, node: ast.Term) -> str:
    message = f"Invalid property {what}: {text}"
    if isinstance(node, ast.BindMarker):
        message += " (bind variables are not supported in DDL queries)"
    return message


_COMPOUND_TYPE_PARSERS = {
    "K_MAP": ParserBase._map_type,
    "K_LIST": ParserBase._list_type,
    "K_SET": ParserBase._set_type,
    "K_TUPLE": ParserBase._tuple_type,
    "K_VECTOR": ParserBase._vector_type,
    "K_FROZEN": ParserBase._frozen_type,
}
