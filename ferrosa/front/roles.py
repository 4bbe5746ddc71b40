"""Role management statements: CREATE/ALTER/DROP ROLE (and the legacy USER forms), GRANT/REVOKE of
roles, LIST ROLES and LIST USERS, executed against the front's RoleStore (`system_auth.roles`).

What it is: compiled forms of the DCL statements above with Cassandra's checks and messages
(CassandraRoleManager, CreateRoleStatement & co.). Ferrosa has no authorizer yet, so data access is
open to every logged-in role as with Cassandra's default AllowAllAuthorizer; managing *other* roles,
however, needs superuser status here (with AllowAllAuthorizer any login could reset the superuser's
password), and errors then read as CassandraAuthorizer's would.

What it must not do: hash passwords on the event loop (bcrypt costs ~100 ms by design: run in a
thread), store or log a clear-text password, or change a role in place (RoleStore is copy-on-write).
"""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Any

from ferrosa.coordinator.execution import (
    CompiledStatement,
    Execution,
    ResultColumn,
    RowsResult,
    VoidResult,
)
from ferrosa.coordinator.statements import register_compiler
from ferrosa.cql import ast
from ferrosa.front.auth import Role, hash_password
from ferrosa.protocol import types as T
from ferrosa.schema.errors import InvalidRequest, Unauthorized

ROLE_MANAGER_CLASS = "org.apache.cassandra.auth.CassandraRoleManager"
AUTH_KEYSPACE, ROLES_TABLE = "system_auth", "roles"
# What LIST ROLES/USERS show for network permissions: Ferrosa does not restrict datacenters.
ALL_DATACENTERS = "ALL"
# A bcrypt hash as Cassandra accepts for HASHED PASSWORD: $2a$/$2b$/$2y$, cost, 53 chars of salt+hash.
_BCRYPT_HASH = re.compile(r"\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}\Z")
_INT = struct.Struct(">i")
_NOT_LOGGED_IN = "You have to be logged in and not anonymous to perform this request"

_TEXT_MAP = T.MapType(T.TEXT, T.TEXT)
LIST_ROLES_COLUMNS = [ResultColumn(AUTH_KEYSPACE, ROLES_TABLE, name, t) for name, t in (
    ("role", T.TEXT), ("super", T.BOOLEAN), ("login", T.BOOLEAN), ("options", _TEXT_MAP),
    ("datacenters", T.TEXT))]
LIST_USERS_COLUMNS = [ResultColumn(AUTH_KEYSPACE, "users", name, t) for name, t in (
    ("name", T.TEXT), ("super", T.BOOLEAN), ("datacenters", T.TEXT))]


def _logged_in(ex: Execution) -> str:
    user = ex.session.user
    if user is None:
        raise Unauthorized(_NOT_LOGGED_IN)
    return user


def _is_super(ex: Execution, user: str) -> bool:
    return ex.node.roles.has_superuser_status(user)


def _require_permission(ex: Execution, user: str, permission: str, resource: str) -> None:
    if not _is_super(ex, user):
        raise Unauthorized(f"User {user} has no {permission} permission on {resource} or any of "
                           f"its parents")


def _validate_options(ex: Execution, opts: ast.RoleOptions) -> None:
    """RoleOptions.validate: only the options CassandraRoleManager supports with this
    authenticator (passwords need PasswordAuthenticator)."""
    passwords = not ex.node.config.auth_disabled
    given = {"LOGIN": opts.login, "SUPERUSER": opts.superuser, "OPTIONS": opts.options,
             "PASSWORD": opts.password, "HASHED_PASSWORD": opts.hashed_password}
    supported = {"LOGIN", "SUPERUSER"} | ({"PASSWORD", "HASHED_PASSWORD"} if passwords else set())
    for option, value in given.items():
        if value is not None and option not in supported:
            raise InvalidRequest(f"{ROLE_MANAGER_CLASS} doesn't support {option}")
    if opts.generated_password:
        raise InvalidRequest("GENERATED PASSWORD is not supported yet by Ferrosa (it needs a "
                             "password generator)")
    for name, access in (("DATACENTERS", opts.datacenters), ("CIDRS", opts.cidrs)):
        if access is not None and not access.all:
            raise InvalidRequest(f"Restricting roles to {name} is not supported yet by Ferrosa "
                                 f"(use ACCESS TO ALL {name})")
    if opts.hashed_password is not None and not _BCRYPT_HASH.match(opts.hashed_password):
        raise InvalidRequest("Hashed password is not a valid bcrypt hash")


