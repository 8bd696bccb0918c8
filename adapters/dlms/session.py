"""One association with one meter: connect, associate (AARQ/AARE), GET, release, close.

One GXDLMSClient per session: it holds per-association state (invoke ids, block numbers,
negotiated PDU size), and parsing holds the GIL, so sessions run concurrently on one loop
and scale to more cores only with more processes.

gurux works in PDU mode: it builds and parses plain APDUs only. Framing (WRAPPER or HDLC)
is the channel's business, ciphering `CipheredAssociation`'s, so gurux never sees a
ciphered APDU (it would skip the tag check) nor a frame it could misparse.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import TracebackType
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSException, GXReplyData
from gurux_dlms.ConnectionState import ConnectionState
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.GXDLMSConfirmedServiceError import GXDLMSConfirmedServiceError
from gurux_dlms.GXDLMSExceptionResponse import GXDLMSExceptionResponse
from gurux_dlms.objects import GXDLMSData, GXDLMSObject, GXDLMSProfileGeneric

from adapters.dlms import get_service, obis, set_action_service
from adapters.dlms.acse import Initiate
from adapters.dlms.channels import ApduChannel, MeterEndpoint, open_channel
from adapters.dlms.ciphered_association import CipheredAssociation
from adapters.dlms.errors import (
    AccessRefused,
    AssociationRejected,
    AttributeReadRefused,
    DlmsError,
    FrameError,
)
from adapters.dlms.frame_capture import FrameRecorder, FrameTap
from adapters.dlms.hls import INVOCATION_COUNTER, HlsKeys
from adapters.dlms.hls_client import associate_hls, open_answer, release_protected
from adapters.dlms.invocation_counters import InMemoryInvocationCounters, InvocationCounterStore
from adapters.dlms.quiet import silence_library_output
from adapters.dlms.typed_data import TypedValue

silence_library_output()
log = logging.getLogger(__name__)

__all__ = ["PROCESS_COUNTERS", "CosemSession", "MeterEndpoint"]

# Counters received from meters, per system title, for sessions not given a store: replays
# are caught within one process until a persistent store is passed in.
PROCESS_COUNTERS = InMemoryInvocationCounters()

# Diagnostics of a rejected AARE in words (acse-service-user, Green Book).
_DIAGNOSTICS = {
    1: "no reason given",
    2: "application context name not supported",
    11: "authentication mechanism name not recognised",
    12: "authentication mechanism name required",
    13: "authentication failure",
    14: "authentication required",
}


class CosemSession:
    """`async with CosemSession(endpoint, password=..., timeout=...) as session: ...`

    With `security` (the HES's HLS keys) the session first reads the meter's invocation
    counter 0.0.43.1.0.255 as the public client, then opens a glo-ciphered HLS-GMAC
    association as the management client on the same connection, checks every answer's
    tag and counter (`counters`, per meter system title) and ends with a protected release.

    With `frame_recorder` every frame of the connection is captured (secrets blanked),
    under `meter_serial` (the registry's serial of the meter called).
    """

    def __init__(
        self,
        endpoint: MeterEndpoint,
        *,
        password: str | None = None,
        timeout: float = 10.0,
        security: HlsKeys | None = None,
        counters: InvocationCounterStore | None = None,
        frame_recorder: FrameRecorder | None = None,
        meter_serial: str | None = None,
    ) -> None:
        if password and security:
            raise ValueError("a session uses a password (LLS) or HLS keys, not both")
        self.endpoint = endpoint
        self.timeout = timeout
        if endpoint.client_address is not None:
            self.client_address = endpoint.client_address
        elif password or security:
            self.client_address = obis.MANAGEMENT_CLIENT
        else:
            self.client_address = obis.PUBLIC_CLIENT
        self._authentication = Authentication.LOW if password else Authentication.NONE
        self._password = password
        self._security = security
        self._counters = counters if counters is not None else PROCESS_COUNTERS
        self._channel: ApduChannel | None = None
        self._client: GXDLMSClient | None = None
        self._association: CipheredAssociation | None = None
        self._proposed: Initiate | None = None
        self._frame_recorder = frame_recorder
        self.meter_serial = meter_serial

    def __repr__(self) -> str:
        return f"CosemSession({self.endpoint}, client={self.client_address})"

    async def __aenter__(self) -> CosemSession:
        first_client = obis.PUBLIC_CLIENT if self._security else self.client_address
        tap = None
        if self._frame_recorder is not None:
            tap = FrameTap(
                self._frame_recorder,
                meter_serial=self.meter_serial,
                peer=str(self.endpoint),
                framing=self.endpoint.framing,
            )
        self._channel = await open_channel(self.endpoint, first_client, self.timeout, tap)
        try:
            if self._security is not None:
                counter = await self._meter_invocation_counter()
                await self._channel.rebind(self.client_address)
                await self._associate_ciphered(self._security, counter + 1)
            else:
                await self._associate()
        except BaseException:
            await self._channel.close()
            self._channel = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        channel = self._channel
        if channel is None:
            return
        try:
            # Release only a healthy association: after a timeout or a broken frame the
            # meter's state is unknown and the socket is simply closed.
            if exc is None or isinstance(exc, AttributeReadRefused):
                await self._release()
        finally:
            self._channel = None
            await channel.close()

    def _new_client(self, client_address: int, authentication: int, password: Any) -> GXDLMSClient:
        return GXDLMSClient(
            True,
            client_address,
            self.endpoint.server_address,
            authentication,
            password,
            InterfaceType.PDU,
        )

    async def _associate(self) -> None:
        client = self._new_client(self.client_address, self._authentication, self._password)
        self._client = client
        aarq = client.aarqRequest()
        # LLS needs the password only in the AARQ; drop every copy we hold.
        client.settings.password = None
        self._password = None
        reply = await self._request(aarq)
        try:
            client.parseAareResponse(reply.data)
        except GXDLMSException as rejection:
            diagnostic = int(getattr(rejection, "diagnostic", 0) or 0)
            mechanism = "low-level security" if self._authentication else "no security"
            reason = _DIAGNOSTICS.get(diagnostic, f"diagnostic {diagnostic}")
            raise AssociationRejected(
                f"meter {self.endpoint} rejected client {client.settings.clientAddress} "
                f"({mechanism}): {reason}",
                diagnostic=diagnostic,
            ) from None
        except (ValueError, IndexError, TypeError, AttributeError) as error:
            raise FrameError(f"meter {self.endpoint}: malformed AARE ({error})") from None
        if client.getIsAuthenticationRequired():
            raise AssociationRejected(
                f"meter {self.endpoint} asks for high-level security: pass HLS keys",
                diagnostic=14,
            )

    async def _meter_invocation_counter(self) -> int:
        """The counter the meter last accepted from its management client, read by the
        public client as IDIS does; the ciphered association continues above it."""
        client_address, self.client_address = self.client_address, obis.PUBLIC_CLIENT
        authentication, self._authentication = self._authentication, Authentication.NONE
        try:
            await self._associate()
            try:
                value = await self.get(GXDLMSData(INVOCATION_COUNTER), 2)
            except AttributeReadRefused as refusal:
                raise AssociationRejected(
                    f"meter {self.endpoint} has no readable invocation counter "
                    f"{INVOCATION_COUNTER}: it offers no HLS-GMAC association",
                    diagnostic=2,
                ) from refusal
            await self._release()
        finally:
            self.client_address, self._authentication = client_address, authentication
            self._client = None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FrameError(f"meter {self.endpoint}: invocation counter read as {value!r}")
        return value

    async def _associate_ciphered(self, keys: HlsKeys, first_counter: int) -> None:
        client = self._new_client(self.client_address, Authentication.NONE, None)
        proposed = Initiate(int(client.settings.proposedConformance), 0xFFFF)
        channel = self._channel
        assert channel is not None
        association, agreed = await associate_hls(
            channel, keys, first_counter=first_counter, counters=self._counters, proposed=proposed
        )
        # gurux did not see the association: give it what block transfer needs.
        client.settings.negotiatedConformance = agreed.conformance
        client.settings.maxPduSize = agreed.max_pdu_size
        client.settings.connected |= ConnectionState.DLMS
        self._client, self._association, self._proposed = client, association, proposed

    async def _release(self) -> None:
        try:
            if self._association is not None and self._proposed is not None:
                channel = self._channel
                assert channel is not None
                await release_protected(channel, self._association, self._proposed)
                return
            frames = self._live_client().releaseRequest()
            if frames:
                await self._request(frames)
        except DlmsError as error:
            # The reading is complete; a meter that drops the release is only logged.
            log.warning("meter %s: release failed: %s", self.endpoint, error)

    def _live_client(self) -> GXDLMSClient:
        if self._client is None or self._channel is None:
            raise RuntimeError("session is not open")
        return self._client

    async def get(self, target: GXDLMSObject, attribute: int) -> Any:
        """The value of one attribute as gurux decodes it (ints, bytes, lists, None)."""
        reply = await self._request(self._live_client().read(target, attribute))
        return self._value(reply, target, attribute)

    async def get_typed(self, target: GXDLMSObject, attribute: int) -> tuple[Any, int]:
        """The value and its A-XDR type tag: a SET must send the type the meter holds."""
        reply = await self._request(self._live_client().read(target, attribute))
        return self._value(reply, target, attribute), int(reply.valueType)

    async def get_rows_by_range(
        self, profile: GXDLMSProfileGeneric, start: dt.datetime, end: dt.datetime
    ) -> list[Any]:
        """Rows captured from `start` to `end` (the meter decides inclusiveness)."""
        # Sent as UTC: our meters' clocks are UTC and gurux encodes the offset it is given.
        frames = self._live_client().readRowsByRange(
            profile, start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        )
        return list(await self._get_buffer(frames, profile) or [])

    async def get_rows_by_entry(
        self, profile: GXDLMSProfileGeneric, first: int, count: int
    ) -> list[Any]:
        frames = self._live_client().readRowsByEntry(profile, first, count)
        return list(await self._get_buffer(frames, profile) or [])

    async def _get_buffer(self, frames: list[Any], profile: GXDLMSProfileGeneric) -> Any:
        """A buffer's GET: blocks followed and plain Data decoded here, because gurux's
        parser alone is half a one-day read's client CPU. Any other answer (an
        ExceptionResponse, a GET with list ...) goes to gurux from where it stands."""
        request = bytes(frames[0]) if len(frames) == 1 else b""
        if request[:2] != bytes((get_service.GET_REQUEST_TAG, get_service.GetRequestType.NORMAL)):
            return self._value(await self._request(frames), profile, 2)
        answer = await self._exchange(request)
        data, block = bytearray(), None
        while (part := get_service.decode_get_answer(answer)) is not None:
            if part.result:
                raise AttributeReadRefused(
                    f"meter {self.endpoint} refused {profile.logicalName} attribute 2 "
                    f"(data-access-result {part.result})",
                    result=part.result,
                )
            if part.block_number is None and block is None:
                data = bytearray(part.data)
                break
            if part.block_number is None or block not in (None, part.block_number - 1):
                raise FrameError(
                    f"meter {self.endpoint}: block {part.block_number} after block {block}"
                )
            data += part.data
            block = part.block_number
            if part.last_block:
                break
            answer = await self._exchange(get_service.next_block_request(request[2], block))
        else:
            return self._value(await self._follow(answer), profile, 2)
        try:
            return get_service.decode_value(self._live_client().settings, bytes(data))
        except Exception as error:  # gurux's parser raises bare Exceptions on bad bytes
            raise FrameError(f"meter {self.endpoint}: cannot parse answer ({error})") from None

    async def _follow(self, answer: bytes) -> GXReplyData:
        """gurux's reply to an answer already received, with its block transfer."""
        client = self._live_client()
        reply = GXReplyData()
        self._parse(client, answer, reply)
        while reply.isMoreData():
            self._parse(client, await self._exchange(bytes(client.receiverReady(reply))), reply)
        return reply

    async def set(self, target: GXDLMSObject, attribute: int, value: TypedValue) -> None:
        """SET one attribute (set-request-normal); AccessRefused if the meter refuses."""
        apdu = set_action_service.encode_set_request(
            int(target.objectType), str(target.logicalName), attribute, value.encode()
        )
        answer = await self._service(apdu, set_action_service.SET_RESPONSE_TAG)
        self._check(answer, f"SET {target.logicalName} attribute {attribute}")

    async def act(
        self, target: GXDLMSObject, method: int, parameter: TypedValue | None = None
    ) -> Any:
        """ACTION (method invocation); returns the decoded return parameter, if any."""
        apdu = set_action_service.encode_action_request(
            int(target.objectType),
            str(target.logicalName),
            method,
            parameter.encode() if parameter is not None else None,
        )
        answer = await self._service(apdu, set_action_service.ACTION_RESPONSE_TAG)
        self._check(answer, f"ACTION {target.logicalName} method {method}")
        return answer.returned

    async def _service(self, apdu: bytes, expected_tag: int) -> set_action_service.ServiceAnswer:
        self._live_client()
        try:
            return set_action_service.decode_answer(await self._exchange(apdu), expected_tag)
        except FrameError as error:
            raise FrameError(f"meter {self.endpoint}: {error}") from None

    def _check(self, answer: set_action_service.ServiceAnswer, what: str) -> None:
        if answer.result != 0:
            raise AccessRefused(
                f"meter {self.endpoint} refused {what} (result {answer.result})",
                result=answer.result,
            )

    def client_update(self, target: GXDLMSObject, attribute: int, value: Any) -> None:
        """Let gurux's object model take a value it needs for later requests."""
        self._live_client().updateValue(target, attribute, value)

    def _value(self, reply: GXReplyData, target: GXDLMSObject, attribute: int) -> Any:
        if reply.error:
            raise AttributeReadRefused(
                f"meter {self.endpoint} refused {target.logicalName} attribute {attribute} "
                f"(data-access-result {reply.error})",
                result=int(reply.error),
            )
        return reply.value

    async def _request(self, frames: list[Any]) -> GXReplyData:
        """Send the frames of one request and follow block transfer to the whole reply."""
        client = self._live_client()
        reply = GXReplyData()
        for frame in frames:
            self._parse(client, await self._exchange(bytes(frame)), reply)
            while reply.isMoreData():
                follow_up = client.receiverReady(reply)
                self._parse(client, await self._exchange(bytes(follow_up)), reply)
        return reply

    async def _exchange(self, apdu: bytes) -> bytes:
        channel = self._channel
        assert channel is not None
        association = self._association
        if association is None:
            return await channel.exchange(apdu)
        answer = await channel.exchange(association.seal(apdu))
        return open_answer(association, answer, str(self.endpoint))

    def _parse(self, client: GXDLMSClient, frame: bytes, reply: GXReplyData) -> None:
        try:
            complete = client.getData(GXByteBuffer(frame), reply)
        except (GXDLMSExceptionResponse, GXDLMSConfirmedServiceError) as refusal:
            raise AttributeReadRefused(
                f"meter {self.endpoint} refused the service: {refusal}", result=-1
            ) from None
        except GXDLMSException:
            raise  # an AARE rejection, handled by the caller
        except Exception as error:  # the parser raises bare Exceptions on bad bytes
            raise FrameError(f"meter {self.endpoint}: cannot parse answer ({error})") from None
        if not complete:
            raise FrameError(f"meter {self.endpoint}: incomplete APDU in a whole frame")
