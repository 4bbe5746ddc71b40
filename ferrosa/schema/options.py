"""Table options (``CREATE TABLE ... WITH ...``): Cassandra 5.0's list, defaults and validation.

Theory of operation
-------------------
A table's options live in one immutable ``TableOptions`` struct holding every option in the
canonical form Cassandra keeps in ``system_schema.tables`` and prints in DESCRIBE: maps of
strings with fully qualified class names, speculative retry policies in their normalised
spelling ('99p', '50ms', 'MIN(99p,50ms)', 'ALWAYS', 'NEVER').

``build_table_options(properties, previous)`` mirrors Cassandra's ``TableAttributes``:
  1. every property name must be known (``Unknown property 'x'`` is a syntax error),
  2. each given value is parsed and normalised (compaction/compression class names in
     short or long form, caching sub-options, retry policies, numbers, booleans),
  3. the whole set is range checked (``TableParams.validate``).
Omitted options keep the value of ``previous`` (ALTER) or the default (CREATE).  The one
derived default is ``bloom_filter_fp_chance``: 0.1 for LeveledCompactionStrategy, otherwise
0.01, decided only when a table is created.

This module must NOT know about columns, keyspaces or system tables, and must NOT render
CQL (describe.py does); ``java_double_str`` is here because both rows and DESCRIBE need it.
"""

from __future__ import annotations

import decimal
import math
import re
import uuid
from collections.abc import Mapping

import msgspec

from ferrosa.schema.errors import ConfigurationError, CqlSyntaxError

# --------------------------------------------------------------------------- defaults

COMPACTION_PACKAGE = "org.apache.cassandra.db.compaction."
COMPRESSION_PACKAGE = "org.apache.cassandra.io.compress."
STCS = COMPACTION_PACKAGE + "SizeTieredCompactionStrategy"
LCS = COMPACTION_PACKAGE + "LeveledCompactionStrategy"
TWCS = COMPACTION_PACKAGE + "TimeWindowCompactionStrategy"
UCS = COMPACTION_PACKAGE + "UnifiedCompactionStrategy"
LZ4 = COMPRESSION_PACKAGE + "LZ4Compressor"

# Compaction thresholds every non-UCS strategy reports even when the user gave none.
DEFAULT_MIN_THRESHOLD = 4
DEFAULT_MAX_THRESHOLD = 32
# 16 KiB compression chunks: Cassandra 4.0+ default (CASSANDRA-13241).
DEFAULT_CHUNK_LENGTH_IN_KB = 16
# Attributes.MAX_TTL: 20 years in seconds, the largest TTL Cassandra accepts.
MAX_TTL_SECONDS = 20 * 365 * 24 * 60 * 60
# BloomCalculations.minSupportedBloomFilterFpChance(): the smallest false-positive chance
# the bloom filter tables can reach; Cassandra rejects anything at or below it.
MIN_BLOOM_FILTER_FP_CHANCE = 6.71e-05
# Memtable configurations known to this node ('default' always exists, as in Cassandra).
MEMTABLE_CONFIGURATIONS = frozenset({"default"})


def _default_caching() -> dict[str, str]:
    return {"keys": "ALL", "rows_per_partition": "NONE"}


def _default_compaction() -> dict[str, str]:
    return {"class": STCS, "max_threshold": str(DEFAULT_MAX_THRESHOLD),
            "min_threshold": str(DEFAULT_MIN_THRESHOLD)}


def _default_compression() -> dict[str, str]:
    return {"chunk_length_in_kb": str(DEFAULT_CHUNK_LENGTH_IN_KB), "class": LZ4}


class TableOptions(msgspec.Struct, frozen=True):
    """Every Cassandra 5.0 table option, canonical values, defaults as DESCRIBE shows them."""

    additional_write_policy: str = "99p"
    allow_auto_snapshot: bool = True
    bloom_filter_fp_chance: float = 0.01
    caching: dict[str, str] = msgspec.field(default_factory=_default_caching)
    cdc: bool = False
    comment: str = ""
    compaction: dict[str, str] = msgspec.field(default_factory=_default_compaction)
    compression: dict[str, str] = msgspec.field(default_factory=_default_compression)
    memtable: str = "default"
    crc_check_chance: float = 1.0
    default_time_to_live: int = 0
    extensions: dict[str, bytes] = {}
    gc_grace_seconds: int = 864000
    incremental_backups: bool = True
    max_index_interval: int = 2048
    memtable_flush_period_in_ms: int = 0
    min_index_interval: int = 128
    read_repair: str = "BLOCKING"
    speculative_retry: str = "99p"


