"""Schema statements: CREATE/ALTER/DROP KEYSPACE, CREATE/DROP TABLE, CREATE/DROP TYPE, TRUNCATE.

What it is: each statement computes the next Schema (copy-on-write) with Cassandra's validation and
messages, then asks the node to apply it (persist, tell shards, push SCHEMA_CHANGE events).

What it must not do: mutate a Schema in place, or half-apply a change: the new schema is complete
before the node sees it. Schema statements the node cannot honour yet answer InvalidRequest.
"""

from __future__ import annotations

from ferrosa.coordinator.execution import (CompiledStatement, Execution, SchemaChangeResult,
                                           VoidResult, send_to_shards)
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.schema import model
from ferrosa.schema.errors import AlreadyExists, InvalidRequest
from ferrosa.schema.options import build_table_options, table_id_option

_KEYSPACE_PROPERTIES = frozenset({"replication", "durable_writes"})


def type_text(t: ast.CqlType) -> str:
    """The CQL text of a parsed (unresolved) type, in Cassandra's canonical spelling."""
    if isinstance(t, ast.NativeType):
        return "text" if t.name == "varchar" else t.name
    if isinstance(t, ast.CollectionType):
        inner = ", ".join(type_text(e) for e in t.element_types)
        text = f"{t.kind}<{inner}>"
        return f"frozen<{text}>" if t.frozen else text
    if isinstance(t, ast.TupleType):
        return "frozen<tuple<" + ", ".join(type_text(e) for e in t.element_types) + ">>"
    if isinstance(t, ast.VectorType):
        return f"vector<{type_text(t.element_type)}, {t.dimension}>"
    if isinstance(t, ast.UserType):
        name = model.maybe_quote(t.name.name)
        return f"frozen<{name}>" if t.frozen else name
    if isinstance(t, ast.CustomType):
        return f"'{t.class_name}'"
    raise InvalidRequest(f"Unsupported type {t}")


def _user_keyspace(schema: model.Schema, name: str) -> model.KeyspaceMetadata:
    ks = schema.keyspace(name)
    if ks is None:
        raise InvalidRequest(f"Keyspace '{name}' doesn't exist")
    if model.is_system_keyspace(name):
        raise InvalidRequest(f"{name} keyspace is not user-modifiable")
    return ks


class SchemaStatement(CompiledStatement):
    """A DDL statement: `plan` returns the next schema and the change to announce (or None)."""

    def __init__(self, stmt: ast.Statement, keyspace: str | None) -> None:
        self.stmt = stmt
        self.session_keyspace = keyspace

    def plan(self, schema: model.Schema, ex: Execution) -> tuple[model.Schema, SchemaChangeResult] | None:
        raise InvalidRequest(f"{type(self.stmt).__name__} is not supported yet by Ferrosa")

    async def execute(self, ex: Execution):
        planned = self.plan(ex.node.schema, ex)
        if planned is None:
            return VoidResult()  # IF [NOT] EXISTS made it a no-op
        new_schema, change = planned
        await ex.node.apply_schema(new_schema, change)
        return change


def _datacenters(ex: Execution) -> list[str]:
    return [ex.node.config.data_center]


