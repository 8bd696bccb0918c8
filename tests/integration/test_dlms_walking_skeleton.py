"""The DLMS walking skeleton end to end: simulated meters on 127.0.0.1, real TCP, real
WRAPPER frames, read by the HES client."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.objects import GXDLMSAssociationLogicalName, GXDLMSProfileGeneric

from adapters.dlms import (
    AssociationRejected,
    AttributeReadRefused,
    FrameError,
    LoadProfileReading,
    MeterEndpoint,
    MeterTimeout,
    MeterUnreachable,
    obis,
    read_load_profile,
    read_meter_identity,
)
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.session import CosemSession
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.loadshapes import load_shape

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)  # a Tuesday, mid-interval
YESTERDAY = dt.datetime(2026, 3, 9, tzinfo=UTC)
TODAY = dt.datetime(2026, 3, 10, tzinfo=UTC)
QUARTER = dt.timedelta(minutes=15)
PASSWORD = "Lls-Secret-77"


def fixed_clock() -> dt.datetime:
    return NOW


METERS = [
    SimulatedMeterConfig("LLS0000001", password=PASSWORD, clock=fixed_clock),
    SimulatedMeterConfig("PUB0000001", clock=fixed_clock),
    SimulatedMeterConfig("ENT0000001", range_access=False, clock=fixed_clock),
    SimulatedMeterConfig("CMP0000001", compact_profile=True, clock=fixed_clock),
    SimulatedMeterConfig("HRL0000001", capture_period_minutes=60, clock=fixed_clock),
    SimulatedMeterConfig("G250000001", load_shape="g25", yearly_kwh=20_000, clock=fixed_clock),
    SimulatedMeterConfig("RTC0000001"),  # runs on the wall clock
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(METERS) as running:
        yield running


def endpoint(fleet: FleetThread, serial: str) -> MeterEndpoint:
    return MeterEndpoint("127.0.0.1", fleet.ports[serial])


def read(
    fleet: FleetThread,
    serial: str,
    start: dt.datetime = YESTERDAY,
    end: dt.datetime = TODAY,
    password: str | None = None,
) -> LoadProfileReading:
    return asyncio.run(
        read_load_profile(endpoint(fleet, serial), start=start, end=end, password=password)
    )


def expected_rows(
    fleet: FleetThread, serial: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, int, Decimal]]:
    """What the simulator itself generates for (start, end], scaled by its -1 scaler."""
    meter = fleet.meter(serial)
    return [
        (row.captured_at, row.status, Decimal(row.energy_raw).scaleb(-1))
        for row in meter.rows_in_range(start, end)
        if row.captured_at > start
    ]


def test_a_day_read_with_low_level_security_is_96_intervals_as_the_meter_generated(
    fleet: FleetThread,
) -> None:
    reading = read(fleet, "LLS0000001", password=PASSWORD)

    assert reading.serial == "LLS0000001"
    assert reading.capture_period == QUARTER
    assert reading.access == "range"
    assert len(reading.rows) == 96
    assert [tuple(row) for row in reading.rows] == expected_rows(
        fleet, "LLS0000001", YESTERDAY, TODAY
    )


def test_the_public_client_reads_the_same_day_without_a_password(fleet: FleetThread) -> None:
    reading = read(fleet, "PUB0000001")

    assert reading.serial == "PUB0000001"
    assert [tuple(row) for row in reading.rows] == expected_rows(
        fleet, "PUB0000001", YESTERDAY, TODAY
    )


def test_timestamps_are_utc_interval_ends_on_quarter_hour_boundaries(fleet: FleetThread) -> None:
    rows = read(fleet, "PUB0000001").rows

    assert rows[0].timestamp == YESTERDAY + QUARTER
    assert rows[-1].timestamp == TODAY
    for row in rows:
        assert row.timestamp.utcoffset() == dt.timedelta(0)
        assert row.timestamp.minute % 15 == 0 and row.timestamp.second == 0
    steps = {later.timestamp - earlier.timestamp for earlier, later in itertools.pairwise(rows)}
    assert steps == {QUARTER}


def test_energy_is_exact_decimal_watt_hours_following_the_bdew_shape(fleet: FleetThread) -> None:
    rows = read(fleet, "G250000001").rows
    energy = np.array([float(row.energy_wh) for row in rows])
    # BDEW kWh per 1,000 kWh/year x 20,000 kWh/year = Wh for each quarter-hour of the day.
    shape_wh = load_shape("g25").quarter_hours(YESTERDAY.date()) * 20_000

    for row in rows:
        assert isinstance(row.energy_wh, Decimal)
        assert row.energy_wh == row.energy_wh.quantize(Decimal("0.1"))  # no float noise
    ratio = energy / shape_wh
    assert ratio.min() >= 0.899 and ratio.max() <= 1.101  # the meter's +/- 10 % wobble
    assert np.corrcoef(energy, shape_wh)[0, 1] > 0.95


def test_reading_the_same_range_twice_gives_identical_rows(fleet: FleetThread) -> None:
    first = read(fleet, "LLS0000001", password=PASSWORD)
    second = read(fleet, "LLS0000001", password=PASSWORD)

    assert first == second


def test_range_selection_returns_exactly_the_intervals_in_the_range(fleet: FleetThread) -> None:
    start = YESTERDAY + dt.timedelta(hours=10)
    end = YESTERDAY + dt.timedelta(hours=13)

    rows = read(fleet, "PUB0000001", start=start, end=end).rows

    assert [row.timestamp for row in rows] == [start + QUARTER * n for n in range(1, 13)]
    assert [tuple(row) for row in rows] == expected_rows(fleet, "PUB0000001", start, end)


def test_intervals_not_yet_closed_are_not_in_the_buffer(fleet: FleetThread) -> None:
    rows = read(fleet, "PUB0000001", start=TODAY, end=TODAY + dt.timedelta(days=1)).rows

    assert len(rows) == 48  # 00:15 ... 12:00; the 12:00-12:15 interval is still open at 12:07
    assert rows[-1].timestamp == dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_meter_refusing_range_access_is_read_by_entry(fleet: FleetThread) -> None:
    reading = read(fleet, "ENT0000001")

    assert reading.access == "entry"
    assert [tuple(row) for row in reading.rows] == expected_rows(
        fleet, "ENT0000001", YESTERDAY, TODAY
    )


ProfileQuery = Callable[[CosemSession, GXDLMSProfileGeneric], Awaitable[list[Any]]]


def raw_buffer(fleet: FleetThread, serial: str, query: ProfileQuery) -> list[Any]:
    """Rows exactly as the meter sent them, before the client filters or decodes them."""

    async def run() -> list[Any]:
        async with CosemSession(endpoint(fleet, serial)) as session:
            profile = GXDLMSProfileGeneric(obis.LOAD_PROFILE)
            session.client_update(profile, 3, await session.get(profile, 3))
            return await query(session, profile)

    return asyncio.run(run())


def test_the_meter_selects_a_range_inclusive_at_both_ends(fleet: FleetThread) -> None:
    start = YESTERDAY + dt.timedelta(hours=10)

    rows = raw_buffer(
        fleet,
        "PUB0000001",
        lambda session, profile: session.get_rows_by_range(profile, start, start + 3 * QUARTER),
    )

    assert [decode_cosem_datetime(row[0]) for row in rows] == [
        start + QUARTER * n for n in range(4)
    ]


def test_the_meter_selects_by_entry_counting_from_the_oldest(fleet: FleetThread) -> None:
    installed_at = TODAY - dt.timedelta(days=7)  # history_days=7 before the clock's midnight

    rows = raw_buffer(
        fleet, "PUB0000001", lambda session, profile: session.get_rows_by_entry(profile, 1, 3)
    )

    assert [decode_cosem_datetime(row[0]) for row in rows] == [
        installed_at + QUARTER * n for n in range(1, 4)
    ]


def test_compact_rows_get_their_timestamps_rebuilt_from_the_capture_period(
    fleet: FleetThread,
) -> None:
    on_the_wire = raw_buffer(
        fleet,
        "CMP0000001",
        lambda session, profile: session.get_rows_by_range(profile, YESTERDAY, TODAY),
    )
    reading = read(fleet, "CMP0000001")

    assert on_the_wire[0][0] is not None
    assert all(row[0] is None for row in on_the_wire[1:])  # the meter really sent compact rows
    assert [tuple(row) for row in reading.rows] == expected_rows(
        fleet, "CMP0000001", YESTERDAY, TODAY
    )


def test_a_60_minute_capture_period_gives_24_rows_a_day(fleet: FleetThread) -> None:
    reading = read(fleet, "HRL0000001")

    assert reading.capture_period == dt.timedelta(hours=1)
    assert len(reading.rows) == 24
    assert [row.timestamp.hour for row in reading.rows] == [*range(1, 24), 0]
    assert [tuple(row) for row in reading.rows] == expected_rows(
        fleet, "HRL0000001", YESTERDAY, TODAY
    )


def test_meter_identity_is_the_serial_and_the_utc_clock(fleet: FleetThread) -> None:
    identity = asyncio.run(read_meter_identity(endpoint(fleet, "LLS0000001"), PASSWORD))

    assert identity.serial == "LLS0000001"
    assert identity.clock == NOW.replace(microsecond=0)


def test_a_meter_on_the_wall_clock_reads_now_and_has_closed_intervals_up_to_now(
    fleet: FleetThread,
) -> None:
    before = dt.datetime.now(UTC).replace(microsecond=0)
    identity = asyncio.run(read_meter_identity(endpoint(fleet, "RTC0000001")))
    after = dt.datetime.now(UTC)
    reading = read(fleet, "RTC0000001", start=after - dt.timedelta(hours=2), end=after)

    assert before <= identity.clock <= after
    assert after - reading.rows[-1].timestamp < QUARTER
    assert len(reading.rows) == 8  # every quarter-hour end in (after - 2 h, after] is closed


def test_the_association_lists_the_objects_and_never_reveals_the_password(
    fleet: FleetThread,
) -> None:
    async def inspect() -> tuple[list[Any], Any, Any]:
        async with CosemSession(endpoint(fleet, "LLS0000001"), password=PASSWORD) as session:
            association = GXDLMSAssociationLogicalName(obis.CURRENT_ASSOCIATION)
            listed = await session.get(association, 2)
            mechanism = await session.get(association, 6)
            with pytest.raises(AttributeReadRefused) as refused:
                await session.get(association, 7)  # the LLS secret
            return listed, mechanism, refused.value.result

    listed, mechanism, refusal = asyncio.run(inspect())

    assert {(entry[0], bytes(entry[2])) for entry in listed} >= {
        (7, bytes([1, 0, 99, 1, 0, 255])),
        (8, bytes([0, 0, 1, 0, 0, 255])),
    }
    assert list(mechanism) == [2, 16, 756, 5, 8, 2, 1]  # low-level security
    assert refusal == 3  # read-write-denied


def test_a_wrong_password_is_rejected_and_the_meter_keeps_serving(fleet: FleetThread) -> None:
    wrong = "not-the-" + PASSWORD

    with pytest.raises(AssociationRejected) as rejected:
        read(fleet, "LLS0000001", password=wrong)

    assert "authentication failure" in str(rejected.value)
    assert wrong not in str(rejected.value) and wrong not in repr(rejected.value)
    assert rejected.value.diagnostic == 13
    assert len(read(fleet, "LLS0000001", password=PASSWORD).rows) == 96


def test_the_public_client_cannot_use_a_password_mechanism_the_meter_does_not_offer(
    fleet: FleetThread,
) -> None:
    public_with_password = MeterEndpoint("127.0.0.1", fleet.ports["PUB0000001"], client_address=16)

    with pytest.raises(AssociationRejected):
        asyncio.run(
            read_load_profile(public_with_password, start=YESTERDAY, end=TODAY, password=PASSWORD)
        )


def _exchange(connection: socket.socket, frame: bytes) -> bytes:
    connection.sendall(frame)
    header = connection.recv(8, socket.MSG_WAITALL)
    length = int.from_bytes(header[6:8], "big")
    return header + connection.recv(length, socket.MSG_WAITALL)


def test_a_client_vanishing_mid_session_does_not_disturb_the_meter(fleet: FleetThread) -> None:
    port = fleet.ports["PUB0000001"]
    # Half a WRAPPER header, then gone.
    with socket.create_connection(("127.0.0.1", port), timeout=2) as half_frame:
        half_frame.sendall(b"\x00\x01\x00\x10")
    # Associated, then gone in the middle of a block transfer of the whole buffer.
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as vanishing:
        aare = _exchange(vanishing, bytes(client.aarqRequest()[0]))
        client.parseAareResponse(_reply_data(client, aare))
        first_block = _exchange(
            vanishing, bytes(client.read(GXDLMSProfileGeneric(obis.LOAD_PROFILE), 2)[0])
        )
    assert first_block[8:10] == bytes((0xC4, 0x02))  # get-response-with-datablock

    assert len(read(fleet, "PUB0000001").rows) == 96


def _reply_data(client: GXDLMSClient, frame: bytes) -> Any:
    reply = GXReplyData()
    client.getData(GXByteBuffer(frame), reply)
    return reply.data


def test_a_closed_port_is_unreachable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(MeterUnreachable):
        asyncio.run(
            read_load_profile(
                MeterEndpoint("127.0.0.1", closed_port), start=YESTERDAY, end=TODAY, timeout=5.0
            )
        )

    assert time.monotonic() - started < 1.0


def test_a_meter_that_accepts_but_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        accepted: list[socket.socket] = []
        acceptor = threading.Thread(target=lambda: accepted.append(silent.accept()[0]))
        acceptor.start()
        started = time.monotonic()

        with pytest.raises(MeterTimeout):
            asyncio.run(
                read_load_profile(
                    MeterEndpoint("127.0.0.1", port), start=YESTERDAY, end=TODAY, timeout=0.5
                )
            )

        elapsed = time.monotonic() - started
        acceptor.join(2)
        for connection in accepted:
            connection.close()
    assert 0.5 <= elapsed < 1.5


def _one_shot_meter(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """A listener that answers the first request of one client with `answer`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(answer)
            connection.recv(4096)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    return listener, server


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(bytes.fromhex("0002000100100003616263"), id="not-wrapper-version"),
        pytest.param(bytes.fromhex("0001000100100003616263"), id="wrapper-with-junk-apdu"),
    ],
)
def test_malformed_answers_are_frame_errors(answer: bytes) -> None:
    listener, server = _one_shot_meter(answer)
    with listener:
        port = listener.getsockname()[1]
        with pytest.raises(FrameError):
            asyncio.run(read_meter_identity(MeterEndpoint("127.0.0.1", port), timeout=2.0))
    server.join(2)


