"""DDL statements: keyspaces, tables, types, indexes, materialized views, functions, aggregates,
triggers (CREATE / ALTER / DROP).

This module must NOT validate definitions against a schema or check option values (that is the
executor's job); it raises only what Cassandra raises while parsing: duplicate properties, duplicate
column declarations, several PRIMARY KEY clauses, COMPACT STORAGE on views, frozen<> misuse.
"""

from __future__ import annotations

from ferrosa.cql import ast
from ferrosa.cql.parser_base import ParseFailure, NO_VIABLE
from ferrosa.cql.parser_dml import DmlParser

__all__ = ["DdlParser"]

_INDEX_TARGET_TYPES = {
    "K_VALUES": ast.IndexTargetType.VALUES,
    "K_KEYS": ast.IndexTargetType.KEYS,
    "K_ENTRIES": ast.IndexTargetType.KEYS_AND_VALUES,
    "K_FULL": ast.IndexTargetType.FULL,
}


class _TableShape:
    """Mutable accumulator for CREATE TABLE / CREATE MATERIALIZED VIEW bodies."""

    __slots__ = ("columns", "partition_key", "clustering", "primary_keys", "order", "ordered", "props", "compact")

    def __init__(self) -> None:
        self.columns: list[ast.ColumnDefinition] = []
        self.partition_key: tuple[str, ...] = ()
        self.clustering: tuple[str, ...] = ()
        self.primary_keys = 0
        self.order: list[ast.ClusteringOrder] = []
        self.ordered: set[str] = set()
        self.props: ast.Properties = {}
        self.compact = False


