"""Cursor: a position in an SSTable's logical Data stream, reading its size-prefixed records
across the chunks ChunkReader decompresses.

What it is: the walk SSTableReader's reads and scans share. `record()` gives the next record,
`partition()` a partition's header and row records, `skip_before(lo)` moves past the rows below
a clustering key; `need(n)` joins the next chunks when a record runs past the current one.

What it must NOT do: decode headers or rows (codec.py does), or decide what a corrupt record
means (it raises DecodeError; the reader reports where).

Theory of operation: `buf` is the current chunk (or chunks joined for a record across their
boundary), `base` the logical offset of buf[0] and `p` the offset in `buf`. Records are a u32
size and that many bytes; size 0 ends a partition. Most records lie inside `buf`, and the loops
test that first and read them without a call; a record that does not is read by `record()`,
which rebases `buf` on the record's start.
"""

from __future__ import annotations

from shards.sstable.chunks import ChunkReader
from shards.sstable.codec import U32, DecodeError, row_key

_U32_AT = U32.unpack_from


class Cursor:
    """A position in the logical Data stream; `need(n)` makes buf[p:p + n] available."""

    __slots__ = ("base", "buf", "cache", "chunks", "next", "p")

    def __init__(self, chunks: ChunkReader, pos: int, cache: bool) -> None:
        size = chunks.chunk_bytes
        index = pos // size
        self.chunks = chunks
        self.cache = cache
        self.buf = chunks.chunk(index, cache) if index < chunks.count else b""
        self.base = index * size
        self.p = pos - self.base
        self.next = index + 1

    @property
    def position(self) -> int:
        return self.base + self.p

    def need(self, n: int) -> None:
        if self.p + n <= len(self.buf):
            return
        parts = [self.buf[self.p:]]
        have = len(parts[0])
        chunks = self.chunks
        while have < n:
            if self.next >= chunks.count:
                raise DecodeError(f"a record of {n} bytes runs past the end of the data")
            chunk = chunks.chunk(self.next, self.cache)
            self.next += 1
            parts.append(chunk)
            have += len(chunk)
        self.base += self.p
        self.buf = b"".join(parts)
        self.p = 0

    def record(self) -> tuple[bytes, int, int]:
        """(buffer, start, size) of the next size-prefixed record; size 0 = end of partition."""
        buf, p = self.buf, self.p
        if p + 4 <= len(buf):  # most records lie inside the current chunk: no need() calls
            size = _U32_AT(buf, p)[0]
            start = p + 4
            if start + size <= len(buf):
                self.p = start + size
                return buf, start, size
        self.need(4)
        size = _U32_AT(self.buf, self.p)[0]
        self.p += 4
        if size:
            self.need(size)
        start = self.p
        self.p += size
        return self.buf, start, size

    def partition(self) -> tuple[bytes, int, int, list[tuple[bytes, int, int]]]:
        """(buffer, start, size) of the next partition's header record, then (buffer, start,
        end) of every row record up to the partition's end mark, which it consumes; no rows
        after an empty header, which the caller refuses. One loop for a scan's every
        partition: a record inside the current chunk (most) is read without a call, one
        across chunks by record(), which rebases the cursor's buffer."""
        buf, p = self.buf, self.p
        end = len(buf)
        if p + 4 <= end and (size := _U32_AT(buf, p)[0]) and p + 4 + size <= end:
            head, begin = buf, p + 4
            p = begin + size
        else:
            head, begin, size = self.record()
            if not size:
                return head, begin, 0, []
            buf, p = self.buf, self.p
            end = len(buf)
        rows: list[tuple[bytes, int, int]] = []
        append = rows.append
        while True:
            if p + 4 <= end:
                length = _U32_AT(buf, p)[0]
                start = p + 4
                if start + length <= end:
                    p = start + length
                    if not length:
                        self.p = p
                        return head, begin, size, rows
                    append((buf, start, p))
                    continue
            self.p = p
            buf, start, length = self.record()
            if not length:
                return head, begin, size, rows
            append((buf, start, start + length))
            p, end = self.p, len(buf)

    def skip_before(self, lo: bytes) -> None:
        """Move past the row records whose clustering key is below `lo`, up to the first
        record that is not (a row at or past `lo`, or the partition's end mark), which the
        next `record()` returns. Rows come in key order: the slice's start, found from the
        row index sample before it, in one loop over the framing (row_key inlined)."""
        buf, p = self.buf, self.p
        end = len(buf)
        while True:
            if p + 4 <= end:  # as record(): most records lie inside the chunk
                size = _U32_AT(buf, p)[0]
                start = p + 4
                if size and start + size <= end:
                    n = _U32_AT(buf, start)[0]
                    if buf[start + 4:start + 4 + n] >= lo:
                        break
                    p = start + size
                    continue
            self.p = p
            self.need(4)
            buf, p = self.buf, self.p
            size = _U32_AT(buf, p)[0]
            if not size:
                break
            self.need(4 + size)  # keeps the record at self.p (rebased)
            buf, p = self.buf, self.p
            end = len(buf)
            if row_key(buf, p + 4) >= lo:
                break
            p += 4 + size
        self.p = p
