"""Golden table: roles, users, permissions, identities and DESCRIBE statements -> AST."""

from __future__ import annotations

import pytest

from ferrosa.cql import ast as A
from ferrosa.cql.errors import CqlInvalidRequest, CqlSyntaxError
from ferrosa.cql.parser import parse_statement
from tests.cql.helpers import T

P = A.Permission
DK = A.DescribeKind
NO_OPTIONS_CREATE = A.RoleOptions(login=False, superuser=False)


def perms(*names: str) -> frozenset[A.Permission]:
    return frozenset(P[name] for name in names)


GOLDEN: list[tuple[str, A.Statement]] = [
    # -- roles --
    ("CREATE ROLE r", A.CreateRoleStatement("r", NO_OPTIONS_CREATE)),
    ("CREATE ROLE 'Mixed Case'", A.CreateRoleStatement("Mixed Case", NO_OPTIONS_CREATE)),
    ('CREATE ROLE "Quoted"', A.CreateRoleStatement("Quoted", NO_OPTIONS_CREATE)),
    ("CREATE ROLE Upper", A.CreateRoleStatement("upper", NO_OPTIONS_CREATE)),
    (
        "CREATE ROLE IF NOT EXISTS r WITH PASSWORD = 'pw' AND LOGIN = true AND SUPERUSER = false "
        "AND OPTIONS = {'k': 'v'} AND ACCESS TO DATACENTERS {'dc1', 'dc2'} AND ACCESS FROM ALL CIDRS",
        A.CreateRoleStatement(
            "r",
            A.RoleOptions(
                password="pw",
                login=True,
                superuser=False,
                options={"k": "v"},
                datacenters=A.AccessSet(False, ("dc1", "dc2")),
                cidrs=A.AccessSet(True),
            ),
            True,
        ),
    ),
    (
        "CREATE ROLE r WITH HASHED PASSWORD = '$2a$10$x' AND ACCESS TO ALL DATACENTERS "
        "AND ACCESS FROM CIDRS {'region1'}",
        A.CreateRoleStatement(
            "r",
            A.RoleOptions(
                hashed_password="$2a$10$x",
                login=False,
                superuser=False,
                datacenters=A.AccessSet(True),
                cidrs=A.AccessSet(False, ("region1",)),
            ),
        ),
    ),
    (
        "CREATE ROLE r WITH GENERATED PASSWORD AND LOGIN = TRUE",
        A.CreateRoleStatement("r", A.RoleOptions(generated_password=True, login=True, superuser=False)),
    ),
    (
        "ALTER ROLE IF EXISTS r WITH SUPERUSER = true",
        A.AlterRoleStatement("r", A.RoleOptions(superuser=True), True),
    ),
    ("ALTER ROLE r", A.AlterRoleStatement("r", A.RoleOptions())),
    ("DROP ROLE IF EXISTS r", A.DropRoleStatement("r", True)),
    ("GRANT r1 TO r2", A.GrantRoleStatement("r1", "r2")),
    ("GRANT 'Admins' TO \"Bob\"", A.GrantRoleStatement("Admins", "Bob")),
    ("GRANT all TO bob", A.GrantRoleStatement("all", "bob")),
    ("GRANT unmask TO bob", A.GrantRoleStatement("unmask", "bob")),
    ("REVOKE r1 FROM r2", A.RevokeRoleStatement("r1", "r2")),
    ("LIST ROLES", A.ListRolesStatement()),
    ("LIST ROLES OF bob NORECURSIVE", A.ListRolesStatement("bob", False)),
    ("LIST USERS", A.ListUsersStatement()),
    ("LIST SUPERUSERS", A.ListSuperUsersStatement()),
    # -- legacy users --
    (
        "CREATE USER Bob WITH PASSWORD 'pw' SUPERUSER",
        A.CreateRoleStatement("Bob", A.RoleOptions(password="pw", login=True, superuser=True), is_user=True),
    ),
    (
        "CREATE USER IF NOT EXISTS 'alice' NOSUPERUSER",
        A.CreateRoleStatement("alice", A.RoleOptions(login=True, superuser=False), True, True),
    ),
    (
        "ALTER USER bob WITH HASHED PASSWORD 'h'",
        A.AlterRoleStatement("bob", A.RoleOptions(hashed_password="h"), is_user=True),
    ),
    ("ALTER USER bob NOSUPERUSER", A.AlterRoleStatement("bob", A.RoleOptions(superuser=False), is_user=True)),
    ("DROP USER IF EXISTS Bob", A.DropRoleStatement("Bob", True, True)),
    # -- identities --
    ("ADD IDENTITY 'spiffe://a/b' TO ROLE alice", A.AddIdentityStatement("spiffe://a/b", "alice")),
    ("ADD IDENTITY IF NOT EXISTS 'x' TO ROLE 'Al'", A.AddIdentityStatement("x", "Al", True)),
    ("DROP IDENTITY IF EXISTS 'x'", A.DropIdentityStatement("x", True)),
    # -- permissions --
    (
        "GRANT SELECT ON ALL KEYSPACES TO bob",
        A.GrantPermissionsStatement(perms("SELECT"), A.DataResource(), "bob"),
    ),
    (
        "GRANT MODIFY, SELECT PERMISSION ON KEYSPACE ks TO bob",
        A.GrantPermissionsStatement(perms("MODIFY", "SELECT"), A.DataResource("ks"), "bob"),
    ),
    (
        "GRANT ALL PERMISSIONS ON TABLE ks.t TO bob",
        A.GrantPermissionsStatement(
            perms("ALTER", "DROP", "SELECT", "MODIFY", "AUTHORIZE", "UNMASK", "SELECT_MASKED"),
            A.DataResource("ks", "t"),
            "bob",
        ),
    ),
    (
        "GRANT ALL ON t TO bob",
        A.GrantPermissionsStatement(
            perms("ALTER", "DROP", "SELECT", "MODIFY", "AUTHORIZE", "UNMASK", "SELECT_MASKED"),
            A.DataResource(None, "t"),
            "bob",
        ),
    ),
    (
        "GRANT CREATE ON ALL TABLES IN KEYSPACE ks TO bob",
        A.GrantPermissionsStatement(perms("CREATE"), A.DataResource("ks", all_tables=True), "bob"),
    ),
    (
        "GRANT ALL ON ALL ROLES TO bob",
        A.GrantPermissionsStatement(perms("CREATE", "ALTER", "DROP", "AUTHORIZE", "DESCRIBE"), A.RoleResource(), "bob"),
    ),
    (
        "REVOKE ALTER, DROP, SELECT ON ROLE alice FROM bob",
        A.RevokePermissionsStatement(perms("ALTER", "DROP"), A.RoleResource("alice"), "bob"),
    ),
    (
        "GRANT EXECUTE ON ALL FUNCTIONS TO bob",
        A.GrantPermissionsStatement(perms("EXECUTE"), A.FunctionResource(), "bob"),
    ),
    (
        "GRANT EXECUTE ON ALL FUNCTIONS IN KEYSPACE ks TO bob",
        A.GrantPermissionsStatement(perms("EXECUTE"), A.FunctionResource("ks"), "bob"),
    ),
    (
        "GRANT ALL ON FUNCTION ks.f(int, text) TO bob",
        A.GrantPermissionsStatement(
            perms("ALTER", "DROP", "AUTHORIZE", "EXECUTE"),
            A.FunctionResource("ks", "f", (T("int"), T("text"))),
            "bob",
        ),
    ),
    (
        "GRANT SELECT ON ALL MBEANS TO bob",
        A.GrantPermissionsStatement(perms("SELECT"), A.JMXResource(), "bob"),
    ),
    (
        "GRANT EXECUTE ON MBEAN 'org.apache.cassandra.db:type=Tables,keyspace=ks' TO bob",
        A.GrantPermissionsStatement(
            perms("EXECUTE"), A.JMXResource("org.apache.cassandra.db:keyspace=ks,type=Tables"), "bob"
        ),
    ),
    (
        "GRANT DESCRIBE ON MBEANS 'org.apache.cassandra.db:type=*' TO bob",
        A.GrantPermissionsStatement(perms("DESCRIBE"), A.JMXResource("org.apache.cassandra.db:type=*", True), "bob"),
    ),
    (
        "GRANT UNMASK ON TABLE ks.t TO bob",
        A.GrantPermissionsStatement(perms("UNMASK"), A.DataResource("ks", "t"), "bob"),
    ),
    ("LIST ALL", A.ListPermissionsStatement(A.ALL_PERMISSIONS)),
    (
        "LIST ALL PERMISSIONS ON KEYSPACE ks OF bob NORECURSIVE",
        A.ListPermissionsStatement(A.ALL_PERMISSIONS, A.DataResource("ks"), "bob", False),
    ),
    ("LIST SELECT OF bob", A.ListPermissionsStatement(perms("SELECT"), None, "bob")),
    # -- DESCRIBE --
    ("DESCRIBE CLUSTER", A.DescribeStatement(DK.CLUSTER)),
    ("DESC SCHEMA", A.DescribeStatement(DK.SCHEMA)),
    ("DESCRIBE FULL SCHEMA", A.DescribeStatement(DK.SCHEMA, full=True)),
    ("DESCRIBE KEYSPACES", A.DescribeStatement(DK.KEYSPACES)),
    ("DESCRIBE KEYSPACE", A.DescribeStatement(DK.KEYSPACE)),
    ("DESCRIBE KEYSPACE ks", A.DescribeStatement(DK.KEYSPACE, "ks")),
    ("DESCRIBE ONLY KEYSPACE \"Ks\" WITH INTERNALS", A.DescribeStatement(DK.KEYSPACE, "Ks", only=True, with_internals=True)),
    ("DESCRIBE TABLES", A.DescribeStatement(DK.TABLES)),
    ("DESCRIBE TABLE ks.t", A.DescribeStatement(DK.TABLE, "ks", "t")),
    ("DESCRIBE COLUMNFAMILY t", A.DescribeStatement(DK.TABLE, None, "t")),
    ("DESCRIBE INDEX ks.i", A.DescribeStatement(DK.INDEX, "ks", "i")),
    ("DESCRIBE MATERIALIZED VIEW v", A.DescribeStatement(DK.MATERIALIZED_VIEW, None, "v")),
    ("DESCRIBE TYPES", A.DescribeStatement(DK.TYPES)),
    ("DESCRIBE TYPE ks.addr", A.DescribeStatement(DK.TYPE, "ks", "addr")),
    ("DESCRIBE FUNCTIONS", A.DescribeStatement(DK.FUNCTIONS)),
    ("DESCRIBE FUNCTION ks.f", A.DescribeStatement(DK.FUNCTION, "ks", "f")),
    ("DESCRIBE AGGREGATES", A.DescribeStatement(DK.AGGREGATES)),
    ("DESCRIBE AGGREGATE agg", A.DescribeStatement(DK.AGGREGATE, None, "agg")),
    ("DESCRIBE ks", A.DescribeStatement(DK.GENERIC, None, "ks")),
    ("DESC ks.t WITH INTERNALS", A.DescribeStatement(DK.GENERIC, "ks", "t", with_internals=True)),
    ("DESCRIBE type", A.DescribeStatement(DK.GENERIC, None, "type")),
    ("DESCRIBE function.x", A.DescribeStatement(DK.GENERIC, "function", "x")),
    ('DESCRIBE "Ks"."T"', A.DescribeStatement(DK.GENERIC, "Ks", "T")),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[t[:80] for t, _ in GOLDEN])
