"""Conformance of schema statements with Cassandra 5.0 through the real driver: keyspaces (strategies,
options, IF [NOT] EXISTS), tables (every 5.0 table option, CLUSTERING ORDER BY, the refusals of
CreateTableStatement), user types, the system_schema tables and DESCRIBE output that recreates a schema
exactly.

Sources: schema/SchemaKeyspace.addTableParamsToRowBuilder (what system_schema.tables holds: cdc, memtable,
allow_auto_snapshot and incremental_backups are only written when not at their default), schema/TableParams
(validate() messages and appendCqlTo(), the DESCRIBE option order), statements/schema/CreateTableStatement,
CreateTypeStatement, AlterTypeStatement, AlterTableStatement.AddColumns, cql3/CQL3Type (Raw.prepare),
db/marshal/VectorType, service/ClientState.preventSystemKSSchemaModification, AlterSchemaStatement.execute,
schema/Schema.validateTable, schema/TableMetadata.validate, locator/ReplicationFactor.

Must NOT: hold a case where Ferrosa still differs from Cassandra (reported to the lead instead)."""

from __future__ import annotations

import re

import pytest
from cassandra import AlreadyExists, InvalidRequest, Unauthorized
from cassandra.protocol import ConfigurationException, SyntaxException
from cassandra.util import OrderedMapSerializedKey, SortedSet

NODE_HOST = "127.0.0.53"
KS = "conf_ddl"

DEFAULT_OPTIONS = (
    ") WITH additional_write_policy = '99p'\n"
    "    AND allow_auto_snapshot = true\n"
    "    AND bloom_filter_fp_chance = 0.01\n"
    "    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}\n"
    "    AND cdc = false\n"
    "    AND comment = ''\n"
    "    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', "
    "'max_threshold': '32', 'min_threshold': '4'}\n"
    "    AND compression = {'chunk_length_in_kb': '16', "
    "'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}\n"
    "    AND memtable = 'default'\n"
    "    AND crc_check_chance = 1.0\n"
    "    AND default_time_to_live = 0\n"
    "    AND extensions = {}\n"
    "    AND gc_grace_seconds = 864000\n"
    "    AND incremental_backups = true\n"
    "    AND max_index_interval = 2048\n"
    "    AND memtable_flush_period_in_ms = 0\n"
    "    AND min_index_interval = 128\n"
    "    AND read_repair = 'BLOCKING'\n"
    "    AND speculative_retry = '99p';"
)


def server_message(exc: BaseException) -> str:
    found = re.search(r'message="(.*)"', str(exc), re.S)
    return found.group(1) if found else str(exc)


def plain(value):
    if isinstance(value, (SortedSet, set)):
        return set(value)
    if isinstance(value, (OrderedMapSerializedKey, dict)):
        return dict(value)
    return value


