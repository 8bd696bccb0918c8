"""HLS-GMAC with glo-ciphering on the simulated meter's side: what gurux-dlms 1.0.203's
GXDLMSSecureServer cannot do (its AARE for ciphered associations is broken, it checks no
tag nor counter).

A ciphered AARQ (context LN-with-ciphering, mechanism 5) is judged here; a failing
glo-initiate-request (bad tag, replayed counter) gets a rejecting AARE with a
ConfirmedServiceError deciphering-error, as meters answer. Within the association every
request must be glo-ciphered with a valid tag and a counter above the last accepted one:
otherwise the answer is an ExceptionResponse (deciphering-error, or invocation-counter-
error with the counter expected) and the meter records a security event. Until pass 3
proves the client knows the keys, only reply_to_HLS_authentication is served.
"""

from __future__ import annotations

from gurux_dlms.ConnectionState import ConnectionState
from gurux_dlms.enums import Authentication, Conformance

from adapters.dlms import acse, get_service, hls, obis
from adapters.dlms.acse import Aare, Initiate
from adapters.dlms.ciphered_apdu import EXCEPTION_RESPONSE
from adapters.dlms.ciphered_association import CipheredAssociation
from adapters.dlms.ciphering import gmac, verify_gmac
from adapters.dlms.errors import FrameError, SecurityEventKind, SecurityViolation
from adapters.dlms.server_fixes import SERVER_CONFORMANCE, CosemServer, MalformedFrame
from adapters.dlms.simulated_security import MeterSecurity

HLS_CONFORMANCE = SERVER_CONFORMANCE | Conformance.ACTION  # pass 3 is an ACTION
# glo tag, length (up to 3 octets), SC, IC and tag: what ciphering adds to an answer.
CIPHERING_OVERHEAD = 1 + 3 + 5 + 12


