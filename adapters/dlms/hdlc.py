"""HDLC frames of IEC 62056-46 (frame format type 3): encoding, decoding, and cutting them
out of a byte stream.

    7E | A0 or A8 + length (11 bits) | destination | source | control | HCS | info | FCS | 7E

HCS (only when there is an information field) covers format to control; FCS covers format
to the end of the information field. Both are CRC-16/X.25, least significant octet first.
A frame whose HCS or FCS does not match is a `FrameError`; a link layer drops such a frame
and carries on, as a meter does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from adapters.dlms.errors import FrameError, UnsupportedFrame

FLAG = 0x7E
FORMAT_TYPE_3 = 0xA0
SEGMENTED = 0x08  # the S bit of the format field
MAX_FRAME_LENGTH = 0x7FF
LLC_REQUEST = bytes((0xE6, 0xE6, 0x00))  # client to server
LLC_RESPONSE = bytes((0xE6, 0xE7, 0x00))  # server to client
POLL_FINAL = 0x10
IEC_432_LLC_DESTINATION = b"\x90"


class FrameKind(enum.Enum):
    I = "I"  # noqa: E741 - the name HDLC gives it
    RR = "RR"
    RNR = "RNR"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"


_UNNUMBERED = {
    0x83: FrameKind.SNRM,
    0x43: FrameKind.DISC,
    0x63: FrameKind.UA,
    0x0F: FrameKind.DM,
    0x87: FrameKind.FRMR,
    0x03: FrameKind.UI,
}
_UNNUMBERED_CODES = {kind: code for code, kind in _UNNUMBERED.items()}


def _crc_table() -> list[int]:
    table = []
    for octet in range(256):
        crc = octet
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/X.25 (reflected 0x1021, initial and final XOR 0xFFFF)."""
    crc = 0xFFFF
    for octet in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ octet) & 0xFF]
    return crc ^ 0xFFFF


@dataclass(frozen=True)
class HdlcAddress:
    """A server address is (upper = logical device, lower = physical device or None); a
    client address is its SAP in `upper` with `lower` None."""

    upper: int
    lower: int | None = None

    def encode(self) -> bytes:
        if self.lower is None:
            if not 0 <= self.upper <= 0x7F:
                raise ValueError("a one-octet HDLC address holds 0..127")
            return bytes(((self.upper << 1) | 1,))
        if self.upper <= 0x7F and self.lower <= 0x7F:
            return bytes((self.upper << 1, (self.lower << 1) | 1))
        if self.upper > 0x3FFF or self.lower > 0x3FFF:
            raise ValueError("a four-octet HDLC address holds 0..16383 per part")
        return bytes(
            (
                (self.upper >> 7) << 1,
                (self.upper & 0x7F) << 1,
                (self.lower >> 7) << 1,
                ((self.lower & 0x7F) << 1) | 1,
            )
        )

    def __str__(self) -> str:
        return str(self.upper) if self.lower is None else f"{self.upper}/{self.lower}"


def _decode_address(data: bytes, offset: int, end: int) -> tuple[HdlcAddress, int]:
    octets: list[int] = []
    while True:
        if offset >= end or len(octets) == 4:
            raise FrameError("HDLC address without an end bit within 4 octets")
        octets.append(data[offset])
        offset += 1
        if octets[-1] & 1:
            break
    values = [octet >> 1 for octet in octets]
    if len(values) == 1:
        return HdlcAddress(values[0]), offset
    if len(values) == 2:
        return HdlcAddress(values[0], values[1]), offset
    if len(values) == 4:
        return HdlcAddress((values[0] << 7) | values[1], (values[2] << 7) | values[3]), offset
    raise FrameError("an HDLC address has 1, 2 or 4 octets, not 3")


@dataclass(frozen=True)
class HdlcFrame:
    destination: HdlcAddress
    source: HdlcAddress
    kind: FrameKind
    poll_final: bool = True
    send_sequence: int = 0  # N(S), I-frames only
    receive_sequence: int = 0  # N(R), I, RR and RNR frames
    segmented: bool = False
    info: bytes = b""

    @property
    def control(self) -> int:
        pf = POLL_FINAL if self.poll_final else 0
        if self.kind is FrameKind.I:
            return (self.receive_sequence << 5) | pf | (self.send_sequence << 1)
        if self.kind in (FrameKind.RR, FrameKind.RNR):
            low = 0x01 if self.kind is FrameKind.RR else 0x05
            return (self.receive_sequence << 5) | pf | low
        return _UNNUMBERED_CODES[self.kind] | pf

    def encode(self) -> bytes:
        header = self.destination.encode() + self.source.encode() + bytes((self.control,))
        length = 2 + len(header) + 2 + (len(self.info) + 2 if self.info else 0)
        if length > MAX_FRAME_LENGTH:
            raise ValueError(f"HDLC frame of {length} octets exceeds {MAX_FRAME_LENGTH}")
        fmt = (FORMAT_TYPE_3 | (SEGMENTED if self.segmented else 0) | (length >> 8)).to_bytes(
            1, "big"
        ) + bytes((length & 0xFF,))
        body = fmt + header
        if self.info:
            body += crc16(body).to_bytes(2, "little") + self.info
        body += crc16(body).to_bytes(2, "little")
        return bytes((FLAG,)) + body + bytes((FLAG,))


