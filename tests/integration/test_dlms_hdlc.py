"""HDLC framing (IEC 62056-46) over TCP end to end: SNRM/UA, segmented I-frames with RR,
DISC, and frames with a wrong CRC, between the HES client and simulated meters."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.dlms.client import LoadProfileReading, read_load_profile
from adapters.dlms.errors import FrameError, MeterTimeout
from adapters.dlms.hdlc import FrameKind, FrameSplitter, HdlcAddress, HdlcFrame, decode_frame
from adapters.dlms.hdlc_params import LinkParameters
from adapters.dlms.hls import HlsKeys
from adapters.dlms.session import MeterEndpoint
from adapters.dlms.simulator import FleetThread, MeterSimulator, SimulatedMeterConfig

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
YESTERDAY, TODAY = dt.datetime(2026, 3, 9, tzinfo=UTC), dt.datetime(2026, 3, 10, tzinfo=UTC)
PASSWORD = "Hdlc-Secret-1"
KEY = bytes(range(16))
METER_KEYS = HlsKeys(b"HDLCMTR1", KEY, KEY)
HES_KEYS = HlsKeys(b"HDLCHES1", KEY, KEY)


def fixed_clock() -> dt.datetime:
    return NOW


METERS = [
    SimulatedMeterConfig("HDL0000001", framing="hdlc", clock=fixed_clock),
    SimulatedMeterConfig("HDL0000002", framing="hdlc", password=PASSWORD, clock=fixed_clock),
    SimulatedMeterConfig(
        "HDL0000003",
        framing="hdlc",
        hls_keys=METER_KEYS,
        hdlc_max_info_length=48,
        clock=fixed_clock,
    ),
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(METERS) as running:
        yield running


def endpoint(fleet: FleetThread, serial: str, port: int | None = None) -> MeterEndpoint:
    return MeterEndpoint("127.0.0.1", port or fleet.ports[serial], framing="hdlc")


def read(target: MeterEndpoint, **kwargs: object) -> LoadProfileReading:
    return asyncio.run(read_load_profile(target, start=YESTERDAY, end=TODAY, **kwargs))  # type: ignore[arg-type]


def expected_rows(fleet: FleetThread, serial: str) -> list[tuple[dt.datetime, int, Decimal]]:
    return [
        (row.captured_at, row.status, Decimal(row.energy_raw).scaleb(-1))
        for row in fleet.meter(serial).rows_in_range(YESTERDAY, TODAY)
        if row.captured_at > YESTERDAY
    ]


class FrameRecorder:
    """A TCP relay that cuts the HDLC frames of both directions and keeps them decoded."""

    def __init__(self, meter_port: int) -> None:
        self.meter_port = meter_port
        self.frames: list[tuple[str, HdlcFrame]] = []
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
        pumps = {
            asyncio.create_task(self._pump("to-meter", client_r, meter_w)),
            asyncio.create_task(self._pump("to-hes", meter_r, client_w)),
        }
        self._tasks |= pumps
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_w, meter_w):
            writer.close()

    async def _pump(
        self, direction: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        splitter = FrameSplitter()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                for raw in splitter.feed(data):
                    assert isinstance(raw, bytes)
                    self.frames.append((direction, decode_frame(raw)))
                writer.write(data)
                await writer.drain()


def recorded_read(fleet: FleetThread, serial: str, **kwargs: object) -> FrameRecorder:
    recorder = FrameRecorder(fleet.ports[serial])

    async def run() -> None:
        async with recorder as port:
            await read_load_profile(
                endpoint(fleet, serial, port),
                start=YESTERDAY,
                end=TODAY,
                **kwargs,  # type: ignore[arg-type]
            )

    asyncio.run(run())
    return recorder


def test_a_day_read_over_hdlc_is_the_96_intervals_the_meter_generated(fleet: FleetThread) -> None:
    reading = read(endpoint(fleet, "HDL0000001"))

    assert reading.serial == "HDL0000001"
    assert [tuple(row) for row in reading.rows] == expected_rows(fleet, "HDL0000001")


def test_low_level_security_works_over_hdlc(fleet: FleetThread) -> None:
    reading = read(endpoint(fleet, "HDL0000002"), password=PASSWORD)

    assert [tuple(row) for row in reading.rows] == expected_rows(fleet, "HDL0000002")


def test_the_link_opens_with_snrm_ua_and_closes_with_disc_ua(fleet: FleetThread) -> None:
    recorder = recorded_read(fleet, "HDL0000001")

    kinds = [(direction, frame.kind) for direction, frame in recorder.frames]
    assert kinds[:2] == [("to-meter", FrameKind.SNRM), ("to-hes", FrameKind.UA)]
    assert kinds[-2:] == [("to-meter", FrameKind.DISC), ("to-hes", FrameKind.UA)]
    ua = recorder.frames[1][1]
    assert LinkParameters.decode(ua.info).max_info_transmit == 128  # the meter's default
    information = [frame for _d, frame in recorder.frames if frame.kind is FrameKind.I]
    assert information[0].info.startswith(bytes.fromhex("e6e600"))  # LLC of a request
    assert information[1].info.startswith(bytes.fromhex("e6e700"))  # LLC of a response


def test_long_answers_are_segmented_and_pulled_with_rr(fleet: FleetThread) -> None:
    recorder = recorded_read(fleet, "HDL0000001")

    from_meter = [frame for d, frame in recorder.frames if d == "to-hes"]
    segmented = [frame for frame in from_meter if frame.kind is FrameKind.I and frame.segmented]
    polls = [
        frame for d, frame in recorder.frames if d == "to-meter" and frame.kind is FrameKind.RR
    ]
    assert len(segmented) >= 10  # a 1024-octet GET block does not fit 128-octet frames
    assert len(polls) == len(segmented)  # each segment pulled by one RR
    assert all(len(frame.info) <= 128 for frame in from_meter)
    send_sequences = [frame.send_sequence for frame in from_meter if frame.kind is FrameKind.I]
    assert send_sequences[:9] == [0, 1, 2, 3, 4, 5, 6, 7, 0]  # N(S) counts modulo 8


def test_hls_gmac_over_hdlc_segments_requests_too(fleet: FleetThread) -> None:
    recorder = recorded_read(fleet, "HDL0000003", security=HES_KEYS)

    to_meter = [frame for d, frame in recorder.frames if d == "to-meter"]
    assert any(frame.kind is FrameKind.I and frame.segmented for frame in to_meter)  # the AARQ
    assert {frame.source for frame in to_meter if frame.kind is FrameKind.SNRM} == {
        HdlcAddress(16),  # the public client reads the invocation counter
        HdlcAddress(1),  # then the management client associates
    }
    assert all(len(frame.info) <= 48 for _d, frame in recorder.frames)
    reading = read(endpoint(fleet, "HDL0000003"), security=HES_KEYS)
    assert [tuple(row) for row in reading.rows] == expected_rows(fleet, "HDL0000003")


def test_a_frame_with_a_wrong_crc_is_dropped_and_the_meter_keeps_serving(
    fleet: FleetThread,
) -> None:
    snrm = HdlcFrame(HdlcAddress(1), HdlcAddress(16), FrameKind.SNRM).encode()
    corrupted = snrm[:-3] + bytes((snrm[-3] ^ 0xFF,)) + snrm[-2:]
    with socket.create_connection(("127.0.0.1", fleet.ports["HDL0000001"]), timeout=2) as link:
        link.sendall(corrupted)
        link.settimeout(0.3)
        with pytest.raises(TimeoutError):
            link.recv(64)  # a meter ignores a frame that fails its check
        link.settimeout(2)
        link.sendall(snrm)
        answer = decode_frame(link.recv(256))

    assert answer.kind is FrameKind.UA
    dropped = simulator_of(fleet, "HDL0000001").dropped_frames
    assert any("frame check sequence (CRC) mismatch" in reason for reason in dropped)
    assert len(read(endpoint(fleet, "HDL0000001")).rows) == 96


def simulator_of(fleet: FleetThread, serial: str) -> MeterSimulator:
    return next(meter for meter in fleet.fleet.meters if meter.serial == serial)


def test_a_meter_answering_with_a_wrong_crc_is_a_frame_error() -> None:
    ua = HdlcFrame(HdlcAddress(16), HdlcAddress(1), FrameKind.UA).encode()
    broken = ua[:-3] + bytes((ua[-3] ^ 0x55,)) + ua[-2:]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def answer_badly() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(256)
                connection.sendall(broken)
                connection.recv(256)

        server = threading.Thread(target=answer_badly, daemon=True)
        server.start()
        target = MeterEndpoint("127.0.0.1", listener.getsockname()[1], framing="hdlc")
        with pytest.raises(FrameError) as error:
            read(target, timeout=2.0)
        server.join(2)

    assert "frame check sequence (CRC) mismatch" in str(error.value)
    assert "127.0.0.1" in str(error.value)


def test_a_meter_that_never_answers_the_snrm_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = MeterEndpoint("127.0.0.1", silent.getsockname()[1], framing="hdlc")

        with pytest.raises(MeterTimeout):
            read(target, timeout=0.3)
