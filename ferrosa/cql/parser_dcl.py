"""DCL and introspection statements: roles, legacy users, permissions, identities, DESCRIBE.

This module must NOT look up roles, resources or schema objects. It applies the grammar actions
Cassandra runs while parsing: role option defaults and exclusivity, permission filtering by
resource type, JMX object-name checks, keyspace-qualified function resources.
"""

from __future__ import annotations

import re

from ferrosa.cql import ast
from ferrosa.cql.parser_base import IDENT_TYPES, NO_VIABLE, UNRESERVED_KEYWORDS, ParseFailure
from ferrosa.cql.parser_ddl import DdlParser

__all__ = ["DclParser"]

_PERMISSION_TYPES = {
    "K_CREATE": ast.Permission.CREATE,
    "K_ALTER": ast.Permission.ALTER,
    "K_DROP": ast.Permission.DROP,
    "K_SELECT": ast.Permission.SELECT,
    "K_MODIFY": ast.Permission.MODIFY,
    "K_AUTHORIZE": ast.Permission.AUTHORIZE,
    "K_DESCRIBE": ast.Permission.DESCRIBE,
    "K_EXECUTE": ast.Permission.EXECUTE,
    "K_UNMASK": ast.Permission.UNMASK,
    "K_SELECT_MASKED": ast.Permission.SELECT_MASKED,
}
_P = ast.Permission
_DATA_COLLECTION = frozenset(
    (_P.CREATE, _P.ALTER, _P.DROP, _P.SELECT, _P.MODIFY, _P.AUTHORIZE, _P.UNMASK, _P.SELECT_MASKED)
)
_DATA_TABLE = _DATA_COLLECTION - {_P.CREATE}
_FUNCTION_COLLECTION = frozenset((_P.CREATE, _P.ALTER, _P.DROP, _P.AUTHORIZE, _P.EXECUTE))
_FUNCTION_SINGLE = _FUNCTION_COLLECTION - {_P.CREATE}
_ROLE_ROOT = frozenset((_P.CREATE, _P.ALTER, _P.DROP, _P.AUTHORIZE, _P.DESCRIBE))
_ROLE_SINGLE = frozenset((_P.ALTER, _P.DROP, _P.AUTHORIZE))
_JMX = frozenset((_P.AUTHORIZE, _P.DESCRIBE, _P.EXECUTE, _P.MODIFY, _P.SELECT))


def applicable_permissions(resource: ast.Resource) -> frozenset[ast.Permission]:
    """The permissions a resource supports (Cassandra's IResource.applicablePermissions)."""
    if isinstance(resource, ast.DataResource):
        return _DATA_TABLE if resource.table is not None else _DATA_COLLECTION
    if isinstance(resource, ast.FunctionResource):
        return _FUNCTION_SINGLE if resource.name is not None else _FUNCTION_COLLECTION
    if isinstance(resource, ast.RoleResource):
        return _ROLE_SINGLE if resource.role is not None else _ROLE_ROOT
    return _JMX


_ROLE_NAME_TYPES = IDENT_TYPES | {"STRING_LITERAL", "QMARK"}
_ALL_RESOURCE_WORDS = frozenset(("K_KEYSPACES", "K_ROLES", "K_FUNCTIONS", "K_MBEANS", "K_TABLES"))
_JMX_PROPERTY = re.compile(r"[^,=:*?\"\n]+=[^,=:\n]*")

# DESCRIBE forms taking no name; Cassandra's syntactic predicates make these keywords win.
_DESCRIBE_LISTINGS = {
    "K_CLUSTER": ast.DescribeKind.CLUSTER,
    "K_KEYSPACES": ast.DescribeKind.KEYSPACES,
    "K_TABLES": ast.DescribeKind.TABLES,
    "K_TYPES": ast.DescribeKind.TYPES,
    "K_FUNCTIONS": ast.DescribeKind.FUNCTIONS,
    "K_AGGREGATES": ast.DescribeKind.AGGREGATES,
}


