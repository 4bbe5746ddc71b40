"""Schema statements: CREATE/ALTER/DROP KEYSPACE, CREATE/DROP TABLE, CREATE/DROP TYPE, TRUNCATE.

What it is: each statement computes the next Schema (copy-on-write) with Cassandra's validation and
messages, then asks the node to apply it (persist, tell shards, push SCHEMA_CHANGE events).

Theory of operation: a statement checks in Cassandra's order. (1) What the grammar actions and
``Raw.prepare`` refuse (no PRIMARY KEY, no keyspace). (2) ``authorize``: ClientState's
preventSystemKSSchemaModification answers Unauthorized for schema changes in system keyspaces. (3)
AlterSchemaStatement.execute's refusals of local system and virtual keyspaces. (4) ``apply``: the
keyspace and object exist, then the types (``prepare_type``, CQL3Type.Raw.prepare's checks, which
also gives the canonical type text Cassandra stores), then the statement's own rules.

What it must not do: mutate a Schema in place, or half-apply a change: the new schema is complete
before the node sees it. Schema statements the node cannot honour yet answer InvalidRequest.
"""

from __future__ import annotations

from typing import Callable

import msgspec

from ferrosa.coordinator.execution import (CompiledStatement, Execution, SchemaChangeResult,
                                           VoidResult, send_to_shards)
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.schema import model
from ferrosa.schema.errors import AlreadyExists, CqlSyntaxError, InvalidRequest, Unauthorized
from ferrosa.schema.options import build_table_options, table_id_option

_KEYSPACE_PROPERTIES = frozenset({"replication", "durable_writes"})

# --------------------------------------------------------------------------- types


def _frozen(t: ast.CqlType) -> ast.CqlType:
    """``Raw.freeze``: a frozen collection freezes what it holds; tuples and vectors are frozen
    already and native types cannot be."""
    if isinstance(t, ast.CollectionType):
        return ast.CollectionType(t.kind, tuple(_frozen(e) for e in t.element_types), True)
    if isinstance(t, ast.UserType):
        return msgspec.structs.replace(t, frozen=True)
    return t


def _as_cassandra_builds(t: ast.CqlType) -> ast.CqlType:
    """The raw type as Cassandra's grammar builds it: ``frozen<>`` reaches every nested
    collection and UDT, and a tuple freezes its elements (RawTuple's constructor)."""
    if isinstance(t, ast.CollectionType):
        elements = tuple(_as_cassandra_builds(e) for e in t.element_types)
        if t.frozen:
            elements = tuple(_frozen(e) for e in elements)
        return ast.CollectionType(t.kind, elements, t.frozen)
    if isinstance(t, ast.TupleType):
        return ast.TupleType(tuple(_frozen(_as_cassandra_builds(e)) for e in t.element_types),
                             True)
    if isinstance(t, ast.VectorType):
        return ast.VectorType(_as_cassandra_builds(t.element_type), t.dimension)
    return t


def _canonical(t: ast.CqlType) -> str:
    if isinstance(t, ast.NativeType):
        return "text" if t.name == "varchar" else t.name
    if isinstance(t, ast.CollectionType):
        text = f"{t.kind}<{', '.join(_canonical(e) for e in t.element_types)}>"
        return f"frozen<{text}>" if t.frozen else text
    if isinstance(t, ast.TupleType):
        return "frozen<tuple<" + ", ".join(_canonical(e) for e in t.element_types) + ">>"
    if isinstance(t, ast.VectorType):
        return f"vector<{_canonical(t.element_type)}, {t.dimension}>"
    if isinstance(t, ast.UserType):
        name = model.maybe_quote(t.name.name)
        return f"frozen<{name}>" if t.frozen else name
    if isinstance(t, ast.CustomType):
        return f"'{t.class_name}'"
    raise InvalidRequest(f"Unsupported type {t}")


def type_text(t: ast.CqlType) -> str:
    """The canonical CQL text of a declared type, as ``system_schema`` stores it."""
    return _canonical(_as_cassandra_builds(t))


