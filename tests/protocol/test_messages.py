"""Message bodies: golden vectors, round trips, and cross-checks against python-driver's codecs."""

from __future__ import annotations

import uuid

import pytest
from cassandra import ConsistencyLevel as DCL
from cassandra import SchemaTargetType
from cassandra import WriteType as DriverWriteType
from cassandra import protocol as dp
from cassandra.cqltypes import Int32Type, ListType, UTF8Type
from cassandra.query import BatchType as DriverBatchType
from cassandra.query import UNSET_VALUE as DRIVER_UNSET

from ferrosa.protocol import messages as m
from ferrosa.protocol.constants import ConsistencyLevel as CL
from ferrosa.protocol.constants import Opcode
from ferrosa.protocol.errors import ErrorCode, ProtocolError
from ferrosa.protocol.frame import Frame, FrameDecoder, encode_frame
from ferrosa.protocol.primitives import UNSET
from ferrosa.protocol.results import encode_rows_response

INT_TYPE = b"\x00\x09"
TEXT_TYPE = b"\x00\x0d"
LIST_INT_TYPE = b"\x00\x20\x00\x09"


def _driver_request(msg, version: int, custom_payload=None) -> Frame:
    msg.custom_payload = custom_payload
    raw = dp._ProtocolHandler.encode_message(msg, 3, version, None, False)
    frames = FrameDecoder().feed(raw)
    assert len(frames) == 1
    return frames[0]


def _driver_response(msg: m.Response, version: int):
    raw = m.encode_response(msg, version, 1)
    frame = FrameDecoder(requests=False).feed(raw)[0]
    return dp._ProtocolHandler.decode_message(version, {}, frame.stream, frame.flags, frame.opcode,
                                              frame.body, None, None)


def _roundtrip_request(msg: m.Request, version: int) -> m.Request:
    raw = m.encode_request(msg, version, 1)
    return m.decode_request(FrameDecoder().feed(raw)[0])


def _roundtrip_response(msg: m.Response, version: int) -> m.Response:
    raw = m.encode_response(msg, version, 1)
    return m.decode_response(FrameDecoder(requests=False).feed(raw)[0])


# --- golden vectors ------------------------------------------------------------------------------

def test_golden_query_bodies() -> None:
    q = m.Query("SELECT 1", m.QueryParameters(CL.ONE))
    assert m.encode_request_body(q, 4) == (Opcode.QUERY, 0, b"\x00\x00\x00\x08SELECT 1\x00\x01\x00")
    assert m.encode_request_body(q, 5)[2] == b"\x00\x00\x00\x08SELECT 1\x00\x01\x00\x00\x00\x00"


def test_golden_rows_result_body() -> None:
    cols = [m.ColumnSpec("k", "t", "c", INT_TYPE)]
    meta = m.encode_rows_metadata(cols, version=4)
    assert meta == b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x01k\x00\x01t\x00\x01c\x00\x09"
    body = m.encode_rows_result(meta, 1, b"\x00\x00\x00\x04\x00\x00\x00\x2a")
    assert body == b"\x00\x00\x00\x02" + meta + b"\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x2a"
    struct_path = m.encode_response_body(
        m.RowsResult(m.ResultMetadata(1, cols), [[b"\x00\x00\x00\x2a"]]), 4)
    assert struct_path == (Opcode.RESULT, 0, body)


@pytest.mark.parametrize("version", [3, 4, 5])
@pytest.mark.parametrize("rows", [b"", b"\x00\x00\x00\x04\x00\x00\x00\x2a"])
def test_rows_response_is_the_framed_rows_result(version: int, rows: bytes) -> None:
    # The point read's one-call answer: the frame of encode_rows_result's body, byte for byte,
    # and the driver reads it.
    cols = [m.ColumnSpec("k", "t", "c", INT_TYPE)]
    meta = m.encode_rows_metadata(cols, version=version)
    count = 1 if rows else 0
    whole = encode_rows_response(version, 300, meta, count, rows)
    assert whole == encode_frame(version, 300, Opcode.RESULT, m.encode_rows_result(meta, count, rows))
    frame = FrameDecoder(requests=False).feed(whole)[0]
    decoded = dp._ProtocolHandler.decode_message(version, {}, frame.stream, frame.flags,
                                                 frame.opcode, frame.body, None, None)
    assert decoded.column_names == ["c"] and decoded.parsed_rows == ([(42,)] if rows else [])