def test_golden(text: str, expected: A.Statement) -> None:
    assert parse_statement(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CREATE ROLE r WITH LOGIN = true AND LOGIN = false", "Multiple definition for property 'LOGIN'"),
        ("CREATE ROLE r WITH PASSWORD = 'a' AND PASSWORD = 'b'", "Multiple definition for property 'PASSWORD'"),
        (
            "CREATE ROLE r WITH PASSWORD = 'a' AND HASHED PASSWORD = 'b'",
            "Options 'password' and 'hashed password' are mutually exclusive",
        ),
        (
            "ALTER ROLE r WITH PASSWORD = 'a' AND GENERATED PASSWORD",
            "Options 'password' and 'generated password' are mutually exclusive",
        ),
        (
            "CREATE ROLE r WITH HASHED PASSWORD = 'a' AND GENERATED PASSWORD",
            "Options 'hashed password' and 'generated password' are mutually exclusive",
        ),
        ("CREATE ROLE ?", "Bind variables cannot be used for role names"),
        (
            'CREATE USER "Bob"',
            "Quoted strings are are not supported for user names and USER is deprecated, please use ROLE",
        ),
        ('DROP IDENTITY "x"', "Quoted strings are are not supported for identity"),
        ("GRANT CREATE ON TABLE ks.t TO bob", "Resource type DataResource does not support any of the requested permissions"),
        ("GRANT EXECUTE ON ROLE r TO bob", "Resource type RoleResource does not support any of the requested permissions"),
        ("GRANT CREATE ON ALL MBEANS TO bob", "Resource type JMXResource does not support any of the requested permissions"),
        ("GRANT SELECT ON MBEAN '' TO bob", "Empty JMX object name supplied"),
        ("GRANT SELECT ON MBEAN '*:*' TO bob", "Please use ALL MBEANS instead of wildcard pattern"),
        ("GRANT SELECT ON MBEAN 'nocolon' TO bob", "nocolon is not a valid JMX object name"),
        (
            "GRANT SELECT ON MBEANS 'org.apache:type=Tables' TO bob",
            "Plural form used, but non-pattern JMX object name specified (org.apache:type=Tables)",
        ),
    ],
)
def test_dcl_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(CqlSyntaxError) as caught:
        parse_statement(text)
    assert caught.value.message == message


def test_unqualified_function_resource_is_an_invalid_request() -> None:
    with pytest.raises(CqlInvalidRequest) as caught:
        parse_statement("GRANT EXECUTE ON FUNCTION f(int) TO bob")
    assert caught.value.message == "In this context function name must be explictly qualified by a keyspace"
