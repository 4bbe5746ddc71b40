"""ALTER TABLE: ADD, DROP, RENAME, WITH options, with Cassandra's AlterTableStatement rules.

What it is: the next TableMetadata for each ALTER TABLE form, checked and worded as Cassandra 5.0
does. A dropped column moves to `dropped_columns` with its drop time: shards hide any cell of that
name written at or before it, so data of a dropped column never reappears when a column of the same
name is added again.

What it must not do: change data (renames touch only metadata: rows store key values by position),
or accept what Cassandra refuses (altering a column's type, renaming a regular column).
"""

from __future__ import annotations

import msgspec

from ferrosa.coordinator.ddl import (SchemaStatement, all_tables_resource, check_user_type_field,
                                     prepare_type, raw_text, schema_keyspace, table_keyspace,
                                     table_resource)
from ferrosa.coordinator.execution import Execution, SchemaChangeResult
from ferrosa.cql import ast
from ferrosa.schema import model
from ferrosa.schema.errors import ConfigurationError, InvalidRequest
from ferrosa.schema.options import build_table_options


def _add(table: model.TableMetadata, ks: model.KeyspaceMetadata,
         stmt: ast.AlterTableAddColumns) -> model.TableMetadata:
    """AddColumns.addColumn for each column (its type is prepared before anything else), then
    TableMetadata.validate's counter rule on the result."""
    if any(column.mask is not None for column in stmt.columns):
        raise InvalidRequest("Dynamic data masking is not supported yet by Ferrosa")
    altered = table
    for column in stmt.columns:
        text = prepare_type(column.type, ks)
        if column.name in altered.column_map and stmt.if_column_not_exists:
            continue
        altered = altered.with_column_added(column.name, text, column.is_static, ks.types)
    _check_counter_mix(altered, table.is_counter)
    return altered


def _check_counter_mix(table: model.TableMetadata, counter_table: bool) -> None:
    """TableMetadata.validate (its ``except`` prefixes the table's name, unquoted)."""
    for column in table.static_columns + table.regular_columns:
        is_counter = model.parse_cql_type(column.type).name == "counter"
        if counter_table and not is_counter:
            raise ConfigurationError(f'{table.keyspace}.{table.name}: Cannot have a non counter '
                                     f'column ("{column.name}") in a counter table')
        if is_counter and not counter_table:
            raise ConfigurationError(f'{table.keyspace}.{table.name}: Cannot have a counter '
                                     f'column ("{column.name}") in a non counter table')


def _drop(table: model.TableMetadata, stmt: ast.AlterTableDropColumns,
          ex: Execution) -> model.TableMetadata:
    dropped_at = stmt.timestamp if stmt.timestamp is not None else ex.session.next_timestamp()
    for name in stmt.columns:
        if name not in table.column_map and stmt.if_column_exists:
            continue
        table = table.with_column_dropped(name, dropped_at)
    return table


def _rename(table: model.TableMetadata, stmt: ast.AlterTableRenameColumns) -> model.TableMetadata:
    for old, new in stmt.renames:
        column = table.column(old)
        if column is None:
            if stmt.if_column_exists:
                continue
            raise InvalidRequest(f"Column {old} was not found in table {table}")
        if not column.is_primary_key:
            raise InvalidRequest(f"Cannot rename non PRIMARY KEY column {old}")
        if table.column(new) is not None:
            raise InvalidRequest(f"Cannot rename column {old} to {new} in table '{table.name}'; "
                                 f"another column with that name already exists")
        columns = tuple(msgspec.structs.replace(c, name=new) if c.name == old else c
                        for c in table.columns)
        table = msgspec.structs.replace(
            table, columns=columns,
            partition_key=tuple(new if n == old else n for n in table.partition_key),
            clustering=tuple(new if n == old else n for n in table.clustering))
    return table


def _options(table: model.TableMetadata, stmt: ast.AlterTableOptions) -> model.TableMetadata:
    options = build_table_options(stmt.properties, table.options)
    if table.is_counter and options.default_time_to_live:
        raise InvalidRequest("Cannot set default_time_to_live on a table with counters")
    return table.with_options(options)


class AlterTable(SchemaStatement):
    def plan(self, schema: model.Schema, ex: Execution):
        stmt: ast.AlterTableStatement = self.stmt
        keyspace = table_keyspace(stmt.table, self.session_keyspace)
        schema_keyspace(schema, keyspace, "ALTER", table_resource(keyspace, stmt.table.name))
        table = schema.table(keyspace, stmt.table.name)
        if table is None:
            if stmt.if_exists:
                return None
            if schema.keyspace(keyspace) is None:
                raise InvalidRequest(f"Keyspace '{keyspace}' doesn't exist")
            raise InvalidRequest(f"Table '{keyspace}.{stmt.table.name}' doesn't exist")
        ks = schema.get_keyspace(keyspace)
        altered = self._alter(table, ks, stmt, ex)
        if altered == table:
            return None
        return (schema.with_table(altered),
                SchemaChangeResult("UPDATED", "TABLE", keyspace, table.name))

    @staticmethod
    def _alter(table, ks, stmt, ex) -> model.TableMetadata:
        if isinstance(stmt, ast.AlterTableAddColumns):
            return _add(table, ks, stmt)
        if isinstance(stmt, ast.AlterTableDropColumns):
            return _drop(table, stmt, ex)
        if isinstance(stmt, ast.AlterTableRenameColumns):
            return _rename(table, stmt)
        if isinstance(stmt, ast.AlterTableOptions):
            return _options(table, stmt)
        if isinstance(stmt, ast.AlterTableAlterColumn):
            raise InvalidRequest("Altering column types is no longer supported")
        if isinstance(stmt, ast.AlterTableMaskColumn):
            raise InvalidRequest("Dynamic data masking is not supported yet by Ferrosa")
        if isinstance(stmt, ast.AlterTableDropCompactStorage):
            raise InvalidRequest("Cannot DROP COMPACT STORAGE as table does not have compact "
                                 "storage")
        raise InvalidRequest(f"{type(stmt).__name__} is not supported yet by Ferrosa")


