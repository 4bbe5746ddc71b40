"""Golden vectors and error cases for the spec notations in ferrosa.protocol.primitives."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferrosa.protocol import primitives as p
from ferrosa.protocol.constants import ConsistencyLevel
from ferrosa.protocol.errors import ProtocolError


def _enc(writer, *args) -> bytes:
    out = bytearray()
    writer(out, *args)
    return bytes(out)


# (writer, args, expected bytes, reader method name, expected read value)
GOLDEN = [
    (p.write_byte, (0xAB,), b"\xab", "read_byte", 0xAB),
    (p.write_short, (0xFFFE,), b"\xff\xfe", "read_short", 0xFFFE),
    (p.write_int, (-2,), b"\xff\xff\xff\xfe", "read_int", -2),
    (p.write_uint, (0x80000001,), b"\x80\x00\x00\x01", "read_uint", 0x80000001),
    (p.write_long, (-(1 << 63),), b"\x80" + b"\x00" * 7, "read_long", -(1 << 63)),
    (p.write_string, ("héllo",), b"\x00\x06h\xc3\xa9llo", "read_string", "héllo"),
    (p.write_long_string, ("ab",), b"\x00\x00\x00\x02ab", "read_long_string", "ab"),
    (p.write_string_list, (["a", "bc"],), b"\x00\x02\x00\x01a\x00\x02bc", "read_string_list", ["a", "bc"]),
    (p.write_bytes, (b"\x01\x02",), b"\x00\x00\x00\x02\x01\x02", "read_bytes", b"\x01\x02"),
    (p.write_bytes, (None,), b"\xff\xff\xff\xff", "read_bytes", None),
    (p.write_bytes, (b"",), b"\x00\x00\x00\x00", "read_bytes", b""),
    (p.write_value, (None,), b"\xff\xff\xff\xff", "read_value", None),
    (p.write_value, (p.UNSET,), b"\xff\xff\xff\xfe", "read_value", p.UNSET),
    (p.write_value, (b"x",), b"\x00\x00\x00\x01x", "read_value", b"x"),
    (p.write_short_bytes, (b"\xaa",), b"\x00\x01\xaa", "read_short_bytes", b"\xaa"),
    (p.write_unsigned_vint, (0,), b"\x00", "read_unsigned_vint", 0),
    (p.write_unsigned_vint, (127,), b"\x7f", "read_unsigned_vint", 127),
    (p.write_unsigned_vint, (128,), b"\x80\x80", "read_unsigned_vint", 128),
    # spec section 3: 256 000 is encoded on 3 bytes as [110]00011 11101000 00000000
    (p.write_unsigned_vint, (256000,), bytes([0b11000011, 0b11101000, 0]), "read_unsigned_vint", 256000),
    (p.write_unsigned_vint, ((1 << 64) - 1,), b"\xff" * 9, "read_unsigned_vint", (1 << 64) - 1),
    (p.write_vint, (0,), b"\x00", "read_vint", 0),
    (p.write_vint, (-1,), b"\x01", "read_vint", -1),
    (p.write_vint, (1,), b"\x02", "read_vint", 1),
    (p.write_vint, (-3,), b"\x05", "read_vint", -3),
    (p.write_inetaddr, ("10.0.0.1",), b"\x04\x0a\x00\x00\x01", "read_inetaddr", "10.0.0.1"),
    (p.write_inetaddr, ("::1",), b"\x10" + b"\x00" * 15 + b"\x01", "read_inetaddr", "::1"),
    (p.write_inet, ("127.0.0.1", 9042), b"\x04\x7f\x00\x00\x01\x00\x00\x23\x52", "read_inet", ("127.0.0.1", 9042)),
    (p.write_consistency, (ConsistencyLevel.LOCAL_QUORUM,), b"\x00\x06", "read_consistency",
     ConsistencyLevel.LOCAL_QUORUM),
    (p.write_string_map, ({"k": "v"},), b"\x00\x01\x00\x01k\x00\x01v", "read_string_map", {"k": "v"}),
    (p.write_string_multimap, ({"k": ["a", "b"]},), b"\x00\x01\x00\x01k\x00\x02\x00\x01a\x00\x01b",
     "read_string_multimap", {"k": ["a", "b"]}),
    (p.write_bytes_map, ({"k": b"\x00", "n": None},), b"\x00\x02\x00\x01k\x00\x00\x00\x01\x00\x00\x01n\xff\xff\xff\xff",
     "read_bytes_map", {"k": b"\x00", "n": None}),
]


@pytest.mark.parametrize("writer,args,expected,reader,value", GOLDEN)
def test_golden_encoding_and_decoding(writer, args, expected, reader, value) -> None:
    assert _enc(writer, *args) == expected
    r = p.Reader(expected)
    got = getattr(r, reader)()
    assert got == value if value is not p.UNSET else got is p.UNSET
    assert r.remaining() == 0


def test_uuid_roundtrip() -> None:
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    raw = _enc(p.write_uuid, u)
    assert raw == u.bytes
    assert p.Reader(raw).read_uuid() == u


@pytest.mark.parametrize("value", [0, 1, 127, 128, (1 << 14) - 1, 1 << 14, (1 << 56) - 1, 1 << 56,
                                   (1 << 63), (1 << 64) - 1])
def test_unsigned_vint_roundtrip_and_size(value: int) -> None:
    raw = p.unsigned_vint_bytes(value)
    bits = max(value.bit_length(), 1)
    assert len(raw) == (9 if bits > 56 else (bits + 6) // 7)
    assert p.Reader(raw).read_unsigned_vint() == value


@pytest.mark.parametrize("value", [-(1 << 63), -(1 << 31), -1, 0, 1, (1 << 31) - 1, (1 << 63) - 1])
def test_vint_zigzag_roundtrip(value: int) -> None:
    assert p.Reader(_enc(p.write_vint, value)).read_vint() == value


@pytest.mark.parametrize("data,method", [
    (b"", "read_byte"), (b"\x00", "read_short"), (b"\x00\x00\x00", "read_int"),
    (b"\x00" * 7, "read_long"), (b"\x00" * 15, "read_uuid"), (b"\x00\x05abc", "read_string"),
    (b"\x00\x00\x00\x05ab", "read_long_string"), (b"\x00\x00\x00\x09abc", "read_bytes"),
    (b"\x00\x00\x00\x09abc", "read_value"), (b"\x00\x03a", "read_short_bytes"),
    (b"\xc0\x01", "read_unsigned_vint"), (b"\x00\x02\x00\x01a", "read_string_list"),
    (b"\x04\x01\x02", "read_inetaddr"), (b"\x04\x01\x02\x03\x04\x00", "read_inet"),
    (b"\x00\x01\x00\x01k", "read_string_map"), (b"\x00\x20", "read_option"),
])
def test_truncation_raises_protocol_error(data: bytes, method: str) -> None:
    with pytest.raises(ProtocolError):
        getattr(p.Reader(data), method)()


def test_invalid_inputs_raise_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        p.Reader(b"\x00\x02\xc3\x28").read_string()
    with pytest.raises(ProtocolError, match="Negative"):
        p.Reader(b"\xff\xff\xff\xff").read_long_string()
    with pytest.raises(ProtocolError, match="Invalid \\[value\\] length -3"):
        p.Reader(b"\xff\xff\xff\xfd").read_value()
    with pytest.raises(ProtocolError, match="Unset values"):
        p.Reader(b"\xff\xff\xff\xfe").read_value(allow_unset=False)
    with pytest.raises(ProtocolError, match="Unknown code 11 for a consistency level"):
        p.Reader(b"\x00\x0b").read_consistency()
    with pytest.raises(ProtocolError, match="size 5"):
        p.Reader(b"\x05\x01\x02\x03\x04\x05").read_inetaddr()


def _outcome(read, data: bytes):
    """(value, position after) of a read, or the ProtocolError's message."""
    r = p.Reader(data)
    try:
        return read(r), r.pos
    except ProtocolError as exc:
        return exc.message


