"""SSTable files on disk: descriptors, format versions, the TOC, component discovery and checksums.

Theory of operation: an SSTable is a set of files ("components") sharing one prefix, e.g.
``nb-1-big-Data.db`` or ``da-3gzk_0b2x_1f2f42l3s58lkyfzwv-bti-Data.db``: ``<version>-<generation>-
<format>-<Component>``. The two-letter version decides every version-dependent detail of the other
readers; ``FormatVersion`` turns it into named feature flags once (the names are Cassandra's
``Version.hasXxx()`` methods), so no reader compares version strings itself.

``TOC.txt`` lists the components the writer produced. A component the TOC lists but the directory
lacks is an error; the reader also requires the components its format needs even if a TOC is absent.

Checksums checked here: ``Digest.crc32`` (decimal CRC32 of the whole Data.db as stored) and, for
uncompressed Data.db files, ``CRC.db`` (a chunk size, then one CRC32 per chunk of Data.db).
Compressed files carry a CRC32 per chunk instead (compression.py checks those).

This module must NOT parse Data.db contents or any index; it only finds, names and checksums files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec

from ferrosa.checksum import crc32
from ferrosa.importer.errors import CorruptSSTable, MissingComponent, UnsupportedFormat
from ferrosa.importer.varint import I32

# Components by the names Cassandra gives them (Component.Type names and file suffixes).
DATA, INDEX, SUMMARY, STATISTICS = "Data.db", "Index.db", "Summary.db", "Statistics.db"
COMPRESSION_INFO, FILTER, DIGEST, TOC = "CompressionInfo.db", "Filter.db", "Digest.crc32", "TOC.txt"
CRC, PARTITIONS, ROWS = "CRC.db", "Partitions.db", "Rows.db"

FORMAT_BIG, FORMAT_BTI = "big", "bti"

# Components each format needs to be read at all (the index ones only for index iteration).
REQUIRED_COMPONENTS: dict[str, tuple[str, ...]] = {
    FORMAT_BIG: (DATA, STATISTICS),
    FORMAT_BTI: (DATA, STATISTICS),
}
INDEX_COMPONENTS: dict[str, tuple[str, ...]] = {
    FORMAT_BIG: (INDEX,),
    FORMAT_BTI: (PARTITIONS, ROWS),
}

# Read in pieces of this size when checksumming whole files: large enough to keep crc32 at
# memory speed, small enough not to double a large file's footprint.
CHECKSUM_READ_SIZE = 4 << 20
# A TOC is a handful of short lines; anything larger is not a TOC.
MAX_TOC_SIZE = 64 << 10

_FILENAME = re.compile(
    r"(?P<version>[a-z]{2})-(?P<generation>[0-9a-z_]+)-(?P<format>[a-z]+)-(?P<component>.+)\Z")

# Oldest and newest versions read, per format (BigFormat's "ma" = Cassandra 3.0 .. "oa" = 5.0;
# BtiFormat's "da" = 5.0; BTI "ea" adds compression dictionaries, not supported).
SUPPORTED_VERSIONS: dict[str, tuple[str, str]] = {FORMAT_BIG: ("ma", "oa"), FORMAT_BTI: ("da", "da")}


class FormatVersion(msgspec.Struct, frozen=True):
    """Feature flags of one format version, named after Cassandra's Version.hasXxx() methods."""

    format: str
    version: str
    commit_log_lower_bound: bool
    commit_log_intervals: bool
    legacy_min_max: bool
    accurate_min_max: bool
    improved_min_max: bool
    originating_host_id: bool
    max_compressed_length: bool      # CompressionInfo has maxCompressedLength; chunks may be stored raw
    pending_repair: bool
    is_transient: bool
    metadata_checksum: bool          # Statistics.db has CRC32s after its TOC and each component
    partition_level_deletions_marker: bool
    key_range: bool                  # StatsMetadata ends with the first and last partition keys
    uint_deletion_time: bool         # 5.0 DeletionTime serializer (unsigned ldt, 1-byte LIVE)
    token_space_coverage: bool


def format_version(fmt: str, version: str, path: str = "") -> FormatVersion:
    """The feature flags of ``fmt``/``version``; UnsupportedFormat for anything else."""
    bounds = SUPPORTED_VERSIONS.get(fmt)
    if bounds is None:
        raise UnsupportedFormat(path, f"SSTable format '{fmt}' is not supported (only big and bti)")
    if not (len(version) == 2 and bounds[0] <= version <= bounds[1]):
        raise UnsupportedFormat(
            path, f"{fmt} SSTable version '{version}' is not supported (supported: {bounds[0]}..{bounds[1]})")
    if fmt == FORMAT_BTI:
        return FormatVersion(
            format=fmt, version=version, commit_log_lower_bound=True, commit_log_intervals=True,
            legacy_min_max=False, accurate_min_max=True, improved_min_max=True, originating_host_id=True,
            max_compressed_length=True, pending_repair=True, is_transient=True, metadata_checksum=True,
            partition_level_deletions_marker=True, key_range=True, uint_deletion_time=True,
            token_space_coverage=True)
    v = version
    legacy = v[0] in "mn"
    return FormatVersion(
        format=fmt, version=v,
        commit_log_lower_bound=v >= "mb",
        commit_log_intervals=v >= "mc",
        legacy_min_max=legacy,
        accurate_min_max=legacy and v >= "md",
        improved_min_max=v >= "nc",
        originating_host_id=v >= "nb" or "me" <= v < "na",
        max_compressed_length=v >= "na",
        pending_repair=v >= "na",
        is_transient=v >= "na",
        metadata_checksum=v >= "na",
        partition_level_deletions_marker=v >= "nc",
        key_range=v >= "nc",
        uint_deletion_time=v >= "oa",
        token_space_coverage=v >= "oa",
    )