DEFAULT_TABLE_OPTIONS = TableOptions()

# TableParams.Option plus 'id' (TableAttributes.validKeywords).
TABLE_OPTION_NAMES = frozenset(TableOptions.__struct_fields__)
ID_OPTION = "id"
VALID_TABLE_PROPERTIES = TABLE_OPTION_NAMES | {ID_OPTION}

PropertyValue = str | int | float | bool | Mapping[str, object]

# --------------------------------------------------------------------------- scalars

_JAVA_INT = re.compile(r"[+-]?\d+\Z")
_JAVA_DOUBLE = re.compile(
    r"\s*[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)\s*\Z")
_POSITIVE = frozenset({"1", "true", "yes"})
_NEGATIVE = frozenset({"0", "false", "no"})
_INT32_MIN, _INT32_MAX = -(2 ** 31), 2 ** 31 - 1


def property_text(value: object) -> str:
    """A CQL constant as the string Cassandra's property parser keeps for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double_str(value)
    return str(value)


def parse_java_int(text: str) -> int | None:
    """``Integer.parseInt``: None where Java would throw NumberFormatException."""
    if not _JAVA_INT.match(text):
        return None
    value = int(text)
    return value if _INT32_MIN <= value <= _INT32_MAX else None


def parse_java_double(text: str) -> float | None:
    """``Double.parseDouble``: None where Java would throw NumberFormatException."""
    if not _JAVA_DOUBLE.match(text):
        return None
    stripped = text.strip().rstrip("fFdD")
    return float(stripped.replace("Infinity", "inf"))


def java_double_str(value: float) -> str:
    """``Double.toString``: how Cassandra prints doubles in DESCRIBE ('0.01', '1.0E-5')."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest repr is plain decimal in this range, as Java's
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    scientific = len(digits) + int(exponent) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{scientific}"


def parse_boolean(key: str, text: str) -> bool:
    """``PropertyDefinitions.parseBoolean``."""
    lowered = text.lower()
    if lowered in _POSITIVE:
        return True
    if lowered in _NEGATIVE:
        return False
    raise CqlSyntaxError(
        f"Invalid boolean value {text} for '{key}'. Positive values can be '1', 'true' or "
        f"'yes'. Negative values can be '0', 'false' or 'no'.")


def parse_int(key: str, text: str) -> int:
    value = parse_java_int(text)
    if value is None:
        raise CqlSyntaxError(f"Invalid integer value {text} for '{key}'")
    return value


def parse_double(key: str, text: str) -> float:
    value = parse_java_double(text)
    if value is None:
        raise CqlSyntaxError(f"Invalid double value {text} for '{key}'")
    return value


def _simple(props: Mapping[str, PropertyValue], name: str) -> str:
    value = props[name]
    if isinstance(value, Mapping):
        raise CqlSyntaxError(f"Invalid value for property '{name}'. It should be a string")
    return property_text(value)


def _map(props: Mapping[str, PropertyValue], name: str) -> dict[str, str]:
    value = props[name]
    if not isinstance(value, Mapping):
        raise CqlSyntaxError(f"Invalid value for property '{name}'. It should be a map.")
    return {str(k): property_text(v) for k, v in value.items()}


def java_set_str(names: object) -> str:
    """How a Java Set/collection prints: ``[a, b]``."""
    return "[" + ", ".join(str(n) for n in names) + "]"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- caching

def normalize_caching(options: Mapping[str, str]) -> dict[str, str]:
    """``CachingParams.fromMap`` + ``asMap``; an omitted 'keys' means NONE, as in Cassandra."""
    rest = dict(options)
    keys = rest.pop("keys", None)
    rows = rest.pop("rows_per_partition", None)
    if rest:
        raise ConfigurationError(
            f"Invalid caching sub-options {java_set_str(rest)}: only 'keys' and "
            "'rows_per_partition' are allowed")
    cache_keys = keys is not None and _caching_keys(keys)
    return {"keys": "ALL" if cache_keys else "NONE",
            "rows_per_partition": _caching_rows("NONE" if rows is None else rows)}


