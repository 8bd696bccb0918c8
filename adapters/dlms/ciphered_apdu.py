"""Envelopes of ciphered xDLMS APDUs: service-specific glo-ciphering (the tag says which
service, the sender is the association's peer) and general-glo-ciphering (0xDB, which names
the sender's system title, as pushed DataNotifications do).

Only global-key ciphering is supported; dedicated-key (ded-) and general-ciphering APDUs
are refused as `UnsupportedFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.dlms.axdr import decode_length, encode_length, take
from adapters.dlms.ciphering import SYSTEM_TITLE_LENGTH
from adapters.dlms.errors import FrameError, UnsupportedFrame

GENERAL_GLO_CIPHERING = 0xDB
EXCEPTION_RESPONSE = 0xD8

# plain tag -> glo tag (Green Book, xDLMS APDUs).
GLO_TAGS: dict[int, int] = {
    0x01: 0x21,  # initiate-request
    0x08: 0x28,  # initiate-response
    0x0E: 0x2E,  # confirmed-service-error
    0xC0: 0xC8,  # get-request
    0xC1: 0xC9,  # set-request
    0xC2: 0xCA,  # event-notification-request
    0xC3: 0xCB,  # action-request
    0xC4: 0xCC,  # get-response
    0xC5: 0xCD,  # set-response
    0xC7: 0xCF,  # action-response
}
PLAIN_TAGS = {glo: plain for plain, glo in GLO_TAGS.items()}
_DEDICATED_OR_GENERAL = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD7, 0xDC, 0xDD, 0xDE, 0xDF}


@dataclass(frozen=True)
class CipheredApdu:
    tag: int
    content: bytes  # SC | IC | ciphertext | tag
    system_title: bytes | None = None  # only general-glo-ciphering carries it

    @property
    def plain_tag(self) -> int | None:
        """The plain APDU tag the content must decrypt to, None if any (general-glo)."""
        return PLAIN_TAGS.get(self.tag)


def is_ciphered(apdu: bytes) -> bool:
    return bool(apdu) and (apdu[0] in PLAIN_TAGS or apdu[0] == GENERAL_GLO_CIPHERING)


def encode_glo(plain_tag: int, content: bytes) -> bytes:
    try:
        tag = GLO_TAGS[plain_tag]
    except KeyError:
        raise ValueError(f"no glo-ciphered form of APDU 0x{plain_tag:02x}") from None
    return bytes((tag,)) + encode_length(len(content)) + content


def encode_general_glo(system_title: bytes, content: bytes) -> bytes:
    return (
        bytes((GENERAL_GLO_CIPHERING, len(system_title)))
        + system_title
        + encode_length(len(content))
        + content
    )


def decode_ciphered(apdu: bytes) -> CipheredApdu:
    """Split a glo- or general-glo-ciphering APDU; the whole APDU must be consumed."""
    if not apdu:
        raise FrameError("empty APDU")
    tag = apdu[0]
    system_title: bytes | None = None
    offset = 1
    if tag == GENERAL_GLO_CIPHERING:
        title_length, offset = decode_length(apdu, offset)
        if title_length != SYSTEM_TITLE_LENGTH:
            raise FrameError(f"system title of {title_length} octets, 8 expected")
        system_title, offset = take(apdu, offset, title_length, "system title")
    elif tag in _DEDICATED_OR_GENERAL:
        raise UnsupportedFrame(f"APDU 0x{tag:02x}: dedicated-key or general ciphering")
    elif tag not in PLAIN_TAGS:
        raise FrameError(f"APDU 0x{tag:02x} is not a glo-ciphered APDU")
    length, offset = decode_length(apdu, offset)
    content, offset = take(apdu, offset, length, "ciphered content")
    if offset != len(apdu):
        raise FrameError(f"{len(apdu) - offset} octets after the ciphered content")
    return CipheredApdu(tag, content, system_title)
