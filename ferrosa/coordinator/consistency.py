"""Consistency levels against a keyspace's replicas: which levels a read or a write may use, and
how many replicas each level needs (Cassandra's blockFor), answered before any shard is asked.

Theory of operation. Cassandra checks a request's consistency level twice before it touches data:

1. The statement validates the level: ANY is for writes only; SERIAL and LOCAL_SERIAL are for
   reads and conditional updates, not for plain writes; a counter write takes neither ANY nor a
   serial level. These answer INVALID.
2. The coordinator counts the partition's live replicas against the level's blockFor and answers
   UNAVAILABLE (with the level, the replicas required and the replicas alive) when too few are
   live. blockFor comes from the keyspace's replication factor, not from the replicas that exist:
   QUORUM on a keyspace with replication_factor 3 needs 2 replicas, on a one-node cluster too.
   Local levels (LOCAL_ONE, LOCAL_QUORUM) count the coordinator's data center only; EACH_QUORUM
   needs a quorum in every data center of a NetworkTopologyStrategy keyspace. A read needs at
   least one live replica whatever the level ("Insufficient full replicas"). A serial read of one
   partition is a Paxos round, whose quorum is a majority of the replicas that exist; a serial
   read of a token range is a plain read at QUORUM; a serial read of several partitions is
   INVALID.

A Ferrosa node is the only replica of every partition, in its own data center, for each keyspace
that places a replica there (`Placement.single_node`). Both checks depend only on the keyspace's
replication map, the node's data center and, for counters, the table, so `ConsistencyRules`
works them out once per table and schema version for every level, and keeps per kind of
request the set of levels that pass: a request pays one set lookup, and an error is built only
for a level that fails. Virtual tables answer from the node itself and check only step 1.

What it must not do: look at data, shards or the clock, or guess liveness: live replica counts
come from `Placement` (a cluster's failure detector will supply them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ferrosa.protocol.constants import ConsistencyLevel as CL
from ferrosa.schema.errors import InvalidRequest, SchemaError
from ferrosa.schema.model import (
    LOCAL_STRATEGY,
    NETWORK_TOPOLOGY_STRATEGY,
    REPLICATION_FACTOR,
    KeyspaceMetadata,
)

ALL_LEVELS = frozenset(CL)
# A statement's check of a level: the error to answer, or None when the level may run.
LevelCheck = Callable[[int], "Exception | None"]
SERIAL_LEVELS = frozenset({CL.SERIAL, CL.LOCAL_SERIAL})

ANY_READ_MESSAGE = "ANY ConsistencyLevel is only supported for writes"
SERIAL_WRITE_MESSAGE = "You must use conditional updates for serializable writes"
SERIAL_PARTITIONS_MESSAGE = ("SERIAL/LOCAL_SERIAL consistency may only be requested for one "
                             "partition at a time")
COUNTER_SERIAL_MESSAGE = "Counter operations are inherently non-serializable"


class Unavailable(SchemaError):
    """Too few live replicas for the level: ERROR UNAVAILABLE with the level, the replicas it
    required and the replicas alive."""

    error_code = 0x1000

    def __init__(self, message: str, consistency: int, required: int, alive: int) -> None:
        super().__init__(message)
        self.consistency = consistency
        self.required = required
        self.alive = alive


def _unavailable(level: CL, required: int, alive: int, dc: str | None = None) -> Unavailable:
    """UnavailableException.create's messages: too few replicas, else too few full ones
    (every replica is a full one here: transient replication is not enabled)."""
    where = f" in DC {dc}" if dc is not None else ""
    if required > alive:
        return Unavailable(f"Cannot achieve consistency level {level.name}{where}", level,
                           required, alive)
    return Unavailable(f"Insufficient full replicas{where}", level, required, alive)


@dataclass(frozen=True)
class Placement:
    """A keyspace's replicas for any one token: the replication factor, the replicas that exist
    and the live ones, per data center (`dc_factors` None: not NetworkTopologyStrategy, and
    `factor` is the one replication factor)."""

    factor: int
    dc_factors: dict[str, int] | None
    replicas: dict[str, int]
    live: dict[str, int]
    local_dc: str

    @classmethod
    def single_node(cls, keyspace: KeyspaceMetadata, local_dc: str) -> Placement:
        """This node as the keyspace's only replica, if the keyspace places one in its DC."""
        replication = keyspace.replication
        klass = replication["class"]
        if klass == NETWORK_TOPOLOGY_STRATEGY:
            dc_factors = {dc: _factor(v) for dc, v in replication.items() if dc != "class"}
            factor, here = sum(dc_factors.values()), dc_factors.get(local_dc, 0)
        else:
            dc_factors = None
            factor = 1 if klass == LOCAL_STRATEGY else _factor(replication[REPLICATION_FACTOR])
            here = factor
        replicas = {local_dc: min(here, 1)}
        return cls(factor, dc_factors, replicas, dict(replicas), local_dc)

    def live_in(self, dc: str) -> int:
        return self.live.get(dc, 0)

    @property
    def total_live(self) -> int:
        return sum(self.live.values())

    def quorum(self) -> int:
        """ConsistencyLevel.quorumFor: a majority of every replica the keyspace asks for."""
        return self.factor // 2 + 1

    def local_quorum(self, dc: str) -> int:
        if self.dc_factors is None:
            return self.quorum()
        return self.dc_factors.get(dc, 0) // 2 + 1


