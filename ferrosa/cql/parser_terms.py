"""Expression rules: terms, bind markers, selectors, WHERE relations and IF conditions.

This module must NOT parse whole statements or evaluate anything: a literal stays a Constant with its
text, an arithmetic expression stays a BinaryOp tree.

Disambiguation notes (mirroring the choices Cassandra's ANTLR grammar makes):
* ``(`` in a term starts a type cast when a type, ``)`` and the start of another simple term follow
  (``(int)?``, ``(text)'a'``), otherwise a tuple literal.
* ``{`` followed by an identifier and ``:`` is a user type literal, ``{}`` the ambiguous empty
  collection, otherwise a map (``k: v``) or a set.
* In a WHERE clause ``(`` starts a column tuple when an identifier and ``,`` or ``)`` follow
  (``(a, b) > (1, 2)``), otherwise a parenthesised relation.
"""

from __future__ import annotations

from ferrosa.cql import ast
from ferrosa.cql.parser_base import (
    CIDENT_TYPES,
    CONSTANT_TYPES,
    FUNCTION_NAME_TYPES,
    IDENT_TYPES,
    NO_VIABLE,
    TYPE_START_TYPES,
    ParseFailure,
    ParserBase,
)

__all__ = ["TermParser", "RELATION_OPERATORS"]

RELATION_OPERATORS = {
    "=": ast.Operator.EQ,
    "<": ast.Operator.LT,
    "<=": ast.Operator.LTE,
    ">": ast.Operator.GT,
    ">=": ast.Operator.GTE,
    "!=": ast.Operator.NEQ,
}

_ADDITIVE = frozenset(("+", "-"))
_MULTIPLICATIVE = frozenset(("*", "/", "%"))
_CALL_FOLLOW = frozenset(("(", "."))

# Tokens that can start a simpleTerm (used to confirm a ``(type)`` cast).
_SIMPLE_TERM_START = (
    frozenset(CONSTANT_TYPES)
    | FUNCTION_NAME_TYPES
    | {"K_NULL", "QMARK", ":", "[", "{", "(", "K_CAST"}
)
# Tokens that can start a selectionGroupWithoutField (used to confirm a ``(type)`` hint).
_SELECTION_GROUP_START = _SIMPLE_TERM_START | IDENT_TYPES | {"K_WRITETIME", "K_MAXWRITETIME", "K_TTL"}

_WRITETIME_KINDS = {
    "K_WRITETIME": ast.WritetimeOrTTLKind.WRITE_TIME,
    "K_MAXWRITETIME": ast.WritetimeOrTTLKind.MAX_WRITE_TIME,
    "K_TTL": ast.WritetimeOrTTLKind.TTL,
}


