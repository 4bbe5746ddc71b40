"""Numeric and string constants of the CQL native protocol v3-v5 (opcodes, flags, enums).

Names follow the protocol spec and Apache Cassandra (Opcode.STARTUP, ConsistencyLevel.LOCAL_QUORUM).
This module must NOT contain logic or import anything beyond the standard library: every other
protocol module imports it.

Hot-path code compares plain ``int`` constants (the ``_FLAG`` names at the bottom) rather than
``IntFlag`` members, because ``IntFlag`` arithmetic allocates a new enum object per operation.
"""

from __future__ import annotations

import enum


class ProtocolVersion(enum.IntEnum):
    """The native protocol versions this server speaks (v1/v2 removed, v6 is beta and unsupported)."""

    V3 = 3
    V4 = 4
    V5 = 5


SUPPORTED_VERSIONS: frozenset[int] = frozenset(int(v) for v in ProtocolVersion)
MIN_VERSION = 3
MAX_VERSION = 5
# The version Cassandra 4/5 answer with when no connection version exists yet
# (ProtocolVersion.CURRENT, used by PreV5Handlers.getConnectionVersion).
CURRENT_VERSION = 5
# Versions that Cassandra still recognises as "old but known" and answers in their own version
# (ProtocolVersion.UNSUPPORTED = {V1, V2}), so that v1/v2 drivers can parse the error.
LEGACY_VERSIONS: frozenset[int] = frozenset((1, 2))
# "num/description" strings, in the format Cassandra's ProtocolVersion.toString produces; used in
# the SUPPORTED message's PROTOCOL_VERSIONS and in version error messages.
VERSION_DESCRIPTIONS: tuple[str, ...] = ("3/v3", "4/v4", "5/v5")

# Frame header, first byte: the direction bit and the version bits.
DIRECTION_MASK = 0x80
VERSION_MASK = 0x7F


class Opcode(enum.IntEnum):
    ERROR = 0x00
    STARTUP = 0x01
    READY = 0x02
    AUTHENTICATE = 0x03
    # v1-only plain-text credentials; Cassandra 4/5 still know the opcode and answer
    # "Unsupported message", so we keep it to give the same answer.
    CREDENTIALS = 0x04
    OPTIONS = 0x05
    SUPPORTED = 0x06
    QUERY = 0x07
    RESULT = 0x08
    PREPARE = 0x09
    EXECUTE = 0x0A
    REGISTER = 0x0B
    EVENT = 0x0C
    BATCH = 0x0D
    AUTH_CHALLENGE = 0x0E
    AUTH_RESPONSE = 0x0F
    AUTH_SUCCESS = 0x10


REQUEST_OPCODES: frozenset[int] = frozenset(
    (Opcode.STARTUP, Opcode.CREDENTIALS, Opcode.OPTIONS, Opcode.QUERY, Opcode.PREPARE,
     Opcode.EXECUTE, Opcode.REGISTER, Opcode.BATCH, Opcode.AUTH_RESPONSE)
)
RESPONSE_OPCODES: frozenset[int] = frozenset(
    (Opcode.ERROR, Opcode.READY, Opcode.AUTHENTICATE, Opcode.SUPPORTED, Opcode.RESULT,
     Opcode.EVENT, Opcode.AUTH_CHALLENGE, Opcode.AUTH_SUCCESS)
)


class FrameFlag(enum.IntFlag):
    COMPRESSION = 0x01
    TRACING = 0x02
    CUSTOM_PAYLOAD = 0x04
    WARNING = 0x08
    USE_BETA = 0x10


class ConsistencyLevel(enum.IntEnum):
    ANY = 0x0000
    ONE = 0x0001
    TWO = 0x0002
    THREE = 0x0003
    QUORUM = 0x0004
    ALL = 0x0005
    LOCAL_QUORUM = 0x0006
    EACH_QUORUM = 0x0007
    SERIAL = 0x0008
    LOCAL_SERIAL = 0x0009
    LOCAL_ONE = 0x000A


class ResultKind(enum.IntEnum):
    VOID = 0x0001
    ROWS = 0x0002
    SET_KEYSPACE = 0x0003
    PREPARED = 0x0004
    SCHEMA_CHANGE = 0x0005


