"""Secrets never reach the raw-frame store: what the capture blanks, and what it keeps."""

from __future__ import annotations

from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, InterfaceType

from adapters.dlms import acse
from adapters.dlms.frame_capture import CapturedFrame, FrameTap
from adapters.dlms.frame_redaction import redact_apdu
from adapters.dlms.hdlc import LLC_REQUEST, FrameKind, HdlcAddress, HdlcFrame, decode_frame
from adapters.dlms.set_action_service import encode_action_request, encode_set_request
from adapters.dlms.transport import wrapper_header
from adapters.dlms.typed_data import OctetString

PASSWORD = "lls-secret-42"


def lls_aarq(password: str = PASSWORD) -> bytes:
    client = GXDLMSClient(True, 1, 1, Authentication.LOW, password, InterfaceType.PDU)
    return bytes(client.aarqRequest()[0])


class ListRecorder:
    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []

    def record(self, frame: CapturedFrame) -> None:
        self.frames.append(frame)


def test_the_lls_password_of_an_aarq_is_blanked_and_the_aarq_still_decodes() -> None:
    aarq = lls_aarq()

    clean = redact_apdu(aarq)

    assert PASSWORD.encode() in aarq and PASSWORD.encode() not in clean
    assert len(clean) == len(aarq)
    decoded = acse.decode_aarq(clean)
    assert decoded.mechanism == acse.MECHANISM_LLS
    assert decoded.calling_authentication_value == bytes(len(PASSWORD))
    assert decoded.user_information == acse.decode_aarq(aarq).user_information


def test_the_challenge_of_an_hls_aarq_is_kept() -> None:
    challenge = bytes(range(16))
    aarq = acse.encode_aarq(
        acse.Aarq(acse.CONTEXT_LN_CIPHERED, b"HES00001", acse.MECHANISM_HLS_GMAC, challenge, None)
    )

    assert redact_apdu(aarq) == aarq


def test_an_aarq_cut_short_is_blanked_from_where_it_cannot_be_read() -> None:
    aarq = lls_aarq()
    cut = aarq[: aarq.index(PASSWORD.encode()) + 4]  # the password's first 4 octets only

    clean = redact_apdu(cut)

    assert PASSWORD.encode()[:4] not in clean and len(clean) == len(cut)


def test_setting_a_new_lls_secret_is_blanked_and_other_sets_are_not() -> None:
    secret = encode_set_request(15, "0.0.40.0.0.255", 7, OctetString(b"new-secret").encode())
    clock = encode_set_request(8, "0.0.1.0.0.255", 2, OctetString(bytes(12)).encode())
    new_hls_secret = encode_action_request(15, "0.0.40.0.0.255", 2, b"\x09\x04abcd")

    assert b"new-secret" not in redact_apdu(secret) and len(redact_apdu(secret)) == len(secret)
    assert redact_apdu(clock) == clock
    assert b"abcd" not in redact_apdu(new_hls_secret)


def test_a_wrapper_frame_is_captured_with_its_password_blanked_and_marked() -> None:
    recorder = ListRecorder()
    tap = FrameTap(recorder, meter_serial="M1", peer="127.0.0.1:4059", framing="wrapper")
    aarq = lls_aarq()

    tap.sent(wrapper_header(1, 1, len(aarq)) + aarq)
    tap.received(b"\x00\x01\x00\x01\x00\x01\x00\x02\x61\x00")

    sent, received = recorder.frames
    assert PASSWORD.encode() not in sent.data and sent.redacted
    assert sent.data[:8] == wrapper_header(1, 1, len(aarq))
    assert not received.redacted and received.direction == "received"
    assert sent.session_id == received.session_id and sent.meter_serial == "M1"


def test_a_password_cut_across_hdlc_segments_is_blanked_in_each_segment() -> None:
    recorder = ListRecorder()
    tap = FrameTap(recorder, meter_serial="M1", peer="127.0.0.1:4059", framing="hdlc")
    data = LLC_REQUEST + lls_aarq()
    cut = data.index(PASSWORD.encode()) + 5  # the password straddles two segments
    segments = [data[:cut], data[cut:]]
    frames = [
        HdlcFrame(
            HdlcAddress(1, 17),
            HdlcAddress(1),
            FrameKind.I,
            send_sequence=number,
            segmented=number == 0,
            info=segment,
        ).encode()
        for number, segment in enumerate(segments)
    ]

    tap.sent(frames[0])
    assert recorder.frames == []  # held until the APDU is complete
    tap.sent(frames[1])

    stored = [frame.data for frame in recorder.frames]
    assert len(stored) == 2 and all(frame.redacted for frame in recorder.frames)
    joined = b"".join(decode_frame(frame).info for frame in stored)  # check sequences hold
    assert PASSWORD.encode()[:5] not in joined and PASSWORD.encode()[5:] not in joined
    assert len(joined) == len(data)


def test_a_recorder_that_fails_costs_the_session_nothing() -> None:
    class Broken:
        def record(self, frame: CapturedFrame) -> None:
            raise RuntimeError("store down")

    tap = FrameTap(Broken(), meter_serial=None, peer="p", framing="wrapper")

    tap.sent(wrapper_header(1, 1, 1) + b"\xc0")
    tap.received(b"\x00")
