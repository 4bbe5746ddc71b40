"""DML statements: USE, SELECT, INSERT (VALUES and JSON), UPDATE, DELETE, BATCH, TRUNCATE.

This module must NOT check statements against a schema (unknown columns, key restrictions, ...):
it only applies the rules Cassandra's grammar actions apply while parsing.
"""

from __future__ import annotations

from ferrosa.cql import ast
from ferrosa.cql.parser_base import CIDENT_TYPES, NO_VIABLE, ParseFailure
from ferrosa.cql.parser_terms import RELATION_OPERATORS, TermParser

__all__ = ["DmlParser"]

_SET_VALUE_FOLLOW = frozenset(("+", "-", "INTEGER"))
# Tokens that make "IF exists ..." a condition on a column named "exists".
_CONDITION_FOLLOW = frozenset(RELATION_OPERATORS) | {"[", ".", "K_IN", "K_CONTAINS"}


class _ColumnUpdates:
    """What a column's earlier SET operations were, enough to apply Cassandra's
    Operation.RawUpdate.isCompatibleWith in constant time: a plain assignment conflicts with any
    other operation on the column, and a UDT field may be set only once."""

    __slots__ = ("assigned", "fields")

    def __init__(self) -> None:
        self.assigned = False
        self.fields: set[str] = set()

    def admit(self, operation: ast.Operation, had_any: bool) -> bool:
        """Record ``operation``; False if it is incompatible with an earlier one."""
        if self.assigned or (had_any and isinstance(operation, ast.SetValue)):
            return False
        if isinstance(operation, ast.SetValue):
            self.assigned = True
        elif isinstance(operation, ast.SetField):
            if operation.field in self.fields:
                return False
            self.fields.add(operation.field)
        return True