class QueryFlag(enum.IntFlag):
    """<flags> of QUERY/EXECUTE query parameters and of BATCH ([byte] before v5, [int] in v5)."""

    VALUES = 0x0001
    SKIP_METADATA = 0x0002
    PAGE_SIZE = 0x0004
    WITH_PAGING_STATE = 0x0008
    WITH_SERIAL_CONSISTENCY = 0x0010
    WITH_DEFAULT_TIMESTAMP = 0x0020
    WITH_NAMES_FOR_VALUES = 0x0040
    WITH_KEYSPACE = 0x0080  # v5
    WITH_NOW_IN_SECONDS = 0x0100  # v5


class PrepareFlag(enum.IntFlag):
    WITH_KEYSPACE = 0x01  # v5


class RowsFlag(enum.IntFlag):
    """<flags> of result metadata (Rows results and both metadata blocks of Prepared results)."""

    GLOBAL_TABLES_SPEC = 0x0001
    HAS_MORE_PAGES = 0x0002
    NO_METADATA = 0x0004
    METADATA_CHANGED = 0x0008  # v5


class BatchType(enum.IntEnum):
    LOGGED = 0
    UNLOGGED = 1
    COUNTER = 2


class BatchQueryKind(enum.IntEnum):
    QUERY_STRING = 0
    PREPARED_ID = 1


class EventType(enum.StrEnum):
    TOPOLOGY_CHANGE = "TOPOLOGY_CHANGE"
    STATUS_CHANGE = "STATUS_CHANGE"
    SCHEMA_CHANGE = "SCHEMA_CHANGE"


class SchemaChangeType(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DROPPED = "DROPPED"


class SchemaChangeTarget(enum.StrEnum):
    KEYSPACE = "KEYSPACE"
    TABLE = "TABLE"
    TYPE = "TYPE"
    FUNCTION = "FUNCTION"
    AGGREGATE = "AGGREGATE"


class TopologyChangeType(enum.StrEnum):
    NEW_NODE = "NEW_NODE"
    REMOVED_NODE = "REMOVED_NODE"
    MOVED_NODE = "MOVED_NODE"  # Cassandra sends it although the spec only lists the other two


class StatusChangeType(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"


class WriteType(enum.StrEnum):
    """<writeType> of WRITE_TIMEOUT / WRITE_FAILURE errors."""

    SIMPLE = "SIMPLE"
    BATCH = "BATCH"
    UNLOGGED_BATCH = "UNLOGGED_BATCH"
    COUNTER = "COUNTER"
    BATCH_LOG = "BATCH_LOG"
    CAS = "CAS"
    VIEW = "VIEW"
    CDC = "CDC"


# STARTUP option keys (Cassandra's StartupMessage constants).
STARTUP_CQL_VERSION = "CQL_VERSION"
STARTUP_COMPRESSION = "COMPRESSION"
STARTUP_DRIVER_NAME = "DRIVER_NAME"
STARTUP_DRIVER_VERSION = "DRIVER_VERSION"
STARTUP_THROW_ON_OVERLOAD = "THROW_ON_OVERLOAD"
SUPPORTED_PROTOCOL_VERSIONS = "PROTOCOL_VERSIONS"

# Plain-int copies for hot paths (see the module docstring).
FLAG_COMPRESSION = 0x01
FLAG_TRACING = 0x02
FLAG_CUSTOM_PAYLOAD = 0x04
FLAG_WARNING = 0x08
FLAG_USE_BETA = 0x10

Q_VALUES = 0x0001
Q_SKIP_METADATA = 0x0002
Q_PAGE_SIZE = 0x0004
Q_PAGING_STATE = 0x0008
Q_SERIAL_CONSISTENCY = 0x0010
Q_TIMESTAMP = 0x0020
Q_NAMES_FOR_VALUES = 0x0040
Q_KEYSPACE = 0x0080
Q_NOW_IN_SECONDS = 0x0100

M_GLOBAL_TABLES_SPEC = 0x0001
M_HAS_MORE_PAGES = 0x0002
M_NO_METADATA = 0x0004
M_METADATA_CHANGED = 0x0008