def _caching_keys(value: str) -> bool:
    if value.upper() == "ALL":
        return True
    if value.upper() == "NONE":
        return False
    raise ConfigurationError(f"Invalid value '{value}' for caching sub-option 'keys': only "
                             "'ALL' and 'NONE' are allowed")


def _caching_rows(value: str) -> str:
    upper = value.upper()
    if upper in ("ALL", "NONE"):
        return upper
    if value.isdecimal() and parse_java_int(value) is not None:
        count = int(value)
        return "NONE" if count == 0 else ("ALL" if count == _INT32_MAX else str(count))
    raise ConfigurationError(f"Invalid value '{value}' for caching sub-option "
                             "'rows_per_partition': only 'ALL', 'NONE', and integer values "
                             "are allowed")


# --------------------------------------------------------------------------- compaction

# Sub-options AbstractCompactionStrategy.validateOptions accepts for every strategy.
_COMMON_COMPACTION = frozenset({
    "enabled", "tombstone_threshold", "tombstone_compaction_interval",
    "unchecked_tombstone_compaction", "log_all", "only_purge_repaired_tombstones",
    "provide_overlapping_tombstones"})
_THRESHOLDS = frozenset({"min_threshold", "max_threshold"})
_STCS_OPTIONS = frozenset({"bucket_high", "bucket_low", "min_sstable_size"})
COMPACTION_STRATEGIES: dict[str, frozenset[str]] = {
    STCS: _COMMON_COMPACTION | _THRESHOLDS | _STCS_OPTIONS,
    LCS: _COMMON_COMPACTION | _THRESHOLDS | {"sstable_size_in_mb", "fanout_size",
                                             "single_sstable_uplevel"},
    TWCS: _COMMON_COMPACTION | _THRESHOLDS | _STCS_OPTIONS | {
        "compaction_window_unit", "compaction_window_size", "timestamp_resolution",
        "expired_sstable_check_frequency_seconds", "unsafe_aggressive_sstable_expiration"},
    UCS: _COMMON_COMPACTION | {
        "scaling_parameters", "static_scaling_parameters", "base_shard_count",
        "target_sstable_size", "sstable_growth", "min_sstable_size", "flush_size_override",
        "max_sstables_to_compact", "expired_sstable_check_frequency_seconds",
        "unsafe_aggressive_sstable_expiration", "overlap_inclusion_method"},
}
_TOMBSTONE_OPTIONS = ("NONE", "ROW", "CELL")


def compaction_class_name(name: str) -> str:
    """Short ('LeveledCompactionStrategy') or long class name -> fully qualified name."""
    full = name if "." in name else COMPACTION_PACKAGE + name
    if full not in COMPACTION_STRATEGIES:
        raise ConfigurationError(f"Unable to find compaction strategy class '{full}'")
    return full


def normalize_compaction(options: Mapping[str, str]) -> dict[str, str]:
    """``CompactionParams.fromMap`` + ``validate`` + ``asMap``."""
    rest = dict(options)
    name = rest.pop("class", None)
    if name is None:
        raise ConfigurationError("Missing sub-option 'class' for the 'compaction' option")
    klass = compaction_class_name(name)
    tombstones = rest.get("provide_overlapping_tombstones", "NONE").upper()
    if tombstones not in _TOMBSTONE_OPTIONS:
        raise ConfigurationError(
            f"Invalid value {tombstones} for 'provide_overlapping_tombstones' compaction "
            f"sub-option - must be one of the following [{', '.join(_TOMBSTONE_OPTIONS)}].")
    if klass != UCS:
        rest.setdefault("min_threshold", str(DEFAULT_MIN_THRESHOLD))
        rest.setdefault("max_threshold", str(DEFAULT_MAX_THRESHOLD))
    unknown = [k for k in rest if k not in COMPACTION_STRATEGIES[klass]]
    if unknown:
        raise ConfigurationError(f"Properties specified {java_set_str(unknown)} are not "
                                 f"understood by {klass.rsplit('.', 1)[1]}")
    if klass != UCS:
        _validate_thresholds(rest["min_threshold"], rest["max_threshold"])
    return {"class": klass, **dict(sorted(rest.items()))}


