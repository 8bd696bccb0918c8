"""The decoders against frames captured from real meters and a real capture file
(tests/fixtures/dlms/NOTICE.md says where they come from), not against our simulator."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType

from adapters.dlms import acse
from adapters.dlms.axdr import decode_data, encode_length
from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.errors import FrameError, SecurityEventKind, SecurityViolation, UnsupportedFrame
from adapters.dlms.hdlc import FrameKind, decode_frame
from adapters.dlms.hdlc_params import LinkParameters
from adapters.dlms.iec432 import decode_iec432_frame
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.pcap import read_udp_datagrams
from adapters.dlms.profile_buffer import BufferColumn, decode_buffer
from adapters.dlms.push import PUSH_NAMESPACE, decode_push_apdu, unwrap
from adapters.dlms.quiet import silence_library_output

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dlms"
REAL = json.loads((FIXTURES / "real_meter_frames.json").read_text())
PUSHES = [bytes.fromhex(frame) for frame in REAL["wrapper_udp_data_notifications"]["frames_hex"]]
APDUS = [bytes.fromhex(apdu) for apdu in REAL["apdus_from_general_global_cipher_tests_hex"]]
TITLE = bytes.fromhex(REAL["wrapper_udp_data_notifications"]["system_title_hex"])
KEY = REAL["wrapper_udp_data_notifications"]["block_cipher_key_ascii"].encode()
KEYRING = {TITLE: SecurityKeys(KEY, KEY)}
UTC = dt.UTC


def decode(apdu: bytes, counters: InMemoryInvocationCounters | None = None):  # type: ignore[no-untyped-def]
    return decode_push_apdu(
        apdu, keyring=KEYRING, counters=counters or InMemoryInvocationCounters()
    )


# --- pushed DataNotifications ---------------------------------------------------------------


def test_all_13_real_pushes_decode_and_their_tags_verify() -> None:
    counters = InMemoryInvocationCounters()

    notifications = [decode(unwrap(frame), counters) for frame in PUSHES]

    assert [n.invocation_counter for n in notifications] == [*range(485, 493), *range(494, 499)]
    assert all(n.long_invoke_id == (n.invocation_counter or 0) - 10 for n in notifications)
    assert all(n.system_title == TITLE and len(n.body) == 34 for n in notifications)
    assert counters.last_accepted(TITLE) == 498
    assert len({n.notification_id for n in notifications}) == 13


CONTENT = 19  # WRAPPER header (8), 0xDB, title length, title (8), content length


@pytest.mark.parametrize(
    "position",
    [CONTENT + 1, CONTENT + 4, CONTENT + 5, CONTENT + 20, -13, -12, -6, -1],
    ids=[
        "counter-high",
        "counter-low",
        "text-first",
        "text-middle",
        "text-last",
        "tag-first",
        "tag-middle",
        "tag-last",
    ],
)
def test_a_real_push_with_one_flipped_byte_is_rejected(position: int) -> None:
    for frame in PUSHES:
        altered = bytearray(frame)
        altered[position] ^= 0x01

        with pytest.raises(SecurityViolation) as rejected:
            decode(unwrap(bytes(altered)))

        assert rejected.value.kind is SecurityEventKind.BAD_TAG


def test_a_real_push_under_another_key_is_rejected() -> None:
    with pytest.raises(SecurityViolation) as rejected:
        decode_push_apdu(
            unwrap(PUSHES[0]),
            keyring={TITLE: SecurityKeys(b"MYDUMMYGLOBALKEZ", KEY)},
            counters=InMemoryInvocationCounters(),
        )

    assert rejected.value.kind is SecurityEventKind.BAD_TAG


def test_a_push_whose_security_is_downgraded_to_authentication_only_is_refused() -> None:
    altered = bytearray(PUSHES[0])
    altered[CONTENT] = 0x10  # SC: authenticated only, the plaintext would be readable

    with pytest.raises(SecurityViolation) as rejected:
        decode(unwrap(bytes(altered)))

    assert rejected.value.kind is SecurityEventKind.NOT_PROTECTED


def test_the_unwrapped_apdus_decode_and_the_repeated_ones_are_replays() -> None:
    counters = InMemoryInvocationCounters()

    first = decode(APDUS[0], counters)
    with pytest.raises(SecurityViolation) as replay:
        decode(APDUS[1], counters)  # the same APDU as the first, captured again

    assert first.invocation_counter == 485
    assert replay.value.kind is SecurityEventKind.REPLAYED_COUNTER


def test_the_plain_data_notification_decodes_like_the_deciphered_push() -> None:
    plain = decode(APDUS[3])
    deciphered = decode(APDUS[0])

    assert plain.apdu == deciphered.apdu
    assert plain.long_invoke_id == 0x1DB and plain.sent_at is None
    assert plain.body == bytes.fromhex(
        "125a8591360000000049000000110000000a5a8513d014800000000d0000000a0100"
    )
    assert plain.system_title is None and plain.invocation_counter is None
    assert plain.notification_id == uuid.uuid5(PUSH_NAMESPACE, APDUS[3].hex())


# --- load-profile buffers ---------------------------------------------------------------------

COLUMNS = [
    BufferColumn("0.0.1.0.0.255", "clock"),
    BufferColumn("0.0.96.10.1.255", "status"),
    BufferColumn("1.0.1.8.0.255", "register", scaler=-3),
    BufferColumn("1.0.2.8.0.255", "register", scaler=-3),
]


def test_the_real_profile_buffer_is_4_hourly_rows_with_exact_values() -> None:
    raw = bytes.fromhex(REAL["profile_generic_buffers_hex"][0])
    rows, end = decode_data(raw)

    decoded = decode_buffer(rows, COLUMNS, dt.timedelta(hours=1))

    assert end == len(raw)
    first = dt.datetime(2019, 12, 31, 22, tzinfo=UTC)  # 23:00 at deviation -60 (CET)
    assert [row.timestamp for row in decoded] == [first + dt.timedelta(hours=n) for n in range(4)]
    assert all(row.values == (6, Decimal("1.517"), Decimal("1.620")) for row in decoded)
    assert str(decoded[0].values[1]) == "1.517"  # no float noise (1.5170000000000001)


COMPACT_ROW = bytes.fromhex("020400110606000005ed0600000654")  # null time, 6, 1517, 1620


def rebuilt_compact_profile() -> list[bytes]:
    """The GET response of 1440 compact rows as get-response-with-datablock APDUs.

    The fixture keeps the real first and last blocks but not the 17 between: every row
    after the first is the same compact row, so the middle is rebuilt from the first
    block's own bytes and checked against the real last block.
    """
    first, last = (
        bytes.fromhex(REAL["get_responses_hex"][0]),
        bytes.fromhex(REAL["get_responses_hex"][7]),
    )
    raw_first = first[12:]  # after tag, type, invoke id, last-block, number, choice, length
    assert raw_first[:4] == bytes.fromhex("018205a0")  # an array of 1440 rows
    after_first_row = raw_first[4 + 28 :]
    full, cut = divmod(len(after_first_row), len(COMPACT_ROW))
    assert after_first_row == COMPACT_ROW * full + COMPACT_ROW[:cut]
    rest = COMPACT_ROW[cut:] + COMPACT_ROW * (1440 - 1 - full - 1)
    whole = raw_first + rest
    assert whole.endswith(last[12:])  # the real last block is the end of the rebuilt buffer
    size = len(raw_first)
    chunks = [whole[i : i + size] for i in range(0, len(whole), size)]
    blocks = [
        bytes.fromhex("c402c1")
        + bytes((int(number == len(chunks)),))
        + number.to_bytes(4, "big")
        + b"\x00"
        + encode_length(len(chunk))
        + chunk
        for number, chunk in enumerate(chunks, start=1)
    ]
    assert blocks[0] == first
    return blocks


def test_the_1440_row_compact_profile_rebuilds_its_timestamps_from_the_capture_period() -> None:
    silence_library_output()
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.PDU)
    reply = GXReplyData()
    for block in rebuilt_compact_profile():  # what the session's block transfer feeds gurux
        assert client.getData(GXByteBuffer(block), reply)
        if reply.isMoreData():
            client.receiverReady(reply)

    rows = decode_buffer(reply.value, COLUMNS, dt.timedelta(hours=1))

    assert len(rows) == 1440
    start = dt.datetime(2019, 12, 19, 1, tzinfo=UTC)  # 02:00 at deviation -60
    assert rows[0].timestamp == start
    assert rows[-1].timestamp == start + dt.timedelta(hours=1439)
    steps = {later.timestamp - earlier.timestamp for earlier, later in itertools.pairwise(rows)}
    assert steps == {dt.timedelta(hours=1)}
    assert {row.values for row in rows} == {(6, Decimal("1.517"), Decimal("1.620"))}


def test_a_compact_row_with_nothing_to_count_from_is_a_frame_error() -> None:
    rows, _ = decode_data(bytes.fromhex("0101") + COMPACT_ROW)

    with pytest.raises(FrameError):
        decode_buffer(rows, COLUMNS, dt.timedelta(hours=1))


# --- the Wireshark sample capture -------------------------------------------------------------

CAPTURE = list(read_udp_datagrams((FIXTURES / "wireshark_dlms_sample.pcap").read_bytes()))
LLC_FRAMES = range(41, 52)
HDLC_NUMBERS = [d.number for d in CAPTURE if d.number not in LLC_FRAMES and d.number != 3]


def test_the_capture_holds_51_udp_datagrams_to_the_dlms_port() -> None:
    assert [d.number for d in CAPTURE] == list(range(1, 52))
    assert {d.destination[1] for d in CAPTURE} == {4059}


def test_packet_3_fails_its_crc_with_a_clear_message() -> None:
    with pytest.raises(FrameError) as error:
        decode_frame(CAPTURE[2].payload)

    assert "frame check sequence (CRC) mismatch" in str(error.value)
    assert "received 0xdb0b, computed 0xe999" in str(error.value)


@pytest.mark.parametrize("number", HDLC_NUMBERS)
def test_every_other_hdlc_frame_decodes_and_encodes_back_to_its_bytes(number: int) -> None:
    payload = CAPTURE[number - 1].payload

    frame = decode_frame(payload)

    assert frame.encode() == payload


def test_the_iec_61334_4_32_frames_are_typed_errors_for_hdlc_and_carry_apdus() -> None:
    tags = []
    for number in LLC_FRAMES:
        payload = CAPTURE[number - 1].payload
        if payload[:1] != b"\x90":
            continue  # packet 43 is an HDLC DISC between them
        with pytest.raises(UnsupportedFrame):
            decode_frame(payload)
        tags.append(decode_iec432_frame(payload).apdu[0])

    assert tags == [0x60, 0xD8, 0x60, 0x61, 0xC2, 0xC1, 0xC5, 0xC3, 0xC7, 0x62]
    aarq = acse.decode_aarq(decode_iec432_frame(CAPTURE[40].payload).apdu)
    assert aarq.mechanism == acse.MECHANISM_LLS and aarq.calling_authentication_value == b"01234567"


def test_the_link_is_negotiated_and_the_segmented_answer_reassembles() -> None:
    snrm, ua = decode_frame(CAPTURE[0].payload), decode_frame(CAPTURE[1].payload)
    first, rr, last = (decode_frame(CAPTURE[n].payload) for n in (7, 8, 9))

    assert (snrm.kind, ua.kind, rr.kind) == (FrameKind.SNRM, FrameKind.UA, FrameKind.RR)
    assert LinkParameters.decode(ua.info) == LinkParameters(128, 128, 1, 1)
    assert first.segmented and not last.segmented
    apdu = (first.info + last.info)[3:]  # without the LLC header E6 E7 00
    assert apdu[:9] == bytes.fromhex("c402c1000000000100")  # block 1 of the association view
    assert apdu[9:11] == bytes.fromhex("8180") and len(apdu) == 11 + 0x80