async def _salted_hash(opts: ast.RoleOptions, current: str | None) -> str | None:
    if opts.hashed_password is not None:
        return opts.hashed_password
    if opts.password is not None:
        return await asyncio.get_running_loop().run_in_executor(None, hash_password, opts.password)
    return current


class CreateRole(CompiledStatement):
    def __init__(self, stmt: ast.CreateRoleStatement) -> None:
        self.stmt = stmt

    async def execute(self, ex: Execution) -> VoidResult:
        s, store = self.stmt, ex.node.roles
        _validate_options(ex, s.options)
        if not s.role:
            raise InvalidRequest("Role name can't be an empty string")
        user = _logged_in(ex)
        if s.options.superuser and not _is_super(ex, user):
            raise Unauthorized("Only superusers can create a role with superuser status")
        _require_permission(ex, user, "CREATE", "<all roles>")
        if store.get(s.role) is not None:
            if s.if_not_exists:
                return VoidResult()
            raise InvalidRequest(f"{s.role} already exists")
        salted = await _salted_hash(s.options, None)
        store.put(Role(s.role, can_login=bool(s.options.login),
                       is_superuser=bool(s.options.superuser), salted_hash=salted))
        return VoidResult()


class AlterRole(CompiledStatement):
    def __init__(self, stmt: ast.AlterRoleStatement) -> None:
        self.stmt = stmt

    def _check_access(self, ex: Execution, user: str) -> None:
        s, store = self.stmt, ex.node.roles
        if s.options.superuser is not None:
            if s.role in store.roles_of(user):
                raise Unauthorized("You aren't allowed to alter your own superuser status or that "
                                   "of a role granted to you")
            if not _is_super(ex, user):
                raise Unauthorized("Only superusers are allowed to alter superuser status")
        if _is_super(ex, user):
            return
        if user != s.role:
            _require_permission(ex, user, "ALTER", f"<role {s.role}>")
        for option, value in (("LOGIN", s.options.login), ("OPTIONS", s.options.options)):
            if value is not None:
                raise Unauthorized(f"You aren't allowed to alter {option}")

    async def execute(self, ex: Execution) -> VoidResult:
        s, store = self.stmt, ex.node.roles
        opts = s.options
        _validate_options(ex, opts)
        if opts == ast.RoleOptions():
            raise InvalidRequest("ALTER [ROLE|USER] can't be empty")
        user = _logged_in(ex)
        role = store.get(s.role)
        if role is None:
            if s.if_exists:
                return VoidResult()
            raise InvalidRequest(f"{s.role} doesn't exist")
        self._check_access(ex, user)
        salted = await _salted_hash(opts, role.salted_hash)
        store.put(Role(role.role,
                       can_login=role.can_login if opts.login is None else opts.login,
                       is_superuser=role.is_superuser if opts.superuser is None else opts.superuser,
                       member_of=list(role.member_of), salted_hash=salted))
        return VoidResult()


class DropRole(CompiledStatement):
    def __init__(self, stmt: ast.DropRoleStatement) -> None:
        self.stmt = stmt

    async def execute(self, ex: Execution) -> VoidResult:
        s, store = self.stmt, ex.node.roles
        user = _logged_in(ex)
        exists = store.get(s.role) is not None
        if exists and store.has_superuser_status(s.role) and not _is_super(ex, user):
            raise Unauthorized("Only superusers can drop a role with superuser status")
        _require_permission(ex, user, "DROP", f"<role {s.role}>")
        if not exists:
            if s.if_exists:
                return VoidResult()
            raise InvalidRequest(f"{s.role} doesn't exist")
        if user == s.role:
            raise InvalidRequest("Cannot DROP primary role for current login")
        store.delete(s.role)
        return VoidResult()


class GrantRole(CompiledStatement):
    def __init__(self, role: str, grantee: str) -> None:
        self.role, self.grantee = role, grantee

    def _validate(self, ex: Execution) -> tuple[Role, Role]:
        store = ex.node.roles
        user = _logged_in(ex)
        role, grantee = store.get(self.role), store.get(self.grantee)
        if role is None:
            raise InvalidRequest(f"{self.role} doesn't exist")
        if grantee is None:
            raise InvalidRequest(f"{self.grantee} doesn't exist")
        _require_permission(ex, user, "AUTHORIZE", f"<role {self.role}>")
        return role, grantee

    async def execute(self, ex: Execution) -> VoidResult:
        store = ex.node.roles
        _role, grantee = self._validate(ex)
        if self.role in store.roles_of(self.grantee):
            raise InvalidRequest(f"{self.grantee} is a member of {self.role}")
        if self.grantee in store.roles_of(self.role):
            raise InvalidRequest(f"{self.role} is a member of {self.grantee}")
        store.put(Role(grantee.role, grantee.can_login, grantee.is_superuser,
                       sorted(set(grantee.member_of) | {self.role}), grantee.salted_hash))
        return VoidResult()


