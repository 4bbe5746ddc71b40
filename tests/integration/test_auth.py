"""PasswordAuthenticator over SASL PLAIN: the default superuser, wrong passwords, retries."""

from __future__ import annotations

import pytest
from cassandra import AuthenticationFailed
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