class CreateKeyspace(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.CreateKeyspaceStatement = self.stmt
        model.validate_name("Keyspace", stmt.keyspace)
        _check_props(stmt.properties)
        if schema.keyspace(stmt.keyspace) is not None:
            if stmt.if_not_exists:
                return None
            raise AlreadyExists(stmt.keyspace)
        replication = stmt.properties.get("replication")
        if not isinstance(replication, dict):
            raise model.ConfigurationError("Missing mandatory option 'replication'") \
                if replication is None else InvalidRequest("replication must be a map")
        normalized = model.normalize_replication(replication, stmt.keyspace, _datacenters(ex))
        durable = _durable(stmt.properties, True)
        ks = model.KeyspaceMetadata(stmt.keyspace, normalized, durable)
        return schema.with_keyspace(ks), SchemaChangeResult("CREATED", "KEYSPACE", stmt.keyspace)


def _check_props(props: dict) -> None:
    for name in props:
        if name not in _KEYSPACE_PROPERTIES:
            from ferrosa.schema.errors import CqlSyntaxError
            raise CqlSyntaxError(f"Unknown property '{name}'")


def _durable(props: dict, default: bool) -> bool:
    value = props.get("durable_writes")
    if value is None:
        return default
    if not isinstance(value, str) or value.lower() not in ("true", "false"):
        raise model.ConfigurationError(f"Invalid boolean value {value} for 'durable_writes'")
    return value.lower() == "true"


class AlterKeyspace(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.AlterKeyspaceStatement = self.stmt
        _check_props(stmt.properties)
        if schema.keyspace(stmt.keyspace) is None and stmt.if_exists:
            return None
        ks = _user_keyspace(schema, stmt.keyspace)
        replication = ks.replication
        if "replication" in stmt.properties:
            replication = model.normalize_replication(stmt.properties["replication"],
                                                      stmt.keyspace, _datacenters(ex),
                                                      previous=ks.replication)
        new = model.KeyspaceMetadata(ks.name, replication,
                                     _durable(stmt.properties, ks.durable_writes), ks.tables,
                                     ks.types)
        return schema.with_keyspace(new), SchemaChangeResult("UPDATED", "KEYSPACE", ks.name)


class DropKeyspace(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.DropKeyspaceStatement = self.stmt
        if schema.keyspace(stmt.keyspace) is None:
            if stmt.if_exists:
                return None
            raise InvalidRequest(f"Keyspace '{stmt.keyspace}' doesn't exist")
        _user_keyspace(schema, stmt.keyspace)
        return (schema.without_keyspace(stmt.keyspace),
                SchemaChangeResult("DROPPED", "KEYSPACE", stmt.keyspace))


def table_keyspace(name: ast.QualifiedName, session_keyspace: str | None) -> str:
    keyspace = name.keyspace or session_keyspace
    if keyspace is None:
        raise InvalidRequest("No keyspace has been specified. USE a keyspace, or explicitly "
                             "specify keyspace.tablename")
    return keyspace


class CreateTable(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.CreateTableStatement = self.stmt
        keyspace = table_keyspace(stmt.table, self.session_keyspace)
        ks = _user_keyspace(schema, keyspace)
        model.validate_name("Table", stmt.table.name)
        if stmt.table.name in ks.tables:
            if stmt.if_not_exists:
                return None
            raise AlreadyExists(keyspace, stmt.table.name)
        if stmt.compact_storage:
            raise InvalidRequest("COMPACT STORAGE tables are not supported (Cassandra 4+ "
                                 "rejects them too)")
        if stmt.primary_key_count == 0:  # the parser already rejects several
            raise InvalidRequest("No PRIMARY KEY specifed for table '%s' (exactly one required)"
                                 % stmt.table.name)
        for col in stmt.columns:
            if col.mask is not None:
                raise InvalidRequest("Dynamic data masking is not supported yet by Ferrosa")
            _check_udts(ks, col.type)
        columns = [(c.name, type_text(c.type)) for c in stmt.columns]
        order = {o.column: "asc" if o.ascending else "desc" for o in stmt.clustering_order}
        options = build_table_options(stmt.properties)
        table = model.new_table(keyspace, stmt.table.name, columns, stmt.partition_key,
                                stmt.clustering_columns, order,
                                [c.name for c in stmt.columns if c.is_static], options,
                                table_id_option(stmt.properties))
        return (schema.with_table(table),
                SchemaChangeResult("CREATED", "TABLE", keyspace, stmt.table.name))


def _check_udts(ks: model.KeyspaceMetadata, t: ast.CqlType) -> None:
    if isinstance(t, ast.UserType):
        if t.name.keyspace not in (None, ks.name):
            raise InvalidRequest("Statement on keyspace %s cannot refer to a user type in "
                                 "keyspace %s; user types can only be used in the keyspace they "
                                 "are defined in" % (ks.name, t.name.keyspace))
        if t.name.name not in ks.types:
            raise InvalidRequest(f"Unknown type {ks.name}.{t.name.name}")
    for inner in getattr(t, "element_types", ()) or ():
        _check_udts(ks, inner)
    if isinstance(t, ast.VectorType):
        _check_udts(ks, t.element_type)


class DropTable(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.DropTableStatement = self.stmt
        keyspace = table_keyspace(stmt.table, self.session_keyspace)
        if schema.table(keyspace, stmt.table.name) is None:
            if stmt.if_exists:
                return None
            if schema.keyspace(keyspace) is None:
                raise InvalidRequest(f"Keyspace '{keyspace}' doesn't exist")
            raise InvalidRequest(f"Table '{keyspace}.{stmt.table.name}' doesn't exist")
        _user_keyspace(schema, keyspace)
        return (schema.without_table(keyspace, stmt.table.name),
                SchemaChangeResult("DROPPED", "TABLE", keyspace, stmt.table.name))


class CreateType(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.CreateTypeStatement = self.stmt
        keyspace = table_keyspace(stmt.name, self.session_keyspace)
        ks = _user_keyspace(schema, keyspace)
        if stmt.name.name in ks.types:
            if stmt.if_not_exists:
                return None
            raise InvalidRequest(f"A user type with name '{stmt.name.name}' already exists")
        names = [f.name for f in stmt.fields]
        if len(set(names)) != len(names):
            raise InvalidRequest(f"Duplicate field name in type {stmt.name.name}")
        for f in stmt.fields:
            _check_udts(ks, f.type)
        udt = model.UserType(keyspace, stmt.name.name, tuple(names),
                             tuple(type_text(f.type) for f in stmt.fields))
        return (schema.with_type(udt),
                SchemaChangeResult("CREATED", "TYPE", keyspace, stmt.name.name))


class DropType(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.DropTypeStatement = self.stmt
        keyspace = table_keyspace(stmt.name, self.session_keyspace)
        ks = schema.keyspace(keyspace)
        if ks is None or stmt.name.name not in ks.types:
            if stmt.if_exists:
                return None
            raise InvalidRequest(f"Type '{keyspace}.{stmt.name.name}' doesn't exist")
        _user_keyspace(schema, keyspace)
        for table in ks.tables.values():
            if any(stmt.name.name in model.referenced_udts(c.type) for c in table.columns):
                raise InvalidRequest(f"Cannot drop user type {keyspace}.{stmt.name.name} as it is "
                                     f"still used by table {keyspace}.{table.name}")
        return (schema.without_type(keyspace, stmt.name.name),
                SchemaChangeResult("DROPPED", "TYPE", keyspace, stmt.name.name))


class Truncate(CompiledStatement):
    is_write = True

    def __init__(self, table_id: bytes, keyspace: str, table: str) -> None:
        self.table_id = table_id
        self.keyspace, self.table = keyspace, table

    async def execute(self, ex: Execution):
        router = ex.node.router
        await send_to_shards(ex, {shard: m.DropTable(0, self.table_id)
                                  for shard in range(router.shard_count)})
        return VoidResult()


DDL_STATEMENTS = {
    ast.CreateKeyspaceStatement: CreateKeyspace,
    ast.AlterKeyspaceStatement: AlterKeyspace,
    ast.DropKeyspaceStatement: DropKeyspace,
    ast.CreateTableStatement: CreateTable,
    ast.DropTableStatement: DropTable,
    ast.CreateTypeStatement: CreateType,
    ast.DropTypeStatement: DropType,
}