def decode_frame(frame: bytes) -> HdlcFrame:
    """One whole frame, flags included."""
    if frame[:1] == IEC_432_LLC_DESTINATION:
        raise UnsupportedFrame(
            "IEC 61334-4-32 LLC frame (starts 0x90), not HDLC: see adapters.dlms.iec432"
        )
    if len(frame) < 9:
        raise FrameError(f"HDLC frame of {len(frame)} octets is too short")
    if frame[0] != FLAG:
        raise FrameError(f"not an HDLC frame: starts with 0x{frame[0]:02x}, not 0x7e")
    if frame[-1] != FLAG:
        raise FrameError("HDLC frame does not end with the 0x7e flag")
    if frame[1] & 0xF0 != FORMAT_TYPE_3:
        raise FrameError(f"HDLC frame format 0x{frame[1]:02x} is not type 3 (0xAx)")
    length = ((frame[1] & 0x07) << 8) | frame[2]
    if length != len(frame) - 2:
        raise FrameError(f"HDLC length field says {length} octets, frame has {len(frame) - 2}")
    end = len(frame) - 3  # index of the FCS
    destination, offset = _decode_address(frame, 3, end)
    source, offset = _decode_address(frame, offset, end)
    if offset >= end:
        raise FrameError("HDLC frame without a control field")
    control = frame[offset]
    offset += 1
    if offset < end:  # there is an information field, protected by the HCS
        if offset + 2 > end:
            raise FrameError("HDLC frame cut inside its HCS")
        expected = crc16(frame[1:offset])
        received = int.from_bytes(frame[offset : offset + 2], "little")
        if received != expected:
            raise FrameError(
                f"HDLC header check sequence mismatch: received 0x{received:04x}, "
                f"computed 0x{expected:04x}"
            )
        offset += 2
    expected = crc16(frame[1:end])
    received = int.from_bytes(frame[end : end + 2], "little")
    if received != expected:
        raise FrameError(
            f"HDLC frame check sequence (CRC) mismatch: received 0x{received:04x}, "
            f"computed 0x{expected:04x}"
        )
    return _frame(destination, source, control, bool(frame[1] & SEGMENTED), frame[offset:end])


def _frame(
    destination: HdlcAddress, source: HdlcAddress, control: int, segmented: bool, info: bytes
) -> HdlcFrame:
    poll_final = bool(control & POLL_FINAL)
    if not control & 0x01:
        return HdlcFrame(
            destination,
            source,
            FrameKind.I,
            poll_final,
            (control >> 1) & 7,
            control >> 5,
            segmented,
            info,
        )
    if control & 0x03 == 0x01:
        kinds = {0x01: FrameKind.RR, 0x05: FrameKind.RNR}
        kind = kinds.get(control & 0x0F)
        if kind is None:
            raise UnsupportedFrame(f"HDLC supervisory frame 0x{control:02x} (SREJ/REJ)")
        return HdlcFrame(destination, source, kind, poll_final, 0, control >> 5, segmented, info)
    kind = _UNNUMBERED.get(control & ~POLL_FINAL)
    if kind is None:
        raise UnsupportedFrame(f"HDLC unnumbered frame 0x{control:02x} is not used by DLMS")
    return HdlcFrame(destination, source, kind, poll_final, segmented=segmented, info=info)


class FrameSplitter:
    """Cuts whole frames out of a byte stream, using the length field (flags may be shared
    or repeated between frames). Garbage before a flag is skipped and reported."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        self._buffer += data
        out: list[bytes | FrameError] = []
        while True:
            start = self._buffer.find(FLAG)
            if start < 0:
                if self._buffer:
                    out.append(FrameError(f"{len(self._buffer)} octets outside any HDLC frame"))
                self._buffer.clear()
                return out
            if start:
                out.append(FrameError(f"{start} octets before an HDLC flag skipped"))
                del self._buffer[:start]
            while len(self._buffer) > 1 and self._buffer[1] == FLAG:
                del self._buffer[0]  # an empty frame: two flags in a row
            if len(self._buffer) < 3:
                return out
            if self._buffer[1] & 0xF0 != FORMAT_TYPE_3:
                out.append(FrameError(f"HDLC format octet 0x{self._buffer[1]:02x} is not 0xAx"))
                del self._buffer[0]
                continue
            total = (((self._buffer[1] & 0x07) << 8) | self._buffer[2]) + 2
            if len(self._buffer) < total:
                return out
            if self._buffer[total - 1] != FLAG:
                out.append(FrameError("HDLC frame does not end with a flag where its length says"))
                del self._buffer[0]
                continue
            out.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
            if self._buffer and self._buffer[0] != FLAG:
                self._buffer.insert(0, FLAG)  # the closing flag was shared with the next frame