ALTER_TABLE_STATEMENTS = {cls: AlterTable for cls in (
    ast.AlterTableAddColumns, ast.AlterTableDropColumns, ast.AlterTableRenameColumns,
    ast.AlterTableOptions, ast.AlterTableAlterColumn, ast.AlterTableMaskColumn,
    ast.AlterTableDropCompactStorage)}


def _reachable_udts(ks: model.KeyspaceMetadata, text: str) -> set[str]:
    """Every UDT a type refers to, directly or through other UDTs' fields."""
    found: set[str] = set()
    pending = list(model.referenced_udts(text))
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        inner = ks.types.get(name)
        if inner is not None:
            for field_type in inner.field_types:
                pending.extend(model.referenced_udts(field_type))
    return found


def _cql_type_name(udt: model.UserType) -> str:
    """``UserType.getCqlTypeName``."""
    return f"{model.maybe_quote(udt.keyspace)}.{model.maybe_quote(udt.name)}"


def _add_field(udt: model.UserType, ks: model.KeyspaceMetadata,
               stmt: ast.AlterTypeAddField) -> model.UserType:
    check_user_type_field(stmt.type)
    if stmt.field in udt.field_names:
        if stmt.if_field_not_exists:
            return udt
        raise InvalidRequest(f"Cannot add field {stmt.field} to type {_cql_type_name(udt)}: a "
                             f"field with name {stmt.field} already exists")
    text = prepare_type(stmt.type, ks)
    written = raw_text(stmt.type, ks.name)  # preparing qualified its UDT names
    if udt.name in _reachable_udts(ks, text):
        raise InvalidRequest(f"Cannot add new field {stmt.field} of type {written} to user type "
                             f"{_cql_type_name(udt)} as it would create a circular reference")
    # A key's serialized form would change under the stored data, so AddField refuses it.
    keyed = sorted(str(table) for table in ks.tables.values()
                   if any(udt.name in _reachable_udts(ks, c.type)
                          for c in table.partition_key_columns))
    if keyed:
        raise InvalidRequest(f"Cannot add new field {stmt.field} of type {written} to user type "
                             f"{_cql_type_name(udt)} as the type is being used in partition key "
                             f"by the following tables: {', '.join(keyed)}")
    return msgspec.structs.replace(udt, field_names=udt.field_names + (stmt.field,),
                                   field_types=udt.field_types + (text,))


def _rename_fields(udt: model.UserType, stmt: ast.AlterTypeRenameFields) -> model.UserType:
    """RenameFields: each old name is looked up among the type's current fields (so a swap
    works), then the resulting names must be distinct."""
    names = list(udt.field_names)
    for old, new in stmt.renames:
        if old not in udt.field_names:
            if stmt.if_field_exists:
                continue
            raise InvalidRequest(f"Unkown field {old} in user type {_cql_type_name(udt)}")
        names[udt.field_names.index(old)] = new
    for name in names:
        if names.count(name) > 1:  # Cassandra's format string drops the type, keeps the keyspace
            raise InvalidRequest(f"Duplicate field name {name} in type {udt.keyspace}")
    return msgspec.structs.replace(udt, field_names=tuple(names))


class AlterType(SchemaStatement):
    """ALTER TYPE ADD / RENAME (AlterTypeStatement): field changes that keep stored values valid:
    an added field reads as null in older values, a rename touches only metadata."""

    def plan(self, schema: model.Schema, ex: Execution):
        stmt: ast.AlterTypeStatement = self.stmt
        keyspace = table_keyspace(stmt.name, self.session_keyspace)
        schema_keyspace(schema, keyspace, "ALTER", all_tables_resource(keyspace))
        ks = schema.keyspace(keyspace)
        udt = None if ks is None else ks.types.get(stmt.name.name)
        if ks is None or udt is None:
            if stmt.if_exists:
                return None
            raise InvalidRequest(f"Type {keyspace}.{stmt.name.name} doesn't exist")
        altered = self._alter(udt, ks, stmt)
        if altered == udt:
            return None
        return (schema.with_type(altered),
                SchemaChangeResult("UPDATED", "TYPE", keyspace, udt.name))

    @staticmethod
    def _alter(udt: model.UserType, ks: model.KeyspaceMetadata,
               stmt: ast.AlterTypeStatement) -> model.UserType:
        if isinstance(stmt, ast.AlterTypeAddField):
            return _add_field(udt, ks, stmt)
        if isinstance(stmt, ast.AlterTypeRenameFields):
            return _rename_fields(udt, stmt)
        if isinstance(stmt, ast.AlterTypeAlterField):
            raise InvalidRequest("Altering field types is no longer supported")
        raise InvalidRequest(f"{type(stmt).__name__} is not supported yet by Ferrosa")


ALTER_TYPE_STATEMENTS = {cls: AlterType for cls in (
    ast.AlterTypeAddField, ast.AlterTypeRenameFields, ast.AlterTypeAlterField)}