@given(st.sampled_from([3, 4, 5]), st.one_of(
    st.binary(max_size=10),
    st.builds(lambda code, rest: code.to_bytes(2, "big") + rest,
              st.sampled_from([*ConsistencyLevel, 11, 0xFFFF]), st.binary(max_size=8))))
def test_read_query_head_is_the_field_by_field_reads(version: int, data: bytes) -> None:
    """The one-unpack head gives what reading <consistency>, the [byte] or [int] of flags and,
    with VALUES, the [short] n of values gives, the same errors included."""
    def by_field(r: p.Reader):
        consistency = r.read_consistency()
        flags = r.read_uint() if version >= 5 else r.read_byte()
        return consistency, flags, r.read_short() if flags & 0x01 else 0
    assert _outcome(lambda r: r.read_query_head(version), data) == _outcome(by_field, data)


@given(st.binary(max_size=14))
def test_read_int_and_long_is_the_two_reads(data: bytes) -> None:
    """One unpack gives what read_int then read_long give, the short field's error included."""
    assert (_outcome(lambda r: r.read_int_and_long(), data)
            == _outcome(lambda r: (r.read_int(), r.read_long()), data))


def test_read_values_mixes_values_nulls_and_unset() -> None:
    out = bytearray()
    for v in (b"a", None, p.UNSET, b""):
        p.write_value(out, v)
    values = p.Reader(bytes(out)).read_values(4)
    assert values[0] == b"a" and values[1] is None and values[2] is p.UNSET and values[3] == b""
    with pytest.raises(ProtocolError):
        p.Reader(bytes(out)).read_values(4, allow_unset=False)
    with pytest.raises(ProtocolError):
        p.Reader(bytes(out)).read_values(5)


