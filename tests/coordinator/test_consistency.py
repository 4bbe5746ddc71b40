"""Consistency levels against a one-node placement: Cassandra's validation and blockFor rules,
as golden tables (level -> the error a read or a write gets, with its required and alive counts)."""

from __future__ import annotations

import pytest

from ferrosa.coordinator.consistency import (
    ALL_LEVELS,
    ConsistencyRules,
    Placement,
    Unavailable,
    check_serial_partitions,
    rules_for,
)
from ferrosa.protocol.constants import ConsistencyLevel as CL
from ferrosa.schema.errors import InvalidRequest
from ferrosa.schema.model import (
    LOCAL_STRATEGY,
    NETWORK_TOPOLOGY_STRATEGY,
    SIMPLE_STRATEGY,
    KeyspaceMetadata,
)

DC = "datacenter1"
OK = None


def rules(replication: dict[str, str], counter: bool = False, virtual: bool = False,
          local_dc: str = DC) -> ConsistencyRules:
    keyspace = KeyspaceMetadata("ks", replication, virtual=virtual)
    return rules_for(keyspace, "t", counter, local_dc)


def simple(rf: int) -> dict[str, str]:
    return {"class": SIMPLE_STRATEGY, "replication_factor": str(rf)}


def outcome(error: Exception | None):
    """OK, ("invalid", message) or ("unavailable", message, required, alive)."""
    if error is None:
        return OK
    if isinstance(error, Unavailable):
        return ("unavailable", error.message, error.required, error.alive)
    assert isinstance(error, InvalidRequest), error
    return ("invalid", error.message)


def unavailable(level: str, required: int, alive: int, dc: str = ""):
    where = f" in DC {dc}" if dc else ""
    return ("unavailable", f"Cannot achieve consistency level {level}{where}", required, alive)


ANY_READ = ("invalid", "ANY ConsistencyLevel is only supported for writes")
SERIAL_WRITE = ("invalid", "You must use conditional updates for serializable writes")

# replication_factor 1: everything but TWO and THREE, which need replicas that do not exist.
RF1_WRITES = {CL.ANY: OK, CL.ONE: OK, CL.TWO: unavailable("TWO", 2, 1),
              CL.THREE: unavailable("THREE", 3, 1), CL.QUORUM: OK, CL.ALL: OK,
              CL.LOCAL_QUORUM: OK, CL.EACH_QUORUM: OK, CL.SERIAL: SERIAL_WRITE,
              CL.LOCAL_SERIAL: SERIAL_WRITE, CL.LOCAL_ONE: OK}
RF1_READS = {**RF1_WRITES, CL.ANY: ANY_READ, CL.SERIAL: OK, CL.LOCAL_SERIAL: OK}

# replication_factor 3 on one node: a quorum is 2 of the 3 replicas the keyspace asks for.
RF3_WRITES = {CL.ANY: OK, CL.ONE: OK, CL.TWO: unavailable("TWO", 2, 1),
              CL.THREE: unavailable("THREE", 3, 1), CL.QUORUM: unavailable("QUORUM", 2, 1),
              CL.ALL: unavailable("ALL", 3, 1),
              CL.LOCAL_QUORUM: unavailable("LOCAL_QUORUM", 2, 1),
              CL.EACH_QUORUM: unavailable("EACH_QUORUM", 2, 1), CL.SERIAL: SERIAL_WRITE,
              CL.LOCAL_SERIAL: SERIAL_WRITE, CL.LOCAL_ONE: OK}
# A serial read of one partition is a Paxos round among the replicas that exist (this node).
RF3_PARTITION_READS = {**RF3_WRITES, CL.ANY: ANY_READ, CL.SERIAL: OK, CL.LOCAL_SERIAL: OK}
# A serial read of a token range is a plain read at QUORUM (LOCAL_SERIAL: LOCAL_QUORUM).
RF3_RANGE_READS = {**RF3_PARTITION_READS, CL.SERIAL: unavailable("SERIAL", 2, 1),
                   CL.LOCAL_SERIAL: unavailable("LOCAL_SERIAL", 2, 1)}


@pytest.mark.parametrize("level", list(CL))
def test_replication_factor_one(level):
    r = rules(simple(1))
    assert outcome(r.write_error(level)) == RF1_WRITES[level]
    assert outcome(r.read_error(level, True)) == RF1_READS[level]
    assert outcome(r.read_error(level, False)) == RF1_READS[level]


@pytest.mark.parametrize("replication", [simple(3), {"class": NETWORK_TOPOLOGY_STRATEGY,
                                                     DC: "3"}])
