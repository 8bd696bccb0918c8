"""`CosemServer`: gurux-dlms's GXDLMSServer for one association over WRAPPER with logical
name referencing, with the gaps of version 1.0.203 fixed in our code (never in
site-packages). Each gap was hit when the library's own path was tried:

1. `initialize()` appends the object collection to itself (TypeError): `register_objects()`.
2. The `maxReceivePDUSize` property's getter and setter call themselves (RecursionError).
3. `handleRequest()` calls `GXServerReply.setReply()`/`getConnectionInfo()`, which do not
   exist, and `receivedData.size(0)` on an int: replaced by `handle_frame()` (WRAPPER) and
   `handle_apdu()` (any framing); the library only ever parses plain APDUs.
4. AARQ: a client's proposed PDU size is never clamped to the server's (the code assigns a
   misspelt `settings.setMaxPduSize`), so the server would send APDUs of up to 64 KiB.
5. The RLRE length octet counts only the user-information, not the whole RLRE.
6. GET: the library's handler calls `server.notifyRead()`, `server.setTransaction()`,
   `settings.gbtWndowSize` and `onPostRead()` without arguments: see `get_service`.
7. Any exception in the library's path is answered with a HDLC "unacceptable frame", even
   on WRAPPER: here a broken request drops the connection (`MalformedFrame`).
8. The WRAPPER parser scans for a version word anywhere in the bytes: frames are cut by
   their header before the library sees them (`simulator`, `transport`).

9. SET and ACTION: the library's handlers have the same missing methods as GET; both are
   served by `set_action_service` (normal requests) through `write_attribute` and
   `invoke_method`, and only the management client may use them.

Fixed elsewhere: register scaler_unit is encoded with floor(log10(multiplier)), which turns
1000 into 2 (`meter_server`); profile-generic selective access is broken (by entry treats
to_entry as a count, by range compares a datetime with 0) and the buffer is served by
`cosem_objects`; the library prints, private keys included (`quiet`).
"""

from __future__ import annotations

import logging
from typing import Any

from gurux_dlms import (
    GXDLMS,
    GXByteBuffer,
    GXDLMSConfirmedServiceError,
    GXDLMSException,
    GXDLMSServer,
    ValueEventArgs,
)
from gurux_dlms._GXAPDU import _GXAPDU
from gurux_dlms.ConnectionState import ConnectionState
from gurux_dlms.enums import (
    AssociationResult,
    Authentication,
    Command,
    Conformance,
    InterfaceType,
    ObjectType,
    SourceDiagnostic,
)
from gurux_dlms.objects import GXDLMSObject

from adapters.dlms import get_service, obis, set_action_service
from adapters.dlms.get_service import (
    AccessRefused,
    AttributeRequest,
    DataAccessResult,
    GetRequestType,
    LongGet,
)
from adapters.dlms.quiet import silence_library_output
from adapters.dlms.set_action_service import ActionRequest, ActionResult, ServiceRefused, SetRequest
from adapters.dlms.transport import WRAPPER_HEADER, WRAPPER_VERSION

silence_library_output()
log = logging.getLogger(__name__)

SERVER_CONFORMANCE = (
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
)
_RLRE_NORMAL = bytes((0x63, 0x03, 0x80, 0x01, 0x00))  # release-response, reason normal


class MalformedFrame(Exception):
    """The bytes could not be parsed; a meter drops such a connection."""