def test_golden_error_and_ready() -> None:
    assert m.encode_response(m.Ready(), 4, 2) == bytes.fromhex("840000020200000000")
    assert m.encode_response_body(m.Error(ErrorCode.SYNTAX_ERROR, "x"), 4)[2] == b"\x00\x00\x20\x00\x00\x01x"


# --- requests: driver-encoded, decoded by us -------------------------------------------------------

@pytest.mark.parametrize("version", [3, 4, 5])
def test_driver_startup_options_register_auth(version: int) -> None:
    startup = m.decode_request(_driver_request(
        dp.StartupMessage(cqlversion="3.4.5", options={"COMPRESSION": "lz4", "DRIVER_NAME": "d"}), version))
    assert isinstance(startup, m.Startup)
    assert startup.cql_version == "3.4.5" and startup.compression == "lz4" and startup.driver_name == "d"
    assert isinstance(m.decode_request(_driver_request(dp.OptionsMessage(), version)), m.Options)
    reg = m.decode_request(_driver_request(dp.RegisterMessage(["SCHEMA_CHANGE", "status_change"]), version))
    assert reg == m.Register(["SCHEMA_CHANGE", "STATUS_CHANGE"])
    auth = m.decode_request(_driver_request(dp.AuthResponseMessage(b"\x00user\x00pass"), version))
    assert auth == m.AuthResponse(b"\x00user\x00pass")


@pytest.mark.parametrize("version", [3, 4, 5])
def test_driver_query_with_all_options(version: int) -> None:
    msg = dp.QueryMessage("SELECT * FROM ks.t", DCL.LOCAL_QUORUM, serial_consistency_level=DCL.LOCAL_SERIAL,
                          fetch_size=500, paging_state=b"\x01\x02", timestamp=1234567,
                          keyspace="ks" if version >= 5 else None)
    frame = _driver_request(msg, version, custom_payload={"k": b"v"} if version >= 4 else None)
    q = m.decode_request(frame)
    assert isinstance(q, m.Query) and q.query == "SELECT * FROM ks.t"
    p = q.params
    assert p.consistency == CL.LOCAL_QUORUM and p.serial_consistency == CL.LOCAL_SERIAL
    assert (p.page_size, p.paging_state, p.timestamp) == (500, b"\x01\x02", 1234567)
    assert p.values == [] and not p.skip_metadata
    assert p.keyspace == ("ks" if version >= 5 else None)
    assert q.custom_payload == ({"k": b"v"} if version >= 4 else None)


@pytest.mark.parametrize("version", [4, 5])
def test_driver_execute_with_values_null_and_unset(version: int) -> None:
    msg = dp.ExecuteMessage(b"\xaa" * 16, [b"\x00\x00\x00\x01", None, DRIVER_UNSET], DCL.ONE,
                            skip_meta=True, result_metadata_id=b"\xbb" * 16 if version >= 5 else None)
    e = m.decode_request(_driver_request(msg, version))
    assert isinstance(e, m.Execute) and e.query_id == b"\xaa" * 16
    assert e.result_metadata_id == (b"\xbb" * 16 if version >= 5 else None)
    assert e.params.values[:2] == [b"\x00\x00\x00\x01", None] and e.params.values[2] is UNSET
    # (python-driver never sets the Skip_metadata flag itself, whatever skip_meta says)