LIST_OF_MAP = b"\x00\x20" + b"\x00\x21" + b"\x00\x09" + b"\x00\x0d"  # list<map<int, varchar>>
UDT = (b"\x00\x30" + b"\x00\x02ks" + b"\x00\x04addr" + b"\x00\x02"
       + b"\x00\x01a" + b"\x00\x09" + b"\x00\x01b" + b"\x00\x31\x00\x02\x00\x01\x00\x22\x00\x0b")
CUSTOM = b"\x00\x00" + b"\x00\x05a.b.C"


@pytest.mark.parametrize("option", [b"\x00\x09", LIST_OF_MAP, UDT, CUSTOM])
def test_read_option_returns_raw_type_bytes(option: bytes) -> None:
    r = p.Reader(option + b"TAIL")
    assert r.read_option() == option
    assert r.read_raw(4) == b"TAIL"


def test_read_option_rejects_unknown_ids_and_deep_nesting() -> None:
    with pytest.raises(ProtocolError, match="0x0040"):
        p.Reader(b"\x00\x40").read_option()
    deep = b"\x00\x20" * (p.MAX_TYPE_NESTING + 2) + b"\x00\x09"
    with pytest.raises(ProtocolError, match="nested"):
        p.Reader(deep).read_option()
    ok = b"\x00\x20" * p.MAX_TYPE_NESTING + b"\x00\x09"
    assert p.Reader(ok).read_option() == ok


def test_option_list() -> None:
    out = bytearray()
    p.write_option_list(out, [b"\x00\x09", LIST_OF_MAP])
    assert p.Reader(bytes(out)).read_option_list() == [b"\x00\x09", LIST_OF_MAP]


def test_writer_misuse_raises_value_error() -> None:
    with pytest.raises(ValueError):
        p.string_bytes("x" * 70000)
    with pytest.raises(ValueError):
        p.unsigned_vint_bytes(-1)
    with pytest.raises(ValueError):
        p.write_vint(bytearray(), 1 << 63)
    with pytest.raises(ValueError):
        p.write_uuid(bytearray(), b"short")


def test_reader_accepts_memoryview_slices() -> None:
    data = memoryview(b"junk\x00\x01a")[4:]
    assert p.Reader(data).read_string() == "a"
    assert p.bytes_value(None) == b"\xff\xff\xff\xff"
    assert p.bytes_value(b"ab") == b"\x00\x00\x00\x02ab"
