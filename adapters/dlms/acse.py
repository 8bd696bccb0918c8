"""ACSE APDUs (AARQ, AARE, RLRQ, RLRE; BER) and the xDLMS InitiateRequest/Response they
carry (A-XDR), for ciphered associations.

gurux-dlms 1.0.203 builds and parses these only through its own ciphering (which skips the
tag check) and its server's HLS AARE is broken, so ciphered associations are built and
read here on both sides. Plain and LLS associations still use gurux.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.dlms.errors import FrameError

AARQ_TAG, AARE_TAG, RLRQ_TAG, RLRE_TAG = 0x60, 0x61, 0x62, 0x63
INITIATE_REQUEST, INITIATE_RESPONSE, CONFIRMED_SERVICE_ERROR = 0x01, 0x08, 0x0E
CONTEXT_LN, CONTEXT_LN_CIPHERED = 1, 3
MECHANISM_LLS, MECHANISM_HLS_GMAC = 1, 5
RESULT_ACCEPTED, RESULT_REJECTED_PERMANENT = 0, 1
DIAGNOSTIC_NONE, DIAGNOSTIC_NO_REASON, DIAGNOSTIC_CONTEXT_NOT_SUPPORTED = 0, 1, 2
DIAGNOSTIC_MECHANISM_NOT_RECOGNISED, DIAGNOSTIC_AUTHENTICATION_FAILURE = 11, 13
DIAGNOSTIC_AUTHENTICATION_REQUIRED = 14  # HLS: accepted, pass 3/4 to follow
DLMS_VERSION = 6
VAA_NAME_LN = 0x0007
# ConfirmedServiceError: initiateError, application-reference, deciphering-error. What a
# meter puts in the AARE when the glo-initiate-request fails its tag or counter check.
DECIPHERING_ERROR = bytes((CONFIRMED_SERVICE_ERROR, 0x01, 0x00, 0x06))

_CONTEXT_OID = bytes.fromhex("608574050801")  # 2.16.756.5.8.1.x
_MECHANISM_OID = bytes.fromhex("608574050802")  # 2.16.756.5.8.2.x
_AUTHENTICATION_FUNCTIONAL_UNIT = bytes.fromhex("0780")  # bit string: authentication


def _ber(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes((tag, size)) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + value


def _fields(data: bytes, expected_tag: int, what: str) -> dict[int, bytes]:
    """The tagged fields inside one BER APDU (one-octet tags, as ACSE uses)."""
    outer = _parse_tlvs(data, what)
    if len(outer) != 1 or outer[0][0] != expected_tag:
        raise FrameError(f"not an {what}: expected tag 0x{expected_tag:02x}")
    return dict(_parse_tlvs(outer[0][1], what))


def _parse_tlvs(data: bytes, what: str) -> list[tuple[int, bytes]]:
    found: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise FrameError(f"truncated {what}")
        tag, size = data[offset], data[offset + 1]
        offset += 2
        if size & 0x80:
            count = size & 0x7F
            if not 1 <= count <= 3 or offset + count > len(data):
                raise FrameError(f"invalid BER length in {what}")
            size = int.from_bytes(data[offset : offset + count], "big")
            offset += count
        if offset + size > len(data):
            raise FrameError(f"truncated {what}: field 0x{tag:02x} runs past the end")
        found.append((tag, data[offset : offset + size]))
        offset += size
    return found


def _oid_suffix(value: bytes, prefix: bytes, what: str) -> int:
    if len(value) < 2 or value[0] != 0x06 or value[1] != len(value) - 2:
        raise FrameError(f"{what} is not an object identifier")
    oid = value[2:]
    if len(oid) != len(prefix) + 1 or not oid.startswith(prefix):
        raise FrameError(f"{what} is not a DLMS UA object identifier")
    return oid[-1]


def _octet_string(value: bytes, inner_tag: int, what: str) -> bytes:
    if len(value) < 2 or value[0] != inner_tag or value[1] != len(value) - 2:
        raise FrameError(f"{what} is malformed")
    return value[2:]


@dataclass(frozen=True)
class Aarq:
    application_context: int
    calling_ap_title: bytes | None
    mechanism: int | None
    calling_authentication_value: bytes | None = field(repr=False)
    user_information: bytes | None  # the xDLMS APDU (ciphered: glo-initiate-request)


@dataclass(frozen=True)
class Aare:
    application_context: int
    result: int
    diagnostic: int
    responding_ap_title: bytes | None
    mechanism: int | None
    responding_authentication_value: bytes | None = field(repr=False)
    user_information: bytes | None


def encode_aarq(aarq: Aarq) -> bytes:
    body = _ber(0xA1, _ber(0x06, _CONTEXT_OID + bytes((aarq.application_context,))))
    if aarq.calling_ap_title is not None:
        body += _ber(0xA6, _ber(0x04, aarq.calling_ap_title))
    if aarq.mechanism is not None:
        body += _ber(0x8A, _AUTHENTICATION_FUNCTIONAL_UNIT)
        body += _ber(0x8B, _MECHANISM_OID + bytes((aarq.mechanism,)))
    if aarq.calling_authentication_value is not None:
        body += _ber(0xAC, _ber(0x80, aarq.calling_authentication_value))
    if aarq.user_information is not None:
        body += _ber(0xBE, _ber(0x04, aarq.user_information))
    return _ber(AARQ_TAG, body)


def decode_aarq(apdu: bytes) -> Aarq:
    fields = _fields(apdu, AARQ_TAG, "AARQ")
    if 0xA1 not in fields:
        raise FrameError("AARQ without application context name")
    title = fields.get(0xA6)
    mechanism = fields.get(0x8B)
    value = fields.get(0xAC)
    user = fields.get(0xBE)
    return Aarq(
        application_context=_oid_suffix(fields[0xA1], _CONTEXT_OID, "application context"),
        calling_ap_title=None if title is None else _octet_string(title, 0x04, "AP title"),
        mechanism=None if mechanism is None else _mechanism(mechanism),
        calling_authentication_value=None
        if value is None
        else _octet_string(value, 0x80, "authentication value"),
        user_information=None if user is None else _octet_string(user, 0x04, "user-information"),
    )


def _mechanism(value: bytes) -> int:
    if len(value) != len(_MECHANISM_OID) + 1 or not value.startswith(_MECHANISM_OID):
        raise FrameError("mechanism name is not a DLMS UA mechanism")
    return value[-1]


def encode_aare(aare: Aare) -> bytes:
    body = _ber(0xA1, _ber(0x06, _CONTEXT_OID + bytes((aare.application_context,))))
    body += _ber(0xA2, _ber(0x02, bytes((aare.result,))))
    body += _ber(0xA3, _ber(0xA1, _ber(0x02, bytes((aare.diagnostic,)))))  # acse-service-user
    if aare.responding_ap_title is not None:
        body += _ber(0xA4, _ber(0x04, aare.responding_ap_title))
    if aare.mechanism is not None:
        body += _ber(0x88, _AUTHENTICATION_FUNCTIONAL_UNIT)
        body += _ber(0x89, _MECHANISM_OID + bytes((aare.mechanism,)))
    if aare.responding_authentication_value is not None:
        body += _ber(0xAA, _ber(0x80, aare.responding_authentication_value))
    if aare.user_information is not None:
        body += _ber(0xBE, _ber(0x04, aare.user_information))
    return _ber(AARE_TAG, body)


def decode_aare(apdu: bytes) -> Aare:
    fields = _fields(apdu, AARE_TAG, "AARE")
    try:
        result = _small_integer(fields[0xA2])
        diagnostic_choice = _parse_tlvs(fields[0xA3], "AARE diagnostic")[0][1]
        diagnostic = _small_integer(diagnostic_choice)
        context = _oid_suffix(fields[0xA1], _CONTEXT_OID, "application context")
    except (KeyError, IndexError):
        raise FrameError("AARE lacks its context, result or diagnostic") from None
    title = fields.get(0xA4)
    mechanism = fields.get(0x89)
    value = fields.get(0xAA)
    user = fields.get(0xBE)
    return Aare(
        application_context=context,
        result=result,
        diagnostic=diagnostic,
        responding_ap_title=None if title is None else _octet_string(title, 0x04, "AP title"),
        mechanism=None if mechanism is None else _mechanism(mechanism),
        responding_authentication_value=None
        if value is None
        else _octet_string(value, 0x80, "authentication value"),
        user_information=None if user is None else _octet_string(user, 0x04, "user-information"),
    )


def _small_integer(value: bytes) -> int:
    if len(value) != 3 or value[0] != 0x02 or value[1] != 1:
        raise FrameError("expected a one-octet INTEGER")
    return value[2]


def encode_release(tag: int, user_information: bytes | None) -> bytes:
    """RLRQ or RLRE with reason normal; ciphered associations protect it with a
    glo-initiate-request/response in user-information."""
    body = _ber(0x80, b"\x00")
    if user_information is not None:
        body += _ber(0xBE, _ber(0x04, user_information))
    return _ber(tag, body)


def decode_release(apdu: bytes, tag: int) -> tuple[int, bytes | None]:
    """(reason, user-information) of an RLRQ or RLRE."""
    fields = _fields(apdu, tag, "release APDU")
    reason_field = fields.get(0x80, b"\x00")
    reason = reason_field[0] if len(reason_field) == 1 else 0
    user = fields.get(0xBE)
    return reason, None if user is None else _octet_string(user, 0x04, "user-information")


# --- xDLMS InitiateRequest / InitiateResponse ---------------------------------------------


def conformance_to_wire(value: int) -> bytes:
    """gurux keeps conformance bits in reverse order: its int to the 3 octets on the wire."""
    return bytes(_reverse_bits((value >> shift) & 0xFF) for shift in (0, 8, 16))


def conformance_from_wire(octets: bytes) -> int:
    if len(octets) != 3:
        raise FrameError("a conformance block has 3 octets")
    shifts = (0, 8, 16)
    return sum(_reverse_bits(octet) << shift for octet, shift in zip(octets, shifts, strict=True))


def _reverse_bits(octet: int) -> int:
    return int(f"{octet:08b}"[::-1], 2)


@dataclass(frozen=True)
class Initiate:
    """The negotiable part of an InitiateRequest (proposed) or InitiateResponse (agreed)."""

    conformance: int  # gurux's bit order (Conformance flags)
    max_pdu_size: int  # client-max-receive (request) or server-max-receive (response)


def encode_initiate_request(initiate: Initiate) -> bytes:
    return (
        bytes((INITIATE_REQUEST, 0, 0, 0, DLMS_VERSION, 0x5F, 0x1F, 0x04, 0x00))
        + conformance_to_wire(initiate.conformance)
        + initiate.max_pdu_size.to_bytes(2, "big")
    )


def decode_initiate_request(apdu: bytes) -> Initiate:
    # tag, no dedicated key, response-allowed default, no quality of service, version 6.
    if len(apdu) != 14 or apdu[:5] != bytes((INITIATE_REQUEST, 0, 0, 0, DLMS_VERSION)):
        raise FrameError("not an InitiateRequest of DLMS version 6 without a dedicated key")
    if apdu[5:9] != bytes((0x5F, 0x1F, 0x04, 0x00)):
        raise FrameError("InitiateRequest without a conformance block")
    return Initiate(conformance_from_wire(apdu[9:12]), int.from_bytes(apdu[12:14], "big"))


def encode_initiate_response(initiate: Initiate) -> bytes:
    return (
        bytes((INITIATE_RESPONSE, 0, DLMS_VERSION, 0x5F, 0x1F, 0x04, 0x00))
        + conformance_to_wire(initiate.conformance)
        + initiate.max_pdu_size.to_bytes(2, "big")
        + VAA_NAME_LN.to_bytes(2, "big")
    )


def decode_initiate_response(apdu: bytes) -> Initiate:
    if len(apdu) != 14 or apdu[:7] != bytes(
        (INITIATE_RESPONSE, 0, DLMS_VERSION, 0x5F, 0x1F, 0x04, 0x00)
    ):
        raise FrameError("not an InitiateResponse of DLMS version 6")
    return Initiate(conformance_from_wire(apdu[7:10]), int.from_bytes(apdu[10:12], "big"))
