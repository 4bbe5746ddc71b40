"""CRC-32: the one checksum function every Ferrosa file, record and protocol segment uses.

What it is: `crc32(data, value=0)`, CRC-32/ISO-HDLC (zlib's polynomial, Cassandra's
java.util.zip.CRC32), computed by zlib-ng, whose folding (PCLMULQDQ) implementation gives the same
values as the zlib module about ten times faster: 0.36 against 3.6 µs for a 14 KiB SSTable
chunk, 0.07 against 0.18 µs for 100 bytes (docs/performance.md). A point read that misses the
chunk cache checks one such chunk, and a v5 connection checks every segment.

What it must not do: differ from zlib.crc32 in any value or seed (files written before it used
zlib, and the importer checks Cassandra's CRCs), or do I/O: the sans-IO packages import it.
"""

from __future__ import annotations

from zlib_ng.zlib_ng import crc32

__all__ = ["crc32"]