def _canonical_mbean(parser: DclParser, name: str, plural: bool) -> str:
    """Validate a JMX ObjectName (or pattern) the way canonicalizeObjectName does; return its
    canonical form (properties sorted by key, property-list wildcard last)."""
    if name == "":
        parser.fail_message("Empty JMX object name supplied")
    if name == "*:*":
        parser.fail_message("Please use ALL MBEANS instead of wildcard pattern")
    domain, colon, rest = name.partition(":")
    props = rest.split(",") if rest else []
    wildcard = "*" in props
    props = [p for p in props if p != "*"]
    if not colon or (not props and not wildcard) or not all(_JMX_PROPERTY.fullmatch(p) for p in props):
        parser.fail_message(f"{name} is not a valid JMX object name")
    keys = [p.partition("=")[0] for p in props]
    if len(set(keys)) != len(keys):
        parser.fail_message(f"{name} is not a valid JMX object name")
    is_pattern = wildcard or any(c in domain for c in "*?") or any(c in rest for c in "*?")
    if plural and not is_pattern:
        parser.fail_message(f"Plural form used, but non-pattern JMX object name specified ({name})")
    canonical = ",".join(sorted(props, key=lambda p: p.partition("=")[0]))
    if wildcard:
        canonical = f"{canonical},*" if canonical else "*"
    return f"{domain}:{canonical}"