class DdlParser(DmlParser):
    __slots__ = ()

    # -- keyspaces -----------------------------------------------------------------------------

    def create_keyspace(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        keyspace = self.keyspace_name()
        self.expect("K_WITH")
        props = self.properties()
        return ast.CreateKeyspaceStatement(keyspace, props, if_not_exists, bind_markers=self.bound())

    def alter_keyspace(self) -> ast.Statement:
        if_exists = self.if_exists()
        keyspace = self.keyspace_name()
        self.expect("K_WITH")
        props = self.properties()
        return ast.AlterKeyspaceStatement(keyspace, props, if_exists, bind_markers=self.bound())

    def drop_keyspace(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropKeyspaceStatement(self.keyspace_name(), if_exists, bind_markers=self.bound())

    # -- tables --------------------------------------------------------------------------------

    def column_mask(self) -> ast.ColumnMask | None:
        """``MASKED WITH DEFAULT`` / ``MASKED WITH f(args)``; None when no mask follows."""
        if self.types[self.i] != "K_MASKED":
            return None
        self.i += 1
        self.expect("K_WITH")
        if self.types[self.i] == "K_DEFAULT" and self.types[self.i + 1] != "(":
            self.i += 1
            return ast.ColumnMask(ast.QualifiedName(None, "mask_default"))
        function = self.function_name()
        self.expect("(")
        args: list[ast.Term] = []
        if not self.accept(")"):
            args.append(self.term())
            while self.accept(","):
                args.append(self.term())
            self.expect(")")
        return ast.ColumnMask(function, tuple(args))

    def _column_definition(self) -> ast.ColumnDefinition:
        name = self.ident()
        cql_type = self.cql_type()
        is_static = self.accept("K_STATIC")
        return ast.ColumnDefinition(name, cql_type, is_static, self.column_mask())

    def _primary_key_clause(self, shape: _TableShape, table: ast.QualifiedName) -> None:
        """``PRIMARY KEY (pk | (pk1, pk2), ck1, ...)`` after the PRIMARY KEY keywords."""
        self.expect("(")
        if self.accept("("):
            keys = [self.ident()]
            while self.accept(","):
                keys.append(self.ident())
            self.expect(")")
        else:
            keys = [self.ident()]
        self._set_partition_key(shape, tuple(keys), table)
        clustering = []
        while self.accept(","):
            clustering.append(self.ident())
        shape.clustering = tuple(clustering)
        self.expect(")")

    def _set_partition_key(self, shape: _TableShape, keys: tuple[str, ...], table: ast.QualifiedName) -> None:
        if shape.primary_keys:
            self.fail_invalid(f"Multiple PRIMARY KEY specified for table '{table}' (exactly one required)")
        shape.primary_keys += 1
        shape.partition_key = keys

    def _table_column(self, shape: _TableShape, table: ast.QualifiedName, seen: set[str]) -> None:
        if self.accept("K_PRIMARY"):
            self.expect("K_KEY")
            self._primary_key_clause(shape, table)
            return
        column = self._column_definition()
        if column.name in seen:
            self.fail_invalid(f"Duplicate column '{column.name}' declaration for table '{table}'")
        seen.add(column.name)
        shape.columns.append(column)
        if self.accept("K_PRIMARY"):
            self.expect("K_KEY")
            self._set_partition_key(shape, (column.name,), table)

    def _clustering_order(self, shape: _TableShape, table: ast.QualifiedName, check_duplicates: bool) -> None:
        """``CLUSTERING ORDER BY (c ASC, ...)`` after the CLUSTERING keyword."""
        self.expect("K_ORDER")
        self.expect("K_BY")
        self.expect("(")
        while True:
            column = self.ident()
            if self.accept("K_DESC"):
                ascending = False
            else:
                self.expect("K_ASC")
                ascending = True
            if check_duplicates and column in shape.ordered:
                self.fail_invalid(
                    f"Duplicate column '{column}' in CLUSTERING ORDER BY clause for table '{table}'"
                )
            shape.order.append(ast.ClusteringOrder(column, ascending))
            shape.ordered.add(column)
            if not self.accept(","):
                break
        self.expect(")")

    def _table_options(self, shape: _TableShape, table: ast.QualifiedName, is_view: bool) -> None:
        """``WITH tableProperty (AND tableProperty)*`` (the WITH already consumed)."""
        types = self.types
        while True:
            ttype = types[self.i]
            if ttype == "K_COMPACT" and types[self.i + 1] == "K_STORAGE":
                if is_view:
                    self.fail_message("COMPACT STORAGE tables are not allowed starting with version 4.0")
                self.i += 2
                shape.compact = True
            elif ttype == "K_CLUSTERING" and types[self.i + 1] == "K_ORDER":
                self.i += 1
                self._clustering_order(shape, table, not is_view)
            else:
                self.property_into(shape.props)
            if not self.accept("K_AND"):
                return

    def create_table(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        table = self.qualified_name()
        if self.accept("K_LIKE"):
            return self._copy_table(table, if_not_exists)
        shape = _TableShape()
        seen: set[str] = set()
        self.expect("(")
        self._table_column(shape, table, seen)
        while self.accept(","):
            if self.types[self.i] != "," and self.types[self.i] != ")":
                self._table_column(shape, table, seen)
        self.expect(")")
        if self.accept("K_WITH"):
            self._table_options(shape, table, is_view=False)
        return ast.CreateTableStatement(
            table,
            tuple(shape.columns),
            shape.partition_key,
            shape.clustering,
            shape.primary_keys,
            tuple(shape.order),
            shape.props,
            shape.compact,
            if_not_exists,
            bind_markers=self.bound(),
        )

    def _copy_table(self, table: ast.QualifiedName, if_not_exists: bool) -> ast.Statement:
        source = self.qualified_name()
        with_indexes = False
        props: ast.Properties = {}
        if self.accept("K_WITH"):
            while True:
                if self.types[self.i] == "K_INDEXES" and self.types[self.i + 1] != "=":
                    self.i += 1
                    with_indexes = True
                else:
                    self.property_into(props)
                if not self.accept("K_AND"):
                    break
        return ast.CopyTableStatement(
            table, source, with_indexes, props, if_not_exists, bind_markers=self.bound()
        )

    def alter_table(self) -> ast.Statement:
        if_exists = self.if_exists()
        table = self.qualified_name()
        handler = _ALTER_TABLE_ACTIONS.get(self.types[self.i])
        if handler is None:
            raise ParseFailure(self.i, NO_VIABLE)
        self.i += 1
        return handler(self, table, if_exists)

    def _alter_table_alter(self, table: ast.QualifiedName, if_exists: bool) -> ast.Statement:
        if_column_exists = self.if_exists()
        column = self.cident()
        if not if_column_exists and self.accept("K_TYPE"):
            new_type = self.cql_type()
            return ast.AlterTableAlterColumn(table, if_exists, column, new_type, bind_markers=self.bound())
        if self.accept("K_DROP"):
            self.expect("K_MASKED")
            mask = None
        else:
            mask = self.column_mask()
            if mask is None:
                self.fail_no_viable()
        return ast.AlterTableMaskColumn(
            table, if_exists, column, mask, if_column_exists, bind_markers=self.bound()
        )

    def _alter_table_add(self, table: ast.QualifiedName, if_exists: bool) -> ast.Statement:
        if_column_not_exists = self.if_not_exists()
        if self.accept("("):
            columns = [self._column_definition()]
            while self.accept(","):
                columns.append(self._column_definition())
            self.expect(")")
        else:
            columns = [self._column_definition()]
        return ast.AlterTableAddColumns(
            table, if_exists, tuple(columns), if_column_not_exists, bind_markers=self.bound()
        )

    def _alter_table_drop(self, table: ast.QualifiedName, if_exists: bool) -> ast.Statement:
        types = self.types
        if types[self.i] == "K_COMPACT" and types[self.i + 1] == "K_STORAGE":
            self.i += 2
            return ast.AlterTableDropCompactStorage(table, if_exists, bind_markers=self.bound())
        if_column_exists = self.if_exists()
        if self.accept("("):
            columns = [self.ident()]
            while self.accept(","):
                columns.append(self.ident())
            self.expect(")")
        else:
            columns = [self.ident()]
        timestamp = None
        if self.accept("K_USING"):
            self.expect("K_TIMESTAMP")
            timestamp = int(self.expect("INTEGER"))
            if not -(2**63) <= timestamp < 2**63:  # Cassandra parses it as a Java long
                self.fail_message(f"Invalid timestamp {timestamp}: out of range")
        return ast.AlterTableDropColumns(
            table, if_exists, tuple(columns), if_column_exists, timestamp, bind_markers=self.bound()
        )

    def _renames(self) -> tuple[tuple[str, str], ...]:
        renames = []
        while True:
            old = self.ident()
            self.expect("K_TO")
            renames.append((old, self.ident()))
            if not self.accept("K_AND"):
                return tuple(renames)

    def _alter_table_rename(self, table: ast.QualifiedName, if_exists: bool) -> ast.Statement:
        if_column_exists = self.if_exists()
        return ast.AlterTableRenameColumns(
            table, if_exists, self._renames(), if_column_exists, bind_markers=self.bound()
        )

    def _alter_table_with(self, table: ast.QualifiedName, if_exists: bool) -> ast.Statement:
        return ast.AlterTableOptions(table, if_exists, self.properties(), bind_markers=self.bound())

    def drop_table(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropTableStatement(self.qualified_name(), if_exists, bind_markers=self.bound())

    # -- user types ----------------------------------------------------------------------------

    def create_type(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        name = self.user_type_name()
        self.expect("(")
        fields = [self._field_definition()]
        while self.accept(","):
            if self.types[self.i] != "," and self.types[self.i] != ")":
                fields.append(self._field_definition())
        self.expect(")")
        return ast.CreateTypeStatement(name, tuple(fields), if_not_exists, bind_markers=self.bound())

    def _field_definition(self) -> ast.FieldDefinition:
        name = self.ident()
        return ast.FieldDefinition(name, self.cql_type())

    def alter_type(self) -> ast.Statement:
        if_exists = self.if_exists()
        name = self.user_type_name()
        if self.accept("K_ALTER"):
            field = self.ident()
            self.expect("K_TYPE")
            return ast.AlterTypeAlterField(name, if_exists, field, self.cql_type(), bind_markers=self.bound())
        if self.accept("K_ADD"):
            if_field_not_exists = self.if_not_exists()
            field = self.ident()
            new_type = self.cql_type()
            return ast.AlterTypeAddField(
                name, if_exists, field, new_type, if_field_not_exists, bind_markers=self.bound()
            )
        if self.accept("K_RENAME"):
            if_field_exists = self.if_exists()
            return ast.AlterTypeRenameFields(
                name, if_exists, self._renames(), if_field_exists, bind_markers=self.bound()
            )
        self.fail_no_viable()

    def drop_type(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropTypeStatement(self.user_type_name(), if_exists, bind_markers=self.bound())

    # -- indexes -------------------------------------------------------------------------------

    def create_index(self) -> ast.Statement:
        is_custom = self.types[self.i - 1] == "K_CUSTOM"
        if is_custom:
            self.expect("K_INDEX")
        if_not_exists = self.if_not_exists()
        name = None
        if self.types[self.i] != "K_ON":
            name = self._object_name("index")
        self.expect("K_ON")
        table = self.qualified_name()
        self.expect("(")
        targets: list[ast.IndexTarget] = []
        if not self.accept(")"):
            targets.append(self._index_target())
            while self.accept(","):
                targets.append(self._index_target())
            self.expect(")")
        custom_class = self.expect("STRING_LITERAL") if self.accept("K_USING") else None
        props = self.properties() if self.accept("K_WITH") else {}
        return ast.CreateIndexStatement(
            table,
            name,
            tuple(targets),
            is_custom,
            custom_class,
            props,
            if_not_exists,
            bind_markers=self.bound(),
        )

    def _index_target(self) -> ast.IndexTarget:
        target_type = _INDEX_TARGET_TYPES.get(self.types[self.i])
        if target_type is not None and self.types[self.i + 1] == "(":
            self.i += 2
            column = self.cident()
            self.expect(")")
            return ast.IndexTarget(column, target_type)
        return ast.IndexTarget(self.cident())

    def drop_index(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropIndexStatement(self.qualified_name("index"), if_exists, bind_markers=self.bound())

    # -- materialized views --------------------------------------------------------------------

    def create_view(self) -> ast.Statement:
        self.expect("K_VIEW")
        if_not_exists = self.if_not_exists()
        view = self.qualified_name()
        self.expect("K_AS")
        self.expect("K_SELECT")
        selected = self.selectors()
        self.expect("K_FROM")
        base = self.qualified_name()
        where: tuple[ast.Relation, ...] = ()
        where_text = ""
        if self.accept("K_WHERE"):
            first = self.i
            where = self.where_clause()
            where_text = self.source_text(first, self.i - 1)
        self.expect("K_PRIMARY")
        self.expect("K_KEY")
        shape = _TableShape()
        self._primary_key_clause(shape, view)
        if self.accept("K_WITH"):
            self._table_options(shape, view, is_view=True)
        return ast.CreateViewStatement(
            view,
            base,
            selected,
            where,
            where_text,
            shape.partition_key,
            shape.clustering,
            tuple(shape.order),
            shape.props,
            if_not_exists,
            bind_markers=self.bound(),
        )

    def alter_view(self) -> ast.Statement:
        self.expect("K_VIEW")
        if_exists = self.if_exists()
        view = self.qualified_name()
        self.expect("K_WITH")
        return ast.AlterViewStatement(view, self.properties(), if_exists, bind_markers=self.bound())

    def drop_view(self) -> ast.Statement:
        self.expect("K_VIEW")
        if_exists = self.if_exists()
        return ast.DropViewStatement(self.qualified_name(), if_exists, bind_markers=self.bound())

    # -- functions and aggregates --------------------------------------------------------------

    def create_or_replace(self) -> ast.Statement:
        self.expect("K_REPLACE")
        ttype = self.types[self.i]
        self.i += 1
        if ttype == "K_FUNCTION":
            return self.create_function(or_replace=True)
        if ttype == "K_AGGREGATE":
            return self.create_aggregate(or_replace=True)
        raise ParseFailure(self.i - 1, NO_VIABLE)

    def _type_list(self) -> tuple[ast.CqlType, ...]:
        """``( [type (, type)*] )``."""
        self.expect("(")
        if self.accept(")"):
            return ()
        items = [self.cql_type()]
        while self.accept(","):
            items.append(self.cql_type())
        self.expect(")")
        return tuple(items)

    def create_function(self, or_replace: bool = False) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        name = self.function_name()
        self.expect("(")
        arg_names: list[str] = []
        arg_types: list[ast.CqlType] = []
        if not self.accept(")"):
            while True:
                arg_names.append(self.ident())
                arg_types.append(self.cql_type())
                if not self.accept(","):
                    break
            self.expect(")")
        if self.accept("K_RETURNS"):
            self.expect("K_NULL")
            called_on_null = False
        else:
            self.expect("K_CALLED")
            called_on_null = True
        self.expect("K_ON")
        self.expect("K_NULL")
        self.expect("K_INPUT")
        self.expect("K_RETURNS")
        return_type = self.cql_type()
        self.expect("K_LANGUAGE")
        language = self.expect("IDENT")
        self.expect("K_AS")
        body = self.expect("STRING_LITERAL")
        return ast.CreateFunctionStatement(
            name,
            tuple(arg_names),
            tuple(arg_types),
            return_type,
            called_on_null,
            language,
            body,
            or_replace,
            if_not_exists,
            bind_markers=self.bound(),
        )

    def create_aggregate(self, or_replace: bool = False) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        name = self.function_name()
        arg_types = self._type_list()
        self.expect("K_SFUNC")
        state_function = self.allowed_function_name()
        self.expect("K_STYPE")
        state_type = self.cql_type()
        final_function = self.allowed_function_name() if self.accept("K_FINALFUNC") else None
        initial_condition = self.term() if self.accept("K_INITCOND") else None
        return ast.CreateAggregateStatement(
            name,
            arg_types,
            state_function,
            state_type,
            final_function,
            initial_condition,
            or_replace,
            if_not_exists,
            bind_markers=self.bound(),
        )

    def drop_function(self) -> ast.Statement:
        if_exists = self.if_exists()
        name = self.function_name()
        arg_types = self._type_list() if self.types[self.i] == "(" else None
        return ast.DropFunctionStatement(name, arg_types, if_exists, bind_markers=self.bound())

    def drop_aggregate(self) -> ast.Statement:
        if_exists = self.if_exists()
        name = self.function_name()
        arg_types = self._type_list() if self.types[self.i] == "(" else None
        return ast.DropAggregateStatement(name, arg_types, if_exists, bind_markers=self.bound())

    # -- triggers ------------------------------------------------------------------------------

    def create_trigger(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        name = self.ident()
        self.expect("K_ON")
        table = self.qualified_name()
        self.expect("K_USING")
        trigger_class = self.expect("STRING_LITERAL")
        return ast.CreateTriggerStatement(name, table, trigger_class, if_not_exists, bind_markers=self.bound())

    def drop_trigger(self) -> ast.Statement:
        if_exists = self.if_exists()
        name = self.ident()
        self.expect("K_ON")
        return ast.DropTriggerStatement(name, self.qualified_name(), if_exists, bind_markers=self.bound())


_ALTER_TABLE_ACTIONS = {
    "K_ALTER": DdlParser._alter_table_alter,
    "K_ADD": DdlParser._alter_table_add,
    "K_DROP": DdlParser._alter_table_drop,
    "K_RENAME": DdlParser._alter_table_rename,
    "K_WITH": DdlParser._alter_table_with,
}
