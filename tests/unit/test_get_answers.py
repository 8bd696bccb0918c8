"""The client's own reading of long GET answers (a profile buffer): the blocks the
simulated meter sends reassemble to its value, and plain Data decodes to exactly what
gurux's parser gives for the same octets, or is left to gurux."""

from __future__ import annotations

from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType, RequestTypes
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo
from gurux_dlms.objects import GXDLMSProfileGeneric
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.dlms import get_service
from adapters.dlms.axdr import NotPlainData, decode_plain_data, encode_length

CHECKS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
INTEGERS = [(5, 4, True), (6, 4, False), (15, 1, True), (16, 2, True), (17, 1, False)]
INTEGERS += [(18, 2, False), (20, 8, True), (21, 8, False), (22, 1, False)]


def client() -> GXDLMSClient:
    return GXDLMSClient(True, 1, 1, Authentication.NONE, None, InterfaceType.PDU)


def gurux_value(data: bytes) -> Any:
    return _GXCommon.getData(client().settings, GXByteBuffer(data), _GXDataInfo())


@st.composite
def integer(draw: st.DrawFn) -> bytes:
    tag, size, signed = draw(st.sampled_from(INTEGERS))
    bits = 8 * size
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return bytes((tag,)) + draw(st.integers(low, high)).to_bytes(size, "big", signed=signed)


OCTET_STRINGS = st.binary(max_size=300).map(lambda raw: b"\x09" + encode_length(len(raw)) + raw)
LEAVES = st.one_of(integer(), OCTET_STRINGS, st.just(b"\x00"))
PLAIN_DATA = st.recursive(
    LEAVES,
    lambda children: st.tuples(st.sampled_from([1, 2]), st.lists(children, max_size=5)).map(
        lambda made: bytes((made[0],)) + encode_length(len(made[1])) + b"".join(made[1])
    ),
    max_leaves=40,
)


def same_types(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, list):
        return isinstance(theirs, list) and all(map(same_types, ours, theirs))
    if isinstance(ours, bytearray):
        return isinstance(theirs, bytearray)
    if isinstance(ours, int):
        return isinstance(theirs, int) and not isinstance(theirs, bool)
    return ours is None and theirs is None


@CHECKS
@given(PLAIN_DATA)
def test_plain_data_decodes_to_what_gurux_decodes(data: bytes) -> None:
    ours = decode_plain_data(data)

    theirs = gurux_value(data)

    assert ours == theirs
    assert same_types(ours, theirs)


@CHECKS
@given(st.one_of(st.binary(max_size=64), PLAIN_DATA.map(lambda data: data[:-1] + b"\x00\x00")))
def test_any_octets_are_plain_data_gurux_agrees_with_or_left_to_gurux(data: bytes) -> None:
    try:
        ours = decode_plain_data(data)
    except NotPlainData:
        return

    assert ours == gurux_value(data)


def test_a_date_time_column_is_left_to_gurux() -> None:
    row = b"\x02\x02\x19" + bytes(12) + b"\x11\x00"

    try:
        decode_plain_data(row)
        raise AssertionError("a date-time (type 25) must go to gurux")
    except NotPlainData:
        pass
    assert get_service.decode_value(client().settings, row)[1] == 0


@CHECKS
@given(PLAIN_DATA, st.integers(16, 200))
def test_a_long_get_answer_reassembles_from_its_blocks(value: bytes, block_size: int) -> None:
    first, long_get = get_service.answer(0xC1, value, max_pdu_size=block_size + 12)
    parts = [get_service.decode_get_answer(first)]
    while long_get is not None and not long_get.finished:
        parts.append(get_service.decode_get_answer(long_get.next_block()))

    assert all(part is not None and part.result == 0 for part in parts)
    assert b"".join(part.data for part in parts if part) == value
    if long_get is not None:
        assert [part.block_number for part in parts if part] == list(range(1, len(parts) + 1))
        assert [part.last_block for part in parts if part][-1]


def test_refusals_carry_their_data_access_result() -> None:
    normal = get_service.decode_get_answer(
        get_service.normal_error(0xC1, get_service.DataAccessResult.READ_WRITE_DENIED)
    )
    in_block = get_service.decode_get_answer(
        get_service.block_error(0xC1, 2, get_service.DataAccessResult.OTHER_REASON)
    )

    assert normal is not None and normal.result == 3
    assert in_block is not None and (in_block.result, in_block.block_number) == (250, 2)


def test_other_apdus_are_left_to_gurux() -> None:
    exception = get_service.exception_response(1, 2)
    with_list = bytes((0xC4, 0x03, 0xC1, 0x01, 0x00, 0x11, 0x05))
    cut_block = bytes((0xC4, 0x02, 0xC1, 0x00, 0, 0, 0, 1, 0x00, 0x10, 0xAA))

    assert [get_service.decode_get_answer(apdu) for apdu in (exception, with_list, cut_block)] == [
        None,
        None,
        None,
    ]


def test_the_next_block_request_is_the_one_gurux_sends() -> None:
    gurux = client()
    gurux.read(GXDLMSProfileGeneric("1.0.99.1.0.255"), 2)  # the GET the blocks answer
    gurux.settings.blockIndex = 3
    reply = GXReplyData()
    reply.moreData = RequestTypes.DATABLOCK

    assert get_service.next_block_request(0xC1, 3) == bytes(gurux.receiverReady(reply))