class CosemServer(GXDLMSServer):
    """One association's server state. Subclasses say who may associate (`admit`) and how
    attributes are read (`read_attribute`)."""

    def __init__(self, *, max_pdu_size: int, logical_device: int = 1) -> None:
        super().__init__(True, InterfaceType.WRAPPER)
        self.logical_device = logical_device
        self.settings.maxServerPDUSize = max_pdu_size
        self.settings.proposedConformance = SERVER_CONFORMANCE
        self._long_get: LongGet | None = None

    # Gap 2: the library's property recursed into itself.
    @property
    def maxReceivePDUSize(self) -> int:  # the library's name
        return int(self.settings.maxServerPDUSize)

    @maxReceivePDUSize.setter
    def maxReceivePDUSize(self, value: int) -> None:
        self.settings.maxServerPDUSize = value

    def register_objects(self, objects: list[GXDLMSObject]) -> None:
        """Gap 1: what `initialize()` should do for a logical-name server."""
        for item in objects:
            self.items.append(item)
            item.start = self
        self.initialized = True

    @property
    def associated(self) -> bool:
        return bool(self.settings.connected & ConnectionState.DLMS)

    # --- hooks -------------------------------------------------------------------------

    def admit(self, client_address: int, authentication: int, password: bytes | None) -> int:
        """SourceDiagnostic.NONE to accept the association, else the reason to reject it."""
        raise NotImplementedError

    def read_attribute(self, request: AttributeRequest) -> bytes:
        """The A-XDR encoded value of one attribute; raise AccessRefused to refuse."""
        target = self.find_object(request)
        if request.selector:
            raise AccessRefused(DataAccessResult.OTHER_REASON)
        if not 1 <= request.attribute <= target.getAttributeCount():
            raise AccessRefused(DataAccessResult.OBJECT_UNDEFINED)
        event = ValueEventArgs(self.settings, target, request.attribute, 0, None)
        value = target.getValue(self.settings, event)
        encoded = GXByteBuffer()
        GXDLMS.appendData(self.settings, target, request.attribute, encoded, value)
        return bytes(encoded.array())

    def may_modify(self) -> bool:
        """SET and ACTION are for the management client only; the public client reads."""
        return int(self.settings.clientAddress) == obis.MANAGEMENT_CLIENT

    def write_attribute(self, request: SetRequest) -> None:
        """Take a written value; raise ServiceRefused to refuse it."""
        raise ServiceRefused(ActionResult.READ_WRITE_DENIED)

    def invoke_method(self, request: ActionRequest) -> bytes | None:
        """Run a method; return its encoded return parameter or None."""
        raise ServiceRefused(ActionResult.READ_WRITE_DENIED)

    def find_object(self, request: AttributeRequest) -> Any:
        try:
            object_type = ObjectType(request.class_id)
        except ValueError:
            raise AccessRefused(DataAccessResult.OBJECT_UNDEFINED) from None
        found = self.items.findByLN(object_type, request.logical_name)
        if found is None:
            raise AccessRefused(DataAccessResult.OBJECT_UNDEFINED)
        return found

    # --- gap 3: one complete frame in, one frame (or silence) out -------------------------

    def handle_frame(self, frame: bytes) -> bytes | None:
        """Answer one whole WRAPPER frame; None means the meter stays silent."""
        if len(frame) < WRAPPER_HEADER.size:
            raise MalformedFrame("WRAPPER frame shorter than its header")
        _version, source, destination, length = WRAPPER_HEADER.unpack(frame[: WRAPPER_HEADER.size])
        if destination != self.logical_device:
            return None  # addressed to a logical device this meter does not have
        apdu = frame[WRAPPER_HEADER.size :]
        if length != len(apdu):
            raise MalformedFrame("WRAPPER length does not match the frame")
        answer = self.handle_apdu(apdu, source)
        if answer is None:
            return None
        return WRAPPER_HEADER.pack(WRAPPER_VERSION, destination, source, len(answer)) + answer

    def handle_apdu(self, apdu: bytes, client_address: int) -> bytes | None:
        """Answer one whole plain APDU from a client SAP (the framing is the caller's)."""
        if not apdu:
            raise MalformedFrame("empty APDU")
        command = apdu[0]
        others = command != Command.AARQ and client_address != self.settings.clientAddress
        if others and self.associated:
            return get_service.exception_response(1, 1)  # not this client's association
        self.settings.clientAddress = client_address
        self.settings.serverAddress = self.logical_device
        body = GXByteBuffer(apdu)
        body.position = 0 if command == Command.AARQ else 1
        answer = self._dispatch(command, body)
        if command == Command.RELEASE_REQUEST or (command == Command.AARQ and not self.associated):
            self._forget_client()
        return answer

    def max_answer_size(self) -> int:
        """The largest plain APDU an answer may be (ciphering adds its envelope)."""
        return int(self.settings.maxPduSize)

    def _dispatch(self, command: int, body: GXByteBuffer) -> bytes:
        if command == Command.AARQ:
            return self._associate(body)
        if command == Command.RELEASE_REQUEST:
            return _RLRE_NORMAL
        if not self.associated:
            return get_service.exception_response(1, 1)  # service not allowed
        if command == Command.GET_REQUEST:
            return self._get(body)
        if command in (Command.SET_REQUEST, Command.METHOD_REQUEST):
            return self._set_or_act(command, bytes(body.array()))
        return get_service.exception_response(2, 2)  # service unknown / not supported

    def end_association(self) -> None:
        """The link under the association ended (HDLC DISC or a new SNRM)."""
        self._forget_client()

    def _forget_client(self) -> None:
        # A WRAPPER connection may carry a new association, possibly from another client.
        self._long_get = None
        self.reset()

    # --- gap 4: the AARQ, with the PDU size clamped -------------------------------------

    def _associate(self, body: GXByteBuffer) -> bytes:
        self.reset(True)
        self._long_get = None
        result, diagnostic, initiate_error = self._judge_aarq(body)
        self.settings.maxPduSize = min(self.settings.maxPduSize, self.settings.maxServerPDUSize)
        if result == AssociationResult.ACCEPTED:
            self.settings.connected |= ConnectionState.DLMS
        else:
            self.settings.authentication = Authentication.NONE
        aare = GXByteBuffer()
        _GXAPDU.generateAARE(
            self.settings, aare, result, diagnostic, self.settings.cipher, initiate_error, None
        )
        self.settings.password = None  # the secret is not kept past the check
        return bytes(aare.array())

    def _judge_aarq(self, body: GXByteBuffer) -> tuple[int, int, GXByteBuffer | None]:
        """(association result, source diagnostic, xDLMS initiate error or None)."""
        rejected = AssociationResult.PERMANENT_REJECTED
        try:
            diagnostic = _GXAPDU.parsePDU(self.settings, self.settings.cipher, body, None)
        except GXDLMSConfirmedServiceError as error:  # e.g. a DLMS version other than 6
            initiate_error = GXByteBuffer()
            for octet in (
                0x0E,
                error.confirmedServiceError,
                error.serviceError,
                error.serviceErrorValue,
            ):
                initiate_error.setUInt8(octet)
            return rejected, SourceDiagnostic.NO_REASON_GIVEN, initiate_error
        except GXDLMSException as error:
            return (
                getattr(error, "result", rejected),
                getattr(error, "diagnostic", SourceDiagnostic.NO_REASON_GIVEN),
                None,
            )
        except Exception as error:  # the parser raises bare exceptions on broken AARQs
            raise MalformedFrame(f"cannot parse AARQ: {error}") from None
        if self.settings.negotiatedConformance == Conformance.NONE:
            return rejected, SourceDiagnostic.NO_REASON_GIVEN, None
        if diagnostic == SourceDiagnostic.NONE:
            diagnostic = self.admit(
                self.settings.clientAddress, self.settings.authentication, self.settings.password
            )
        if diagnostic != SourceDiagnostic.NONE:
            return rejected, diagnostic, None
        return AssociationResult.ACCEPTED, SourceDiagnostic.NONE, None

    # --- gap 9: SET and ACTION ------------------------------------------------------------

    def _set_or_act(self, command: int, apdu: bytes) -> bytes:
        is_set = command == Command.SET_REQUEST
        try:
            request: SetRequest | ActionRequest = (
                set_action_service.decode_set_request(apdu)
                if is_set
                else set_action_service.decode_action_request(apdu)
            )
        except Exception as error:  # FrameError, or a request type we do not serve
            if len(apdu) > 1 and apdu[1] != set_action_service.NORMAL:
                return get_service.exception_response(2, 2)  # with-list/datablock: unknown
            raise MalformedFrame(f"cannot parse SET/ACTION request: {error}") from None
        returned = None
        try:
            if not self.may_modify():
                raise ServiceRefused(ActionResult.READ_WRITE_DENIED)
            if isinstance(request, SetRequest):
                self.write_attribute(request)
            else:
                returned = self.invoke_method(request)
            result = ActionResult.SUCCESS
        except ServiceRefused as refusal:
            result = refusal.result
        except Exception:  # a bug in a handler must not take the meter down
            log.exception("serving %s failed", request)
            result = ActionResult.HARDWARE_FAULT
        if is_set:
            return set_action_service.set_response(request.invoke_id, result)
        return set_action_service.action_response(request.invoke_id, result, returned)

    # --- gap 6: GET ----------------------------------------------------------------------

    def _get(self, body: GXByteBuffer) -> bytes:
        try:
            request = get_service.decode_get_request(self.settings, body)
        except Exception as error:  # truncated or unknown request type
            raise MalformedFrame(f"cannot parse GET request: {error}") from None
        if request.kind == GetRequestType.NEXT_DATA_BLOCK:
            return self._next_block(request.invoke_id, request.block_number)
        self._long_get = None
        if request.kind != GetRequestType.NORMAL or request.attribute is None:
            return get_service.exception_response(1, 2)  # not negotiated: get-with-list
        try:
            encoded = self.read_attribute(request.attribute)
        except AccessRefused as refusal:
            return get_service.normal_error(request.invoke_id, refusal.result)
        except Exception:  # a library encoder failing must not take the meter down
            log.exception("serving %s failed", request.attribute)
            return get_service.normal_error(request.invoke_id, DataAccessResult.HARDWARE_FAULT)
        apdu, self._long_get = get_service.answer(
            request.invoke_id, encoded, self.max_answer_size()
        )
        return apdu

    def _next_block(self, invoke_id: int, block_number: int) -> bytes:
        long_get = self._long_get
        if long_get is None:
            return get_service.block_error(
                invoke_id, block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS
            )
        if block_number != long_get.block_number:
            self._long_get = None
            return get_service.block_error(
                invoke_id, block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID
            )
        apdu = long_get.next_block()
        if long_get.finished:
            self._long_get = None
        return apdu
