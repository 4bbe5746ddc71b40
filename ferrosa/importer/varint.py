"""Cassandra's variable-length integers (VIntCoding) and the fixed-width big-endian readers.

Theory of operation: an unsigned vint is 1 to 9 bytes. The number of leading 1-bits of the first
byte is the number of extra bytes that follow (0..8); the remaining low bits of the first byte are the
most significant bits of the value, and the extra bytes follow big-endian. A first byte of 0xFF means
eight full extra bytes (a 64-bit value). Signed vints are zigzag-encoded first ((n << 1) ^ (n >> 63)),
so small magnitudes of either sign stay short. Decoders accept non-minimal encodings, as Cassandra does.

Values are unsigned 64-bit on the wire; Java then uses them as signed longs, so ``to_int64`` wraps
where Cassandra's arithmetic would (timestamps are ``uvint + base`` in 64-bit two's complement).

This module must NOT know about SSTable structure; it only decodes numbers from a buffer and raises
``Truncated`` (a CorruptSSTable) when the buffer ends inside one.
"""

from __future__ import annotations

import struct

from ferrosa.importer.errors import UNNAMED, CorruptSSTable, Truncated

Buffer = bytes | bytearray | memoryview

# Longest encoding: a 0xFF first byte and eight value bytes.
MAX_VINT_SIZE = 9
UINT64_LIMIT = 1 << 64
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# Extra bytes that follow a given first byte: its count of leading 1-bits.
EXTRA_BYTES: tuple[int, ...] = tuple(8 - (((~b) & 0xFF).bit_length()) for b in range(256))
# Bits of the first byte that belong to the value, per extra-byte count.
FIRST_BYTE_MASK: tuple[int, ...] = tuple(0xFF >> n for n in range(9))

U8 = struct.Struct(">B")
U16 = struct.Struct(">H")
I16 = struct.Struct(">h")
I32 = struct.Struct(">i")
U32 = struct.Struct(">I")
I64 = struct.Struct(">q")
U64 = struct.Struct(">Q")
F64 = struct.Struct(">d")


def read_uvint(buf: Buffer, pos: int, path: str = UNNAMED) -> tuple[int, int]:
    """Decode the unsigned vint at ``pos``; returns (value in [0, 2**64), next position)."""
    try:
        first = buf[pos]
    except IndexError:
        raise Truncated(path, "end of data inside a vint", pos) from None
    if first < 0x80:
        return first, pos + 1
    extra = EXTRA_BYTES[first]
    end = pos + 1 + extra
    if end > len(buf):
        raise Truncated(path, "end of data inside a vint", pos)
    return ((first & FIRST_BYTE_MASK[extra]) << (8 * extra)) | int.from_bytes(buf[pos + 1:end], "big"), end


def read_vint(buf: Buffer, pos: int, path: str = UNNAMED) -> tuple[int, int]:
    """Decode the signed (zigzag) vint at ``pos``; returns (value in int64 range, next position)."""
    raw, pos = read_uvint(buf, pos, path)
    return (raw >> 1) ^ -(raw & 1), pos


def to_int64(value: int) -> int:
    """Wrap an integer to Java's signed 64-bit range (two's complement)."""
    value &= UINT64_LIMIT - 1
    return value - UINT64_LIMIT if value > INT64_MAX else value


