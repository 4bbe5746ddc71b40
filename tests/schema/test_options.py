"""Tests for ferrosa.schema.options: defaults, normalisation and Cassandra's error messages."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings, strategies as st

from ferrosa.schema.errors import ConfigurationError, CqlSyntaxError, SchemaError
from ferrosa.schema.options import (
    DEFAULT_TABLE_OPTIONS, LCS, STCS, TWCS, UCS, TableOptions, build_table_options,
    chunk_bytes, java_double_str, normalize_caching, normalize_compaction,
    normalize_compression, normalize_retry_policy, parse_java_double, table_id_option)


def test_defaults_match_cassandra_5() -> None:
    o = TableOptions()
    assert o == DEFAULT_TABLE_OPTIONS == build_table_options({})
    assert o.caching == {"keys": "ALL", "rows_per_partition": "NONE"}
    assert o.compaction == {"class": STCS, "max_threshold": "32", "min_threshold": "4"}
    assert o.compression == {"chunk_length_in_kb": "16",
                             "class": "org.apache.cassandra.io.compress.LZ4Compressor"}
    assert (o.additional_write_policy, o.speculative_retry, o.read_repair, o.memtable) == (
        "99p", "99p", "BLOCKING", "default")
    assert (o.bloom_filter_fp_chance, o.crc_check_chance, o.gc_grace_seconds) == (
        0.01, 1.0, 864000)
    assert (o.min_index_interval, o.max_index_interval, o.default_time_to_live) == (128, 2048, 0)
    assert o.allow_auto_snapshot and o.incremental_backups and not o.cdc


def test_build_parses_every_kind_of_value() -> None:
    o = build_table_options({
        "comment": "it's", "gc_grace_seconds": 10, "bloom_filter_fp_chance": 0.05,
        "cdc": "true", "incremental_backups": False, "allow_auto_snapshot": "no",
        "default_time_to_live": "100", "speculative_retry": "50ms",
        "additional_write_policy": "ALWAYS", "read_repair": "none",
        "caching": {"keys": "none", "rows_per_partition": 10},
        "compaction": {"class": "LeveledCompactionStrategy", "sstable_size_in_mb": 160},
        "compression": {"class": "ZstdCompressor", "compression_level": 3},
        "extensions": {"ext": b"\x01"}, "memtable": "default",
        "crc_check_chance": 0.5, "memtable_flush_period_in_ms": 60000,
        "min_index_interval": 64, "max_index_interval": 1024})
    assert o.comment == "it's" and o.gc_grace_seconds == 10
    assert o.bloom_filter_fp_chance == 0.05 and o.cdc is True
    assert o.incremental_backups is False and o.allow_auto_snapshot is False
    assert o.speculative_retry == "50ms" and o.additional_write_policy == "ALWAYS"
    assert o.read_repair == "NONE"
    assert o.caching == {"keys": "NONE", "rows_per_partition": "10"}
    assert o.compaction == {"class": LCS, "max_threshold": "32", "min_threshold": "4",
                            "sstable_size_in_mb": "160"}
    assert o.compression == {"chunk_length_in_kb": "16", "class":
                             "org.apache.cassandra.io.compress.ZstdCompressor",
                             "compression_level": "3"}
    assert o.extensions == {"ext": b"\x01"}


def test_bloom_filter_default_follows_compaction_only_on_create() -> None:
    created = build_table_options({"compaction": {"class": "LeveledCompactionStrategy"}})
    assert created.bloom_filter_fp_chance == 0.1
    altered = build_table_options({"compaction": {"class": LCS}}, previous=TableOptions())
    assert altered.bloom_filter_fp_chance == 0.01
    kept = build_table_options({"comment": "x"}, previous=created)
    assert kept.compaction == created.compaction and kept.comment == "x"


@pytest.mark.parametrize("props, error, message", [
    ({"foo": 1}, CqlSyntaxError, "Unknown property 'foo'"),
    ({"read_repair_chance": 0.1}, CqlSyntaxError, "Unknown property 'read_repair_chance'"),
    ({"gc_grace_seconds": "abc"}, CqlSyntaxError, "Invalid integer value abc for "
                                                  "'gc_grace_seconds'"),
    ({"gc_grace_seconds": "1_000"}, CqlSyntaxError, "Invalid integer value 1_000 for "
                                                    "'gc_grace_seconds'"),
    ({"bloom_filter_fp_chance": "x"}, CqlSyntaxError, "Invalid double value x for "
                                                      "'bloom_filter_fp_chance'"),
    ({"cdc": "maybe"}, CqlSyntaxError, "Invalid boolean value maybe for 'cdc'. Positive "
     "values can be '1', 'true' or 'yes'. Negative values can be '0', 'false' or 'no'."),
    ({"comment": {"a": "b"}}, CqlSyntaxError,
     "Invalid value for property 'comment'. It should be a string"),
    ({"compaction": "LCS"}, CqlSyntaxError,
     "Invalid value for property 'compaction'. It should be a map."),
    ({"gc_grace_seconds": -1}, ConfigurationError,
     "gc_grace_seconds must be greater than or equal to 0 (got -1)"),
    ({"default_time_to_live": 630720001}, ConfigurationError,
     "default_time_to_live must be less than or equal to 630720000 (got 630720001)"),
    ({"bloom_filter_fp_chance": 0}, ConfigurationError,
     "bloom_filter_fp_chance must be larger than 6.71E-5 and less than or equal to 1.0 "
     "(got 0.0)"),
    ({"crc_check_chance": 2}, ConfigurationError, "crc_check_chance must be larger than or "
     "equal to 0 and smaller than or equal to 1.0 (got 2.0)"),
    ({"min_index_interval": 0}, ConfigurationError,
     "min_index_interval must be greater than or equal to 1 (got 0)"),
    ({"max_index_interval": 64}, ConfigurationError,
     "max_index_interval must be greater than or equal to min_index_interval (128) (got 64)"),
    ({"speculative_retry": "soon"}, ConfigurationError,
     "Invalid value soon for option 'speculative_retry'"),
    ({"speculative_retry": "100p"}, ConfigurationError, "Invalid value 100p for PERCENTILE "
     "option 'speculative_retry': must be between (0.0 and 100.0)"),
    ({"memtable": "trie"}, ConfigurationError, 'Memtable configuration "trie" not found.'),
    ({"read_repair": "sometimes"}, ConfigurationError,
     "Invalid value sometimes for option 'read_repair'"),
])
def test_build_errors(props: dict, error: type, message: str) -> None:
    with pytest.raises(error) as err:
        build_table_options(props)
    assert err.value.message == message


def test_table_id_option() -> None:
    uid = uuid.uuid4()
    assert table_id_option({"id": str(uid)}) == uid
    assert table_id_option({}) is None
    build_table_options({"id": str(uid)})  # a valid keyword on CREATE
    with pytest.raises(ConfigurationError, match="Invalid table id"):
        table_id_option({"id": "nope"})
    with pytest.raises(ConfigurationError, match="Cannot alter table id."):
        build_table_options({"id": str(uid)}, previous=TableOptions())


@pytest.mark.parametrize("given_map, expected", [
    ({"class": "SizeTieredCompactionStrategy"},
     {"class": STCS, "max_threshold": "32", "min_threshold": "4"}),
    ({"class": STCS, "min_threshold": "2", "enabled": "false"},
     {"class": STCS, "enabled": "false", "max_threshold": "32", "min_threshold": "2"}),
    ({"class": "TimeWindowCompactionStrategy", "compaction_window_unit": "DAYS",
      "compaction_window_size": "1"},
     {"class": TWCS, "compaction_window_size": "1", "compaction_window_unit": "DAYS",
      "max_threshold": "32", "min_threshold": "4"}),
    ({"class": "UnifiedCompactionStrategy", "scaling_parameters": "T4"},
     {"class": UCS, "scaling_parameters": "T4"}),
])
def test_normalize_compaction(given_map: dict, expected: dict) -> None:
    assert normalize_compaction(given_map) == expected


@pytest.mark.parametrize("given_map, message", [
    ({}, "Missing sub-option 'class' for the 'compaction' option"),
    ({"class": "Foo"}, "Unable to find compaction strategy class "
                       "'org.apache.cassandra.db.compaction.Foo'"),
    ({"class": "LeveledCompactionStrategy", "bucket_high": "2"},
     "Properties specified [bucket_high] are not understood by LeveledCompactionStrategy"),
    ({"class": STCS, "min_threshold": "x"},
     "Invalid value x for 'min_threshold' compaction sub-option - must be an integer"),
    ({"class": STCS, "min_threshold": "1"}, "Min compaction threshold cannot be less than 2 "
                                            "(got 1)"),
    ({"class": STCS, "min_threshold": "0"}, "Disabling compaction by setting compaction "
     "thresholds to 0 has been removed, set the compaction option 'enabled' to false instead."),
    ({"class": STCS, "min_threshold": "40"}, "Min compaction threshold (got 40) cannot be "
                                             "greater than max compaction threshold (got 32)"),
    ({"class": STCS, "provide_overlapping_tombstones": "x"}, "Invalid value X for "
     "'provide_overlapping_tombstones' compaction sub-option - must be one of the following "
     "[NONE, ROW, CELL]."),
])
def test_normalize_compaction_errors(given_map: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        normalize_compaction(given_map)
    assert err.value.message == message


@pytest.mark.parametrize("given_map, expected", [
    ({"class": "LZ4Compressor"}, {"chunk_length_in_kb": "16", "class":
                                  "org.apache.cassandra.io.compress.LZ4Compressor"}),
    ({"class": "SnappyCompressor", "chunk_length_in_kb": "64"},
     {"chunk_length_in_kb": "64", "class": "org.apache.cassandra.io.compress.SnappyCompressor"}),
    ({"enabled": "false"}, {"enabled": "false"}),
    ({"sstable_compression": ""}, {"enabled": "false"}),
])
def test_normalize_compression(given_map: dict, expected: dict) -> None:
    assert normalize_compression(given_map) == expected


@pytest.mark.parametrize("given_map, message", [
    ({"chunk_length_in_kb": "16"}, "Missing sub-option 'class' for the 'compression' option."),
    ({"enabled": "false", "class": "LZ4Compressor"},
     "If the 'enabled' option is set to false no other options must be specified"),
    ({"class": "Nope"}, "Could not create Compression for type "
                        "org.apache.cassandra.io.compress.Nope"),
    ({"class": "LZ4Compressor", "chunk_length_in_kb": "3"},
     "chunk_length_in_kb must be a power of 2"),
    ({"class": "LZ4Compressor", "chunk_length_in_kb": "0"},
     "Invalid negative or null chunk_length_in_kb"),
    ({"class": "LZ4Compressor", "level": "0"}, "Unknown compression options level"),
])
def test_normalize_compression_errors(given_map: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        normalize_compression(given_map)
    assert err.value.message == message


def test_normalize_caching() -> None:
    assert normalize_caching({"keys": "all", "rows_per_partition": "all"}) == {
        "keys": "ALL", "rows_per_partition": "ALL"}
    # An omitted 'keys' disables the key cache, as in Cassandra's CachingParams.fromMap.
    assert normalize_caching({"rows_per_partition": "5"}) == {
        "keys": "NONE", "rows_per_partition": "5"}
    with pytest.raises(ConfigurationError, match=r"Invalid caching sub-options \[x\]"):
        normalize_caching({"x": "1"})
    with pytest.raises(ConfigurationError, match="Invalid value 'some' for caching sub-option"):
        normalize_caching({"keys": "some"})


@pytest.mark.parametrize("text, expected", [
    ("99p", "99p"), ("99PERCENTILE", "99p"), ("99.5p", "99.5p"), ("99.12345p", "99.1235p"),
    ("50ms", "50ms"), ("50.7MS", "50ms"), ("always", "ALWAYS"), ("NONE", "NEVER"),
    ("never", "NEVER"), ("min(99p,50ms)", "MIN(99p,50ms)"), ("MAX(10ms, 90p)", "MAX(90p,10ms)"),
])
def test_retry_policies(text: str, expected: str) -> None:
    assert normalize_retry_policy(text) == expected


def test_hybrid_retry_policy_needs_two_kinds() -> None:
    with pytest.raises(ConfigurationError) as err:
        normalize_retry_policy("MIN(99p,90p)")
    assert err.value.message == ("Invalid value MIN(99p,90p) for option 'speculative_retry': "
                                 "MIN()/MAX() arguments should be of different types, but both "
                                 "are of type PERCENTILE")


@pytest.mark.parametrize("value, text", [
    (0.01, "0.01"), (1.0, "1.0"), (0.1, "0.1"), (1e-05, "1.0E-5"), (6.71e-05, "6.71E-5"),
    (12345678.0, "1.2345678E7"), (9999999.0, "9999999.0"), (0.001, "0.001"), (-2.5e-10,
                                                                             "-2.5E-10"),
    (0.0, "0.0"), (float("inf"), "Infinity"),
])
def test_java_double_str(value: float, text: str) -> None:
    assert java_double_str(value) == text


def test_parse_java_double() -> None:
    assert parse_java_double("1e-2") == 0.01
    assert parse_java_double("2d") == 2.0
    assert parse_java_double(".5") == 0.5
    for bad in ("nan", "1_0", "", "0x10", "inf"):
        assert parse_java_double(bad) is None


_values = st.one_of(st.integers(-5, 10 ** 10), st.floats(allow_nan=True), st.booleans(),
                    st.text(max_size=8), st.sampled_from(["99p", "ALL", "LZ4Compressor"]),
                    st.dictionaries(st.sampled_from(["class", "keys", "enabled",
                                                     "rows_per_partition", "min_threshold",
                                                     "chunk_length_in_kb"]),
                                    st.one_of(st.text(max_size=6), st.integers(-2, 64)),
                                    max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(TableOptions.__struct_fields__) + ["bogus"]),
                       _values, max_size=4))
def test_build_returns_or_raises_schema_error(props: dict) -> None:
    try:
        options = build_table_options(props)
    except SchemaError:
        return
    assert isinstance(options, TableOptions)


def test_chunk_bytes_follow_chunk_length_in_kb() -> None:
    assert chunk_bytes(TableOptions().compression) == 16 * 1024
    assert chunk_bytes(normalize_compression({"class": "LZ4Compressor",
                                              "chunk_length_in_kb": "4"})) == 4 * 1024
    assert chunk_bytes(normalize_compression({"enabled": "false"})) == 16 * 1024