class RevokeRole(GrantRole):
    async def execute(self, ex: Execution) -> VoidResult:
        _role, revokee = self._validate(ex)
        if self.role not in revokee.member_of:
            raise InvalidRequest(f"{self.grantee} is not a member of {self.role}")
        store = ex.node.roles
        store.put(Role(revokee.role, revokee.can_login, revokee.is_superuser,
                       [r for r in revokee.member_of if r != self.role], revokee.salted_hash))
        return VoidResult()


def _bool(value: bool) -> bytes:
    return b"\x00\x00\x00\x01\x01" if value else b"\x00\x00\x00\x01\x00"


def _text(value: str) -> bytes:
    data = value.encode()
    return _INT.pack(len(data)) + data


# An empty map<text, text>: Cassandra answers {} for roles without custom options, never null.
_EMPTY_MAP = _INT.pack(4) + _INT.pack(0)


class ListRoles(CompiledStatement):
    keyspace, table = AUTH_KEYSPACE, ROLES_TABLE
    result_columns = LIST_ROLES_COLUMNS

    def __init__(self, grantee: str | None, recursive: bool) -> None:
        self.grantee, self.recursive = grantee, recursive

    def _names(self, ex: Execution) -> set[str]:
        store = ex.node.roles
        user = _logged_in(ex)
        if self.grantee is not None and store.get(self.grantee) is None:
            raise InvalidRequest(f"{self.grantee} doesn't exist")
        if _is_super(ex, user):
            if self.grantee is None:
                return set(store.roles)
            return store.roles_of(self.grantee, self.recursive)
        if self.grantee is None:
            return store.roles_of(user, self.recursive)
        if self.grantee in store.roles_of(user):
            return store.roles_of(self.grantee, self.recursive)
        raise Unauthorized(f"You are not authorized to view roles granted to {self.grantee} ")

    async def execute(self, ex: Execution) -> VoidResult | RowsResult:
        store = ex.node.roles
        names = sorted(n for n in self._names(ex) if store.get(n) is not None)
        if not names:
            return VoidResult()
        rows = []
        for name in names:
            role = store.get(name)
            rows.append(_text(name) + _bool(role.is_superuser) + _bool(role.can_login)
                        + _EMPTY_MAP + _text(ALL_DATACENTERS))
        return RowsResult(self.result_columns, len(rows), b"".join(rows))


class ListUsers(CompiledStatement):
    """Legacy LIST USERS: the roles that can log in, with their (inherited) superuser status."""

    keyspace, table = AUTH_KEYSPACE, "users"
    result_columns = LIST_USERS_COLUMNS

    async def execute(self, ex: Execution) -> RowsResult:
        _logged_in(ex)
        store = ex.node.roles
        names = sorted(name for name, role in store.roles.items() if role.can_login)
        rows = [_text(n) + _bool(store.has_superuser_status(n)) + _text(ALL_DATACENTERS)
                for n in names]
        return RowsResult(self.result_columns, len(rows), b"".join(rows))


_STATEMENTS: dict[type, Any] = {
    ast.CreateRoleStatement: lambda node, s, ks: CreateRole(s),
    ast.AlterRoleStatement: lambda node, s, ks: AlterRole(s),
    ast.DropRoleStatement: lambda node, s, ks: DropRole(s),
    ast.GrantRoleStatement: lambda node, s, ks: GrantRole(s.role, s.grantee),
    ast.RevokeRoleStatement: lambda node, s, ks: RevokeRole(s.role, s.revokee),
    ast.ListRolesStatement: lambda node, s, ks: ListRoles(s.grantee, s.recursive),
    ast.ListUsersStatement: lambda node, s, ks: ListUsers(),
}


def register() -> None:
    """Make the role statements known to the statement compiler (called once by the front)."""
    for ast_type, compiler in _STATEMENTS.items():
        register_compiler(ast_type, compiler)
