"""Password authentication: Cassandra's PasswordAuthenticator over SASL PLAIN, and the role store.

What it is: the roles of `system_auth.roles` (kept by the front in a durable file of its own until
system tables live in shards), bcrypt password hashing as Cassandra does it, and the SASL PLAIN
exchange a driver performs after AUTHENTICATE.

What it must not do: run bcrypt on the event loop (a check costs ~100 ms by design; callers run it in
a thread via `verify_async`), or ever store or log a clear-text password.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import bcrypt
import msgspec

from ferrosa.durable import write_atomically

AUTHENTICATOR_CLASS = "org.apache.cassandra.auth.PasswordAuthenticator"
DEFAULT_SUPERUSER = "cassandra"
DEFAULT_SUPERUSER_PASSWORD = "cassandra"
# Cassandra's default auth_bcrypt_gensalt_log2_rounds is 10: ~100 ms per check, as intended.
BCRYPT_LOG2_ROUNDS = 10
# SASL PLAIN messages are tiny; anything larger is not a credential.
MAX_SASL_TOKEN_BYTES = 4096


class AuthenticationFailed(Exception):
    """Bad credentials or a malformed SASL token (answered with BAD_CREDENTIALS)."""


class Role(msgspec.Struct):
    role: str
    can_login: bool = False
    is_superuser: bool = False
    member_of: list[str] = []
    salted_hash: str | None = None


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_LOG2_ROUNDS)).decode()


def parse_sasl_plain(token: bytes) -> tuple[str, str]:
    """SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, UTF-8."""
    if len(token) > MAX_SASL_TOKEN_BYTES:
        raise AuthenticationFailed("SASL token too large")
    parts = token.split(b"\x00")
    if len(parts) != 3:
        raise AuthenticationFailed("Password must not be null" if len(parts) < 3
                                   else "Invalid SASL PLAIN token")
    _authzid, user, password = parts
    if not user:
        raise AuthenticationFailed("Authentication ID must not be null")
    if not password:
        raise AuthenticationFailed("Password must not be null")
    try:
        return user.decode(), password.decode()
    except UnicodeDecodeError:
        raise AuthenticationFailed("Invalid UTF-8 in SASL PLAIN token") from None


class RoleStore:
    """The durable set of roles. Copy-on-write: readers never see a half-applied change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.roles: dict[str, Role] = {}

    def load(self, create_default_superuser: bool) -> None:
        if self.path.exists():
            self.roles = {r.role: r for r in msgspec.json.decode(self.path.read_bytes(),
                                                                 type=list[Role])}
        if create_default_superuser and DEFAULT_SUPERUSER not in self.roles and not self.roles:
            # Cassandra creates the default superuser on first start only.
            self.put(Role(DEFAULT_SUPERUSER, can_login=True, is_superuser=True,
                          salted_hash=hash_password(DEFAULT_SUPERUSER_PASSWORD)))

    def save(self) -> None:
        write_atomically(self.path, msgspec.json.encode(sorted(self.roles.values(),
                                                               key=lambda r: r.role)))

    def put(self, role: Role) -> None:
        roles = dict(self.roles)
        roles[role.role] = role
        self.roles = roles
        self.save()

    def delete(self, name: str) -> None:
        roles = {}
        for key, role in self.roles.items():
            if key == name:
                continue
            if name in role.member_of:
                # Copy, never mutate: a reader may hold the previous dict.
                role = msgspec.structs.replace(
                    role, member_of=[r for r in role.member_of if r != name])
            roles[key] = role
        self.roles = roles
        self.save()

    def get(self, name: str) -> Role | None:
        return self.roles.get(name)

    def roles_of(self, name: str, recursive: bool = True) -> set[str]:
        """`name` and the roles granted to it (transitively when `recursive`), as Cassandra's
        IRoleManager.getRoles: the role itself is always included."""
        found = {name}
        pending = [name]
        while pending:
            role = self.roles.get(pending.pop())
            if role is None:
                continue
            for parent in role.member_of:
                if parent not in found:
                    found.add(parent)
                    if recursive:
                        pending.append(parent)
        return found

    def has_superuser_status(self, name: str) -> bool:
        """Whether `name` or any role granted to it is a superuser (Cassandra's Roles)."""
        return any(role is not None and role.is_superuser
                   for role in map(self.roles.get, self.roles_of(name)))

    def check(self, user: str, password: str) -> Role:
        """Blocking bcrypt check (call through verify_async from the event loop)."""
        role = self.roles.get(user)
        if role is None or role.salted_hash is None:
            # Spend the same time as a real check so user names cannot be probed by timing.
            bcrypt.checkpw(password.encode(), _DUMMY_HASH)
            raise AuthenticationFailed("Provided username %s and/or password are incorrect" % user)
        if not bcrypt.checkpw(password.encode(), role.salted_hash.encode()):
            raise AuthenticationFailed("Provided username %s and/or password are incorrect" % user)
        if not role.can_login:
            raise AuthenticationFailed(f"{user} is not permitted to log in")
        return role

    async def verify_async(self, token: bytes) -> Role:
        user, password = parse_sasl_plain(token)
        return await asyncio.get_running_loop().run_in_executor(None, self.check, user, password)


_DUMMY_HASH = bcrypt.hashpw(os.urandom(8).hex().encode(), bcrypt.gensalt(BCRYPT_LOG2_ROUNDS))