def raw_text(t: ast.CqlType, keyspace: str | None = None) -> str:
    """``CQL3Type.Raw.toString``: the type as written (``varchar`` stays, UDT names unquoted).
    Preparing a UDT sets its keyspace, so messages printed after ``prepare`` pass ``keyspace``."""
    if isinstance(t, ast.NativeType):
        return t.name
    if isinstance(t, ast.CollectionType):
        text = f"{t.kind}<{', '.join(raw_text(e, keyspace) for e in t.element_types)}>"
        return f"frozen<{text}>" if t.frozen else text
    if isinstance(t, ast.TupleType):
        return "tuple<" + ", ".join(raw_text(e, keyspace) for e in t.element_types) + ">"
    if isinstance(t, ast.VectorType):
        return f"vector<{raw_text(t.element_type, keyspace)}, {t.dimension}>"
    if isinstance(t, ast.UserType):
        owner = t.name.keyspace or keyspace
        name = t.name.name if owner is None else f"{owner}.{t.name.name}"
        return f"frozen<{name}>" if t.frozen else name
    if isinstance(t, ast.CustomType):
        return f"'{t.class_name}'"
    raise InvalidRequest(f"Unsupported type {t}")


def _is_counter(t: ast.CqlType) -> bool:
    return isinstance(t, ast.NativeType) and t.name == "counter"


def _is_duration(t: ast.CqlType) -> bool:
    return isinstance(t, ast.NativeType) and t.name == "duration"


def _check_nested_frozen(outer: ast.CollectionType, inner: ast.CqlType) -> None:
    if isinstance(inner, ast.CollectionType) and not inner.frozen:
        raise InvalidRequest(f"Non-frozen collections are not allowed inside collections: "
                             f"{raw_text(outer)}")
    if isinstance(inner, ast.UserType) and not inner.frozen:
        raise InvalidRequest(f"Non-frozen UDTs are not allowed inside collections: "
                             f"{raw_text(outer)}")


def _prepare_collection(t: ast.CollectionType, ks: model.KeyspaceMetadata) -> None:
    values = t.element_types[-1]
    keys = t.element_types[0] if t.kind == "map" else None
    if not t.frozen:
        _check_nested_frozen(t, values)
    if _is_counter(values):
        raise InvalidRequest(f"Counters are not allowed inside collections: {raw_text(t)}")
    if _is_duration(values) and t.kind == "set":
        raise InvalidRequest(f"Durations are not allowed inside sets: {raw_text(t)}")
    if keys is not None:
        if _is_counter(keys):
            raise InvalidRequest(f"Counters are not allowed inside collections: {raw_text(t)}")
        if _is_duration(keys):
            raise InvalidRequest(f"Durations are not allowed as map keys: {raw_text(t)}")
        if not t.frozen:
            _check_nested_frozen(t, keys)
    _prepare(values, ks)
    if keys is not None:
        _prepare(keys, ks)


def _prepare_tuple(t: ast.TupleType, ks: model.KeyspaceMetadata) -> None:
    for element in t.element_types:
        if _is_counter(element):
            raise InvalidRequest("Counters are not allowed inside tuples")
        _prepare(element, ks)


def _prepare_vector(t: ast.VectorType, ks: model.KeyspaceMetadata) -> None:
    _prepare(t.element_type, ks)
    if t.dimension <= 0:  # VectorType's constructor
        raise InvalidRequest(f"vectors may only have positive dimensions; given {t.dimension}")


def _prepare_udt(t: ast.UserType, ks: model.KeyspaceMetadata) -> None:
    if t.name.keyspace not in (None, ks.name):
        raise InvalidRequest("Statement on keyspace %s cannot refer to a user type in keyspace "
                             "%s; user types can only be used in the keyspace they are defined "
                             "in" % (ks.name, t.name.keyspace))
    if t.name.name not in ks.types:
        raise InvalidRequest(f"Unknown type {ks.name}.{t.name.name}")


def _prepare_nothing(t: ast.CqlType, ks: model.KeyspaceMetadata) -> None:
    pass