class DmlParser(TermParser):
    __slots__ = ()

    def bound(self) -> tuple[ast.BindMarker, ...]:
        """The statement's bind markers (inner statements of a BATCH get none of their own)."""
        return () if self.in_batch else tuple(self.markers)  # type: ignore[attr-defined]

    # -- USE / TRUNCATE ------------------------------------------------------------------------

    def use_statement(self) -> ast.Statement:
        self.i += 1
        return ast.UseStatement(self.keyspace_name(), bind_markers=self.bound())

    def truncate_statement(self) -> ast.Statement:
        self.i += 1
        self.accept("K_COLUMNFAMILY")
        return ast.TruncateStatement(self.qualified_name(), bind_markers=self.bound())

    # -- SELECT --------------------------------------------------------------------------------

    def _speculative_selectors(self) -> tuple[ast.Selector, ...] | None:
        """Try ``selectors`` (for the JSON / DISTINCT predicates); rewind and return None on failure."""
        start, depth, marker_count = self.i, self.depth, len(self.markers)
        try:
            return self.selectors()
        except ParseFailure:
            self.i, self.depth = start, depth
            del self.markers[marker_count:]
            return None

    def selectors(self) -> tuple[ast.Selector, ...]:
        if self.accept("*"):
            return ()
        items = [self.selector()]
        while self.accept(","):
            items.append(self.selector())
        return tuple(items)

    def _select_clause(self) -> tuple[bool, tuple[ast.Selector, ...]]:
        if self.types[self.i] == "K_DISTINCT":
            self.i += 1
            selected = self._speculative_selectors()
            if selected is not None:
                return True, selected
            self.i -= 1
        return False, self.selectors()

    def select_statement(self) -> ast.Statement:
        self.i += 1
        is_json = False
        if self.types[self.i] == "K_JSON":
            self.i += 1
            start, marker_count = self.i, len(self.markers)
            try:
                is_distinct, selected = self._select_clause()
                is_json = True
            except ParseFailure:
                self.i = start - 1
                del self.markers[marker_count:]
        if not is_json:
            is_distinct, selected = self._select_clause()
        self.expect("K_FROM")
        table = self.qualified_name()
        where = self.where_clause() if self.accept("K_WHERE") else ()
        group_by: tuple[ast.Term, ...] = ()
        if self.accept_seq("K_GROUP", "K_BY"):
            groups = [self.unaliased_selector()]
            while self.accept(","):
                groups.append(self.unaliased_selector())
            group_by = tuple(groups)
        order_by: tuple[ast.Ordering, ...] = ()
        if self.accept_seq("K_ORDER", "K_BY"):
            orderings = [self._ordering()]
            while self.accept(","):
                orderings.append(self._ordering())
            order_by = tuple(orderings)
        per_partition_limit = None
        if self.accept_seq("K_PER", "K_PARTITION"):
            self.expect("K_LIMIT")
            per_partition_limit = self.int_value()
        limit = self.int_value() if self.accept("K_LIMIT") else None
        allow_filtering = False
        if self.accept("K_ALLOW"):
            self.expect("K_FILTERING")
            allow_filtering = True
        return ast.SelectStatement(
            table,
            selected,
            where,
            is_distinct,
            is_json,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
            bind_markers=self.bound(),
        )

    def _ordering(self) -> ast.Ordering:
        column = self.cident()
        ann_of = None
        if self.accept("K_ANN"):
            self.expect("K_OF")
            ann_of = self.term()
        if self.accept("K_DESC"):
            return ast.Ordering(column, True, ann_of)
        self.accept("K_ASC")
        return ast.Ordering(column, False, ann_of)

    # -- USING ---------------------------------------------------------------------------------

    def using_clause(self) -> tuple[ast.Term | None, ast.Term | None]:
        """``USING TIMESTAMP t AND TTL n`` -> (timestamp, ttl); a repeated option keeps the last."""
        timestamp = ttl = None
        if not self.accept("K_USING"):
            return None, None
        while True:
            if self.accept("K_TIMESTAMP"):
                timestamp = self.int_value()
            elif self.accept("K_TTL"):
                ttl = self.int_value()
            else:
                self.fail_no_viable()
            if not self.accept("K_AND"):
                return timestamp, ttl

    # -- INSERT --------------------------------------------------------------------------------

    def insert_statement(self) -> ast.ModificationStatement:
        self.i += 1
        self.expect("K_INTO")
        table = self.qualified_name()
        if self.accept("K_JSON"):
            return self._json_insert(table)
        self.expect("(")
        columns = [self.cident()]
        while self.accept(","):
            columns.append(self.cident())
        self.expect(")")
        self.expect("K_VALUES")
        self.expect("(")
        values = [self.term()]
        while self.accept(","):
            values.append(self.term())
        self.expect(")")
        if_not_exists = self.if_not_exists()
        timestamp, ttl = self.using_clause()
        return ast.InsertStatement(
            table,
            tuple(columns),
            tuple(values),
            if_not_exists,
            timestamp,
            ttl,
            bind_markers=self.bound(),
        )

    def _json_insert(self, table: ast.QualifiedName) -> ast.ModificationStatement:
        ttype = self.types[self.i]
        if ttype == "STRING_LITERAL":
            json: ast.Term = ast.Constant(ast.ConstantType.STRING, self.values[self.i])
            self.i += 1
        elif ttype == "QMARK" or ttype == ":":
            json = self.marker()
        else:
            self.fail_no_viable()
        default_unset = False
        if self.accept("K_DEFAULT"):
            if self.accept("K_UNSET"):
                default_unset = True
            else:
                self.expect("K_NULL")
        if_not_exists = self.if_not_exists()
        timestamp, ttl = self.using_clause()
        return ast.InsertJsonStatement(
            table, json, default_unset, if_not_exists, timestamp, ttl, bind_markers=self.bound()
        )

    # -- UPDATE --------------------------------------------------------------------------------

    def update_statement(self) -> ast.ModificationStatement:
        self.i += 1
        table = self.qualified_name()
        timestamp, ttl = self.using_clause()
        self.expect("K_SET")
        operations: list[ast.Operation] = []
        by_column: dict[str, _ColumnUpdates] = {}
        self._column_operation(operations, by_column)
        while self.accept(","):
            self._column_operation(operations, by_column)
        self.expect("K_WHERE")
        where = self.where_clause()
        if_exists, conditions = self._if_clause()
        return ast.UpdateStatement(
            table,
            tuple(operations),
            where,
            conditions,
            if_exists,
            timestamp,
            ttl,
            bind_markers=self.bound(),
        )

    def _if_clause(self) -> tuple[bool, tuple[ast.ColumnCondition, ...]]:
        if not self.accept("K_IF"):
            return False, ()
        if self.types[self.i] == "K_EXISTS" and self.types[self.i + 1] not in _CONDITION_FOLLOW:
            self.i += 1
            return True, ()
        return False, self.update_conditions()  # "IF exists = 1": a column named exists

    def _column_operation(self, operations: list[ast.Operation], by_column: dict[str, _ColumnUpdates]) -> None:
        column = self.cident()
        ttype = self.types[self.i]
        if ttype == "=":
            self.i += 1
            operation = self._normal_column_operation(column)
        elif ttype == "+=" or ttype == "-=":
            self.i += 1
            value = self.term()
            operation = ast.Addition(column, value) if ttype == "+=" else ast.Subtraction(column, value)
        elif ttype == "[":
            self.i += 1
            key = self.term()
            self.expect("]")
            self.expect("=")
            operation = ast.SetElement(column, key, self.term())
        elif ttype == ".":
            self.i += 1
            field = self.ident()
            self.expect("=")
            operation = ast.SetField(column, field, self.term())
        else:
            self.fail_no_viable()
        updates = by_column.get(column)
        had_any = updates is not None
        if updates is None:
            updates = by_column[column] = _ColumnUpdates()
        if not updates.admit(operation, had_any):
            self.fail_message(f"Multiple incompatible setting of column {column}")
        operations.append(operation)

    def _normal_column_operation(self, column: str) -> ast.Operation:
        types = self.types
        i = self.i
        if types[i] in CIDENT_TYPES and types[i + 1] in _SET_VALUE_FOLLOW:
            other = self.values[i]
            sign = types[i + 1]
            self.i = i + 2
            if sign == "INTEGER":  # "c = c -3" lexes the sign into the number
                literal = self.values[i + 1]
                if other != column:
                    shown = "-" if literal.startswith("-") else "+"
                    self.fail_message(f"Only expressions of the form X = X {shown} <value> are supported.")
                return ast.Addition(column, ast.Constant(ast.ConstantType.INTEGER, literal))
            if other != column:
                self.fail_message(f"Only expressions of the form X = X {sign}<value> are supported.")
            value = self.term()
            return ast.Addition(column, value) if sign == "+" else ast.Subtraction(column, value)
        value = self.term()
        if self.accept("+"):
            other = self.cident()
            if other != column:
                self.fail_message("Only expressions of the form X = <value> + X are supported.")
            return ast.Prepend(column, value)
        return ast.SetValue(column, value)

    # -- DELETE --------------------------------------------------------------------------------

    def delete_statement(self) -> ast.ModificationStatement:
        self.i += 1
        deletions: list[ast.Deletion] = []
        if self.types[self.i] != "K_FROM":
            deletions.append(self._delete_op())
            while self.accept(","):
                deletions.append(self._delete_op())
        self.expect("K_FROM")
        table = self.qualified_name()
        timestamp = None
        if self.accept("K_USING"):
            self.expect("K_TIMESTAMP")
            timestamp = self.int_value()
        self.expect("K_WHERE")
        where = self.where_clause()
        if_exists, conditions = self._if_clause()
        return ast.DeleteStatement(
            table, tuple(deletions), where, conditions, if_exists, timestamp, bind_markers=self.bound()
        )

    def _delete_op(self) -> ast.Deletion:
        column = self.cident()
        if self.accept("["):
            element = self.term()
            self.expect("]")
            return ast.ElementDeletion(column, element)
        if self.accept("."):
            return ast.FieldDeletion(column, self.ident())
        return ast.ColumnDeletion(column)

    # -- BATCH ---------------------------------------------------------------------------------

    def batch_statement(self) -> ast.Statement:
        self.i += 1
        batch_type = ast.BatchType.LOGGED
        if self.accept("K_UNLOGGED"):
            batch_type = ast.BatchType.UNLOGGED
        elif self.accept("K_COUNTER"):
            batch_type = ast.BatchType.COUNTER
        self.expect("K_BATCH")
        timestamp, ttl = self.using_clause()
        inner = _BATCH_CHILDREN
        statements: list[ast.ModificationStatement] = []
        self.in_batch = True  # type: ignore[attr-defined]
        while True:
            ttype = self.types[self.i]
            if ttype == "K_APPLY":
                break
            child = inner.get(ttype)
            if child is None:
                raise ParseFailure(self.i, NO_VIABLE)
            statements.append(child(self))
            self.accept(";")
        self.in_batch = False  # type: ignore[attr-defined]
        self.i += 1
        self.expect("K_BATCH")
        return ast.BatchStatement(batch_type, tuple(statements), timestamp, ttl, bind_markers=self.bound())


_BATCH_CHILDREN = {
    "K_INSERT": DmlParser.insert_statement,
    "K_UPDATE": DmlParser.update_statement,
    "K_DELETE": DmlParser.delete_statement,
}