class SecuredCosemServer(CosemServer):
    def __init__(
        self, *, max_pdu_size: int, security: MeterSecurity | None, logical_device: int = 1
    ) -> None:
        super().__init__(max_pdu_size=max_pdu_size, logical_device=logical_device)
        self.security = security
        self._association: CipheredAssociation | None = None
        self._challenges: tuple[bytes, bytes] | None = None  # (StoC, CtoS) until pass 3

    def max_answer_size(self) -> int:
        size = super().max_answer_size()
        return size - CIPHERING_OVERHEAD if self._association is not None else size

    def handle_apdu(self, apdu: bytes, client_address: int) -> bytes | None:
        if apdu[:1] == bytes((acse.AARQ_TAG,)):
            aarq = _ciphered_aarq(apdu)
            self._end_ciphered()
            if aarq is not None:
                return self._associate_ciphered(aarq, client_address)
        association = self._association
        if association is None:
            return super().handle_apdu(apdu, client_address)
        if client_address != self.settings.clientAddress:
            return get_service.exception_response(1, 1)
        if apdu[:1] == bytes((acse.RLRQ_TAG,)):
            return self._release(association, apdu)
        try:
            plain = association.open(apdu)
        except SecurityViolation as violation:
            return self._refuse(violation)
        except FrameError as error:
            raise MalformedFrame(str(error)) from None
        if self._challenges is not None:
            answer: bytes | None = self._authenticate(plain)
        else:
            answer = super().handle_apdu(plain, client_address)
        if answer is None or answer[:1] == bytes((EXCEPTION_RESPONSE,)):
            return answer
        sealed = association.seal(answer)
        if not self.associated:
            self._end_ciphered()  # pass 3 failed: the association never came up
        return sealed

    def _associate_ciphered(self, aarq: acse.Aarq, client_address: int) -> bytes:
        self.reset(True)
        self._long_get = None
        security = self.security
        if security is None:  # a meter without keys offers no ciphered context
            return _reject(acse.DIAGNOSTIC_CONTEXT_NOT_SUPPORTED, context=acse.CONTEXT_LN)
        if client_address != obis.MANAGEMENT_CLIENT:
            return _reject(acse.DIAGNOSTIC_NO_REASON)
        if aarq.application_context != acse.CONTEXT_LN_CIPHERED or (
            aarq.mechanism != acse.MECHANISM_HLS_GMAC
        ):
            return _reject(acse.DIAGNOSTIC_MECHANISM_NOT_RECOGNISED)
        title, to_meter = aarq.calling_ap_title, aarq.calling_authentication_value
        if title is None or len(title) != 8 or to_meter is None or not 8 <= len(to_meter) <= 64:
            return _reject(acse.DIAGNOSTIC_AUTHENTICATION_FAILURE)
        association = CipheredAssociation(
            security.keys,
            next_counter=security.next_counter,
            accept_counter=lambda _title, counter: security.accept_client_counter(counter),
            peer_system_title=title,
        )
        try:
            proposed = acse.decode_initiate_request(association.open(aarq.user_information or b""))
        except SecurityViolation as violation:
            security.record(violation)
            return _reject(acse.DIAGNOSTIC_NO_REASON, user_information=acse.DECIPHERING_ERROR)
        except FrameError:
            return _reject(acse.DIAGNOSTIC_NO_REASON)
        agreed = proposed.conformance & HLS_CONFORMANCE
        if not agreed:
            return _reject(acse.DIAGNOSTIC_NO_REASON)
        settings = self.settings
        settings.clientAddress = client_address
        settings.authentication = Authentication.HIGH_GMAC
        settings.negotiatedConformance = agreed
        settings.maxPduSize = min(proposed.max_pdu_size, settings.maxServerPDUSize)
        from_meter = hls.new_challenge()
        self._association, self._challenges = association, (from_meter, to_meter)
        response = association.seal(
            acse.encode_initiate_response(Initiate(agreed, settings.maxServerPDUSize))
        )
        return acse.encode_aare(
            Aare(
                acse.CONTEXT_LN_CIPHERED,
                acse.RESULT_ACCEPTED,
                acse.DIAGNOSTIC_AUTHENTICATION_REQUIRED,
                security.system_title,
                acse.MECHANISM_HLS_GMAC,
                from_meter,
                response,
            )
        )

    def _authenticate(self, plain: bytes) -> bytes:
        """Pass 3/4: check f(StoC), answer f(CtoS)."""
        assert self._challenges is not None and self.security is not None
        association = self._association
        assert association is not None and association.peer_system_title is not None
        from_meter, to_meter = self._challenges
        try:
            call = hls.decode_action_request(plain)
        except FrameError:
            return get_service.exception_response(1, 1)  # nothing but pass 3 yet
        if (call.class_id, call.logical_name, call.method) != (
            hls.CLASS_ASSOCIATION_LN,
            hls.CURRENT_ASSOCIATION,
            hls.REPLY_TO_HLS_AUTHENTICATION,
        ):
            return get_service.exception_response(1, 1)
        self._challenges = None
        keys = self.security.keys
        try:
            verify_gmac(
                call.octet_string or b"",
                from_meter,
                system_title=association.peer_system_title,
                keys=keys.keys,
            )
        except SecurityViolation as violation:
            self.security.record(violation)
            return hls.encode_action_response(call.invoke_id, hls.ACTION_OTHER_REASON, None)
        self.settings.connected |= ConnectionState.DLMS
        answer = gmac(
            to_meter,
            system_title=keys.system_title,
            invocation_counter=self.security.next_counter(),
            keys=keys.keys,
        )
        return hls.encode_action_response(call.invoke_id, hls.ACTION_SUCCESS, answer)

    def _release(self, association: CipheredAssociation, apdu: bytes) -> bytes:
        """Only a protected release (a ciphered InitiateRequest inside) ends the
        association: a forged RLRQ must not cut a session."""
        try:
            _reason, user_information = acse.decode_release(apdu, acse.RLRQ_TAG)
            if user_information is None:
                raise SecurityViolation(
                    "unprotected release of a ciphered association",
                    kind=SecurityEventKind.NOT_PROTECTED,
                )
            acse.decode_initiate_request(association.open(user_information))
        except SecurityViolation as violation:
            return self._refuse(violation)
        except FrameError as error:
            raise MalformedFrame(str(error)) from None
        settings = self.settings
        response = acse.encode_initiate_response(
            Initiate(settings.negotiatedConformance, settings.maxServerPDUSize)
        )
        answer = acse.encode_release(acse.RLRE_TAG, association.seal(response))
        self._end_ciphered()
        self._forget_client()
        return answer

    def _refuse(self, violation: SecurityViolation) -> bytes:
        assert self.security is not None
        self.security.record(violation)
        if violation.kind is SecurityEventKind.REPLAYED_COUNTER:
            expected = self.security.client_counter + 1
            return get_service.exception_response(1, 6) + expected.to_bytes(4, "big")
        return get_service.exception_response(1, 5)  # deciphering error

    def _end_ciphered(self) -> None:
        self._association = None
        self._challenges = None

    def _forget_client(self) -> None:
        self._end_ciphered()
        super()._forget_client()


def _ciphered_aarq(apdu: bytes) -> acse.Aarq | None:
    """The AARQ if it asks for ciphering or HLS-GMAC, else None (gurux judges it)."""
    try:
        aarq = acse.decode_aarq(apdu)
    except FrameError:
        return None
    if aarq.application_context == acse.CONTEXT_LN_CIPHERED:
        return aarq
    return aarq if aarq.mechanism == acse.MECHANISM_HLS_GMAC else None


def _reject(
    diagnostic: int,
    *,
    context: int = acse.CONTEXT_LN_CIPHERED,
    user_information: bytes | None = None,
) -> bytes:
    return acse.encode_aare(
        Aare(
            context,
            acse.RESULT_REJECTED_PERMANENT,
            diagnostic,
            None,
            None,
            None,
            user_information,
        )
    )
