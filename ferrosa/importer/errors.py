"""Errors of the SSTable importer: every failure names the file and, where known, the byte offset.

A damaged or unsupported SSTable must stop the import loudly; it must never turn into wrong rows.
Readers therefore raise only these classes (never IndexError, struct.error or a codec's own error):

* ``CorruptSSTable``: bytes that contradict the format (bad checksum, impossible length, flags that
  cannot occur, a file that ends early). ``Truncated`` is the subclass for "ran past the end of the
  bytes available"; the streaming Data.db reader catches it to fetch more bytes and re-raises it as a
  plain ``CorruptSSTable`` only when the file really ends there.
* ``UnsupportedFormat``: a well-formed file in a format version, compressor or type we do not read.
* ``MissingComponent``: a component the TOC (or the format) requires is absent.
* ``SchemaMismatch``: the SSTable's header does not fit the target table (a column it lacks, another
  type, other key columns); ``Unrepresentable``: data Ferrosa cannot store exactly (the loader's
  conversion refuses it rather than dropping or bending it). Both name the file, the second also the
  partition.
* ``LoadFailed`` (not tied to a file): the node is unreachable or refused a batch.

This module must NOT import anything from the importer (every other module imports it).
"""

from __future__ import annotations

from ferrosa.errors import FerrosaError


class SSTableImportError(FerrosaError):
    """Base of importer errors. ``path`` is the file concerned, ``offset`` the byte position or None.

    (Named so as not to shadow Python's builtin ImportError.)
    """

    def __init__(self, path: str, message: str, offset: int | None = None):
        self.path = str(path)
        self.offset = offset
        self.detail = message
        where = f"{self.path} at offset {offset}" if offset is not None else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple:
        return (type(self), (self.path, self.detail, self.offset))


class CorruptSSTable(SSTableImportError):
    """The bytes contradict the SSTable format (checksum, length, flags, early end of file)."""


class Truncated(CorruptSSTable):
    """A decoder needed bytes beyond the end of its buffer (a file that ends early, or a window to grow)."""


class UnsupportedFormat(SSTableImportError):
    """A valid file in a format, version, compressor or type this importer does not read."""


class MissingComponent(SSTableImportError):
    """A component required by the TOC or by the format is absent."""


class SchemaMismatch(SSTableImportError):
    """The SSTable's serialization header does not fit the target table's schema."""


class Unrepresentable(SSTableImportError):
    """Data the SSTable holds that Ferrosa cannot store exactly (e.g. an MV's shadowable deletion)."""


class LoadFailed(FerrosaError):
    """The node could not be reached or refused a batch: the import stops (what was sent stays;
    importing again is idempotent)."""


# Where a decoder works on bytes that did not come from a named file (tests, fuzzing).
UNNAMED = "<buffer>"