@pytest.fixture(scope="module")
def s(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    session.execute(f"CREATE KEYSPACE {KS} WITH replication = {{'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    yield session
    cluster.shutdown()


def keyspace_row(session, name):
    row = session.execute("SELECT durable_writes, replication FROM system_schema.keyspaces "
                          "WHERE keyspace_name = %s", (name,)).one()
    return None if row is None else (row.durable_writes, plain(row.replication))


# ---------------------------------------------------------------------------------------------------
# Keyspaces.
# ---------------------------------------------------------------------------------------------------

def test_keyspace_create_alter_drop(s):
    s.execute("CREATE KEYSPACE conf_k1 WITH replication = "
              "{'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': 2} "
              "AND durable_writes = false")
    assert keyspace_row(s, "conf_k1") == (False, {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "2"})
    s.execute("ALTER KEYSPACE conf_k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} "
              "AND durable_writes = true")
    assert keyspace_row(s, "conf_k1") == (True, {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"})
    s.execute("ALTER KEYSPACE conf_k1 WITH durable_writes = false")  # replication stays
    assert keyspace_row(s, "conf_k1") == (False, {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"})
    s.execute("DROP KEYSPACE conf_k1")
    assert keyspace_row(s, "conf_k1") is None


def test_network_topology_strategy(s):
    s.execute("CREATE KEYSPACE conf_k2 WITH replication = {'class': 'NetworkTopologyStrategy', "
              "'datacenter1': 3}")
    assert keyspace_row(s, "conf_k2") == (True, {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "datacenter1": "3"})
    # 'replication_factor' expands to every known datacenter (NetworkTopologyStrategy.prepareOptions).
    s.execute("CREATE KEYSPACE conf_k3 WITH replication = {'class': 'NetworkTopologyStrategy', "
              "'replication_factor': 2}")
    assert keyspace_row(s, "conf_k3") == (True, {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "datacenter1": "2"})


def test_keyspace_if_exists_forms(s):
    s.execute("CREATE KEYSPACE conf_k4 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    with pytest.raises(AlreadyExists):
        s.execute("CREATE KEYSPACE conf_k4 WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
    s.execute("CREATE KEYSPACE IF NOT EXISTS conf_k4 WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 3}")
    assert keyspace_row(s, "conf_k4")[1]["replication_factor"] == "1"  # unchanged
    s.execute("ALTER KEYSPACE IF EXISTS conf_nope WITH durable_writes = false")
    s.execute("DROP KEYSPACE IF EXISTS conf_nope")
    s.execute("DROP KEYSPACE IF EXISTS conf_k4")
    assert keyspace_row(s, "conf_k4") is None


KEYSPACE_ERRORS = [
    # locator/ReplicationFactor.validate.
    ("CREATE KEYSPACE conf_e1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': -1}",
     ConfigurationException, "Replication factor must be non-negative, found -1"),
    # AbstractReplicationStrategy.validateExpectedOptions.
    ("CREATE KEYSPACE conf_e2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1, "
     "'foo': 'bar'}", ConfigurationException,
     "Unrecognized strategy option {foo} passed to SimpleStrategy for keyspace conf_e2"),
    # KeyspaceMetadata.validate / SchemaConstants.NAME_LENGTH.
    ("CREATE KEYSPACE a_keyspace_name_that_is_longer_than_forty_eight_chars WITH replication = "
     "{'class': 'SimpleStrategy', 'replication_factor': 1}", ConfigurationException,
     'Keyspace name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore '
     'characters (got "a_keyspace_name_that_is_longer_than_forty_eight_chars")'),
    ('CREATE KEYSPACE "Bad-Name" WITH replication = {\'class\': \'SimpleStrategy\', \'replication_factor\': 1}',
     ConfigurationException,
     'Keyspace name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore '
     'characters (got "Bad-Name")'),
    # PropertyDefinitions.validate.
    ("CREATE KEYSPACE conf_e3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} "
     "AND nope = 1", SyntaxException, "Unknown property 'nope'"),
    # AlterKeyspaceStatement / DropKeyspaceStatement.
    ("ALTER KEYSPACE conf_nope WITH durable_writes = false", InvalidRequest,
     "Keyspace 'conf_nope' doesn't exist"),
    ("DROP KEYSPACE conf_nope", InvalidRequest, "Keyspace 'conf_nope' doesn't exist"),
]


@pytest.mark.parametrize("statement,error,message", KEYSPACE_ERRORS,
                         ids=[m[:40] for _, _, m in KEYSPACE_ERRORS])
def test_keyspace_errors(s, statement, error, message):
    with pytest.raises(error) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# Tables: options as system_schema.tables and DESCRIBE show them.
# ---------------------------------------------------------------------------------------------------

TABLE_COLUMNS = ("additional_write_policy, allow_auto_snapshot, bloom_filter_fp_chance, caching, cdc, comment, "
                 "compaction, compression, crc_check_chance, dclocal_read_repair_chance, default_time_to_live, "
                 "extensions, flags, gc_grace_seconds, incremental_backups, max_index_interval, memtable, "
                 "memtable_flush_period_in_ms, min_index_interval, read_repair, read_repair_chance, "
                 "speculative_retry")


def table_row(session, table) -> dict:
    row = session.execute(f"SELECT {TABLE_COLUMNS} FROM system_schema.tables WHERE keyspace_name = %s AND "
                          "table_name = %s", (KS, table)).one()
    return {name: plain(value) for name, value in row._asdict().items()}


def test_default_table_options(s):
    s.execute(f"CREATE TABLE {KS}.plain (k int PRIMARY KEY, v int)")
    assert table_row(s, "plain") == {
        "additional_write_policy": "99p", "allow_auto_snapshot": None, "bloom_filter_fp_chance": 0.01,
        "caching": {"keys": "ALL", "rows_per_partition": "NONE"}, "cdc": None, "comment": "",
        "compaction": {"class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                       "max_threshold": "32", "min_threshold": "4"},
        "compression": {"chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.LZ4Compressor"},
        "crc_check_chance": 1.0, "dclocal_read_repair_chance": 0.0, "default_time_to_live": 0,
        "extensions": {}, "flags": {"compound"}, "gc_grace_seconds": 864000, "incremental_backups": None,
        "max_index_interval": 2048, "memtable": None, "memtable_flush_period_in_ms": 0,
        "min_index_interval": 128, "read_repair": "BLOCKING", "read_repair_chance": 0.0,
        "speculative_retry": "99p"}
    described = s.execute(f"DESCRIBE TABLE {KS}.plain").one()
    assert (described.keyspace_name, described.type, described.name) == (KS, "table", "plain")
    assert described.create_statement == (f"CREATE TABLE {KS}.plain (\n    k int PRIMARY KEY,\n    v int\n"
                                          + DEFAULT_OPTIONS)


def test_every_table_option(s):
    s.execute(f"CREATE TABLE {KS}.opts (k int PRIMARY KEY, v int) WITH comment = 'it''s here' "
              "AND gc_grace_seconds = 10 AND default_time_to_live = 5 AND bloom_filter_fp_chance = 0.1 "
              "AND caching = {'keys': 'NONE', 'rows_per_partition': '10'} "
              "AND compaction = {'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': '100'} "
              "AND compression = {'class': 'ZstdCompressor', 'chunk_length_in_kb': 64} "
              "AND crc_check_chance = 0.5 AND speculative_retry = '95p' AND additional_write_policy = 'NEVER' "
              "AND read_repair = 'NONE' AND memtable_flush_period_in_ms = 1000 AND min_index_interval = 64 "
              "AND max_index_interval = 1024 AND cdc = false AND allow_auto_snapshot = false "
              "AND incremental_backups = false")
    row = table_row(s, "opts")
    assert row["comment"] == "it's here" and row["gc_grace_seconds"] == 10
    assert row["default_time_to_live"] == 5 and row["bloom_filter_fp_chance"] == 0.1
    assert row["caching"] == {"keys": "NONE", "rows_per_partition": "10"}
    assert row["compaction"] == {"class": "org.apache.cassandra.db.compaction.LeveledCompactionStrategy",
                                 "max_threshold": "32", "min_threshold": "4", "sstable_size_in_mb": "100"}
    assert row["compression"] == {"chunk_length_in_kb": "64",
                                  "class": "org.apache.cassandra.io.compress.ZstdCompressor"}
    assert (row["crc_check_chance"], row["speculative_retry"], row["additional_write_policy"]) == (
        0.5, "95p", "NEVER")
    assert (row["read_repair"], row["memtable_flush_period_in_ms"]) == ("NONE", 1000)
    assert (row["min_index_interval"], row["max_index_interval"]) == (64, 1024)
    assert (row["allow_auto_snapshot"], row["incremental_backups"], row["cdc"]) == (False, False, None)
    statement = s.execute(f"DESCRIBE TABLE {KS}.opts").one().create_statement
    assert "    AND allow_auto_snapshot = false\n" in statement
    assert "    AND comment = 'it''s here'\n" in statement
    assert "    AND incremental_backups = false\n" in statement
    assert statement.endswith("    AND read_repair = 'NONE'\n    AND speculative_retry = '95p';")


def test_alter_table_options(s):
    s.execute(f"CREATE TABLE {KS}.alt (k int PRIMARY KEY, v int)")
    s.execute(f"ALTER TABLE {KS}.alt WITH compression = {{'enabled': 'false'}}")
    assert table_row(s, "alt")["compression"] == {"enabled": "false"}
    s.execute(f"ALTER TABLE {KS}.alt WITH speculative_retry = 'ALWAYS' AND caching = {{'keys': 'NONE'}}")
    row = table_row(s, "alt")
    assert (row["speculative_retry"], row["caching"]) == (
        "ALWAYS", {"keys": "NONE", "rows_per_partition": "NONE"})
    s.execute(f"ALTER TABLE {KS}.alt WITH speculative_retry = '50ms'")
    assert table_row(s, "alt")["speculative_retry"] == "50ms"


OPTION_ERRORS = [
    # TableParams.validate.
    ("gc_grace_seconds = -1", "gc_grace_seconds must be greater than or equal to 0 (got -1)"),
    ("default_time_to_live = -1", "default_time_to_live must be greater than or equal to 0 (got -1)"),
    ("default_time_to_live = 630720001", "default_time_to_live must be less than or equal to 630720000 "
                                         "(got 630720001)"),
    ("min_index_interval = 0", "min_index_interval must be greater than or equal to 1 (got 0)"),
    ("max_index_interval = 64", "max_index_interval must be greater than or equal to min_index_interval (128) "
                                "(got 64)"),
    ("memtable_flush_period_in_ms = -1",
     "memtable_flush_period_in_ms must be greater than or equal to 0 (got -1)"),
    ("crc_check_chance = 1.5",
     "crc_check_chance must be larger than or equal to 0 and smaller than or equal to 1.0 (got 1.5)"),
]


@pytest.mark.parametrize("option,message", OPTION_ERRORS, ids=[o for o, _ in OPTION_ERRORS])
def test_table_option_errors(s, option, message):
    s.execute(f"CREATE TABLE IF NOT EXISTS {KS}.bad (k int PRIMARY KEY, v int)")
    with pytest.raises(ConfigurationException) as caught:
        s.execute(f"ALTER TABLE {KS}.bad WITH {option}")
    assert server_message(caught.value) == message


def test_bloom_filter_fp_chance_bounds(s):
    s.execute(f"CREATE TABLE IF NOT EXISTS {KS}.bad (k int PRIMARY KEY, v int)")
    with pytest.raises(ConfigurationException) as caught:
        s.execute(f"ALTER TABLE {KS}.bad WITH bloom_filter_fp_chance = 2")
    message = server_message(caught.value)
    assert message.startswith("bloom_filter_fp_chance must be larger than ")
    assert message.endswith(" and less than or equal to 1.0 (got 2.0)")


def test_unknown_table_property_is_a_syntax_error(s):
    with pytest.raises(SyntaxException) as caught:
        s.execute(f"CREATE TABLE {KS}.e0 (k int PRIMARY KEY, v int) WITH nope = 1")
    assert server_message(caught.value) == "Unknown property 'nope'"


def test_clustering_order_by(s):
    s.execute(f"CREATE TABLE {KS}.ord (k int, a int, b text, v int, PRIMARY KEY (k, a, b)) "
              "WITH CLUSTERING ORDER BY (a DESC, b ASC)")
    for a in range(3):
        for b in ("x", "y"):
            s.execute(f"INSERT INTO {KS}.ord (k, a, b, v) VALUES (1, {a}, '{b}', 0)")
    assert [(r.a, r.b) for r in s.execute(f"SELECT a, b FROM {KS}.ord WHERE k = 1")] == [
        (2, "x"), (2, "y"), (1, "x"), (1, "y"), (0, "x"), (0, "y")]
    assert [(r.a, r.b) for r in s.execute(f"SELECT a, b FROM {KS}.ord WHERE k = 1 ORDER BY a ASC, b DESC")] == [
        (0, "y"), (0, "x"), (1, "y"), (1, "x"), (2, "y"), (2, "x")]
    columns = s.execute("SELECT column_name, clustering_order, kind, position, type FROM system_schema.columns "
                        "WHERE keyspace_name = %s AND table_name = 'ord'", (KS,))
    assert [tuple(r) for r in columns] == [
        ("a", "desc", "clustering", 0, "int"), ("b", "asc", "clustering", 1, "text"),
        ("k", "none", "partition_key", 0, "int"), ("v", "none", "regular", -1, "int")]


def test_system_schema_columns_of_a_rich_table(s):
    s.execute(f"CREATE TYPE {KS}.pt (x int, y int)")
    s.execute(f'CREATE TABLE {KS}.rich (k int, "Kk" text, c timeuuid, s int static, l list<int>, '
              f"fm frozen<map<text, int>>, u pt, fu frozen<pt>, t tuple<int, text>, vec vector<float, 2>, "
              'PRIMARY KEY ((k, "Kk"), c))')
    columns = s.execute("SELECT column_name, clustering_order, column_name_bytes, kind, position, type "
                        "FROM system_schema.columns WHERE keyspace_name = %s AND table_name = 'rich'", (KS,))
    assert [tuple(r) for r in columns] == [
        ("Kk", "none", b"Kk", "partition_key", 1, "text"),
        ("c", "asc", b"c", "clustering", 0, "timeuuid"),
        ("fm", "none", b"fm", "regular", -1, "frozen<map<text, int>>"),
        ("fu", "none", b"fu", "regular", -1, "frozen<pt>"),
        ("k", "none", b"k", "partition_key", 0, "int"),
        ("l", "none", b"l", "regular", -1, "list<int>"),
        ("s", "none", b"s", "static", -1, "int"),
        ("t", "none", b"t", "regular", -1, "frozen<tuple<int, text>>"),
        ("u", "none", b"u", "regular", -1, "pt"),
        ("vec", "none", b"vec", "regular", -1, "vector<float, 2>")]


def test_counter_table_flags(s):
    s.execute(f"CREATE TABLE {KS}.cnt (k text PRIMARY KEY, a counter, b counter)")
    assert table_row(s, "cnt")["flags"] == {"compound", "counter"}


def test_table_if_not_exists_and_drop(s):
    s.execute(f"CREATE TABLE {KS}.tmp (k int PRIMARY KEY)")
    with pytest.raises(AlreadyExists):
        s.execute(f"CREATE TABLE {KS}.tmp (k int PRIMARY KEY)")
    s.execute(f"CREATE TABLE IF NOT EXISTS {KS}.tmp (k text PRIMARY KEY, v int)")
    assert s.execute(f"SELECT * FROM {KS}.tmp").column_names == ["k"]
    s.execute(f"DROP TABLE {KS}.tmp")
    s.execute(f"DROP TABLE IF EXISTS {KS}.tmp")
    assert s.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND "
                     "table_name = 'tmp'", (KS,)).one() is None


CREATE_TABLE_ERRORS = [
    # CreateTableStatement.builder and Raw.
    ("CREATE TABLE {ks}.e1 (k int, v text, v int, PRIMARY KEY (k))",
     "Duplicate column 'v' declaration for table '{ks}.e1'"),
    ("CREATE TABLE {ks}.e2 (k counter PRIMARY KEY)",
     "counter type is not supported for PRIMARY KEY column 'k'"),
    ("CREATE TABLE {ks}.e3 (k int PRIMARY KEY, s int static)",
     "Static columns are only useful (and thus allowed) if the table has at least one clustering column"),
    ("CREATE TABLE {ks}.e4 (k int PRIMARY KEY, c counter, v int)",
     "Cannot mix counter and non counter columns in the same table"),
    ("CREATE TABLE {ks}.e5 (k duration PRIMARY KEY)",
     "duration type is not supported for PRIMARY KEY column 'k'"),
    ("CREATE TABLE {ks}.e6 (k int, c duration, v int, PRIMARY KEY (k, c))",
     "duration type is not supported for PRIMARY KEY column 'c'"),
    ("CREATE TABLE {ks}.e7 (k frozen<map<text, list<frozen<tuple<int, duration>>>>> PRIMARY KEY)",
     "duration type is not supported for PRIMARY KEY column 'k'"),
    ("CREATE TABLE {ks}.e8 (k int, u frozen<span>, PRIMARY KEY (k, u))",
     "duration type is not supported for PRIMARY KEY column 'u'"),
    ("CREATE TABLE {ks}.e9 (k list<int> PRIMARY KEY)",
     "Invalid non-frozen collection type list<int> for PRIMARY KEY column 'k'"),
    # CQL3Type.UserDefined prints the keyspace-qualified name, hence quoted (ColumnIdentifier.maybeQuote).
    ("CREATE TABLE {ks}.e10 (k place PRIMARY KEY)",
     'Invalid non-frozen user-defined type "{ks}.place" for PRIMARY KEY column \'k\''),
    ("CREATE TABLE {ks}.e11 (k int, v int, PRIMARY KEY (x))",
     "Unknown column 'x' referenced in PRIMARY KEY for table 'e11'"),
    ("CREATE TABLE {ks}.e12 (k int, v int, PRIMARY KEY (k, k))",
     "Duplicate column 'k' in PRIMARY KEY clause for table 'e12'"),
    ("CREATE TABLE {ks}.e13 (k int, s int static, PRIMARY KEY (k, s))",
     "Static column 's' cannot be part of the PRIMARY KEY"),
    ("CREATE TABLE {ks}.e14 (k int, a int, b int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (b ASC, a DESC)",
     "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns "
     "(a must appear before b)"),
    ("CREATE TABLE {ks}.e15 (k int, a int, b int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (b ASC)",
     "Missing CLUSTERING ORDER for column a"),
    ("CREATE TABLE {ks}.e16 (k int, a int, v int, PRIMARY KEY (k, a)) WITH CLUSTERING ORDER BY (v ASC)",
     "Only clustering key columns can be defined in CLUSTERING ORDER directive: [v] are not clustering columns"),
    ("CREATE TABLE {ks}.e17 (k int, v int)",
     "No PRIMARY KEY specifed for table '{ks}.e17' (exactly one required)"),
    # CQL3Type.Raw.prepare (RawCollection, RawTuple, RawVector) and VectorType.
    ("CREATE TABLE {ks}.e18 (k int PRIMARY KEY, v set<duration>)",
     "Durations are not allowed inside sets: set<duration>"),
    ("CREATE TABLE {ks}.e19 (k frozen<set<duration>> PRIMARY KEY)",
     "Durations are not allowed inside sets: frozen<set<duration>>"),
    ("CREATE TABLE {ks}.e20 (k int PRIMARY KEY, v map<duration, int>)",
     "Durations are not allowed as map keys: map<duration, int>"),
    ("CREATE TABLE {ks}.e21 (k int PRIMARY KEY, v list<counter>)",
     "Counters are not allowed inside collections: list<counter>"),
    ("CREATE TABLE {ks}.e22 (k int PRIMARY KEY, v frozen<list<list<counter>>>)",
     "Counters are not allowed inside collections: frozen<list<counter>>"),
    ("CREATE TABLE {ks}.e23 (k int PRIMARY KEY, v tuple<int, counter>)",
     "Counters are not allowed inside tuples"),
    ("CREATE TABLE {ks}.e24 (k int PRIMARY KEY, v list<list<int>>)",
     "Non-frozen collections are not allowed inside collections: list<list<int>>"),
    ("CREATE TABLE {ks}.e25 (k int PRIMARY KEY, v map<text, set<int>>)",
     "Non-frozen collections are not allowed inside collections: map<text, set<int>>"),
    ("CREATE TABLE {ks}.e26 (k int PRIMARY KEY, v list<place>)",
     "Non-frozen UDTs are not allowed inside collections: list<place>"),
    ("CREATE TABLE {ks}.e27 (k int PRIMARY KEY, v vector<float, 0>)",
     "vectors may only have positive dimensions; given 0"),
    ("CREATE TABLE {ks}.e28 (k int PRIMARY KEY, v nested)",
     "Non-frozen UDTs with nested non-frozen collections are not supported"),
]


@pytest.fixture(scope="module")
def udts(s):
    s.execute(f"CREATE TYPE {KS}.place (name text)")
    s.execute(f"CREATE TYPE {KS}.nested (tags list<text>)")
    s.execute(f"CREATE TYPE {KS}.span (d duration)")
    return s


@pytest.mark.parametrize("statement,message", CREATE_TABLE_ERRORS, ids=[m[:40] for _, m in CREATE_TABLE_ERRORS])
def test_create_table_errors(udts, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        udts.execute(statement.format(ks=KS))
    assert server_message(caught.value) == message.format(ks=KS)


def test_nested_types_are_frozen_as_cassandra_stores_them(udts):
    # RawCollection.freeze reaches every nested collection and UDT; RawTuple freezes its elements.
    udts.execute(f"CREATE TABLE {KS}.frz (k int PRIMARY KEY, a frozen<list<list<int>>>, b tuple<int, list<int>>, "
                 "c frozen<map<place, set<text>>>, d vector<float, 2>, e map<text, frozen<place>>)")
    rows = udts.execute("SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = %s "
                        "AND table_name = 'frz'", (KS,))
    assert {r.column_name: r.type for r in rows} == {
        "k": "int", "a": "frozen<list<frozen<list<int>>>>", "b": "frozen<tuple<int, frozen<list<int>>>>",
        "c": "frozen<map<frozen<place>, frozen<set<text>>>>", "d": "vector<float, 2>",
        "e": "map<text, frozen<place>>"}


ALTER_TABLE_ADD_ERRORS = [
    # AlterTableStatement.AddColumns: the type is prepared first (CQL3Type.Raw.prepare).
    ("ALTER TABLE {ks}.adds ADD l list<counter>", InvalidRequest,
     "Counters are not allowed inside collections: list<counter>"),
    ("ALTER TABLE {ks}.adds ADD v set<duration>", InvalidRequest,  # before "already exists"
     "Durations are not allowed inside sets: set<duration>"),
    ("ALTER TABLE {ks}.adds ADD x list<place>", InvalidRequest,
     "Non-frozen UDTs are not allowed inside collections: list<place>"),
    ("ALTER TABLE {ks}.adds ADD x vector<float, 0>", InvalidRequest,
     "vectors may only have positive dimensions; given 0"),
    # TableMetadata.validate (its except() prefixes keyspace.table).
    ("ALTER TABLE {ks}.adds ADD c counter", ConfigurationException,
     '{ks}.adds: Cannot have a counter column ("c") in a non counter table'),
    ("ALTER TABLE {ks}.cnt ADD t text", ConfigurationException,
     '{ks}.cnt: Cannot have a non counter column ("t") in a counter table'),
]


@pytest.mark.parametrize("statement,error,message", ALTER_TABLE_ADD_ERRORS,
                         ids=[m[:40] for _, _, m in ALTER_TABLE_ADD_ERRORS])
def test_alter_table_add_errors(udts, statement, error, message):
    udts.execute(f"CREATE TABLE IF NOT EXISTS {KS}.adds (k int PRIMARY KEY, v int)")
    udts.execute(f"CREATE TABLE IF NOT EXISTS {KS}.cnt (k text PRIMARY KEY, a counter, b counter)")
    with pytest.raises(error) as caught:
        udts.execute(statement.format(ks=KS))
    assert server_message(caught.value) == message.format(ks=KS)


# ---------------------------------------------------------------------------------------------------
# System keyspaces: ClientState.preventSystemKSSchemaModification (Unauthorized), then
# AlterSchemaStatement.execute (InvalidRequest); Schema.validateTable for reads and writes.
# ---------------------------------------------------------------------------------------------------

SYSTEM_KEYSPACE_ERRORS = [
    ("ALTER KEYSPACE system WITH durable_writes = false", Unauthorized, "system keyspace is not user-modifiable."),
    ("ALTER KEYSPACE IF EXISTS system WITH durable_writes = false", Unauthorized,
     "system keyspace is not user-modifiable."),
    ("DROP KEYSPACE system", Unauthorized, "system keyspace is not user-modifiable."),
    ("DROP KEYSPACE system_schema", Unauthorized, "system_schema keyspace is not user-modifiable."),
    ("CREATE TABLE system.x (k int PRIMARY KEY)", Unauthorized, "system keyspace is not user-modifiable."),
    ("DROP TABLE IF EXISTS system.local", Unauthorized, "system keyspace is not user-modifiable."),
    ("ALTER TABLE system.local ADD x int", Unauthorized, "system keyspace is not user-modifiable."),
    ("CREATE TYPE system.t (a int)", Unauthorized, "system keyspace is not user-modifiable."),
    ("DROP KEYSPACE system_auth", Unauthorized, "Cannot DROP <keyspace system_auth>"),
    ("CREATE TABLE system_auth.x (k int PRIMARY KEY)", Unauthorized, "Cannot CREATE <all tables in system_auth>"),
    ("ALTER TABLE system_auth.roles ADD x int", Unauthorized, "Cannot ALTER <table system_auth.roles>"),
    ("DROP TABLE system_distributed.repair_history", Unauthorized,
     "Cannot DROP <table system_distributed.repair_history>"),
    ("CREATE TABLE system_views.x (k int PRIMARY KEY)", InvalidRequest,
     "Virtual keyspace 'system_views' is not user-modifiable"),
    ("CREATE KEYSPACE system WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
     InvalidRequest, "System keyspace 'system' is not user-modifiable"),
    # Schema.validateTable.
    ("SELECT * FROM nope.t", InvalidRequest, "keyspace nope does not exist"),
    ("SELECT * FROM system.nope", InvalidRequest, "table nope does not exist"),
    ("INSERT INTO nope.t (k) VALUES (1)", InvalidRequest, "keyspace nope does not exist"),
    ("UPDATE nope.t SET v = 1 WHERE k = 1", InvalidRequest, "keyspace nope does not exist"),
    ("DELETE FROM system.nope WHERE k = 1", InvalidRequest, "table nope does not exist"),
]


@pytest.mark.parametrize("statement,error,message", SYSTEM_KEYSPACE_ERRORS,
                         ids=[st[:40] for st, _, _ in SYSTEM_KEYSPACE_ERRORS])
def test_system_keyspaces_and_missing_tables(s, statement, error, message):
    with pytest.raises(error) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# User types.
# ---------------------------------------------------------------------------------------------------

def test_types_in_system_schema_and_their_lifecycle(s):
    s.execute(f"CREATE TYPE {KS}.addr (street text, \"Zip\" int, tags frozen<set<text>>)")
    s.execute(f"CREATE TYPE IF NOT EXISTS {KS}.addr (other int)")  # a no-op
    s.execute(f"CREATE TYPE {KS}.holder (a frozen<addr>, m map<text, frozen<addr>>)")
    rows = s.execute("SELECT type_name, field_names, field_types FROM system_schema.types WHERE "
                     "keyspace_name = %s AND type_name IN ('addr', 'holder')", (KS,))
    assert [tuple(r) for r in rows] == [
        ("addr", ["street", "Zip", "tags"], ["text", "int", "frozen<set<text>>"]),
        ("holder", ["a", "m"], ["frozen<addr>", "map<text, frozen<addr>>"])]
    s.execute(f"DROP TYPE {KS}.holder")
    s.execute(f"DROP TYPE IF EXISTS {KS}.holder")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"CREATE TYPE {KS}.addr (x int)")
    assert server_message(caught.value) == "A user type with name 'addr' already exists"
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"CREATE TYPE {KS}.selfish (me frozen<selfish>)")
    assert server_message(caught.value) == f"Unknown type {KS}.selfish"


def test_type_in_use_cannot_be_dropped(s):
    s.execute(f"CREATE TYPE {KS}.used (x int)")
    s.execute(f"CREATE TABLE {KS}.user_of_type (k int PRIMARY KEY, u frozen<used>)")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"DROP TYPE {KS}.used")
    assert server_message(caught.value) == (
        f"Cannot drop user type {KS}.used as it is still used by table {KS}.user_of_type")


def test_alter_type_add_and_rename_fields(s):
    # statements/schema/AlterTypeStatement (AddField, RenameFields).
    s.execute(f"CREATE TYPE {KS}.pt2 (x int, y text)")
    s.execute(f"CREATE TABLE {KS}.pts (k int PRIMARY KEY, f frozen<pt2>, n pt2)")
    s.execute(f"INSERT INTO {KS}.pts (k, f, n) VALUES (1, {{x: 1, y: 'a'}}, {{x: 2}})")
    s.execute(f"ALTER TYPE {KS}.pt2 ADD z boolean")
    s.execute(f"ALTER TYPE {KS}.pt2 ADD IF NOT EXISTS z int")  # a no-op: z stays boolean
    row = s.execute(f"SELECT f, n FROM {KS}.pts WHERE k = 1").one()
    assert (row.f.x, row.f.y, row.f.z, row.n.x, row.n.z) == (1, "a", None, 2, None)  # old values: null
    s.execute(f"UPDATE {KS}.pts SET n.z = true WHERE k = 1")
    s.execute(f"ALTER TYPE {KS}.pt2 RENAME x TO xx AND y TO yy")
    fields = s.execute("SELECT field_names, field_types FROM system_schema.types WHERE keyspace_name = %s "
                       "AND type_name = 'pt2'", (KS,)).one()
    assert (fields.field_names, fields.field_types) == (["xx", "yy", "z"], ["int", "text", "boolean"])
    assert tuple(s.execute(f"SELECT f.xx, n.xx, n.z FROM {KS}.pts WHERE k = 1").one()) == (1, 2, True)
    s.execute(f"ALTER TYPE {KS}.pt2 RENAME IF EXISTS nope TO q")
    s.execute(f"ALTER TYPE IF EXISTS {KS}.no_such_type ADD q int")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"ALTER TYPE {KS}.pt2 RENAME nope TO q")
    assert server_message(caught.value) == f"Unkown field nope in user type {KS}.pt2"  # sic


TYPE_ERRORS = [
    # CreateTypeStatement.apply.
    ("CREATE TYPE {ks}.tc (c counter)", "A user type cannot contain counters"),
    ("CREATE TYPE {ks}.tn (a int, p place)", "A user type cannot contain non-frozen UDTs"),
    ("CREATE TYPE {ks}.tl (a int, p list<place>)", "Non-frozen UDTs are not allowed inside collections: list<place>"),
    ("CREATE TYPE {ks}.tm (a int, m map<text, counter>)",
     "Counters are not allowed inside collections: map<text, counter>"),
    ("CREATE TYPE {ks}.td (a int, a text)", "Duplicate field name 'a' in type 'td'"),
    # AlterTypeStatement (AddField checks counters and non-frozen UDTs first, then the name).
    ("ALTER TYPE {ks}.pt4 ADD c counter", "A user type cannot contain counters"),
    ("ALTER TYPE {ks}.pt4 ADD x counter", "A user type cannot contain counters"),
    ("ALTER TYPE {ks}.pt4 ADD p place", "A user type cannot contain non-frozen UDTs"),
    ("ALTER TYPE {ks}.pt4 ADD z int", "Cannot add field z to type {ks}.pt4: a field with name z already exists"),
    ("ALTER TYPE {ks}.pt4 ADD l list<counter>", "Counters are not allowed inside collections: list<counter>"),
    # Preparing the field type set the keyspace of its UDT name, which the message then prints.
    ("ALTER TYPE {ks}.pt4 ADD w frozen<wrap4>",
     "Cannot add new field w of type frozen<{ks}.wrap4> to user type {ks}.pt4 as it would create a "
     "circular reference"),
    ("ALTER TYPE {ks}.keyed ADD b int",
     "Cannot add new field b of type int to user type {ks}.keyed as the type is being used in partition key "
     "by the following tables: {ks}.keyed_by"),
    # RenameFields formats "type %s" with the keyspace name and drops the type's (sic).
    ("ALTER TYPE {ks}.pt4 RENAME x TO z", "Duplicate field name z in type {ks}"),
    ("ALTER TYPE {ks}.pt4 RENAME nope TO q", "Unkown field nope in user type {ks}.pt4"),
    ("ALTER TYPE {ks}.pt4 ALTER x TYPE bigint", "Altering field types is no longer supported"),
]


@pytest.fixture(scope="module")
def alterable_types(udts):
    udts.execute(f"CREATE TYPE {KS}.pt4 (x int, z int)")
    udts.execute(f"CREATE TYPE {KS}.wrap4 (inner frozen<pt4>)")
    udts.execute(f"CREATE TYPE {KS}.keyed (a int)")
    udts.execute(f"CREATE TABLE {KS}.keyed_by (k frozen<keyed> PRIMARY KEY, v int)")
    return udts


@pytest.mark.parametrize("statement,message", TYPE_ERRORS, ids=[st[:40] for st, _ in TYPE_ERRORS])
def test_type_errors(alterable_types, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        alterable_types.execute(statement.format(ks=KS))
    assert server_message(caught.value) == message.format(ks=KS)


def test_rename_fields_looks_names_up_in_the_type_before_the_statement(alterable_types):
    # RenameFields finds each old name among the type's fields, so a swap is valid.
    alterable_types.execute(f"CREATE TYPE {KS}.swap (a int, b text)")
    alterable_types.execute(f"ALTER TYPE {KS}.swap RENAME a TO b AND b TO a")
    row = alterable_types.execute("SELECT field_names, field_types FROM system_schema.types WHERE "
                                  "keyspace_name = %s AND type_name = 'swap'", (KS,)).one()
    assert (row.field_names, row.field_types) == (["b", "a"], ["int", "text"])


# ---------------------------------------------------------------------------------------------------
# DESCRIBE of a rich schema recreates it exactly.
# ---------------------------------------------------------------------------------------------------

RICH_SCHEMA = [
    "CREATE KEYSPACE {ks} WITH replication = {{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}} "
    "AND durable_writes = false",
    'CREATE TYPE {ks}.addr (street text, "Zip" int, tags frozen<set<text>>)',
    "CREATE TYPE {ks}.person (name text, home frozen<addr>, nums list<int>)",
    'CREATE TABLE {ks}.t1 (k int, "CaseKey" text, c1 timeuuid, c2 text, s int static, '
    "v map<text, frozen<list<int>>>, fu frozen<person>, t tuple<int, text>, vec vector<float, 3>, d duration, "
    "b blob, PRIMARY KEY ((k, \"CaseKey\"), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC) "
    "AND comment = 'it''s rich' AND default_time_to_live = 100 AND gc_grace_seconds = 3600 "
    "AND compaction = {{'class': 'LeveledCompactionStrategy'}} "
    "AND caching = {{'keys': 'NONE', 'rows_per_partition': 'ALL'}}",
    "CREATE TABLE {ks}.cnt (k text PRIMARY KEY, a counter, b counter)",
    'CREATE TABLE {ks}."QuotedTable" ("select" int PRIMARY KEY, "from" text, s set<text>)',
]


def describe(session, keyspace) -> list[tuple[str, str, str]]:
    return [(r.type, r.name, r.create_statement) for r in session.execute(f"DESCRIBE KEYSPACE {keyspace}")]


def test_describe_recreates_the_schema(s):
    for statement in RICH_SCHEMA:
        s.execute(statement.format(ks="conf_rich"))
    original = describe(s, "conf_rich")
    assert [kind for kind, _, _ in original] == ["keyspace", "type", "type", "table", "table", "table"]
    assert original[0][2] == ("CREATE KEYSPACE conf_rich WITH replication = "
                              "{'class': 'NetworkTopologyStrategy', 'datacenter1': '1'}  "
                              "AND durable_writes = false;")
    in_schema = [(r.type, r.name, r.create_statement) for r in s.execute("DESCRIBE SCHEMA")
                 if r.keyspace_name == "conf_rich"]
    assert in_schema == original
    for _, _, statement in original:
        s.execute(statement.replace("conf_rich", "conf_rich2"))
    copied = describe(s, "conf_rich2")
    assert [(k, n.replace("conf_rich2", "conf_rich"), st.replace("conf_rich2", "conf_rich"))
            for k, n, st in copied] == original