def test_one_meter_serves_concurrent_associations(fleet: FleetThread) -> None:
    async def five_at_once() -> list[LoadProfileReading]:
        target = endpoint(fleet, "LLS0000001")
        return await asyncio.gather(
            *(
                read_load_profile(target, start=YESTERDAY, end=TODAY, password=PASSWORD)
                for _ in range(5)
            )
        )

    readings = asyncio.run(five_at_once())

    assert all(reading == readings[0] for reading in readings)
    assert len(readings[0].rows) == 96


def test_stopping_a_fleet_closes_open_connections_promptly() -> None:
    fleet = FleetThread([SimulatedMeterConfig("STP0000001", clock=fixed_clock)])
    port = fleet.start()["STP0000001"]
    with socket.create_connection(("127.0.0.1", port), timeout=2) as idle:
        started = time.monotonic()
        fleet.stop()
        elapsed = time.monotonic() - started
        closed_by_meter = idle.recv(1) == b""

    assert elapsed < 1.0
    assert closed_by_meter


def test_twenty_meters_in_one_fleet_are_read_concurrently() -> None:
    configs = [
        SimulatedMeterConfig(f"FLT{n:07d}", password=PASSWORD, clock=fixed_clock) for n in range(20)
    ]

    async def read_all(ports: dict[str, int]) -> list[LoadProfileReading]:
        return await asyncio.gather(
            *(
                read_load_profile(
                    MeterEndpoint("127.0.0.1", port), start=YESTERDAY, end=TODAY, password=PASSWORD
                )
                for port in ports.values()
            )
        )

    with FleetThread(configs) as fleet:
        readings = asyncio.run(read_all(fleet.ports))

        assert sorted(reading.serial for reading in readings) == sorted(fleet.ports)
        for reading in readings:
            assert [tuple(row) for row in reading.rows] == expected_rows(
                fleet, reading.serial, YESTERDAY, TODAY
            )
    first_day_energies = {tuple(row.energy_wh for row in r.rows) for r in readings}
    assert len(first_day_energies) == 20  # every meter wobbles in its own way
    assert len(set(fleet.ports.values())) == 20
