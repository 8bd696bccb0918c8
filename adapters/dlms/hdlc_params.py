"""HDLC parameter negotiation (IEC 62056-46 6.4.4.4.3.2): the information field of SNRM
and UA. Only window size 1 is used: one I-frame is sent, then the answer awaited."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.dlms.errors import FrameError

DEFAULT_MAX_INFO_LENGTH = 128  # what both sides assume without negotiation
_FORMAT, _GROUP = 0x81, 0x80
_MAX_INFO_TRANSMIT, _MAX_INFO_RECEIVE, _WINDOW_TRANSMIT, _WINDOW_RECEIVE = 5, 6, 7, 8


@dataclass(frozen=True)
class LinkParameters:
    """As seen by the sender of the SNRM or UA: what it transmits and receives at most."""

    max_info_transmit: int = DEFAULT_MAX_INFO_LENGTH
    max_info_receive: int = DEFAULT_MAX_INFO_LENGTH
    window_transmit: int = 1
    window_receive: int = 1

    def encode(self) -> bytes:
        body = b"".join(
            _parameter(identifier, value)
            for identifier, value in (
                (_MAX_INFO_TRANSMIT, self.max_info_transmit),
                (_MAX_INFO_RECEIVE, self.max_info_receive),
                (_WINDOW_TRANSMIT, self.window_transmit),
                (_WINDOW_RECEIVE, self.window_receive),
            )
        )
        return bytes((_FORMAT, _GROUP, len(body))) + body

    @classmethod
    def decode(cls, info: bytes) -> LinkParameters:
        if not info:
            return cls()
        if len(info) < 3 or info[0] != _FORMAT or info[1] != _GROUP or info[2] != len(info) - 3:
            raise FrameError("HDLC parameter field is not format 0x81, group 0x80")
        values: dict[int, int] = {}
        offset = 3
        while offset < len(info):
            if offset + 2 > len(info):
                raise FrameError("HDLC parameter cut short")
            identifier, size = info[offset], info[offset + 1]
            raw = info[offset + 2 : offset + 2 + size]
            if len(raw) != size or not 1 <= size <= 4:
                raise FrameError(f"HDLC parameter {identifier} has a bad length {size}")
            values[identifier] = int.from_bytes(raw, "big")
            offset += 2 + size
        defaults = cls()
        parameters = cls(
            values.get(_MAX_INFO_TRANSMIT, defaults.max_info_transmit),
            values.get(_MAX_INFO_RECEIVE, defaults.max_info_receive),
            values.get(_WINDOW_TRANSMIT, defaults.window_transmit),
            values.get(_WINDOW_RECEIVE, defaults.window_receive),
        )
        if min(parameters.max_info_transmit, parameters.max_info_receive) < 32:
            raise FrameError("HDLC maximum information length below 32 octets")
        return parameters


def _parameter(identifier: int, value: int) -> bytes:
    # Windows are always sent as four octets, lengths in as few as fit.
    windows = (_WINDOW_TRANSMIT, _WINDOW_RECEIVE)
    size = 4 if identifier in windows else 1 if value <= 0xFF else 2
    return bytes((identifier, size)) + value.to_bytes(size, "big")
