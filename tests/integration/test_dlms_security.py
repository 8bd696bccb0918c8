"""HLS-GMAC with glo-ciphering end to end: simulated meters with keys on 127.0.0.1, the HES
client, and a man in the middle that records, alters and replays real WRAPPER frames."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType, Security
from gurux_dlms.objects import GXDLMSData
from gurux_dlms.secure import GXDLMSSecureClient

from adapters.dlms import acse, hls_client
from adapters.dlms.acse import Initiate
from adapters.dlms.ciphered_apdu import decode_ciphered
from adapters.dlms.ciphering import protect
from adapters.dlms.client import LoadProfileReading, read_load_profile, read_meter_identity
from adapters.dlms.errors import (
    AssociationRejected,
    SecurityEventKind,
    SecurityViolation,
)
from adapters.dlms.hls import HlsKeys
from adapters.dlms.hls_client import associate_hls
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.quiet import silence_library_output
from adapters.dlms.session import MeterEndpoint
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms.transport import WRAPPER_HEADER, WrapperChannel

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
YESTERDAY, TODAY = dt.datetime(2026, 3, 9, tzinfo=UTC), dt.datetime(2026, 3, 10, tzinfo=UTC)
BLOCK_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH_KEY = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
HES = HlsKeys(b"HES\x00\x00\x00\x00\x01", BLOCK_KEY, AUTH_KEY)
PROPOSED = Initiate(0x1E1D, 0xFFFF)  # GET, SET, ACTION, selective access, block transfer


def meter_keys(number: int) -> HlsKeys:
    return HlsKeys(b"SIM" + number.to_bytes(5, "big"), BLOCK_KEY, AUTH_KEY)


def fixed_clock() -> dt.datetime:
    return NOW


METERS = [
    SimulatedMeterConfig("HLS0000001", hls_keys=meter_keys(1), clock=fixed_clock),
    SimulatedMeterConfig("HLS0000002", hls_keys=meter_keys(2), clock=fixed_clock),
    SimulatedMeterConfig(
        "HLS0000003",
        hls_keys=meter_keys(3),
        compact_profile=True,
        max_pdu_size=256,
        clock=fixed_clock,
    ),
    SimulatedMeterConfig("PUB0000009", clock=fixed_clock),  # no keys: no ciphered context
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(METERS) as running:
        yield running


def endpoint(fleet: FleetThread, serial: str, port: int | None = None) -> MeterEndpoint:
    return MeterEndpoint("127.0.0.1", port or fleet.ports[serial])


def expected_rows(fleet: FleetThread, serial: str) -> list[tuple[dt.datetime, int, Decimal]]:
    return [
        (row.captured_at, row.status, Decimal(row.energy_raw).scaleb(-1))
        for row in fleet.meter(serial).rows_in_range(YESTERDAY, TODAY)
        if row.captured_at > YESTERDAY
    ]


async def hls_read(target: MeterEndpoint, **kwargs: Any) -> LoadProfileReading:
    return await read_load_profile(target, start=YESTERDAY, end=TODAY, security=HES, **kwargs)


# --- a man in the middle on the WRAPPER stream ----------------------------------------------

FrameHook = Callable[[int, bytes], bytes]


class WrapperProxy:
    """Forwards WRAPPER frames between the HES and a meter, recording both directions;
    `from_meter(index, frame)` may alter or replace each frame the meter sends."""

    def __init__(self, meter_port: int, from_meter: FrameHook | None = None) -> None:
        self.meter_port = meter_port
        self.from_meter = from_meter or (lambda _index, frame: frame)
        self.to_meter_frames: list[bytes] = []
        self.from_meter_frames: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        meter_r, meter_w = await asyncio.open_connection("127.0.0.1", self.meter_port)
        upstream = asyncio.create_task(self._pump(client_r, meter_w, self.to_meter_frames, None))
        downstream = asyncio.create_task(
            self._pump(meter_r, client_w, self.from_meter_frames, self.from_meter)
        )
        self._tasks |= {upstream, downstream}
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_w, meter_w):
            writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: list[bytes],
        hook: FrameHook | None,
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(WRAPPER_HEADER.size)
                frame = header + await reader.readexactly(int.from_bytes(header[6:8], "big"))
                record.append(frame)
                writer.write(hook(len(record) - 1, frame) if hook else frame)
                await writer.drain()


def through_proxy(
    fleet: FleetThread,
    serial: str,
    action: Callable[[MeterEndpoint], Awaitable[Any]],
    from_meter: FrameHook | None = None,
) -> tuple[Any, WrapperProxy]:
    proxy = WrapperProxy(fleet.ports[serial], from_meter)

    async def run() -> Any:
        async with proxy as port:
            return await action(endpoint(fleet, serial, port))

    return asyncio.run(run()), proxy


def client_sap(frame: bytes) -> int:
    return int.from_bytes(frame[2:4], "big")


# --- reading --------------------------------------------------------------------------------


def test_an_hls_gmac_read_gives_the_intervals_the_meter_generated(fleet: FleetThread) -> None:
    reading = asyncio.run(hls_read(endpoint(fleet, "HLS0000001")))

    assert reading.serial == "HLS0000001"
    assert [tuple(row) for row in reading.rows] == expected_rows(fleet, "HLS0000001")


def test_a_compact_profile_over_many_ciphered_blocks_is_read_whole(fleet: FleetThread) -> None:
    reading = asyncio.run(hls_read(endpoint(fleet, "HLS0000003")))

    assert len(reading.rows) == 96
    assert [tuple(row) for row in reading.rows] == expected_rows(fleet, "HLS0000003")


def test_everything_the_management_client_exchanges_is_ciphered(fleet: FleetThread) -> None:
    _reading, proxy = through_proxy(fleet, "HLS0000001", hls_read)

    management_requests = [f[8:] for f in proxy.to_meter_frames if client_sap(f) == 1]
    management_answers = [
        f[8:] for f in proxy.from_meter_frames if int.from_bytes(f[4:6], "big") == 1
    ]
    aarq, *xdlms, rlrq = management_requests
    aare, *xdlms_answers, rlre = management_answers
    inside_acse = [
        acse.decode_aarq(aarq).user_information or b"",
        acse.decode_release(rlrq, acse.RLRQ_TAG)[1] or b"",
        acse.decode_aare(aare).user_information or b"",
        acse.decode_release(rlre, acse.RLRE_TAG)[1] or b"",
    ]
    assert [apdu[:1] for apdu in inside_acse] == [
        b"\x21",
        b"\x21",
        b"\x28",
        b"\x28",
    ]  # glo-initiate
    assert {apdu[0] for apdu in xdlms} == {0xCB, 0xC8}  # glo-action (pass 3), glo-get
    assert {apdu[0] for apdu in xdlms_answers} == {0xCF, 0xCC}
    ciphered = [*xdlms, *xdlms_answers, *inside_acse]
    assert {decode_ciphered(apdu).content[0] for apdu in ciphered} == {0x30}  # SC
    # The serial number travels only encrypted to the management client.
    assert not any(b"HLS0000001" in frame for frame in management_answers)


def test_the_invocation_counter_is_read_by_the_public_client_first(fleet: FleetThread) -> None:
    security = fleet.meter("HLS0000002").security
    assert security is not None
    before = security.client_counter

    _reading, proxy = through_proxy(fleet, "HLS0000002", hls_read)
    after_first = security.client_counter
    asyncio.run(hls_read(endpoint(fleet, "HLS0000002")))

    saps = [client_sap(frame) for frame in proxy.to_meter_frames]
    assert saps[:3] == [16, 16, 16]  # AARQ, GET 0.0.43.1.0.255, RLRQ as the public client
    assert set(saps[3:]) == {1}
    assert (
        b"\x00\x01\x00\x00\x2b\x01\x00\xff" in proxy.to_meter_frames[1]
    )  # class 1, 0.0.43.1.0.255
    assert after_first > before
    assert security.client_counter > after_first


def test_the_meter_identity_is_read_in_a_ciphered_association(fleet: FleetThread) -> None:
    identity = asyncio.run(read_meter_identity(endpoint(fleet, "HLS0000002"), security=HES))

    assert identity.serial == "HLS0000002"
    assert identity.clock == NOW.replace(microsecond=0)


# --- the meter rejects what a real meter rejects ----------------------------------------------


async def ciphered_association(target: MeterEndpoint, first_counter: int) -> tuple[Any, Any]:
    channel = await WrapperChannel.connect(
        target.host, target.port, timeout=5.0, client_address=1, server_address=1
    )
    association, _agreed = await associate_hls(
        channel,
        HES,
        first_counter=first_counter,
        counters=InMemoryInvocationCounters(),
        proposed=PROPOSED,
    )
    return channel, association


GET_SERIAL = bytes.fromhex("c001c100010000600100ff0200")  # GET 0.0.96.1.0.255 attribute 2


def test_a_replayed_request_gets_an_invocation_counter_error(fleet: FleetThread) -> None:
    security = fleet.meter("HLS0000002").security
    assert security is not None

    async def replay() -> tuple[bytes, bytes]:
        channel, association = await ciphered_association(
            endpoint(fleet, "HLS0000002"), security.client_counter + 1
        )
        try:
            request = association.seal(GET_SERIAL)
            first = association.open(await channel.exchange(request))
            return first, await channel.exchange(request)  # the very same bytes again
        finally:
            await channel.close()

    first, replayed = asyncio.run(replay())

    assert first[:4] == bytes.fromhex("c401c100")  # the serial, once
    assert replayed[:3] == bytes.fromhex("d80106")  # ExceptionResponse: invocation-counter-error
    assert int.from_bytes(replayed[3:7], "big") == security.client_counter + 1
    assert security.events[-1].kind is SecurityEventKind.REPLAYED_COUNTER


def test_an_aarq_with_an_old_invocation_counter_is_refused(fleet: FleetThread) -> None:
    security = fleet.meter("HLS0000002").security
    assert security is not None
    stale = security.client_counter  # not above the last accepted one

    with pytest.raises(SecurityViolation) as refused:
        asyncio.run(ciphered_association(endpoint(fleet, "HLS0000002"), stale))

    assert refused.value.kind is SecurityEventKind.REFUSED_BY_METER
    assert security.events[-1].kind is SecurityEventKind.REPLAYED_COUNTER
    assert len(asyncio.run(hls_read(endpoint(fleet, "HLS0000002"))).rows) == 96


def test_a_client_with_other_keys_is_refused_and_its_keys_leak_nowhere(
    fleet: FleetThread, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_key = b"Not-The-Key-0001"
    impostor = HlsKeys(HES.system_title, wrong_key, AUTH_KEY)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SecurityViolation) as refused:
        asyncio.run(
            read_load_profile(
                endpoint(fleet, "HLS0000001"), start=YESTERDAY, end=TODAY, security=impostor
            )
        )

    assert refused.value.kind is SecurityEventKind.REFUSED_BY_METER
    printed = capsys.readouterr()
    everything = " ".join(
        [
            str(refused.value),
            repr(refused.value),
            repr(impostor),
            repr(METERS[0]),
            caplog.text,
            printed.out,
            printed.err,
        ]
    )
    for secret in (wrong_key, BLOCK_KEY, AUTH_KEY):
        assert secret.hex() not in everything.lower()
        assert secret.decode("latin-1") not in everything
        assert str(secret) not in everything


def test_a_plain_request_inside_a_ciphered_association_is_refused(fleet: FleetThread) -> None:
    security = fleet.meter("HLS0000001").security
    assert security is not None

    async def plain_get() -> bytes:
        channel, _association = await ciphered_association(
            endpoint(fleet, "HLS0000001"), security.client_counter + 1
        )
        try:
            return await channel.exchange(GET_SERIAL)
        finally:
            await channel.close()

    answer = asyncio.run(plain_get())

    assert answer == bytes.fromhex("d80105")  # ExceptionResponse: deciphering error
    assert security.events[-1].kind is SecurityEventKind.NOT_PROTECTED


def test_a_wrong_answer_to_the_meters_challenge_is_refused(
    fleet: FleetThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    security = fleet.meter("HLS0000001").security
    assert security is not None

    def forged(challenge: bytes, **kwargs: Any) -> bytes:
        return bytes((0x10,)) + bytes(16)  # SC | IC | a tag that cannot verify

    monkeypatch.setattr(hls_client, "gmac", forged)

    with pytest.raises(AssociationRejected):
        asyncio.run(hls_read(endpoint(fleet, "HLS0000001")))

    assert security.events[-1].kind is SecurityEventKind.CHALLENGE_FAILED


def test_a_meter_without_keys_offers_no_ciphered_association(fleet: FleetThread) -> None:
    with pytest.raises((AssociationRejected, SecurityViolation)):
        asyncio.run(hls_read(endpoint(fleet, "PUB0000009")))


# --- the client rejects what an attacker sends ---------------------------------------------


def flip_in_glo_get_response(index: int, frame: bytes) -> bytes:
    apdu = frame[8:]
    if apdu[:1] != b"\xcc":
        return frame
    tampered = bytearray(frame)
    tampered[-5] ^= 0x01  # a byte of the GCM tag
    return bytes(tampered)


def test_a_tampered_answer_is_a_security_violation_not_data(fleet: FleetThread) -> None:
    with pytest.raises(SecurityViolation) as violation:
        through_proxy(fleet, "HLS0000001", hls_read, flip_in_glo_get_response)

    assert violation.value.kind is SecurityEventKind.BAD_TAG
    assert violation.value.system_title == meter_keys(1).system_title.hex()


def test_a_replayed_answer_is_a_security_violation(fleet: FleetThread) -> None:
    answers: list[bytes] = []

    def replay_first_get_answer(index: int, frame: bytes) -> bytes:
        if frame[8:9] != b"\xcc":
            return frame
        answers.append(frame)
        return answers[0]  # every later answer replaced by the first, validly tagged one

    with pytest.raises(SecurityViolation) as violation:
        through_proxy(fleet, "HLS0000001", hls_read, replay_first_get_answer)

    assert violation.value.kind is SecurityEventKind.REPLAYED_COUNTER


def test_an_answer_ciphered_with_another_key_fails_its_tag(fleet: FleetThread) -> None:
    other = HlsKeys(meter_keys(1).system_title, b"K" * 16, AUTH_KEY)

    def reencrypt(index: int, frame: bytes) -> bytes:
        if frame[8:9] != b"\xcc":
            return frame
        content = protect(
            b"\xc4\x01\xc1\x00\x11\x00",
            system_title=other.system_title,
            invocation_counter=2**31,
            keys=other.keys,
        )
        apdu = b"\xcc" + bytes((len(content),)) + content
        return frame[:6] + len(apdu).to_bytes(2, "big") + apdu

    with pytest.raises(SecurityViolation) as violation:
        through_proxy(fleet, "HLS0000001", hls_read, reencrypt)

    assert violation.value.kind is SecurityEventKind.BAD_TAG


def test_counters_persisted_above_the_meters_are_a_replay(fleet: FleetThread) -> None:
    counters = InMemoryInvocationCounters({meter_keys(1).system_title: 2**32 - 2})

    with pytest.raises(SecurityViolation) as violation:
        asyncio.run(hls_read(endpoint(fleet, "HLS0000001"), counters=counters))

    assert violation.value.kind is SecurityEventKind.REPLAYED_COUNTER


# --- an independent implementation of the same standard ----------------------------------


def test_gurux_secure_client_associates_reads_and_releases_with_the_simulated_meter(
    fleet: FleetThread,
) -> None:
    silence_library_output()
    security = fleet.meter("HLS0000002").security
    assert security is not None
    events_before = len(security.events)
    client = GXDLMSSecureClient(True, 1, 1, Authentication.HIGH_GMAC, None, InterfaceType.WRAPPER)
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = b"GURUXHES"
    client.ciphering.blockCipherKey, client.ciphering.authenticationKey = BLOCK_KEY, AUTH_KEY
    client.ciphering.invocationCounter = security.client_counter + 1
    client.useProtectedRelease = True

    with socket.create_connection(("127.0.0.1", fleet.ports["HLS0000002"]), timeout=5) as link:

        def request(frames: list[Any]) -> GXReplyData:
            reply = GXReplyData()
            for frame in frames:
                link.sendall(bytes(frame))
                header = link.recv(8, socket.MSG_WAITALL)
                answer = header + link.recv(int.from_bytes(header[6:8], "big"), socket.MSG_WAITALL)
                client.getData(GXByteBuffer(answer), reply)
            return reply

        client.parseAareResponse(request(client.aarqRequest()).data)
        authentication_required = client.getIsAuthenticationRequired()
        client.parseApplicationAssociationResponse(
            request(client.getApplicationAssociationRequest()).data
        )  # gurux checks f(CtoS) here
        serial = request(client.read(GXDLMSData("0.0.96.1.0.255"), 2)).value
        released = request(client.releaseRequest())

    assert authentication_required
    assert bytes(serial) == b"HLS0000002"
    assert released.command == 0x63  # RLRE
    assert len(security.events) == events_before  # nothing the meter had to refuse