_PREPARE: dict[type, Callable] = {
    ast.CollectionType: _prepare_collection, ast.TupleType: _prepare_tuple,
    ast.VectorType: _prepare_vector, ast.UserType: _prepare_udt,
    ast.NativeType: _prepare_nothing, ast.CustomType: _prepare_nothing,
}


def _prepare(t: ast.CqlType, ks: model.KeyspaceMetadata) -> None:
    _PREPARE[type(t)](t, ks)


def prepare_type(t: ast.CqlType, ks: model.KeyspaceMetadata) -> str:
    """``CQL3Type.Raw.prepare``: Cassandra's refusals of a declared type (counters, durations
    and non-frozen types where they cannot go, vector dimensions, unknown or foreign UDTs), in
    its order; returns the canonical type text."""
    built = _as_cassandra_builds(t)
    _prepare(built, ks)
    return _canonical(built)


def check_user_type_field(t: ast.CqlType) -> None:
    """What a UDT field may not be (Create/AlterTypeStatement), checked before preparing it."""
    if _is_counter(t):
        raise InvalidRequest("A user type cannot contain counters")
    if isinstance(t, ast.UserType) and not t.frozen:
        raise InvalidRequest("A user type cannot contain non-frozen UDTs")


# --------------------------------------------------------------------------- system keyspaces

# DataResource.toString, the resource a schema statement's permission is checked on.
def keyspace_resource(keyspace: str) -> str:
    return f"<keyspace {keyspace}>"


def all_tables_resource(keyspace: str) -> str:
    return f"<all tables in {keyspace}>"


def table_resource(keyspace: str, table: str) -> str:
    return f"<table {keyspace}.{table}>"


def check_schema_permission(keyspace: str, permission: str, resource: str) -> None:
    """``ClientState.preventSystemKSSchemaModification`` for CREATE, ALTER and DROP: never in a
    local system keyspace; in a replicated one only ALTER of the keyspace itself."""
    lowered = keyspace.lower()
    if lowered in model.LOCAL_SYSTEM_KEYSPACES:
        raise Unauthorized(f"{keyspace} keyspace is not user-modifiable.")
    if lowered in model.REPLICATED_SYSTEM_KEYSPACES:
        if permission == "ALTER" and resource == keyspace_resource(keyspace):
            return
        raise Unauthorized(f"Cannot {permission} {resource}")


def check_modifiable(schema: model.Schema, keyspace: str) -> None:
    """AlterSchemaStatement.execute's refusals, before the statement looks at the schema."""
    if keyspace.lower() in model.LOCAL_SYSTEM_KEYSPACES:
        raise InvalidRequest(f"System keyspace '{keyspace}' is not user-modifiable")
    ks = schema.keyspace(keyspace)
    if ks is not None and ks.virtual:
        raise InvalidRequest(f"Virtual keyspace '{keyspace}' is not user-modifiable")


def schema_keyspace(schema: model.Schema, keyspace: str, permission: str,
                    resource: str) -> None:
    """Steps (2) and (3) of every schema statement on ``keyspace``."""
    check_schema_permission(keyspace, permission, resource)
    check_modifiable(schema, keyspace)


