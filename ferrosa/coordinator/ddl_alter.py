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

from ferrosa.coordinator.ddl import (SchemaStatement, _check_udts, _user_keyspace, table_keyspace,
                                     type_text)
from ferrosa.coordinator.execution import Execution, SchemaChangeResult
from ferrosa.cql import ast
from ferrosa.schema import model
from ferrosa.schema.errors import InvalidRequest
from ferrosa.schema.options import build_table_options


def _add(table: model.TableMetadata, ks: model.KeyspaceMetadata,
         stmt: ast.AlterTableAddColumns) -> model.TableMetadata:
    for column in stmt.columns:
        if column.name in table.column_map and stmt.if_column_not_exists:
            continue
        if column.mask is not None:
            raise InvalidRequest("Dynamic data masking is not supported yet by Ferrosa")
        _check_udts(ks, column.type)
        text = type_text(column.type)
        is_counter = text == "counter"
        if table.is_counter and not is_counter:
            raise InvalidRequest(f"Cannot add a non counter column ({column.name}) in a counter "
                                 f"table")
        if is_counter and not table.is_counter:
            raise InvalidRequest(f"Cannot add a counter column ({column.name}) in a non counter "
                                 f"table")
        table = table.with_column_added(column.name, text, column.is_static)
    return table


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
        table = schema.table(keyspace, stmt.table.name)
        if table is None:
            if stmt.if_exists:
                return None
            if schema.keyspace(keyspace) is None:
                raise InvalidRequest(f"Keyspace '{keyspace}' doesn't exist")
            raise InvalidRequest(f"Table '{keyspace}.{stmt.table.name}' doesn't exist")
        ks = _user_keyspace(schema, keyspace)
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