def _factor(text: str) -> int:
    # The stored form may carry a transient count ("3/0"): every replica it names is full.
    return int(text.partition("/")[0])


# ConsistencyLevel.blockFor: the replicas a level waits for (a serial level as a plain read).
_BLOCK_FOR: dict[CL, Callable[[Placement], int]] = {
    CL.ANY: lambda p: 1,
    CL.ONE: lambda p: 1,
    CL.LOCAL_ONE: lambda p: 1,
    CL.TWO: lambda p: 2,
    CL.THREE: lambda p: 3,
    CL.QUORUM: Placement.quorum,
    CL.SERIAL: Placement.quorum,
    CL.ALL: lambda p: p.factor,
    CL.LOCAL_QUORUM: lambda p: p.local_quorum(p.local_dc),
    CL.LOCAL_SERIAL: lambda p: p.local_quorum(p.local_dc),
    CL.EACH_QUORUM: lambda p: (p.quorum() if p.dc_factors is None else
                               sum(p.local_quorum(dc) for dc in p.dc_factors)),
}


def block_for(level: CL, placement: Placement) -> int:
    """ConsistencyLevel.blockFor: the replicas `level` waits for in `placement`."""
    return _BLOCK_FOR[level](placement)


def availability(level: CL, placement: Placement, full_required: int) -> Unavailable | None:
    """ReplicaPlans.assureSufficientLiveReplicas: None when enough replicas are live for
    `level` (a read needs `full_required` 1, a write 0), else the UNAVAILABLE to answer."""
    required = block_for(level, placement)
    if level is CL.ANY:  # a hint on the coordinator will do, and it is always live
        return None
    if level in (CL.LOCAL_ONE, CL.LOCAL_QUORUM):
        live = placement.live_in(placement.local_dc)
        if live < required or live < full_required:
            return _unavailable(level, required, live)
        return None
    if level is CL.EACH_QUORUM and placement.dc_factors is not None:
        for dc in sorted(placement.dc_factors):
            dc_required, dc_live = placement.local_quorum(dc), placement.live_in(dc)
            if dc_live < dc_required:
                return _unavailable(level, dc_required, dc_live, dc)
        if placement.total_live < full_required:
            return _unavailable(level, required, placement.total_live)
        return None
    live = placement.total_live
    if live < required or live < full_required:
        return _unavailable(level, required, live)
    return None