class Descriptor(msgspec.Struct, frozen=True):
    """One SSTable's identity: directory, version, generation and format (Cassandra's Descriptor)."""

    directory: str
    version: str
    generation: str
    format: str
    keyspace: str
    table: str

    @property
    def prefix(self) -> str:
        return f"{self.version}-{self.generation}-{self.format}-"

    def path(self, component: str) -> str:
        return os.path.join(self.directory, self.prefix + component)


def parse_descriptor(path: str | os.PathLike) -> tuple[Descriptor, str]:
    """Split a component file path into (Descriptor, component name).

    The keyspace and table come from the two parent directories (``<ks>/<table>-<id>/``), as
    Cassandra lays them out; the ``-<id>`` suffix is dropped.
    """
    p = Path(path).absolute()
    m = _FILENAME.match(p.name)
    if m is None:
        raise UnsupportedFormat(str(p), "not an SSTable component name "
                                        "(<version>-<generation>-<format>-<Component>)")
    table_dir = p.parent.name
    table = table_dir.rsplit("-", 1)[0] if re.search(r"-[0-9a-f]{32}\Z", table_dir) else table_dir
    desc = Descriptor(str(p.parent), m["version"], m["generation"], m["format"], p.parent.parent.name, table)
    return desc, m["component"]


def read_toc(desc: Descriptor) -> list[str] | None:
    """Components listed in TOC.txt, or None when there is no TOC."""
    path = desc.path(TOC)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_TOC_SIZE + 1)
    except FileNotFoundError:
        return None
    if len(raw) > MAX_TOC_SIZE:
        raise CorruptSSTable(path, f"TOC larger than {MAX_TOC_SIZE} bytes")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CorruptSSTable(path, "TOC is not ASCII text", exc.start) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def discover_components(desc: Descriptor) -> frozenset[str]:
    """Components present, checked against the TOC (every listed component must exist)."""
    present = frozenset(
        name[len(desc.prefix):] for name in os.listdir(desc.directory) if name.startswith(desc.prefix))
    listed = read_toc(desc)
    if listed is not None:
        for component in listed:
            if component not in present:
                raise MissingComponent(desc.path(component), "listed in TOC.txt but missing")
    for component in REQUIRED_COMPONENTS[desc.format]:
        if component not in present:
            raise MissingComponent(desc.path(component), f"required by the {desc.format} format but missing")
    return present


def crc32_of_file(path: str) -> tuple[int, int]:
    """(CRC32, size) of a whole file, read in pieces."""
    crc = 0
    size = 0
    with open(path, "rb") as f:
        while piece := f.read(CHECKSUM_READ_SIZE):
            crc = crc32(piece, crc)
            size += len(piece)
    return crc, size


def read_digest(desc: Descriptor) -> int:
    """The expected CRC32 of Data.db from Digest.crc32 (decimal text)."""
    path = desc.path(DIGEST)
    with open(path, "rb") as f:
        raw = f.read(64)
    try:
        value = int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise CorruptSSTable(path, f"not a decimal CRC32: {raw[:32]!r}") from None
    if not 0 <= value < 1 << 32:
        raise CorruptSSTable(path, f"CRC32 {value} out of range")
    return value


def verify_digest(desc: Descriptor) -> None:
    """Check Data.db against Digest.crc32; CorruptSSTable naming Data.db on a mismatch."""
    expected = read_digest(desc)
    actual, size = crc32_of_file(desc.path(DATA))
    if actual != expected:
        raise CorruptSSTable(desc.path(DATA),
                             f"CRC32 of the whole file is {actual}, Digest.crc32 says {expected} "
                             f"({size} bytes read)")


class ChunkChecksums(msgspec.Struct, frozen=True):
    """CRC.db of an uncompressed SSTable: the chunk size and one CRC32 per chunk of Data.db."""

    chunk_size: int
    crcs: tuple[int, ...]


def read_chunk_checksums(desc: Descriptor) -> ChunkChecksums:
    path = desc.path(CRC)
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or len(raw) % 4:
        raise CorruptSSTable(path, f"length {len(raw)} is not a chunk size plus whole CRC32s")
    chunk_size = I32.unpack_from(raw, 0)[0]
    if chunk_size <= 0:
        raise CorruptSSTable(path, f"invalid chunk size {chunk_size}", 0)
    crcs = tuple(int.from_bytes(raw[i:i + 4], "big") for i in range(4, len(raw), 4))
    return ChunkChecksums(chunk_size, crcs)