def _validate_thresholds(min_text: str, max_text: str) -> None:
    for key, text in (("min_threshold", min_text), ("max_threshold", max_text)):
        if not text.isdecimal():
            raise ConfigurationError(f"Invalid value {text} for '{key}' compaction sub-option "
                                     "- must be an integer")
    low, high = int(min_text), int(max_text)
    if low <= 0 or high <= 0:
        raise ConfigurationError("Disabling compaction by setting compaction thresholds to 0 "
                                 "has been removed, set the compaction option 'enabled' to "
                                 "false instead.")
    if low <= 1:
        raise ConfigurationError(f"Min compaction threshold cannot be less than 2 (got {low})")
    if low > high:
        raise ConfigurationError(f"Min compaction threshold (got {low}) cannot be greater "
                                 f"than max compaction threshold (got {high})")


# --------------------------------------------------------------------------- compression

COMPRESSORS: dict[str, frozenset[str]] = {
    LZ4: frozenset({"lz4_compressor_type", "lz4_high_compressor_level"}),
    COMPRESSION_PACKAGE + "SnappyCompressor": frozenset(),
    COMPRESSION_PACKAGE + "DeflateCompressor": frozenset(),
    COMPRESSION_PACKAGE + "ZstdCompressor": frozenset({"compression_level"}),
    COMPRESSION_PACKAGE + "NoopCompressor": frozenset(),
}
_DISABLED_COMPRESSION = {"enabled": "false"}


def normalize_compression(options: Mapping[str, str]) -> dict[str, str]:
    """``CompressionParams.fromMap`` + ``validate`` + ``asMap``."""
    rest = dict(options)
    enabled = rest.pop("enabled", "true").lower() != "false"
    name = rest.pop("class", None)
    legacy = rest.pop("sstable_compression", None)
    name = name if name is not None else legacy
    if options and enabled and name is None:
        raise ConfigurationError("Missing sub-option 'class' for the 'compression' option.")
    if not enabled:
        if rest or name is not None:
            raise ConfigurationError("If the 'enabled' option is set to false no other options "
                                     "must be specified")
        return dict(_DISABLED_COMPRESSION)
    if not name:  # Cassandra's historical spelling of "no compression"
        return dict(_DISABLED_COMPRESSION)
    klass = name if "." in name else COMPRESSION_PACKAGE + name
    if klass not in COMPRESSORS:
        raise ConfigurationError(f"Could not create Compression for type {klass}")
    chunk = _chunk_length(rest)
    ratio = rest.pop("min_compress_ratio", None)
    for key in rest:
        if key not in COMPRESSORS[klass]:
            raise ConfigurationError(f"Unknown compression options {key}")
    result = {"chunk_length_in_kb": str(chunk), "class": klass, **rest}
    if ratio is not None:
        value = parse_java_double(ratio)
        if value is None or value < 0:
            raise ConfigurationError(f"Invalid value {ratio} for 'min_compress_ratio'")
        if value != 0.0:
            result["min_compress_ratio"] = java_double_str(value)
    return dict(sorted(result.items()))


def chunk_bytes(compression: Mapping[str, str]) -> int:
    """The SSTable chunk size, in bytes, of a table's normalised `compression` option (its
    chunk_length_in_kb; the default when compression is disabled)."""
    text = compression.get("chunk_length_in_kb")
    value = parse_java_int(text) if text is not None else None
    return (value if value is not None and value > 0 else DEFAULT_CHUNK_LENGTH_IN_KB) * 1024


def _chunk_length(rest: dict[str, str]) -> int:
    text = rest.pop("chunk_length_in_kb", None)
    legacy = rest.pop("chunk_length_kb", None)
    text = text if text is not None else legacy
    if text is None:
        return DEFAULT_CHUNK_LENGTH_IN_KB
    value = parse_java_int(text)
    if value is None:
        raise ConfigurationError("Invalid value for chunk_length_in_kb")
    if value <= 0:
        raise ConfigurationError("Invalid negative or null chunk_length_in_kb")
    if value & (value - 1):
        raise ConfigurationError("chunk_length_in_kb must be a power of 2")
    return value