def paxos_availability(level: CL, placement: Placement) -> Unavailable | None:
    """ReplicaPlans.forPaxos: a serial read of one partition needs a majority of the replicas
    that exist (LOCAL_SERIAL: of those in this DC), not of the replication factor."""
    if level is CL.LOCAL_SERIAL:
        participants = placement.replicas.get(placement.local_dc, 0)
        live = placement.live_in(placement.local_dc)
    else:
        participants = sum(placement.replicas.values())
        live = placement.total_live
    required = participants // 2 + 1
    return _unavailable(level, required, live) if live < required else None


class ConsistencyRules:
    """The levels each kind of request on one table may use, worked out once (see the theory of
    operation); `*_error(level)` is the error for a level outside the matching set."""

    def __init__(self, placement: Placement | None, table: str, counter: bool) -> None:
        self.placement = placement  # None: a virtual table, answered by the node itself
        self.table = table
        self.counter = counter
        self.partition_read = self._passing(lambda lv: self.read_error(lv, True))
        self.range_read = self._passing(lambda lv: self.read_error(lv, False))
        self.write = self._passing(self.write_error)
        self.batch_write = self._passing(self.batch_write_error)

    def for_reads(self, single_partition: bool) -> tuple[frozenset[int], LevelCheck]:
        """(levels, their check) of a SELECT: of one partition key's partitions
        (`single_partition`), or of a token range."""
        levels = self.partition_read if single_partition else self.range_read
        return levels, partial(self.read_error, single_partition=single_partition)

    def for_writes(self) -> tuple[frozenset[int], LevelCheck]:
        """(levels, their check) of an INSERT, UPDATE or DELETE."""
        return self.write, self.write_error

    @staticmethod
    def _passing(error: Callable[[CL], Exception | None]) -> frozenset[int]:
        return frozenset(level for level in CL if error(level) is None)

    def read_error(self, level: int, single_partition: bool) -> Exception | None:
        """SelectStatement's validateForRead, then the read's replica check: of one
        partition (`single_partition`) or of several or a token range."""
        level = CL(level)
        if level is CL.ANY:
            return InvalidRequest(ANY_READ_MESSAGE)
        if self.placement is None:
            return None
        if level in SERIAL_LEVELS and single_partition:
            return paxos_availability(level, self.placement)
        return availability(level, self.placement, 1)

    def write_error(self, level: int) -> Exception | None:
        """ModificationStatement's validateForWrite (validateCounterForWrite on a counter
        table), then the write's replica check. A virtual table is written by the node
        itself, without either."""
        if self.placement is None:
            return None
        level = CL(level)
        if self.counter and level is CL.ANY:
            return InvalidRequest(f"Consistency level ANY is not yet supported for counter "
                                  f"table {self.table}")
        if level in SERIAL_LEVELS:
            return InvalidRequest(COUNTER_SERIAL_MESSAGE if self.counter
                                  else SERIAL_WRITE_MESSAGE)
        return self.batch_write_error(level)

    def batch_write_error(self, level: int) -> Exception | None:
        """A statement of a BATCH: BatchStatement validates no level, the replica check
        (a serial level counts as QUORUM) still applies to each statement's keyspace."""
        if self.placement is None:
            return None
        return availability(CL(level), self.placement, 0)


def rules_for(keyspace: KeyspaceMetadata, table: str, counter: bool,
              local_dc: str) -> ConsistencyRules:
    """The rules of a table of `keyspace` (`counter`: a counter table) on a node in `local_dc`,
    the only replica there is."""
    placement = None if keyspace.virtual else Placement.single_node(keyspace, local_dc)
    return ConsistencyRules(placement, table, counter)


def check_serial_partitions(level: int, partitions: int) -> None:
    """A serial read is one Paxos round on one partition: several partitions are INVALID."""
    if partitions > 1 and level in SERIAL_LEVELS:
        raise InvalidRequest(SERIAL_PARTITIONS_MESSAGE)
