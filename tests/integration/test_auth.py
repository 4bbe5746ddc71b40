"""PasswordAuthenticator over SASL PLAIN: the default superuser, wrong passwords, retries."""

from __future__ import annotations

import pytest
from cassandra import AuthenticationFailed, InvalidRequest, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable

NODE_HOST = "127.0.0.13"
NODE_AUTH = True


def test_default_superuser_logs_in(node, cluster_factory):
    session = cluster_factory(auth_provider=PlainTextAuthProvider("cassandra", "cassandra")).connect()
    row = session.execute("SELECT role, is_superuser, can_login FROM system_auth.roles "
                          "WHERE role = 'cassandra'").one()
    assert row == ("cassandra", True, True)


@pytest.mark.parametrize("version", [3, 4, 5])
def test_wrong_password_is_refused_then_right_one_works(node, cluster_factory, version):
    bad = cluster_factory(protocol_version=version,
                          auth_provider=PlainTextAuthProvider("cassandra", "nope"))
    with pytest.raises(NoHostAvailable) as info:
        bad.connect()
    assert any(isinstance(e, AuthenticationFailed) for e in info.value.errors.values())
    good = cluster_factory(protocol_version=version,
                           auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    assert good.connect().execute("SELECT release_version FROM system.local").one()


def test_no_credentials_is_refused(node, cluster_factory):
    with pytest.raises(NoHostAvailable):
        cluster_factory().connect()


def _superuser_session(cluster_factory):
    return cluster_factory(auth_provider=PlainTextAuthProvider("cassandra", "cassandra")).connect()


def _login(cluster_factory, user, password):
    return cluster_factory(auth_provider=PlainTextAuthProvider(user, password)).connect()


def test_role_lifecycle_create_alter_drop(node, cluster_factory):
    admin = _superuser_session(cluster_factory)
    admin.execute("CREATE ROLE alice WITH PASSWORD = 'pw1' AND LOGIN = true")
    row = admin.execute("SELECT role, can_login, is_superuser, salted_hash FROM system_auth.roles "
                        "WHERE role = 'alice'").one()
    assert row[:3] == ("alice", True, False)
    assert row[3].startswith("$2") and "pw1" not in row[3]
    assert _login(cluster_factory, "alice", "pw1").execute(
        "SELECT release_version FROM system.local").one()

    admin.execute("ALTER ROLE alice WITH PASSWORD = 'pw2'")
    with pytest.raises(NoHostAvailable):
        _login(cluster_factory, "alice", "pw1")
    alice = _login(cluster_factory, "alice", "pw2")
    # A role may change its own password, but not its login or superuser status.
    alice.execute("ALTER ROLE alice WITH PASSWORD = 'pw3'")
    with pytest.raises(Unauthorized, match="alter your own superuser status"):
        alice.execute("ALTER ROLE alice WITH SUPERUSER = true")
    with pytest.raises(Unauthorized, match="Only superusers can create a role with superuser"):
        alice.execute("CREATE ROLE mallory WITH SUPERUSER = true")
    with pytest.raises(Unauthorized, match="no ALTER permission on <role cassandra>"):
        alice.execute("ALTER ROLE cassandra WITH PASSWORD = 'stolen'")
    with pytest.raises(InvalidRequest, match="Cannot DROP primary role for current login"):
        admin.execute("DROP ROLE cassandra")

    admin.execute("DROP ROLE alice")
    assert admin.execute("SELECT role FROM system_auth.roles WHERE role = 'alice'").one() is None
    with pytest.raises(NoHostAvailable):
        _login(cluster_factory, "alice", "pw3")
    with pytest.raises(InvalidRequest, match="alice doesn't exist"):
        admin.execute("DROP ROLE alice")
    admin.execute("DROP ROLE IF EXISTS alice")


def test_role_errors_follow_cassandra(node, cluster_factory):
    admin = _superuser_session(cluster_factory)
    admin.execute("CREATE ROLE IF NOT EXISTS bob")
    with pytest.raises(InvalidRequest, match="bob already exists"):
        admin.execute("CREATE ROLE bob")
    admin.execute("CREATE ROLE IF NOT EXISTS bob")
    with pytest.raises(InvalidRequest, match="doesn't support OPTIONS"):
        admin.execute("CREATE ROLE carol WITH OPTIONS = {'a': 'b'}")
    with pytest.raises(InvalidRequest, match="can't be empty"):
        admin.execute("ALTER ROLE bob")
    with pytest.raises(InvalidRequest, match="nobody doesn't exist"):
        admin.execute("ALTER ROLE nobody WITH LOGIN = true")
    with pytest.raises(InvalidRequest, match="not a valid bcrypt hash"):
        admin.execute("CREATE ROLE carol WITH HASHED PASSWORD = 'plain'")
    admin.execute("DROP ROLE bob")


def test_list_roles_and_grants(node, cluster_factory):
    admin = _superuser_session(cluster_factory)
    admin.execute("CREATE ROLE readers")
    admin.execute("CREATE ROLE dave WITH PASSWORD = 'pw' AND LOGIN = true")
    admin.execute("GRANT readers TO dave")
    with pytest.raises(InvalidRequest, match="readers is a member of dave|dave is a member"):
        admin.execute("GRANT dave TO readers")
    rows = list(admin.execute("LIST ROLES"))
    assert [r.role for r in rows] == sorted(r.role for r in rows)
    by_name = {r.role: r for r in rows}
    assert (by_name["cassandra"].super, by_name["cassandra"].login) == (True, True)
    assert (by_name["dave"].super, by_name["dave"].login) == (False, True)
    assert by_name["dave"].options == {} or by_name["dave"].options is None
    assert by_name["dave"].datacenters == "ALL"
    assert {r.role for r in admin.execute("LIST ROLES OF dave")} == {"dave", "readers"}
    member_of = admin.execute("SELECT member_of FROM system_auth.roles WHERE role = 'dave'").one()
    assert set(member_of[0]) == {"readers"}
    dave = _login(cluster_factory, "dave", "pw")
    assert {r.role for r in dave.execute("LIST ROLES")} == {"dave", "readers"}
    with pytest.raises(Unauthorized, match="not authorized to view roles granted to cassandra"):
        dave.execute("LIST ROLES OF cassandra")
    users = {r.name: r.super for r in admin.execute("LIST USERS")}
    assert users["cassandra"] is True and users["dave"] is False and "readers" not in users
    admin.execute("REVOKE readers FROM dave")
    with pytest.raises(InvalidRequest, match="dave is not a member of readers"):
        admin.execute("REVOKE readers FROM dave")
    admin.execute("DROP ROLE readers")
    admin.execute("DROP ROLE dave")


def test_superuser_status_is_inherited(node, cluster_factory):
    admin = _superuser_session(cluster_factory)
    admin.execute("CREATE ROLE admins WITH SUPERUSER = true")
    admin.execute("CREATE ROLE erin WITH PASSWORD = 'pw' AND LOGIN = true")
    erin = _login(cluster_factory, "erin", "pw")
    with pytest.raises(Unauthorized):
        erin.execute("CREATE ROLE frank")
    admin.execute("GRANT admins TO erin")
    erin.execute("CREATE ROLE frank")
    erin.execute("DROP ROLE frank")
    admin.execute("DROP ROLE erin")
    admin.execute("DROP ROLE admins")