# --------------------------------------------------------------------------- retry policies

_PERCENTILE = re.compile(r"^(?P<val>[0-9.]+)p(ercentile)?$", re.IGNORECASE)
_FIXED = re.compile(r"^(?P<val>[0-9.]+)ms$", re.IGNORECASE)
_HYBRID = re.compile(r"^(?P<fun>MIN|MAX)\((?P<v1>[0-9.]+[a-z]+)\s*,\s*(?P<v2>[0-9.]+[a-z]+)\)$",
                     re.IGNORECASE)


def _retry_error(text: str) -> ConfigurationError:
    # Cassandra names 'speculative_retry' even when additional_write_policy is wrong.
    return ConfigurationError(f"Invalid value {text} for option 'speculative_retry'")


def _percentile_text(value: float) -> str:
    """DecimalFormat('#.####') of a percentile, then 'p'."""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return text + "p"


def normalize_retry_policy(text: str) -> str:
    """``SpeculativeRetryPolicy.fromString(...).toString()``."""
    return _parse_retry(text)[1]


def _parse_retry(text: str) -> tuple[str, str]:
    """-> (kind, canonical text)."""
    if text.upper() == "ALWAYS":
        return "ALWAYS", "ALWAYS"
    if text.upper() in ("NEVER", "NONE"):
        return "NEVER", "NEVER"
    match = _PERCENTILE.match(text)
    if match:
        value = parse_java_double(match["val"])
        if value is None:
            raise _retry_error(text)
        if value <= 0.0 or value >= 100.0:
            raise ConfigurationError(f"Invalid value {text} for PERCENTILE option "
                                     "'speculative_retry': must be between (0.0 and 100.0)")
        return "PERCENTILE", _percentile_text(value)
    match = _FIXED.match(text)
    if match:
        value = parse_java_double(match["val"])
        if value is None:
            raise _retry_error(text)
        return "FIXED", f"{int(value)}ms"
    match = _HYBRID.match(text)
    if match:
        return "HYBRID", _parse_hybrid(text, match)
    raise _retry_error(text)


def _parse_hybrid(text: str, match: re.Match[str]) -> str:
    try:
        first = _parse_retry(match["v1"])
        second = _parse_retry(match["v2"])
    except ConfigurationError:
        raise _retry_error(text) from None
    if first[0] == second[0]:
        raise ConfigurationError(f"Invalid value {text} for option 'speculative_retry': "
                                 "MIN()/MAX() arguments should be of different types, but both "
                                 f"are of type {first[0]}")
    kinds = dict((first, second))
    if "PERCENTILE" not in kinds or "FIXED" not in kinds:
        raise _retry_error(text)
    return f"{match['fun'].upper()}({kinds['PERCENTILE']},{kinds['FIXED']})"


# --------------------------------------------------------------------------- build

def _read_repair(text: str) -> str:
    upper = text.upper()
    if upper not in ("NONE", "BLOCKING"):
        raise ConfigurationError(f"Invalid value {text} for option 'read_repair'")
    return upper


def _memtable(text: str) -> str:
    if text not in MEMTABLE_CONFIGURATIONS:
        raise ConfigurationError(f'Memtable configuration "{text}" not found.')
    return text


# Parsers in the order Cassandra's TableAttributes.build applies them; each takes the
# property map and the option name and returns the canonical value.
_PARSERS: dict[str, object] = {
    "allow_auto_snapshot": lambda p, k: parse_boolean(k, _simple(p, k)),
    "bloom_filter_fp_chance": lambda p, k: parse_double(k, _simple(p, k)),
    "caching": lambda p, k: normalize_caching(_map(p, k)),
    "comment": lambda p, k: _simple(p, k),
    "compaction": lambda p, k: normalize_compaction(_map(p, k)),
    "compression": lambda p, k: normalize_compression(_map(p, k)),
    "memtable": lambda p, k: _memtable(_simple(p, k)),
    "default_time_to_live": lambda p, k: parse_int(k, _simple(p, k)),
    "gc_grace_seconds": lambda p, k: parse_int(k, _simple(p, k)),
    "incremental_backups": lambda p, k: parse_boolean(k, _simple(p, k)),
    "max_index_interval": lambda p, k: parse_int(k, _simple(p, k)),
    "memtable_flush_period_in_ms": lambda p, k: parse_int(k, _simple(p, k)),
    "min_index_interval": lambda p, k: parse_int(k, _simple(p, k)),
    "speculative_retry": lambda p, k: normalize_retry_policy(_simple(p, k)),
    "additional_write_policy": lambda p, k: normalize_retry_policy(_simple(p, k)),
    "crc_check_chance": lambda p, k: parse_double(k, _simple(p, k)),
    "cdc": lambda p, k: parse_boolean(k, _simple(p, k)),
    "read_repair": lambda p, k: _read_repair(_simple(p, k)),
    "extensions": lambda p, k: _extensions(p, k),
}


