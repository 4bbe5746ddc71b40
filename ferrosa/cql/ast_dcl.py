"""AST, part 3: roles, users, permissions, identities and DESCRIBE (re-exported by ast.py).

This module must NOT validate or evaluate anything; see ast.py for the conventions.
"""

from __future__ import annotations

import enum

from ferrosa.cql.ast_expressions import CqlType, Node
from ferrosa.cql.ast_statements import Statement


# ---------------------------------------------------------------------------------------------------
# DCL: roles, users, permissions, identities
# ---------------------------------------------------------------------------------------------------


class AccessSet(Node, frozen=True, gc=False):
    """``ACCESS TO ALL DATACENTERS`` (all=True) or ``ACCESS TO DATACENTERS {'dc1', ...}``;
    likewise for ``ACCESS FROM [ALL] CIDRS``."""

    all: bool
    items: tuple[str, ...] = ()


class RoleOptions(Node, frozen=True, gc=False):
    """Options of CREATE/ALTER ROLE/USER; None means "not specified"."""

    password: str | None = None
    hashed_password: str | None = None
    generated_password: bool = False
    login: bool | None = None
    superuser: bool | None = None
    options: dict[str, str] | None = None
    datacenters: AccessSet | None = None
    cidrs: AccessSet | None = None


class CreateRoleStatement(Statement, frozen=True, gc=False):
    """Also produced by the legacy ``CREATE USER`` (with ``is_user`` set, login true, names keep case)."""

    role: str
    options: RoleOptions
    if_not_exists: bool = False
    is_user: bool = False


class AlterRoleStatement(Statement, frozen=True, gc=False):
    role: str
    options: RoleOptions
    if_exists: bool = False
    is_user: bool = False


class DropRoleStatement(Statement, frozen=True, gc=False):
    role: str
    if_exists: bool = False
    is_user: bool = False


class GrantRoleStatement(Statement, frozen=True, gc=False):
    role: str
    grantee: str


class RevokeRoleStatement(Statement, frozen=True, gc=False):
    role: str
    revokee: str


class ListRolesStatement(Statement, frozen=True, gc=False):
    grantee: str | None = None
    recursive: bool = True


class ListUsersStatement(Statement, frozen=True, gc=False):
    pass


class ListSuperUsersStatement(Statement, frozen=True, gc=False):
    pass


class Permission(enum.Enum):
    CREATE = "CREATE"
    ALTER = "ALTER"
    DROP = "DROP"
    SELECT = "SELECT"
    MODIFY = "MODIFY"
    AUTHORIZE = "AUTHORIZE"
    DESCRIBE = "DESCRIBE"
    EXECUTE = "EXECUTE"
    UNMASK = "UNMASK"
    SELECT_MASKED = "SELECT_MASKED"


ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


class Resource(Node, frozen=True, gc=False):
    """Base of GRANT/REVOKE/LIST resources (Cassandra's ``IResource``)."""


class DataResource(Resource, frozen=True, gc=False):
    """ALL KEYSPACES (both None), KEYSPACE k (table None), [TABLE] [k.]t, or ALL TABLES IN KEYSPACE k
    (``all_tables``). A table without keyspace means the session keyspace."""

    keyspace: str | None = None
    table: str | None = None
    all_tables: bool = False


class RoleResource(Resource, frozen=True, gc=False):
    """ALL ROLES (role None) or ROLE r."""

    role: str | None = None


class FunctionResource(Resource, frozen=True, gc=False):
    """ALL FUNCTIONS (all None), ALL FUNCTIONS IN KEYSPACE k, or FUNCTION [k.]f(types)."""

    keyspace: str | None = None
    name: str | None = None
    arg_types: tuple[CqlType, ...] | None = None


class JMXResource(Resource, frozen=True, gc=False):
    """ALL MBEANS (mbean None) or MBEAN / MBEANS 'name-or-pattern' (as written)."""

    mbean: str | None = None
    is_pattern: bool = False


class GrantPermissionsStatement(Statement, frozen=True, gc=False):
    """``permissions`` is already filtered to those applicable to the resource, as Cassandra does."""

    permissions: frozenset[Permission]
    resource: Resource
    grantee: str


class RevokePermissionsStatement(Statement, frozen=True, gc=False):
    permissions: frozenset[Permission]
    resource: Resource
    revokee: str


class ListPermissionsStatement(Statement, frozen=True, gc=False):
    permissions: frozenset[Permission]
    resource: Resource | None = None
    grantee: str | None = None
    recursive: bool = True


class AddIdentityStatement(Statement, frozen=True, gc=False):
    identity: str
    role: str
    if_not_exists: bool = False


class DropIdentityStatement(Statement, frozen=True, gc=False):
    identity: str
    if_exists: bool = False


# ---------------------------------------------------------------------------------------------------
# DESCRIBE (server-side, Cassandra 4+)
# ---------------------------------------------------------------------------------------------------


class DescribeKind(enum.Enum):
    CLUSTER = "cluster"
    SCHEMA = "schema"
    KEYSPACES = "keyspaces"
    KEYSPACE = "keyspace"
    TABLES = "tables"
    TABLE = "table"
    INDEX = "index"
    MATERIALIZED_VIEW = "materialized_view"
    TYPES = "types"
    TYPE = "type"
    FUNCTIONS = "functions"
    FUNCTION = "function"
    AGGREGATES = "aggregates"
    AGGREGATE = "aggregate"
    GENERIC = "generic"  # DESCRIBE [ks.]name: keyspace, table, view, index, type, function...


class DescribeStatement(Statement, frozen=True, gc=False):
    """``keyspace``/``name`` as applicable to ``kind``; ``full`` is DESCRIBE FULL SCHEMA, ``only``
    is DESCRIBE ONLY KEYSPACE, ``with_internals`` is the WITH INTERNALS suffix."""

    kind: DescribeKind
    keyspace: str | None = None
    name: str | None = None
    full: bool = False
    only: bool = False
    with_internals: bool = False


__all__ = [
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and getattr(value, "__module__", None) == __name__
] + ["ALL_PERMISSIONS"]
