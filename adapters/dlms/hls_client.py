"""The HES side of a ciphered HLS-GMAC association: AARQ/AARE (pass 1/2), the
reply_to_HLS_authentication action (pass 3/4) and the protected release.

Everything received is checked here, not by gurux: the AARE's glo-initiate-response and
every later APDU go through `CipheredAssociation.open` (tag, counter), f(CtoS) through
`verify_gmac`. A meter's ExceptionResponse about deciphering or our counter becomes a
`SecurityViolation` (refused-by-meter).
"""

from __future__ import annotations

import itertools

from adapters.dlms.acse import (
    AARE_TAG,
    CONTEXT_LN_CIPHERED,
    DECIPHERING_ERROR,
    MECHANISM_HLS_GMAC,
    RESULT_ACCEPTED,
    RLRE_TAG,
    RLRQ_TAG,
    Aarq,
    Initiate,
    decode_aare,
    decode_initiate_response,
    decode_release,
    encode_aarq,
    encode_initiate_request,
    encode_release,
)
from adapters.dlms.channels import ApduChannel
from adapters.dlms.ciphered_apdu import EXCEPTION_RESPONSE
from adapters.dlms.ciphered_association import CipheredAssociation
from adapters.dlms.ciphering import gmac, verify_gmac
from adapters.dlms.errors import (
    AssociationRejected,
    FrameError,
    SecurityEventKind,
    SecurityViolation,
)
from adapters.dlms.hls import (
    ACTION_SUCCESS,
    HlsKeys,
    decode_action_response,
    encode_reply_to_hls,
    new_challenge,
)
from adapters.dlms.invocation_counters import InvocationCounterStore

INVOKE_ID = 0xC1  # invoke id 1, confirmed, high priority: what gurux uses too
_DECIPHERING_ERROR, _INVOCATION_COUNTER_ERROR = 5, 6  # ExceptionResponse service-error


async def associate_hls(
    channel: ApduChannel,
    keys: HlsKeys,
    *,
    first_counter: int,
    counters: InvocationCounterStore,
    proposed: Initiate,
) -> tuple[CipheredAssociation, Initiate]:
    """Pass 1 to 4. Returns the association and what the meter agreed to."""
    next_counter = itertools.count(first_counter).__next__
    association = CipheredAssociation(
        keys, next_counter=next_counter, accept_counter=counters.accept
    )
    to_meter = new_challenge()
    aarq = Aarq(
        CONTEXT_LN_CIPHERED,
        keys.system_title,
        MECHANISM_HLS_GMAC,
        to_meter,
        association.seal(encode_initiate_request(proposed)),
    )
    answer = await channel.exchange(encode_aarq(aarq))
    if answer[:1] != bytes((AARE_TAG,)):
        raise FrameError(f"meter {channel.peer}: AARQ answered with APDU 0x{answer[:1].hex()}")
    aare = decode_aare(answer)
    if aare.result != RESULT_ACCEPTED:
        if aare.user_information == DECIPHERING_ERROR:
            raise SecurityViolation(
                f"meter {channel.peer} could not decipher the AARQ: keys differ or our "
                f"invocation counter {first_counter} is too low",
                kind=SecurityEventKind.REFUSED_BY_METER,
            )
        raise AssociationRejected(
            f"meter {channel.peer} rejected the HLS-GMAC association "
            f"(diagnostic {aare.diagnostic})",
            diagnostic=aare.diagnostic,
        )
    from_meter = aare.responding_authentication_value
    if aare.mechanism != MECHANISM_HLS_GMAC or from_meter is None or aare.user_information is None:
        raise FrameError(f"meter {channel.peer}: AARE is not an HLS-GMAC answer")
    if aare.responding_ap_title is None or len(aare.responding_ap_title) != 8:
        raise FrameError(f"meter {channel.peer}: AARE without an 8-octet system title")
    association.peer_system_title = aare.responding_ap_title
    agreed = decode_initiate_response(association.open(aare.user_information))

    reply_to_meter = gmac(
        from_meter,
        system_title=keys.system_title,
        invocation_counter=next_counter(),
        keys=keys.keys,
    )
    pass_3 = association.seal(encode_reply_to_hls(INVOKE_ID, reply_to_meter))
    answer = await channel.exchange(pass_3)
    result, meter_reply = decode_action_response(open_answer(association, answer, channel.peer))
    if result != ACTION_SUCCESS or meter_reply is None:
        raise AssociationRejected(
            f"meter {channel.peer} refused our HLS-GMAC answer (action result {result})",
            diagnostic=13,
        )
    # The challenge was ours and fresh, so f(CtoS) needs no counter check.
    verify_gmac(meter_reply, to_meter, system_title=aare.responding_ap_title, keys=keys.keys)
    return association, agreed


def open_answer(association: CipheredAssociation, answer: bytes, peer: str) -> bytes:
    """The checked plain APDU of a meter's answer; a plain ExceptionResponse saying it
    cannot decipher us is a security event, other ExceptionResponses pass to gurux."""
    if answer[:1] == bytes((EXCEPTION_RESPONSE,)):
        service_error = answer[2] if len(answer) > 2 else 0
        if service_error == _INVOCATION_COUNTER_ERROR:
            expected = int.from_bytes(answer[3:7], "big") if len(answer) >= 7 else None
            raise SecurityViolation(
                f"meter {peer} rejected our invocation counter (it expects {expected})",
                kind=SecurityEventKind.REFUSED_BY_METER,
            )
        if service_error == _DECIPHERING_ERROR:
            raise SecurityViolation(
                f"meter {peer} could not decipher our request",
                kind=SecurityEventKind.REFUSED_BY_METER,
            )
        return answer
    return association.open(answer)


async def release_protected(
    channel: ApduChannel, association: CipheredAssociation, proposed: Initiate
) -> None:
    """RLRQ carrying a ciphered InitiateRequest, so that nobody else can end the
    association; the RLRE must carry a valid ciphered InitiateResponse."""
    request = encode_release(RLRQ_TAG, association.seal(encode_initiate_request(proposed)))
    answer = await channel.exchange(request)
    _reason, user_information = decode_release(answer, RLRE_TAG)
    if user_information is None:
        raise SecurityViolation(
            f"meter {channel.peer} released without a ciphered InitiateResponse",
            kind=SecurityEventKind.NOT_PROTECTED,
        )
    decode_initiate_response(association.open(user_information))