def _user_keyspace(schema: model.Schema, name: str) -> model.KeyspaceMetadata:
    ks = schema.keyspace(name)
    if ks is None:
        raise InvalidRequest(f"Keyspace '{name}' doesn't exist")
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
        check_modifiable(schema, stmt.keyspace)  # CREATE on all keyspaces: no system check
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
        schema_keyspace(schema, stmt.keyspace, "ALTER", keyspace_resource(stmt.keyspace))
        if stmt.keyspace.lower() in model.REPLICATED_SYSTEM_KEYSPACES:
            # Cassandra lets a superuser change it; Ferrosa builds these keyspaces in.
            raise InvalidRequest(f"ALTER KEYSPACE {stmt.keyspace} is not supported yet by "
                                 f"Ferrosa (its system keyspaces are built in)")
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
        schema_keyspace(schema, stmt.keyspace, "DROP", keyspace_resource(stmt.keyspace))
        if schema.keyspace(stmt.keyspace) is None:
            if stmt.if_exists:
                return None
            raise InvalidRequest(f"Keyspace '{stmt.keyspace}' doesn't exist")
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
        if stmt.primary_key_count == 0:  # the parser already rejects several
            raise InvalidRequest(f"No PRIMARY KEY specifed for table '{stmt.table}' (exactly "
                                 f"one required)")
        schema_keyspace(schema, keyspace, "CREATE", all_tables_resource(keyspace))
        if any(col.mask is not None for col in stmt.columns):
            raise InvalidRequest("Dynamic data masking is not supported yet by Ferrosa")
        ks = _user_keyspace(schema, keyspace)
        if stmt.table.name in ks.tables:
            if stmt.if_not_exists:
                return None
            raise AlreadyExists(keyspace, stmt.table.name)
        if stmt.compact_storage:
            raise InvalidRequest("COMPACT STORAGE tables are not supported (Cassandra 4+ "
                                 "rejects them too)")
        options = build_table_options(stmt.properties)
        columns = [(c.name, prepare_type(c.type, ks)) for c in stmt.columns]
        order = {o.column: "asc" if o.ascending else "desc" for o in stmt.clustering_order}
        table = model.new_table(keyspace, stmt.table.name, columns, stmt.partition_key,
                                stmt.clustering_columns, order,
                                [c.name for c in stmt.columns if c.is_static], options,
                                table_id_option(stmt.properties), ks.types)
        model.validate_name("Table", stmt.table.name)  # TableMetadata.validate, once built
        return (schema.with_table(table),
                SchemaChangeResult("CREATED", "TABLE", keyspace, stmt.table.name))


class DropTable(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.DropTableStatement = self.stmt
        keyspace = table_keyspace(stmt.table, self.session_keyspace)
        schema_keyspace(schema, keyspace, "DROP", table_resource(keyspace, stmt.table.name))
        if schema.table(keyspace, stmt.table.name) is None:
            if stmt.if_exists:
                return None
            if schema.keyspace(keyspace) is None:
                raise InvalidRequest(f"Keyspace '{keyspace}' doesn't exist")
            raise InvalidRequest(f"Table '{keyspace}.{stmt.table.name}' doesn't exist")
        return (schema.without_table(keyspace, stmt.table.name),
                SchemaChangeResult("DROPPED", "TABLE", keyspace, stmt.table.name))


class CreateType(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.CreateTypeStatement = self.stmt
        keyspace = table_keyspace(stmt.name, self.session_keyspace)
        schema_keyspace(schema, keyspace, "CREATE", all_tables_resource(keyspace))
        ks = _user_keyspace(schema, keyspace)
        if stmt.name.name in ks.types:
            if stmt.if_not_exists:
                return None
            raise InvalidRequest(f"A user type with name '{stmt.name.name}' already exists")
        names: set[str] = set()
        for f in stmt.fields:
            if f.name in names:
                raise InvalidRequest(f"Duplicate field name '{f.name}' in type "
                                     f"'{stmt.name.name}'")
            names.add(f.name)
        for f in stmt.fields:
            check_user_type_field(f.type)
        field_types = tuple(prepare_type(f.type, ks) for f in stmt.fields)
        udt = model.UserType(keyspace, stmt.name.name, tuple(f.name for f in stmt.fields),
                             field_types)
        return (schema.with_type(udt),
                SchemaChangeResult("CREATED", "TYPE", keyspace, stmt.name.name))


class DropType(SchemaStatement):
    def plan(self, schema, ex):
        stmt: ast.DropTypeStatement = self.stmt
        keyspace = table_keyspace(stmt.name, self.session_keyspace)
        schema_keyspace(schema, keyspace, "DROP", all_tables_resource(keyspace))
        ks = schema.keyspace(keyspace)
        if ks is None or stmt.name.name not in ks.types:
            if stmt.if_exists:
                return None
            raise InvalidRequest(f"Type '{keyspace}.{stmt.name.name}' doesn't exist")
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