def _extensions(props: Mapping[str, PropertyValue], key: str) -> dict[str, bytes]:
    value = props[key]
    if not isinstance(value, Mapping):
        raise CqlSyntaxError(f"Invalid value for property '{key}'. It should be a map.")
    return {str(k): v if isinstance(v, bytes) else property_text(v).encode()
            for k, v in value.items()}


def check_property_names(props: Mapping[str, object], valid: frozenset[str]) -> None:
    """``PropertyDefinitions.validate``: every name must be a known keyword."""
    for name in props:
        if name not in valid:
            raise CqlSyntaxError(f"Unknown property '{name}'")


def build_table_options(props: Mapping[str, PropertyValue],
                        previous: TableOptions | None = None) -> TableOptions:
    """Validated TableOptions from ``WITH`` properties; ``previous`` is set for ALTER TABLE."""
    check_property_names(props, VALID_TABLE_PROPERTIES)
    if previous is not None and ID_OPTION in props:
        raise ConfigurationError("Cannot alter table id.")
    changes = {name: parser(props, name)  # type: ignore[operator]
               for name, parser in _PARSERS.items() if name in props}
    if previous is None:
        if "bloom_filter_fp_chance" not in changes:
            klass = changes.get("compaction", DEFAULT_TABLE_OPTIONS.compaction)["class"]
            changes["bloom_filter_fp_chance"] = 0.1 if klass == LCS else 0.01
        options = TableOptions(**changes)
    else:
        options = msgspec.structs.replace(previous, **changes)
    validate_table_options(options)
    return options


def table_id_option(props: Mapping[str, PropertyValue]) -> uuid.UUID | None:
    """The ``WITH ID = '...'`` property of CREATE TABLE, if given."""
    if ID_OPTION not in props:
        return None
    text = _simple(props, ID_OPTION)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConfigurationError("Invalid table id") from None


def validate_table_options(o: TableOptions) -> None:
    """``TableParams.validate``: range checks with Cassandra's messages."""
    if not MIN_BLOOM_FILTER_FP_CHANCE < o.bloom_filter_fp_chance <= 1:
        raise ConfigurationError(
            "bloom_filter_fp_chance must be larger than "
            f"{java_double_str(MIN_BLOOM_FILTER_FP_CHANCE)} and less than or equal to 1.0 "
            f"(got {java_double_str(o.bloom_filter_fp_chance)})")
    if not 0 <= o.crc_check_chance <= 1.0:
        raise ConfigurationError("crc_check_chance must be larger than or equal to 0 and "
                                 "smaller than or equal to 1.0 "
                                 f"(got {java_double_str(o.crc_check_chance)})")
    _at_least("default_time_to_live", o.default_time_to_live, 0)
    if o.default_time_to_live > MAX_TTL_SECONDS:
        raise ConfigurationError(f"default_time_to_live must be less than or equal to "
                                 f"{MAX_TTL_SECONDS} (got {o.default_time_to_live})")
    _at_least("gc_grace_seconds", o.gc_grace_seconds, 0)
    _at_least("min_index_interval", o.min_index_interval, 1)
    if o.max_index_interval < o.min_index_interval:
        raise ConfigurationError(
            "max_index_interval must be greater than or equal to min_index_interval "
            f"({o.min_index_interval}) (got {o.max_index_interval})")
    _at_least("memtable_flush_period_in_ms", o.memtable_flush_period_in_ms, 0)


def _at_least(name: str, value: int, bound: int) -> None:
    if value < bound:
        raise ConfigurationError(f"{name} must be greater than or equal to {bound} (got {value})")
