"""Fuzzing the decoders that face the network: whatever bytes arrive, the outcome is a
decoded value or one typed `DlmsError`, never another exception and never a hang."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.dlms import acse
from adapters.dlms.axdr import decode_data
from adapters.dlms.ciphered_apdu import decode_ciphered
from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.errors import DlmsError
from adapters.dlms.hdlc import FrameKind, FrameSplitter, HdlcAddress, HdlcFrame, decode_frame
from adapters.dlms.hdlc_params import LinkParameters
from adapters.dlms.hdlc_server import HdlcServerLink
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.push import DataNotification, decode_push_apdu, unwrap

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dlms"
REAL = json.loads((FIXTURES / "real_meter_frames.json").read_text())
PUSH = bytes.fromhex(REAL["wrapper_udp_data_notifications"]["frames_hex"][0])
PLAIN = bytes.fromhex(REAL["apdus_from_general_global_cipher_tests_hex"][3])
TITLE = bytes.fromhex("2f19229199164103")
KEYRING = {TITLE: SecurityKeys(b"MYDUMMYGLOBALKEY", b"MYDUMMYGLOBALKEY")}

FUZZ = settings(
    max_examples=300, deadline=200, suppress_health_check=[HealthCheck.too_slow], database=None
)


def outcome(decoder, data: bytes) -> object:  # type: ignore[no-untyped-def]
    try:
        return decoder(data)
    except DlmsError as error:
        return error


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The original with a few bytes flipped, cut, or inserted: close enough to get deep."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[position : position + draw(st.integers(1, 8))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def push(apdu: bytes) -> object:
    return decode_push_apdu(apdu, keyring=KEYRING, counters=InMemoryInvocationCounters())


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_are_an_hdlc_frame_or_a_typed_error(data: bytes) -> None:
    result = outcome(decode_frame, data)

    assert isinstance(result, HdlcFrame | DlmsError)


@FUZZ
@given(
    st.sampled_from(list(FrameKind)),
    st.integers(0, 127),
    st.one_of(st.none(), st.integers(0, 0x3FFF)),
    st.integers(0, 127),
    st.integers(0, 7),
    st.integers(0, 7),
    st.booleans(),
    st.binary(max_size=200),
)
def test_every_frame_we_encode_decodes_to_itself(
    kind: FrameKind,
    upper: int,
    lower: int | None,
    client: int,
    ns: int,
    nr: int,
    segmented: bool,
    info: bytes,
) -> None:
    frame = HdlcFrame(
        HdlcAddress(upper, lower),
        HdlcAddress(client),
        kind,
        True,
        ns if kind is FrameKind.I else 0,
        nr if kind in (FrameKind.I, FrameKind.RR, FrameKind.RNR) else 0,
        segmented,
        info,
    )

    assert decode_frame(frame.encode()) == frame


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_the_frame_splitter_takes_any_stream(chunks: list[bytes]) -> None:
    splitter = FrameSplitter()
    for chunk in chunks:
        for item in splitter.feed(chunk):
            assert isinstance(item, bytes | DlmsError)
            if isinstance(item, bytes):
                assert isinstance(outcome(decode_frame, item), HdlcFrame | DlmsError)


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=6))
def test_the_meter_side_hdlc_link_survives_any_frames(frames: list[bytes]) -> None:
    ends: list[int] = []
    link = HdlcServerLink(
        lambda apdu, _client: b"\xc4\x01\xc1\x00\x11\x00",
        logical_device=1,
        max_info_length=32,
        end_association=lambda: ends.append(1),
    )
    snrm = HdlcFrame(HdlcAddress(1), HdlcAddress(16), FrameKind.SNRM).encode()
    for raw in [snrm, *frames]:
        for answer in link.receive(raw):
            assert isinstance(decode_frame(answer), HdlcFrame)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_unwrap_to_an_apdu_or_a_typed_error(data: bytes) -> None:
    assert isinstance(outcome(unwrap, data), bytes | DlmsError)


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(PUSH[8:]), mutated(PLAIN)))
def test_any_push_apdu_is_a_notification_or_a_typed_error(apdu: bytes) -> None:
    result = outcome(push, apdu)

    assert isinstance(result, DataNotification | DlmsError)
    if isinstance(result, DataNotification) and result.system_title is not None:
        assert apdu == PUSH[8:]  # no altered ciphered push is ever accepted


@FUZZ
@given(mutated(PUSH))
def test_a_mutated_real_wrapper_push_is_never_accepted_altered(frame: bytes) -> None:
    result = outcome(lambda data: push(unwrap(data)), frame)

    assert isinstance(result, DataNotification | DlmsError)
    if isinstance(result, DataNotification):
        assert unwrap(frame) == PUSH[8:] or result.system_title is None


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_are_data_a_ciphered_envelope_or_a_typed_error(data: bytes) -> None:
    # `outcome` lets anything but a DlmsError through, which fails the test.
    outcome(decode_data, data)
    outcome(decode_ciphered, data)


AARQ = bytes.fromhex(
    "6036a1090607608574050801018a0207808b0760857405080201ac0a80083031323334353637"
    "be10040e01000000065f1f0400007e1f0080"
)


@FUZZ
@given(st.one_of(st.binary(max_size=120), mutated(AARQ)))
def test_any_association_request_is_parsed_or_a_typed_error(data: bytes) -> None:
    for decoder in (
        acse.decode_aarq,
        acse.decode_aare,
        acse.decode_initiate_request,
        acse.decode_initiate_response,
        LinkParameters.decode,
    ):
        outcome(decoder, data)