class DclParser(DdlParser):
    __slots__ = ()

    # -- names ---------------------------------------------------------------------------------

    def role_name(self) -> str:
        """roleName: IDENT / unreserved keyword (lower-cased), 'string' or "quoted" (case kept)."""
        i = self.i
        ttype = self.types[i]
        if ttype == "QMARK":
            self.fail_message("Bind variables cannot be used for role names")
        if ttype in _ROLE_NAME_TYPES:
            self.i = i + 1
            return self.values[i]
        raise ParseFailure(i, NO_VIABLE)

    def _legacy_name(self, quoted_message: str) -> str:
        """username / identity: IDENT (case kept) or a string literal; quoted names refused."""
        i = self.i
        ttype = self.types[i]
        if ttype == "IDENT":
            self.i = i + 1
            return self.source_text(i, i)
        if ttype == "STRING_LITERAL":
            self.i = i + 1
            return self.values[i]
        if ttype == "QUOTED_NAME":
            self.fail_message(quoted_message)
        raise ParseFailure(i, NO_VIABLE)

    def _username(self) -> str:
        return self._legacy_name(
            "Quoted strings are are not supported for user names and USER is deprecated, please use ROLE"
        )

    def _identity(self) -> str:
        return self._legacy_name("Quoted strings are are not supported for identity")

    # -- roles ---------------------------------------------------------------------------------

    def _role_options(self) -> dict[str, object]:
        options: dict[str, object] = {}

        def put(key: str, value: object) -> None:
            if key in options:
                self.fail_message(f"Multiple definition for property '{key.upper()}'")
            options[key] = value

        while True:
            ttype = self.types[self.i]
            self.i += 1
            if ttype == "K_PASSWORD":
                self.expect("=")
                put("password", self.expect("STRING_LITERAL"))
            elif ttype == "K_HASHED":
                self.expect("K_PASSWORD")
                self.expect("=")
                put("hashed_password", self.expect("STRING_LITERAL"))
            elif ttype == "K_GENERATED":
                self.expect("K_PASSWORD")
                put("generated_password", True)
            elif ttype == "K_OPTIONS":
                self.expect("=")
                put("options", self.property_map())
            elif ttype == "K_SUPERUSER" or ttype == "K_LOGIN":
                self.expect("=")
                put(ttype[2:].lower(), self.expect("BOOLEAN") == "true")
            elif ttype == "K_ACCESS":
                self._access_option(options)
            else:
                raise ParseFailure(self.i - 1, NO_VIABLE)
            if not self.accept("K_AND"):
                return options

    def _access_option(self, options: dict[str, object]) -> None:
        if self.accept("K_TO"):
            key, word = "datacenters", "K_DATACENTERS"
        else:
            self.expect("K_FROM")
            key, word = "cidrs", "K_CIDRS"
        current = options.get(key)
        if self.accept("K_ALL"):
            self.expect(word)
            options[key] = ast.AccessSet(True)
            return
        self.expect(word)
        self.expect("{")
        items = [self.expect("STRING_LITERAL")]
        while self.accept(","):
            items.append(self.expect("STRING_LITERAL"))
        self.expect("}")
        if isinstance(current, ast.AccessSet):
            if current.all:
                return
            items = list(current.items) + [item for item in items if item not in current.items]
        options[key] = ast.AccessSet(False, tuple(dict.fromkeys(items)))

    def _check_password_options(self, options: dict[str, object]) -> None:
        pairs = (
            ("password", "hashed_password", "'password' and 'hashed password'"),
            ("password", "generated_password", "'password' and 'generated password'"),
            ("hashed_password", "generated_password", "'hashed password' and 'generated password'"),
        )
        for first, second, words in pairs:
            if first in options and second in options:
                self.fail_message(f"Options {words} are mutually exclusive")

    def create_role(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        role = self.role_name()
        options = self._role_options() if self.accept("K_WITH") else {}
        options.setdefault("login", False)
        options.setdefault("superuser", False)
        self._check_password_options(options)
        return ast.CreateRoleStatement(
            role, ast.RoleOptions(**options), if_not_exists, bind_markers=self.bound()  # type: ignore[arg-type]
        )

    def alter_role(self) -> ast.Statement:
        if_exists = self.if_exists()
        role = self.role_name()
        options = self._role_options() if self.accept("K_WITH") else {}
        self._check_password_options(options)
        return ast.AlterRoleStatement(
            role, ast.RoleOptions(**options), if_exists, bind_markers=self.bound()  # type: ignore[arg-type]
        )

    def drop_role(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropRoleStatement(self.role_name(), if_exists, bind_markers=self.bound())

    def _user_options(self) -> dict[str, object]:
        """``[WITH [HASHED] PASSWORD 'p' | WITH GENERATED PASSWORD] [SUPERUSER | NOSUPERUSER]``."""
        options: dict[str, object] = {}
        if self.accept("K_WITH"):
            if self.accept("K_PASSWORD"):
                options["password"] = self.expect("STRING_LITERAL")
            elif self.accept("K_HASHED"):
                self.expect("K_PASSWORD")
                options["hashed_password"] = self.expect("STRING_LITERAL")
            elif self.accept("K_GENERATED"):
                self.expect("K_PASSWORD")
                options["generated_password"] = True
            else:
                self.fail_no_viable()
        if self.accept("K_SUPERUSER"):
            options["superuser"] = True
        elif self.accept("K_NOSUPERUSER"):
            options["superuser"] = False
        return options

    def create_user(self) -> ast.Statement:
        if_not_exists = self.if_not_exists()
        name = self._username()
        options = self._user_options()
        options["login"] = True
        options.setdefault("superuser", False)
        return ast.CreateRoleStatement(
            name, ast.RoleOptions(**options), if_not_exists, True, bind_markers=self.bound()  # type: ignore[arg-type]
        )

    def alter_user(self) -> ast.Statement:
        if_exists = self.if_exists()
        name = self._username()
        options = self._user_options()
        return ast.AlterRoleStatement(
            name, ast.RoleOptions(**options), if_exists, True, bind_markers=self.bound()  # type: ignore[arg-type]
        )

    def drop_user(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropRoleStatement(self._username(), if_exists, True, bind_markers=self.bound())

    def add_identity(self) -> ast.Statement:
        self.i += 1
        self.expect("K_IDENTITY")
        if_not_exists = self.if_not_exists()
        identity = self._identity()
        self.expect("K_TO")
        self.expect("K_ROLE")
        return ast.AddIdentityStatement(identity, self._identity(), if_not_exists, bind_markers=self.bound())

    def drop_identity(self) -> ast.Statement:
        if_exists = self.if_exists()
        return ast.DropIdentityStatement(self._identity(), if_exists, bind_markers=self.bound())

    # -- permissions ---------------------------------------------------------------------------

    def _is_permission_clause(self) -> bool:
        """GRANT/REVOKE: does a permission list (rather than a role name) start here?"""
        types = self.types
        ttype = types[self.i]
        after = types[self.i + 1]
        if ttype == "K_ALL":
            return after in ("K_PERMISSIONS", "K_ON")
        if ttype in _PERMISSION_TYPES:
            return ttype not in UNRESERVED_KEYWORDS or after in ("K_PERMISSION", ",", "K_ON")
        return False

    def _permissions(self) -> frozenset[ast.Permission]:
        if self.accept("K_ALL"):
            self.accept("K_PERMISSIONS")
            return ast.ALL_PERMISSIONS
        found = []
        while True:
            permission = _PERMISSION_TYPES.get(self.types[self.i])
            if permission is None:
                raise ParseFailure(self.i, NO_VIABLE)
            self.i += 1
            self.accept("K_PERMISSION")
            found.append(permission)
            if not self.accept(","):
                return frozenset(found)

    def resource(self) -> ast.Resource:
        types = self.types
        ttype = types[self.i]
        after = types[self.i + 1]
        if ttype == "K_ALL" and after in _ALL_RESOURCE_WORDS:
            self.i += 2
            return self._all_resource(after)
        if ttype == "K_KEYSPACE":
            self.i += 1
            return ast.DataResource(self.keyspace_name())
        if ttype == "K_ROLE" and after in _ROLE_NAME_TYPES and types[self.i + 2] != ".":
            self.i += 1
            return ast.RoleResource(self.role_name())
        if ttype == "K_FUNCTION" and after in IDENT_TYPES | {"K_TOKEN"} and types[self.i + 2] != "K_TO":
            self.i += 1
            return self._function_resource()
        if (ttype == "K_MBEAN" or ttype == "K_MBEANS") and after == "STRING_LITERAL":
            self.i += 2
            name = _canonical_mbean(self, self.values[self.i - 1], ttype == "K_MBEANS")
            return ast.JMXResource(name, ttype == "K_MBEANS")
        self.accept("K_COLUMNFAMILY")
        table = self.qualified_name()
        return ast.DataResource(table.keyspace, table.name)

    def _all_resource(self, word: str) -> ast.Resource:
        if word == "K_KEYSPACES":
            return ast.DataResource()
        if word == "K_ROLES":
            return ast.RoleResource()
        if word == "K_MBEANS":
            return ast.JMXResource()
        if word == "K_TABLES":
            self.expect("K_IN")
            self.expect("K_KEYSPACE")
            return ast.DataResource(self.keyspace_name(), all_tables=True)
        if self.accept("K_IN"):
            self.expect("K_KEYSPACE")
            return ast.FunctionResource(self.keyspace_name())
        return ast.FunctionResource()

    def _function_resource(self) -> ast.Resource:
        name = self.function_name()
        arg_types = self._type_list()
        if name.keyspace is None:
            self.fail_invalid("In this context function name must be explictly qualified by a keyspace")
        return ast.FunctionResource(name.keyspace, name.name, arg_types)

    def _filtered(self, permissions: frozenset[ast.Permission], resource: ast.Resource) -> frozenset[ast.Permission]:
        filtered = permissions & applicable_permissions(resource)
        if not filtered:
            self.fail_message(
                f"Resource type {type(resource).__name__} does not support any of the requested permissions"
            )
        return filtered

    def grant_statement(self) -> ast.Statement:
        self.i += 1
        if not self._is_permission_clause():
            role = self.role_name()
            self.expect("K_TO")
            return ast.GrantRoleStatement(role, self.role_name(), bind_markers=self.bound())
        permissions = self._permissions()
        self.expect("K_ON")
        resource = self.resource()
        self.expect("K_TO")
        grantee = self.role_name()
        return ast.GrantPermissionsStatement(
            self._filtered(permissions, resource), resource, grantee, bind_markers=self.bound()
        )

    def revoke_statement(self) -> ast.Statement:
        self.i += 1
        if not self._is_permission_clause():
            role = self.role_name()
            self.expect("K_FROM")
            return ast.RevokeRoleStatement(role, self.role_name(), bind_markers=self.bound())
        permissions = self._permissions()
        self.expect("K_ON")
        resource = self.resource()
        self.expect("K_FROM")
        revokee = self.role_name()
        return ast.RevokePermissionsStatement(
            self._filtered(permissions, resource), resource, revokee, bind_markers=self.bound()
        )

    def list_statement(self) -> ast.Statement:
        self.i += 1
        ttype = self.types[self.i]
        if ttype == "K_USERS":
            self.i += 1
            return ast.ListUsersStatement(bind_markers=self.bound())
        if ttype == "K_SUPERUSERS":
            self.i += 1
            return ast.ListSuperUsersStatement(bind_markers=self.bound())
        if ttype == "K_ROLES":
            self.i += 1
            grantee = self.role_name() if self.accept("K_OF") else None
            recursive = not self.accept("K_NORECURSIVE")
            return ast.ListRolesStatement(grantee, recursive, bind_markers=self.bound())
        permissions = self._permissions()
        resource = self.resource() if self.accept("K_ON") else None
        grantee = self.role_name() if self.accept("K_OF") else None
        recursive = not self.accept("K_NORECURSIVE")
        return ast.ListPermissionsStatement(permissions, resource, grantee, recursive, bind_markers=self.bound())

    # -- DESCRIBE ------------------------------------------------------------------------------

    def describe_statement(self) -> ast.Statement:
        self.i += 1
        types = self.types
        ttype = types[self.i]
        after = types[self.i + 1]
        keyspace = name = None
        full = only = False
        kind = _DESCRIBE_LISTINGS.get(ttype)
        if kind is not None:
            self.i += 1
        elif ttype == "K_SCHEMA" or (ttype == "K_FULL" and after == "K_SCHEMA"):
            full = ttype == "K_FULL"
            self.i += 2 if full else 1
            kind = ast.DescribeKind.SCHEMA
        elif ttype == "K_KEYSPACE" or (ttype == "K_ONLY" and after == "K_KEYSPACE"):
            only = ttype == "K_ONLY"
            self.i += 2 if only else 1
            kind = ast.DescribeKind.KEYSPACE
            if types[self.i] in IDENT_TYPES or types[self.i] == "QMARK":
                keyspace = self.keyspace_name()
        elif ttype == "K_COLUMNFAMILY" or ttype == "K_INDEX":
            self.i += 1
            kind = ast.DescribeKind.TABLE if ttype == "K_COLUMNFAMILY" else ast.DescribeKind.INDEX
            keyspace, name = self._qualified_pair(self.qualified_name("index" if ttype == "K_INDEX" else "table"))
        elif ttype == "K_MATERIALIZED":
            self.i += 1
            self.expect("K_VIEW")
            kind = ast.DescribeKind.MATERIALIZED_VIEW
            keyspace, name = self._qualified_pair(self.qualified_name())
        elif ttype == "K_TYPE" and after in IDENT_TYPES:
            self.i += 1
            kind = ast.DescribeKind.TYPE
            keyspace, name = self._qualified_pair(self.user_type_name())
        elif (ttype == "K_FUNCTION" or ttype == "K_AGGREGATE") and after in IDENT_TYPES | {"K_TOKEN"}:
            self.i += 1
            kind = ast.DescribeKind.FUNCTION if ttype == "K_FUNCTION" else ast.DescribeKind.AGGREGATE
            keyspace, name = self._qualified_pair(self.function_name())
        else:
            kind = ast.DescribeKind.GENERIC
            first = self.ident()
            if self.accept("."):
                keyspace, name = first, self.ident()
            else:
                name = first
        with_internals = self.accept_seq("K_WITH", "K_INTERNALS")
        return ast.DescribeStatement(kind, keyspace, name, full, only, with_internals, bind_markers=self.bound())

    @staticmethod
    def _qualified_pair(qualified: ast.QualifiedName) -> tuple[str | None, str]:
        return qualified.keyspace, qualified.name