@pytest.mark.parametrize("version", [3, 4, 5])
def test_driver_execute_with_page_size_and_timestamp(version: int) -> None:
    """What the driver sends with every EXECUTE (its fetch size, a client timestamp) is read
    in one unpack, to the values the field-by-field reads give."""
    msg = dp.ExecuteMessage(b"\xaa" * 16, [b"k"], DCL.LOCAL_ONE, fetch_size=5000,
                            timestamp=1_700_000_000_123_456,
                            result_metadata_id=b"\xbb" * 16 if version >= 5 else None)
    e = m.decode_request(_driver_request(msg, version))
    assert e.params.flags & 0x3F == 0x25
    assert (e.params.consistency, e.params.values) == (CL.LOCAL_ONE, [b"k"])
    assert (e.params.page_size, e.params.timestamp) == (5000, 1_700_000_000_123_456)
    assert (e.params.paging_state, e.params.serial_consistency, e.params.keyspace) == (None,) * 3


def test_unset_value_is_rejected_in_v3() -> None:
    msg = dp.ExecuteMessage(b"\xaa", [DRIVER_UNSET], DCL.ONE)
    with pytest.raises(ProtocolError, match="Unset values") as info:
        m.decode_request(_driver_request(msg, 3))
    assert info.value.stream == 3 and not info.value.fatal


@pytest.mark.parametrize("version", [3, 4, 5])
def test_driver_prepare(version: int) -> None:
    ks = "ks" if version >= 5 else None
    p = m.decode_request(_driver_request(dp.PrepareMessage("INSERT INTO t (k) VALUES (?)", ks), version))
    assert p == m.Prepare("INSERT INTO t (k) VALUES (?)", ks)


@pytest.mark.parametrize("version", [3, 4, 5])
def test_driver_batch(version: int) -> None:
    queries = [(False, "INSERT INTO t (k) VALUES (1)", []),
               (True, b"\x01" * 16, [b"\x00\x00\x00\x02", None])]
    msg = dp.BatchMessage(DriverBatchType.UNLOGGED, queries, DCL.QUORUM,
                          serial_consistency_level=DCL.SERIAL, timestamp=99,
                          keyspace="ks" if version >= 5 else None)
    b = m.decode_request(_driver_request(msg, version))
    assert isinstance(b, m.Batch) and b.batch_type == 1 and b.consistency == CL.QUORUM
    assert b.statements == [m.BatchStatement("INSERT INTO t (k) VALUES (1)", []),
                            m.BatchStatement(b"\x01" * 16, [b"\x00\x00\x00\x02", None])]
    assert not b.statements[0].is_prepared and b.statements[1].is_prepared
    assert (b.serial_consistency, b.timestamp) == (CL.SERIAL, 99)
    assert b.keyspace == ("ks" if version >= 5 else None)


@pytest.mark.parametrize("version", [3, 4, 5])
def test_batch_repeating_prepared_statements(version: int) -> None:
    # The next statement that starts with the last prepared one's kind, id and value count is
    # read as that statement again (its id the same object); any other start is read field by
    # field, whatever came before.
    a, b = b"\x01" * 16, b"\x02" * 16
    queries = [(True, a, [b"k1", b"c1"]), (True, a, [b"k1", b"c2"]), (True, b, [b"k2", b"c3"]),
               (True, b, [b"k2"]), (False, "INSERT INTO t (k) VALUES (1)", []),
               (True, b, [b"k3"]), (True, b, [b"k4"]), (True, a, [b"k5", None]),
               (True, a, [b"k6", b"a longer value"])]
    msg = dp.BatchMessage(DriverBatchType.UNLOGGED, queries, DCL.ONE)
    batch = m.decode_request(_driver_request(msg, version))
    assert batch.statements == [m.BatchStatement(query, values) for _, query, values in queries]
    ids = [statement.query_or_id for statement in batch.statements]
    assert ids[0] is ids[1] and ids[5] is ids[6] and ids[7] is ids[8]
    assert ids[2] is not ids[3]  # the same id with another value count


def test_batch_repeating_a_statement_then_truncated() -> None:
    queries = [(True, b"\x01" * 16, [b"k1"]), (True, b"\x01" * 16, [b"k2"])]
    frame = _driver_request(dp.BatchMessage(DriverBatchType.UNLOGGED, queries, DCL.ONE), 4)
    body = frame.body
    cut = body.index(b"k2") + 1  # inside the second statement's value, after its repeated start
    with pytest.raises(ProtocolError):
        m.decode_request(Frame(frame.version, frame.flags, frame.stream, frame.opcode, body[:cut]))