class TermParser(ParserBase):
    __slots__ = ()

    # -- bind markers ----------------------------------------------------------------------------

    def marker(self) -> ast.BindMarker:
        """``?`` or ``:name``; records the marker in order of appearance."""
        if self.accept("QMARK"):
            name = None
        else:
            self.expect(":")
            name = self.ident()
        marker = ast.BindMarker(len(self.markers), name)
        self.markers.append(marker)
        return marker

    def int_value(self) -> ast.Term:
        """intValue: an INTEGER literal or a bind marker (LIMIT, TTL, TIMESTAMP)."""
        i = self.i
        ttype = self.types[i]
        if ttype == "INTEGER":
            self.i = i + 1
            return ast.Constant(ast.ConstantType.INTEGER, self.values[i])
        if ttype == "QMARK" or ttype == ":":
            return self.marker()
        raise ParseFailure(i, NO_VIABLE)

    # -- terms ---------------------------------------------------------------------------------

    def term(self) -> ast.Term:
        """termAddition: ``t (('+'|'-') t)*`` over termMultiplication."""
        self.enter()
        depth = self.depth
        left = self._term_multiplication()
        types = self.types
        while types[self.i] in _ADDITIVE:
            op = types[self.i]
            i = self.i
            if op == "+" and types[i + 1] in CIDENT_TYPES and types[i + 2] not in _CALL_FOLLOW:
                break  # "c = <value> + c" (list prepend): ANTLR's lookahead leaves "+ c" to the caller
            self.i = i + 1
            right = self._term_multiplication()
            left = ast.BinaryOp(op, left, right)
            self.enter()  # each operator deepens the tree
        self.depth = depth - 1
        return left

    def _term_multiplication(self) -> ast.Term:
        left = self._term_group()
        types = self.types
        while types[self.i] in _MULTIPLICATIVE:
            op = types[self.i]
            self.i += 1
            left = ast.BinaryOp(op, left, self._term_group())
            self.enter()
        return left

    def _term_group(self) -> ast.Term:
        if self.types[self.i] == "-":
            self.i += 1
            return ast.Negation(self.simple_term())
        return self.simple_term()

    def simple_term(self) -> ast.Term:
        i = self.i
        ttype = self.types[i]
        spec = CONSTANT_TYPES.get(ttype)
        if spec is not None:
            self.i = i + 1
            return ast.Constant(spec[0], spec[1] or self.values[i])
        handler = _TERM_DISPATCH.get(ttype)
        if handler is not None:
            return handler(self)
        if ttype in FUNCTION_NAME_TYPES:
            return self.function_call()
        raise ParseFailure(i, NO_VIABLE)

    def _null(self) -> ast.Term:
        self.i += 1
        return ast.NULL

    def _cast_term(self) -> ast.Term:
        if self.types[self.i + 1] != "(":
            raise ParseFailure(self.i, NO_VIABLE)
        self.i += 2
        self.enter()
        inner = self.simple_term()
        self.depth -= 1
        self.expect("K_AS")
        target = self.native_type()
        self.expect(")")
        return ast.Cast(inner, target)

    def function_call(self) -> ast.FunctionCall:
        name = self.function_name()
        self.expect("(")
        args: list[ast.Term] = []
        if not self.accept(")"):
            args.append(self.term())
            while self.accept(","):
                args.append(self.term())
            self.expect(")")
        return ast.FunctionCall(name, tuple(args))

    def _list_literal(self) -> ast.Term:
        self.i += 1
        elements: list[ast.Term] = []
        if not self.accept("]"):
            elements.append(self.term())
            while self.accept(","):
                elements.append(self.term())
            self.expect("]")
        return ast.ListLiteral(tuple(elements))

    def _brace_literal(self) -> ast.Term:
        self.i += 1
        types = self.types
        if self.accept("}"):
            return ast.EMPTY_BRACES
        if types[self.i] in IDENT_TYPES and types[self.i + 1] == ":":
            return self._user_type_literal()
        first = self.term()
        if self.accept(":"):
            entries = [(first, self.term())]
            while self.accept(","):
                key = self.term()
                self.expect(":")
                entries.append((key, self.term()))
            self.expect("}")
            return ast.MapLiteral(tuple(entries))
        elements = [first]
        while self.accept(","):
            elements.append(self.term())
        self.expect("}")
        return ast.SetLiteral(tuple(elements))

    def _user_type_literal(self) -> ast.Term:
        fields: list[tuple[str, ast.Term]] = []
        while True:
            name = self.ident()
            self.expect(":")
            fields.append((name, self.term()))
            if not self.accept(","):
                break
        self.expect("}")
        return ast.UserTypeLiteral(tuple(fields))

    def _speculative_type_in_parens(self, follow: frozenset[str]) -> ast.CqlType | None:
        """At ``(``: parse ``(type)`` when a token in ``follow`` comes next, else rewind; None."""
        start = self.i
        if self.types[start + 1] not in TYPE_START_TYPES:
            return None
        depth = self.depth
        self.i = start + 1
        try:
            cast_type = self.cql_type()
        except ParseFailure:
            cast_type = None
        if cast_type is not None and self.types[self.i] == ")" and self.types[self.i + 1] in follow:
            self.i += 1
            return cast_type
        self.i = start
        self.depth = depth
        return None

    def _paren_term(self) -> ast.Term:
        cast_type = self._speculative_type_in_parens(_SIMPLE_TERM_START)
        if cast_type is not None:
            self.enter()
            inner = self.simple_term()
            self.depth -= 1
            return ast.TypeCast(cast_type, inner)
        return self.tuple_literal()

    def tuple_literal(self) -> ast.TupleLiteral:
        self.expect("(")
        elements = [self.term()]
        while self.accept(","):
            elements.append(self.term())
        self.expect(")")
        return ast.TupleLiteral(tuple(elements))

    def _marker_term(self) -> ast.Term:
        return self.marker()

    # -- selectors -----------------------------------------------------------------------------

    def selector(self) -> ast.Selector:
        expr = self.unaliased_selector()
        if self.accept("K_AS"):
            return ast.Selector(expr, self.ident())
        return ast.Selector(expr)

    def unaliased_selector(self) -> ast.Term:
        """selectionAddition."""
        self.enter()
        depth = self.depth
        left = self._selection_multiplication()
        types = self.types
        while types[self.i] in _ADDITIVE:
            op = types[self.i]
            self.i += 1
            left = ast.BinaryOp(op, left, self._selection_multiplication())
            self.enter()
        self.depth = depth - 1
        return left

    def _selection_multiplication(self) -> ast.Term:
        left = self._selection_group()
        types = self.types
        while types[self.i] in _MULTIPLICATIVE:
            op = types[self.i]
            self.i += 1
            left = ast.BinaryOp(op, left, self._selection_group())
            self.enter()
        return left

    def _selection_group(self) -> ast.Term:
        if self.types[self.i] == "-":
            self.i += 1
            self.enter()
            inner = self._selection_group()
            self.depth -= 1
            return ast.Negation(inner)
        return self.selector_modifiers(self._selection_group_without_field())

    def selector_modifiers(self, receiver: ast.Term) -> ast.Term:
        """selectorModifier*: ``.field`` and ``[element]`` / ``[from..to]``."""
        types = self.types
        while True:
            ttype = types[self.i]
            if ttype == ".":
                self.i += 1
                receiver = ast.FieldSelection(receiver, self.ident())
            elif ttype == "[":
                self.i += 1
                receiver = self._collection_sub_selection(receiver)
                self.expect("]")
            else:
                return receiver
            self.enter()

    def _collection_sub_selection(self, receiver: ast.Term) -> ast.Term:
        if self.accept("RANGE"):
            return ast.SliceSelection(receiver, None, self.term())
        first = self.term()
        if not self.accept("RANGE"):
            return ast.ElementSelection(receiver, first)
        end = None if self.types[self.i] == "]" else self.term()
        return ast.SliceSelection(receiver, first, end)

    def _selection_group_without_field(self) -> ast.Term:
        i = self.i
        types = self.types
        ttype = types[i]
        spec = CONSTANT_TYPES.get(ttype)
        if spec is not None:
            self.i = i + 1
            return ast.Constant(spec[0], spec[1] or self.values[i])
        handler = _SELECTION_DISPATCH.get(ttype)
        if handler is not None:
            return handler(self)
        if ttype in _WRITETIME_KINDS and types[i + 1] == "(":
            return self._writetime_selector(_WRITETIME_KINDS[ttype])
        if (ttype in FUNCTION_NAME_TYPES and types[i + 1] == "(") or (
            ttype in IDENT_TYPES and types[i + 1] == "." and types[i + 3] == "("
        ):
            return self._selection_function()
        if ttype in CIDENT_TYPES and ttype != "EMPTY_QUOTED_NAME":
            self.i = i + 1
            return ast.ColumnRef(self.values[i])
        raise ParseFailure(i, NO_VIABLE)

    def _selection_function(self) -> ast.Term:
        name = self.function_name()
        self.expect("(")
        args: list[ast.Term] = []
        if not self.accept(")"):
            args.append(self.unaliased_selector())
            while self.accept(","):
                args.append(self.unaliased_selector())
            self.expect(")")
        return ast.FunctionCall(name, tuple(args))

    def _count_selector(self) -> ast.Term:
        types = self.types
        i = self.i
        if types[i + 1] == "(" and types[i + 2] == "*" and types[i + 3] == ")":
            self.i = i + 4
            return ast.COUNT_ROWS
        if types[i + 1] == "(":
            return self._selection_function()
        self.i = i + 1
        return ast.ColumnRef(self.values[i])

    def _writetime_selector(self, kind: ast.WritetimeOrTTLKind) -> ast.Term:
        self.i += 2
        column = self.ident()
        selected = self.selector_modifiers(ast.ColumnRef(column))
        self.expect(")")
        return ast.WritetimeOrTTL(column, selected, kind)

    def _cast_selector(self) -> ast.Term:
        if self.types[self.i + 1] != "(":
            self.i += 1
            return ast.ColumnRef(self.values[self.i - 1])
        self.i += 2
        inner = self.unaliased_selector()
        self.expect("K_AS")
        target = self.native_type()
        self.expect(")")
        return ast.Cast(inner, target)

    def _selection_paren(self) -> ast.Term:
        hint = self._speculative_type_in_parens(_SELECTION_GROUP_START)
        if hint is not None:
            self.enter()
            inner = self._selection_group_without_field()
            self.depth -= 1
            return ast.TypeCast(hint, inner)
        self.i += 1
        elements = [self.unaliased_selector()]
        while self.accept(","):
            elements.append(self.unaliased_selector())
        self.expect(")")
        return elements[0] if len(elements) == 1 else ast.TupleLiteral(tuple(elements))

    def _selection_list(self) -> ast.Term:
        self.i += 1
        elements: list[ast.Term] = []
        if not self.accept("]"):
            elements.append(self.unaliased_selector())
            while self.accept(","):
                elements.append(self.unaliased_selector())
            self.expect("]")
        return ast.ListLiteral(tuple(elements))

    def _selection_map_or_set(self) -> ast.Term:
        self.i += 1
        if self.accept("}"):
            return ast.EMPTY_BRACES
        first = self.unaliased_selector()
        if self.accept(":"):
            entries = [(first, self.unaliased_selector())]
            while self.accept(","):
                key = self.unaliased_selector()
                self.expect(":")
                entries.append((key, self.unaliased_selector()))
            self.expect("}")
            return ast.MapLiteral(tuple(entries))
        elements = [first]
        while self.accept(","):
            elements.append(self.unaliased_selector())
        self.expect("}")
        return ast.SetLiteral(tuple(elements))

    # -- WHERE clause --------------------------------------------------------------------------

    def where_clause(self) -> tuple[ast.Relation, ...]:
        relations = [self.relation()]
        while self.accept("K_AND"):
            relations.append(self.relation())
        return tuple(relations)

    def relation(self) -> ast.Relation:
        types = self.types
        ttype = types[self.i]
        if ttype in CIDENT_TYPES:
            return self._column_relation()
        if ttype == "K_TOKEN":
            return self._token_relation()
        if ttype == "(":
            if types[self.i + 1] in CIDENT_TYPES and types[self.i + 2] in (",", ")"):
                return self._multi_column_relation()
            self.i += 1
            self.enter()
            inner = self.relation()
            self.depth -= 1
            self.expect(")")
            return inner
        if ttype == "EXPR":
            self.i += 1
            index = ast.QualifiedName(None, self._object_name("index"))
            self.expect(",")
            value = self.term()
            self.expect(")")
            return ast.CustomIndexExpression(index, value)
        raise ParseFailure(self.i, NO_VIABLE)

    def _column_relation(self) -> ast.Relation:
        column = self.cident()
        types = self.types
        ttype = types[self.i]
        op = RELATION_OPERATORS.get(ttype)
        if op is not None:
            self.i += 1
            return ast.SingleColumnRelation(column, op, self.term())
        if ttype == "[":
            self.i += 1
            key = self.term()
            self.expect("]")
            op = self.relation_type()
            return ast.MapElementRelation(column, key, op, self.term())
        if ttype == "K_IN":
            self.i += 1
            return ast.SingleColumnRelation(column, ast.Operator.IN, self.in_values())
        if ttype == "K_CONTAINS":
            self.i += 1
            op = ast.Operator.CONTAINS_KEY if self.accept("K_KEY") else ast.Operator.CONTAINS
            return ast.SingleColumnRelation(column, op, self.term())
        if ttype == "K_NOT":
            return self._negated_relation(column)
        if ttype == "K_LIKE":
            self.i += 1
            return ast.SingleColumnRelation(column, ast.Operator.LIKE, self.term())
        if ttype == "K_IS":
            self.i += 1
            self.expect("K_NOT")
            self.expect("K_NULL")
            return ast.SingleColumnRelation(column, ast.Operator.IS_NOT, ast.NULL)
        if ttype == "K_BETWEEN":
            self.i += 1
            return ast.SingleColumnRelation(column, ast.Operator.BETWEEN, self._between_values())
        raise ParseFailure(self.i, NO_VIABLE)

    def _negated_relation(self, column: str) -> ast.Relation:
        self.i += 1
        if self.accept("K_IN"):
            return ast.SingleColumnRelation(column, ast.Operator.NOT_IN, self.in_values())
        self.expect("K_CONTAINS")
        op = ast.Operator.NOT_CONTAINS_KEY if self.accept("K_KEY") else ast.Operator.NOT_CONTAINS
        return ast.SingleColumnRelation(column, op, self.term())

    def _between_values(self) -> ast.TermList:
        low = self.term()
        self.expect("K_AND")
        return ast.TermList((low, self.term()))

    def relation_type(self) -> ast.Operator:
        op = RELATION_OPERATORS.get(self.types[self.i])
        if op is None:
            raise ParseFailure(self.i, NO_VIABLE)
        self.i += 1
        return op

    def in_values(self) -> ast.Term:
        """singleColumnInValues: ``(t, ...)`` or a marker (``IN ?``)."""
        if self.types[self.i] != "(":
            if self.types[self.i] in ("QMARK", ":"):
                return self.marker()
            raise ParseFailure(self.i, NO_VIABLE)
        self.i += 1
        items: list[ast.Term] = []
        if not self.accept(")"):
            items.append(self.term())
            while self.accept(","):
                items.append(self.term())
            self.expect(")")
        return ast.TermList(tuple(items))

    def tuple_of_identifiers(self) -> tuple[str, ...]:
        self.expect("(")
        names = [self.cident()]
        while self.accept(","):
            names.append(self.cident())
        self.expect(")")
        return tuple(names)

    def _token_relation(self) -> ast.Relation:
        self.i += 1
        columns = self.tuple_of_identifiers()
        if self.accept("K_BETWEEN"):
            return ast.TokenRelation(columns, ast.Operator.BETWEEN, self._between_values())
        op = self.relation_type()
        return ast.TokenRelation(columns, op, self.term())

    def _multi_column_value(self) -> ast.Term:
        if self.types[self.i] == "(":
            return self.tuple_literal()
        if self.types[self.i] in ("QMARK", ":"):
            return self.marker()
        raise ParseFailure(self.i, NO_VIABLE)

    def _multi_column_relation(self) -> ast.Relation:
        columns = self.tuple_of_identifiers()
        ttype = self.types[self.i]
        if ttype == "K_IN" or (ttype == "K_NOT" and self.types[self.i + 1] == "K_IN"):
            op = ast.Operator.IN if ttype == "K_IN" else ast.Operator.NOT_IN
            self.i += 1 if ttype == "K_IN" else 2
            return ast.MultiColumnRelation(columns, op, self._multi_column_in_values())
        if self.accept("K_BETWEEN"):
            low = self._multi_column_value()
            self.expect("K_AND")
            high = self._multi_column_value()
            return ast.MultiColumnRelation(columns, ast.Operator.BETWEEN, ast.TermList((low, high)))
        op = self.relation_type()
        return ast.MultiColumnRelation(columns, op, self._multi_column_value())

    def _multi_column_in_values(self) -> ast.Term:
        types = self.types
        if types[self.i] in ("QMARK", ":"):
            return self.marker()
        self.expect("(")
        if self.accept(")"):
            return ast.TermList(())
        item_parser = TermParser.tuple_literal if types[self.i] == "(" else TermParser.marker
        items = [item_parser(self)]
        while self.accept(","):
            items.append(item_parser(self))
        self.expect(")")
        return ast.TermList(tuple(items))

    # -- IF conditions -------------------------------------------------------------------------

    def column_condition(self) -> ast.ColumnCondition:
        column = self.cident()
        element: ast.Term | None = None
        field: str | None = None
        ttype = self.types[self.i]
        if ttype == "[":
            self.i += 1
            element = self.term()
            self.expect("]")
        elif ttype == ".":
            self.i += 1
            field = self.ident()
        elif ttype == "K_CONTAINS":
            self.i += 1
            op = ast.Operator.CONTAINS_KEY if self.accept("K_KEY") else ast.Operator.CONTAINS
            return ast.ColumnCondition(column, op, self.term())
        if self.accept("K_IN"):
            return ast.ColumnCondition(column, ast.Operator.IN, self.in_values(), element, field)
        op = self.relation_type()
        return ast.ColumnCondition(column, op, self.term(), element, field)

    def update_conditions(self) -> tuple[ast.ColumnCondition, ...]:
        conditions = [self.column_condition()]
        while self.accept("K_AND"):
            conditions.append(self.column_condition())
        return tuple(conditions)


_TERM_DISPATCH = {
    "K_NULL": TermParser._null,
    "QMARK": TermParser._marker_term,
    ":": TermParser._marker_term,
    "[": TermParser._list_literal,
    "{": TermParser._brace_literal,
    "(": TermParser._paren_term,
    "K_CAST": TermParser._cast_term,
}

_SELECTION_DISPATCH = {
    "K_NULL": TermParser._null,
    "QMARK": TermParser._marker_term,
    ":": TermParser._marker_term,
    "[": TermParser._selection_list,
    "{": TermParser._selection_map_or_set,
    "(": TermParser._selection_paren,
    "K_CAST": TermParser._cast_selector,
    "K_COUNT": TermParser._count_selector,
}
