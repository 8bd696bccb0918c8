"""IEC 61334-4-32 LLC data frames (DLMS over S-FSK PLC), as a capture shows them: a
three-octet LLC header (destination LSAP 0x90, source LSAP, LLC quality) and one APDU.

Decoded for captures only: the HES does not talk PLC; there is no MAC layer here.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.dlms.errors import FrameError

DLMS_LSAP = 0x90  # the destination LSAP of DLMS data frames


@dataclass(frozen=True)
class Iec432Frame:
    destination_lsap: int
    source_lsap: int
    quality: int
    apdu: bytes


def decode_iec432_frame(frame: bytes) -> Iec432Frame:
    if len(frame) < 4:
        raise FrameError(f"IEC 61334-4-32 frame of {len(frame)} octets has no APDU")
    if frame[0] != DLMS_LSAP:
        raise FrameError(f"IEC 61334-4-32 destination LSAP 0x{frame[0]:02x} is not DLMS (0x90)")
    return Iec432Frame(frame[0], frame[1], frame[2], frame[3:])