# --- requests: our encoders round-trip through our decoders ---------------------------------------

@pytest.mark.parametrize("version", [4, 5])
def test_request_round_trips(version: int) -> None:
    v5 = version >= 5

    def params() -> m.QueryParameters:
        return m.QueryParameters(CL.EACH_QUORUM, [b"a", None, UNSET], names=["x", "y", "z"],
                                 skip_metadata=True, page_size=10, paging_state=b"ps",
                                 serial_consistency=CL.SERIAL, timestamp=-5,
                                 keyspace="ks" if v5 else None, now_in_seconds=77 if v5 else None)

    requests = [
        m.Startup({"CQL_VERSION": "3.0.0"}), m.Options(),
        m.Query("q", params(), custom_payload={"p": None}),
        m.Prepare("q", "ks" if v5 else None),
        m.Execute(b"id", params(), result_metadata_id=b"rid" if v5 else None),
        m.Batch(2, [m.BatchStatement("q", [b"1"]), m.BatchStatement(b"id", [])], CL.ONE,
                timestamp=7, keyspace="ks" if v5 else None, now_in_seconds=3 if v5 else None),
        m.Register(["TOPOLOGY_CHANGE"]), m.AuthResponse(None),
    ]
    for msg in requests:
        got = _roundtrip_request(msg, version)
        if isinstance(msg, (m.Query, m.Execute)):
            assert got.params.values[2] is UNSET
            got.params.values[2] = msg.params.values[2] = None
            msg.params.flags = got.params.flags
        if isinstance(msg, m.Batch):
            msg.flags = got.flags
        assert got == msg


@pytest.mark.parametrize("options,match", [
    ({"COMPRESSION": "lz4"}, "Missing value CQL_VERSION in STARTUP message"),
    ({"CQL_VERSION": "2.0.0"}, "CQL version 2.0.0 is not supported"),
    ({"CQL_VERSION": "three"}, "Invalid version value: three"),
    ({"CQL_VERSION": "3.0.0", "COMPRESSION": "zstd"}, "Unknown compression algorithm: zstd"),
])
def test_startup_validation(options: dict[str, str], match: str) -> None:
    with pytest.raises(ProtocolError, match=match) as info:
        _roundtrip_request(m.Startup(options), 4)
    assert not info.value.fatal


def test_startup_snappy_only_before_v5_and_keys_are_case_insensitive() -> None:
    assert _roundtrip_request(m.Startup({"cql_version": "3.0.0", "compression": "SNAPPY"}), 4).compression == "snappy"
    with pytest.raises(ProtocolError, match="Snappy compression is not supported in protocol V5"):
        _roundtrip_request(m.Startup({"CQL_VERSION": "3.0.0", "COMPRESSION": "snappy"}), 5)