def uvint_size(value: int) -> int:
    """Bytes the canonical encoding of ``value`` takes."""
    if value < 0x80:
        return 1
    return min(MAX_VINT_SIZE, (value.bit_length() + 6) // 7)


def encode_uvint(value: int) -> bytes:
    """Canonical unsigned vint for 0 <= value < 2**64 (the inverse of ``read_uvint``)."""
    if not 0 <= value < UINT64_LIMIT:
        raise ValueError(f"{value} does not fit an unsigned 64-bit vint")
    if value < 0x80:
        return bytes((value,))
    size = uvint_size(value)
    extra = size - 1
    if extra == 8:
        return b"\xff" + value.to_bytes(8, "big")
    data = bytearray(value.to_bytes(size, "big"))
    data[0] |= (0xFF << (8 - extra)) & 0xFF
    return bytes(data)


def encode_vint(value: int) -> bytes:
    """Canonical signed (zigzag) vint for a value in the int64 range."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{value} does not fit a signed 64-bit vint")
    return encode_uvint(((value << 1) ^ (value >> 63)) & (UINT64_LIMIT - 1))


def read_sized_int(buf: Buffer, pos: int, size: int, path: str = UNNAMED) -> int:
    """A sign-extended big-endian integer of ``size`` bytes (Cassandra's SizedInts.read)."""
    end = pos + size
    if size < 1 or end > len(buf):
        raise Truncated(path, f"end of data inside a {size}-byte integer", pos)
    return int.from_bytes(buf[pos:end], "big", signed=True)


def unpack_at(st: struct.Struct, buf: Buffer, pos: int, path: str = UNNAMED) -> tuple:
    """``st.unpack_from`` that reports a short buffer as Truncated (with path and offset)."""
    if pos < 0 or pos + st.size > len(buf):
        raise Truncated(path, f"end of data inside a {st.size}-byte field", pos)
    return st.unpack_from(buf, pos)


class Cursor:
    """Sequential reads from a buffer for the cold paths (metadata, indexes); every short read is a
    Truncated naming ``path`` and the offset. Hot paths (unfiltered.py) inline their reads instead."""

    __slots__ = ("buf", "path", "pos")

    def __init__(self, buf: Buffer, pos: int = 0, path: str = UNNAMED):
        self.buf = buf
        self.pos = pos
        self.path = path

    def _fixed(self, st: struct.Struct) -> int | float:
        pos = self.pos
        if pos + st.size > len(self.buf):
            raise Truncated(self.path, f"end of data inside a {st.size}-byte field", pos)
        self.pos = pos + st.size
        return st.unpack_from(self.buf, pos)[0]

    def u8(self) -> int:
        return self._fixed(U8)  # type: ignore[return-value]

    def u16(self) -> int:
        return self._fixed(U16)  # type: ignore[return-value]

    def i32(self) -> int:
        return self._fixed(I32)  # type: ignore[return-value]

    def u32(self) -> int:
        return self._fixed(U32)  # type: ignore[return-value]

    def i64(self) -> int:
        return self._fixed(I64)  # type: ignore[return-value]

    def f64(self) -> float:
        return self._fixed(F64)  # type: ignore[return-value]

    def boolean(self) -> bool:
        return self.u8() != 0

    def uvint(self) -> int:
        value, self.pos = read_uvint(self.buf, self.pos, self.path)
        return value

    def vint(self) -> int:
        value, self.pos = read_vint(self.buf, self.pos, self.path)
        return value

    def take(self, n: int) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > len(self.buf):
            raise Truncated(self.path, f"end of data inside a {n}-byte value", pos)
        self.pos = pos + n
        return bytes(self.buf[pos:pos + n])

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise Truncated(self.path, f"cannot skip {n} bytes: end of data", self.pos)
        self.pos += n

    def short_bytes(self) -> bytes:
        """u16 length + bytes (ByteBufferUtil.writeWithShortLength)."""
        return self.take(self.u16())

    def vint_bytes(self) -> bytes:
        """uvint length + bytes (ByteBufferUtil.writeWithVIntLength)."""
        start = self.pos
        n = self.uvint()
        if n > len(self.buf) - self.pos:
            raise Truncated(self.path, f"length {n} runs past the end of the data", start)
        return self.take(n)

    def utf8(self, raw: bytes, at: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptSSTable(self.path, "string is not valid UTF-8", at) from None

    def vint_string(self) -> str:
        at = self.pos
        return self.utf8(self.vint_bytes(), at)

    def short_string(self) -> str:
        at = self.pos
        return self.utf8(self.short_bytes(), at)