@pytest.mark.parametrize("level", list(CL))
def test_replication_factor_three(replication, level):
    r = rules(replication)
    nts = replication["class"] == NETWORK_TOPOLOGY_STRATEGY
    expected_write = RF3_WRITES[level]
    if nts and level is CL.EACH_QUORUM:  # a quorum in each DC, named in the message
        expected_write = unavailable("EACH_QUORUM", 2, 1, DC)
    assert outcome(r.write_error(level)) == expected_write
    for single, table in ((True, RF3_PARTITION_READS), (False, RF3_RANGE_READS)):
        expected = table[level]
        if nts and level is CL.EACH_QUORUM:
            expected = unavailable("EACH_QUORUM", 2, 1, DC)
        assert outcome(r.read_error(level, single)) == expected


def test_the_sets_hold_exactly_the_levels_that_pass():
    for replication in (simple(1), simple(2), simple(3), simple(0)):
        r = rules(replication)
        assert r.write == {lv for lv in CL if r.write_error(lv) is None}
        assert r.batch_write == {lv for lv in CL if r.batch_write_error(lv) is None}
        assert r.partition_read == {lv for lv in CL if r.read_error(lv, True) is None}
        assert r.range_read == {lv for lv in CL if r.read_error(lv, False) is None}
        levels, check = r.for_reads(True)
        assert levels is r.partition_read and check(CL.ANY).message == ANY_READ[1]
        assert r.for_writes() == (r.write, r.write_error)


def test_replication_factor_two_quorum_is_two():
    r = rules(simple(2))
    assert outcome(r.write_error(CL.QUORUM)) == unavailable("QUORUM", 2, 1)
    assert outcome(r.write_error(CL.ALL)) == unavailable("ALL", 2, 1)
    assert outcome(r.write_error(CL.ONE)) is OK


def test_no_replica_here():
    """replication_factor 0: nothing is live; ALL waits for no replica when writing, but a read
    needs one full replica whatever its level."""
    r = rules(simple(0))
    assert outcome(r.write_error(CL.ONE)) == unavailable("ONE", 1, 0)
    assert outcome(r.write_error(CL.LOCAL_ONE)) == unavailable("LOCAL_ONE", 1, 0)
    assert outcome(r.write_error(CL.ANY)) is OK
    assert outcome(r.write_error(CL.ALL)) is OK
    assert outcome(r.read_error(CL.ALL, False)) == ("unavailable", "Insufficient full replicas",
                                                    0, 0)
    assert outcome(r.read_error(CL.SERIAL, True)) == unavailable("SERIAL", 1, 0)


def test_counter_tables_refuse_any_and_serial_writes():
    r = rules(simple(1), counter=True)
    assert outcome(r.write_error(CL.ANY)) == (
        "invalid", "Consistency level ANY is not yet supported for counter table t")
    assert outcome(r.write_error(CL.SERIAL)) == (
        "invalid", "Counter operations are inherently non-serializable")
    assert outcome(r.write_error(CL.QUORUM)) is OK


def test_batches_check_replicas_only():
    """BatchStatement validates no level: a serial level counts as QUORUM, ANY is accepted."""
    r = rules(simple(1), counter=True)
    assert r.batch_write_error(CL.SERIAL) is None and r.batch_write_error(CL.ANY) is None
    assert outcome(rules(simple(3)).batch_write_error(CL.SERIAL)) == unavailable("SERIAL", 2, 1)


def test_local_and_system_keyspaces():
    local = rules({"class": LOCAL_STRATEGY})
    assert local.partition_read == ALL_LEVELS - {CL.ANY, CL.TWO, CL.THREE}
    virtual = rules({"class": LOCAL_STRATEGY}, virtual=True)
    assert virtual.range_read == ALL_LEVELS - {CL.ANY}  # answered by the node itself
    assert virtual.write == ALL_LEVELS


def test_local_levels_count_this_data_center_only():
    """LOCAL_ONE and LOCAL_QUORUM on a NetworkTopologyStrategy keyspace: the replicas in the
    node's own DC; a keyspace with none there has none live for them."""
    placement = Placement(2, {"dc2": 1, "dc3": 1}, {DC: 0}, {DC: 0}, DC)
    r = ConsistencyRules(placement, "t", False)
    assert outcome(r.write_error(CL.LOCAL_ONE)) == unavailable("LOCAL_ONE", 1, 0)
    assert outcome(r.write_error(CL.LOCAL_QUORUM)) == unavailable("LOCAL_QUORUM", 1, 0)
    assert outcome(r.write_error(CL.EACH_QUORUM)) == unavailable("EACH_QUORUM", 1, 0, "dc2")
    assert outcome(r.write_error(CL.ANY)) is OK


def test_transient_notation_counts_full_replicas():
    r = rules({"class": SIMPLE_STRATEGY, "replication_factor": "3/0"})
    assert outcome(r.write_error(CL.QUORUM)) == unavailable("QUORUM", 2, 1)


def test_serial_reads_of_several_partitions_are_invalid():
    check_serial_partitions(CL.SERIAL, 1)
    check_serial_partitions(CL.QUORUM, 5)
    for level in (CL.SERIAL, CL.LOCAL_SERIAL):
        with pytest.raises(InvalidRequest, match="may only be requested for one partition"):
            check_serial_partitions(level, 2)