@pytest.mark.parametrize("body,opcode,match", [
    (b"\x00\x01\x00\x03BAD", Opcode.REGISTER, "Invalid value 'BAD' for Type"),
    (b"\x03\x00\x00", Opcode.BATCH, "Invalid BATCH message type 3"),
    (b"\x00\x00\x01\x05", Opcode.BATCH, "Invalid query kind in BATCH messages. Must be 0 or 1 but got 5"),
    (b"", Opcode.CREDENTIALS, "Unsupported message"),
    (b"\x00\x00\x00\x01q\x00\x0f\x00", Opcode.QUERY, "Unknown code 15 for a consistency level"),
    (b"\x00\x00\x00\x01q\x00\x01\x20\x80\x00\x00\x00\x00\x00\x00\x00", Opcode.QUERY, "Out of bound timestamp"),
    (b"\x00\x00\x00\x05q", Opcode.QUERY, "Not enough bytes"),
    # a page size and a timestamp (the drivers' usual pair): out of bounds, then cut short
    (b"\x00\x00\x00\x01q\x00\x01\x24\x00\x00\x13\x88\x80" + bytes(7), Opcode.QUERY,
     "Out of bound timestamp"),
    (b"\x00\x00\x00\x01q\x00\x01\x24\x00\x00\x13\x88\x00\x00", Opcode.QUERY,
     "Not enough bytes to read a \\[long\\]"),
    (b"\x00\x00\x00\x01q\x00\x01\x24\x00\x00", Opcode.QUERY,
     "Not enough bytes to read an \\[int\\]"),
])
def test_malformed_requests(body: bytes, opcode: int, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        m.decode_request(Frame(4, 0, 1, opcode, body))


def test_custom_payload_needs_v4() -> None:
    with pytest.raises(ProtocolError, match="CUSTOM_PAYLOAD"):
        m.decode_request(Frame(3, 0x04, 1, Opcode.OPTIONS, b"\x00\x00"))
    with pytest.raises(ValueError):
        m.encode_request_body(m.Options(custom_payload={}), 3)


def test_v4_ignores_v5_only_flag_bits() -> None:
    body = b"\x00\x00\x00\x01q\x00\x01\x80"  # 0x80 (keyspace in v5) means nothing in a v4 [byte]
    assert m.decode_request(Frame(4, 0, 1, Opcode.QUERY, body)).params.keyspace is None


# --- responses: encoded by us, decoded by the driver -----------------------------------------------

@pytest.mark.parametrize("version", [3, 4, 5])
def test_simple_responses_decode_with_the_driver(version: int) -> None:
    assert isinstance(_driver_response(m.Ready(), version), dp.ReadyMessage)
    auth = _driver_response(m.Authenticate("org.apache.cassandra.auth.PasswordAuthenticator"), version)
    assert auth.authenticator == "org.apache.cassandra.auth.PasswordAuthenticator"
    sup = _driver_response(m.Supported({"CQL_VERSION": ["3.4.7"], "COMPRESSION": ["lz4", "snappy"]}), version)
    assert sup.cql_versions == ["3.4.7"] and sup.options == {"COMPRESSION": ["lz4", "snappy"]}
    assert _driver_response(m.AuthChallenge(b"\x01\x02"), version).challenge == b"\x01\x02"
    assert _driver_response(m.AuthSuccess(b"ok"), version).token == "ok"
    assert _driver_response(m.SetKeyspaceResult("ks"), version).new_keyspace == "ks"
    assert _driver_response(m.VoidResult(), version).kind == dp.RESULT_KIND_VOID


@pytest.mark.parametrize("version", [4, 5])
def test_tracing_warnings_and_custom_payload_prefixes(version: int) -> None:
    tid = uuid.uuid1()
    msg = _driver_response(m.VoidResult(tracing_id=tid, warnings=["careful"], custom_payload={"a": b"b"}), version)
    assert msg.trace_id == tid and msg.warnings == ["careful"] and msg.custom_payload == {"a": b"b"}
    ours = _roundtrip_response(m.Ready(tracing_id=tid, warnings=["w"], custom_payload={"x": None}), version)
    assert (ours.tracing_id, ours.warnings, ours.custom_payload) == (tid, ["w"], {"x": None})


@pytest.mark.parametrize("version", [3, 4, 5])
def test_rows_result_decodes_with_the_driver(version: int) -> None:
    cols = [m.ColumnSpec("ks", "t", "k", INT_TYPE), m.ColumnSpec("ks", "t", "v", TEXT_TYPE),
            m.ColumnSpec("ks", "t", "l", LIST_INT_TYPE)]
    rows = [[b"\x00\x00\x00\x01", b"one", b"\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x07"],
            [b"\x00\x00\x00\x02", None, None]]
    meta = m.encode_rows_metadata(cols, version=version, paging_state=b"next")
    body = m.encode_rows_result(meta, 2, [m.encode_row(r) for r in rows])
    frame = FrameDecoder(requests=False).feed(encode_frame(version, 1, Opcode.RESULT, body))[0]
    res = dp._ProtocolHandler.decode_message(version, {}, 1, 0, Opcode.RESULT, frame.body, None, None)
    assert res.column_names == ["k", "v", "l"] and res.paging_state == b"next"
    assert res.column_types[0] is Int32Type and issubclass(res.column_types[1], UTF8Type)
    assert res.column_types[2].subtypes == (Int32Type,) and issubclass(res.column_types[2], ListType)
    assert res.parsed_rows == [(1, "one", [7]), (2, None, None)]
    ours = m.decode_response(frame)
    assert isinstance(ours, m.RowsResult) and ours.rows == rows
    assert ours.metadata.columns == cols and ours.metadata.paging_state == b"next"


def test_no_metadata_and_per_column_table_specs() -> None:
    cols = [m.ColumnSpec("a", "t1", "x", INT_TYPE), m.ColumnSpec("b", "t2", "y", INT_TYPE)]
    meta = m.encode_rows_metadata(cols, version=4)
    assert meta[:4] == b"\x00\x00\x00\x00"  # no global table spec for two tables
    decoded = _roundtrip_response(m.RowsResult(m.ResultMetadata(2, cols), []), 4)
    assert decoded.metadata.columns == cols
    skip = m.encode_rows_metadata(cols, version=4, no_metadata=True)
    assert skip == b"\x00\x00\x00\x04\x00\x00\x00\x02"
    res = _roundtrip_response(m.RowsResult(m.ResultMetadata(2), [[b"1", None]]), 4)
    assert res.metadata.columns is None and res.rows == [[b"1", None]]


def test_v5_metadata_changed() -> None:
    cols = [m.ColumnSpec("k", "t", "c", INT_TYPE)]
    meta = m.encode_rows_metadata(cols, version=5, new_metadata_id=b"\x11" * 16)
    assert meta[:4] == b"\x00\x00\x00\x09"
    res = _roundtrip_response(m.RowsResult(m.ResultMetadata(1, cols, new_metadata_id=b"\x11" * 16), []), 5)
    assert res.metadata.new_metadata_id == b"\x11" * 16
    with pytest.raises(ValueError):
        m.encode_rows_metadata(cols, version=4, new_metadata_id=b"x")


@pytest.mark.parametrize("version", [3, 4, 5])
def test_prepared_result_decodes_with_the_driver(version: int) -> None:
    binds = [m.ColumnSpec("ks", "t", "k", INT_TYPE), m.ColumnSpec("ks", "t", "v", TEXT_TYPE)]
    result = m.ResultMetadata(1, [m.ColumnSpec("ks", "t", "v", TEXT_TYPE)])
    msg = m.PreparedResult(b"\x42" * 16, binds, [0], result,
                           result_metadata_id=b"\x07" * 16 if version >= 5 else None)
    res = _driver_response(msg, version)
    assert res.query_id == b"\x42" * 16
    assert [c.name for c in res.bind_metadata] == ["k", "v"]
    assert res.pk_indexes == ([0] if version >= 4 else None)
    assert [c[2] for c in res.column_metadata] == ["v"]
    if version >= 5:
        assert res.result_metadata_id == b"\x07" * 16
    ours = _roundtrip_response(msg, version)
    if version < 4:
        msg.pk_indexes = []
    result.flags = ours.result_metadata.flags
    assert ours == msg


def test_prepared_fast_path_matches_struct_path_and_empty_metadata() -> None:
    binds = [m.ColumnSpec("ks", "t", "k", INT_TYPE)]
    fast = m.encode_prepared_result(b"id", m.encode_prepared_metadata(binds, [0], version=5),
                                    m.EMPTY_RESULT_METADATA, version=5, result_metadata_id=b"r")
    slow = m.encode_response_body(m.PreparedResult(b"id", binds, [0], m.ResultMetadata(0), b"r"), 5)[2]
    assert fast == slow
    with pytest.raises(ValueError):
        m.encode_prepared_result(b"id", b"", b"", version=5)


ERRORS = [
    m.Error(ErrorCode.SERVER_ERROR, "boom"), m.Error(ErrorCode.PROTOCOL_ERROR, "bad frame"),
    m.Error(ErrorCode.BAD_CREDENTIALS, "nope"), m.Error(ErrorCode.OVERLOADED, "busy"),
    m.Error(ErrorCode.IS_BOOTSTRAPPING, "boot"), m.Error(ErrorCode.TRUNCATE_ERROR, "trunc"),
    m.Error(ErrorCode.SYNTAX_ERROR, "syntax"), m.Error(ErrorCode.UNAUTHORIZED, "no"),
    m.Error(ErrorCode.INVALID, "invalid"), m.Error(ErrorCode.CONFIG_ERROR, "config"),
    m.Unavailable("unavailable", CL.QUORUM, 2, 1),
    m.WriteTimeout("wt", CL.ONE, 0, 1, "SIMPLE"),
    m.ReadTimeout("rt", CL.ALL, 1, 3, True),
    m.AlreadyExists("exists", "ks", "t"),
    m.Unprepared("unprepared", b"\x01\x02"),
]
DRIVER_ERROR_CLASSES = {
    ErrorCode.SERVER_ERROR: dp.ServerError, ErrorCode.PROTOCOL_ERROR: dp.ProtocolException,
    ErrorCode.BAD_CREDENTIALS: dp.BadCredentials, ErrorCode.OVERLOADED: dp.OverloadedErrorMessage,
    ErrorCode.IS_BOOTSTRAPPING: dp.IsBootstrappingErrorMessage, ErrorCode.TRUNCATE_ERROR: dp.TruncateError,
    ErrorCode.SYNTAX_ERROR: dp.SyntaxException, ErrorCode.UNAUTHORIZED: dp.UnauthorizedErrorMessage,
    ErrorCode.INVALID: dp.InvalidRequestException, ErrorCode.CONFIG_ERROR: dp.ConfigurationException,
    ErrorCode.UNAVAILABLE: dp.UnavailableErrorMessage, ErrorCode.WRITE_TIMEOUT: dp.WriteTimeoutErrorMessage,
    ErrorCode.READ_TIMEOUT: dp.ReadTimeoutErrorMessage, ErrorCode.ALREADY_EXISTS: dp.AlreadyExistsException,
    ErrorCode.UNPREPARED: dp.PreparedQueryNotFound,
}


@pytest.mark.parametrize("version", [3, 4, 5])
@pytest.mark.parametrize("err", ERRORS, ids=lambda e: type(e).__name__ + hex(e.code))
def test_errors_decode_with_the_driver(err: m.Response, version: int) -> None:
    got = _driver_response(err, version)
    assert type(got) is DRIVER_ERROR_CLASSES[err.code] and got.message == err.message
    assert _roundtrip_response(err, version) == err


def test_error_details_seen_by_the_driver() -> None:
    assert _driver_response(m.Unavailable("u", CL.QUORUM, 3, 1), 4).info == {
        "consistency": DCL.QUORUM, "required_replicas": 3, "alive_replicas": 1}
    assert _driver_response(m.AlreadyExists("e", "ks", ""), 4).info == {"keyspace": "ks", "table": ""}
    assert _driver_response(m.Unprepared("u", b"\x09"), 4).info == b"\x09"


def test_failures_use_reason_map_in_v5_and_count_in_v4() -> None:
    rf = m.ReadFailure("rf", CL.QUORUM, 1, 2, False, {"10.0.0.1": 1, "::1": 2})
    v5 = _driver_response(rf, 5)
    assert v5.info["error_code_map"] == {"10.0.0.1": 1, "::1": 2} and v5.info["failures"] == 2
    v4 = _driver_response(rf, 4)
    assert v4.info["failures"] == 2 and v4.info["error_code_map"] is None
    wf = m.WriteFailure("wf", CL.ONE, 0, 1, "BATCH_LOG", num_failures=3)
    assert _driver_response(wf, 4).info["failures"] == 3
    assert _roundtrip_response(wf, 4) == wf
    ours = _roundtrip_response(rf, 5)
    assert ours.reason_map == rf.reason_map and ours.num_failures == 2


def test_v3_downgrades_failures_like_cassandra() -> None:
    rf = _driver_response(m.ReadFailure("rf", CL.ONE, 0, 1, True), 3)
    assert isinstance(rf, dp.ReadTimeoutErrorMessage) and rf.info["data_retrieved"] is True
    wf = _driver_response(m.WriteFailure("wf", CL.ONE, 0, 1, "SIMPLE"), 3)
    assert isinstance(wf, dp.WriteTimeoutErrorMessage)
    ff = _driver_response(m.FunctionFailure("div by zero", "ks", "f", ["int"]), 3)
    assert isinstance(ff, dp.InvalidRequestException) and ff.message == "ERROR FUNCTION_FAILURE: div by zero"
    cdc = _roundtrip_response(m.Error(ErrorCode.CDC_WRITE_FAILURE, "cdc"), 3)
    assert cdc == m.Error(ErrorCode.INVALID, "ERROR CDC_WRITE_FAILURE: cdc")
    ff4 = _driver_response(m.FunctionFailure("div", "ks", "f", ["int", "text"]), 4)
    assert ff4.info == {"keyspace": "ks", "function": "f", "arg_types": ["int", "text"]}


def test_cas_errors_by_version() -> None:
    cas = m.WriteTimeout("cas", CL.SERIAL, 0, 2, "CAS", contentions=4)
    assert _roundtrip_response(cas, 5).contentions == 4
    assert _roundtrip_response(cas, 4).contentions is None
    assert _driver_response(cas, 5).info["write_type"] == DriverWriteType.CAS
    unknown = m.CasWriteUnknown("unknown", CL.SERIAL, 1, 2)
    assert _roundtrip_response(unknown, 5) == unknown
    old = _roundtrip_response(unknown, 4)
    assert old == m.WriteTimeout("unknown", CL.SERIAL, 1, 2, "CAS")


def test_error_with_detail_code_needs_its_type() -> None:
    with pytest.raises(ValueError):
        m.encode_response_body(m.Error(ErrorCode.UNAVAILABLE, "x"), 4)
    assert m.error_for(ProtocolError("bad")) == m.Error(ErrorCode.PROTOCOL_ERROR, "bad")


@pytest.mark.parametrize("version", [3, 4, 5])
def test_events_and_schema_change_results(version: int) -> None:
    table = m.SchemaChangeEvent("CREATED", "TABLE", "ks", "t")
    ev = _driver_response(table, version)
    assert ev.event_type == "SCHEMA_CHANGE"
    assert ev.event_args == {"target_type": SchemaTargetType.TABLE, "change_type": "CREATED",
                             "keyspace": "ks", "table": "t"}
    assert _roundtrip_response(table, version) == table
    func = m.SchemaChangeResult("DROPPED", "FUNCTION", "ks", "f", ["int"])
    got = _roundtrip_response(func, version)
    if version >= 4:
        assert got == func
        assert _driver_response(func, version).schema_change_event["function"].name == "f"
    else:  # v3 cannot express functions: Cassandra reports the keyspace as updated
        assert got == m.SchemaChangeResult("UPDATED", "KEYSPACE", "ks")
    topo = m.TopologyChangeEvent("NEW_NODE", "10.1.2.3", 9042)
    assert _driver_response(topo, version).event_args == {"change_type": "NEW_NODE", "address": ("10.1.2.3", 9042)}
    status = m.StatusChangeEvent("DOWN", "::1", 9042)
    assert _roundtrip_response(status, version) == status


def test_unknown_types_are_rejected_by_dispatch() -> None:
    with pytest.raises(TypeError):
        m.encode_response_body(m.Options(), 4)  # a request is not a response
    with pytest.raises(TypeError):
        m.encode_request_body(m.Ready(), 4)
    with pytest.raises(ProtocolError, match="Unknown RESULT kind 9"):
        m.decode_response(Frame(4, 0, 1, Opcode.RESULT, b"\x00\x00\x00\x09"))
