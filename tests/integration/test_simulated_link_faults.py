"""Scripted communication faults of simulated meters, met by the real client over TCP:
an unreachable meter, a slow one, one that hangs up mid-session, a garbling link."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest

from adapters.dlms.client import LoadProfileReading, read_load_profile
from adapters.dlms.errors import (
    DlmsError,
    FrameError,
    MeterTimeout,
    MeterUnreachable,
    SecurityViolation,
)
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.session import MeterEndpoint
from adapters.dlms.simulated_link_faults import LinkFaults
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
YESTERDAY, TODAY = dt.datetime(2026, 3, 9, tzinfo=UTC), dt.datetime(2026, 3, 10, tzinfo=UTC)
BLOCK_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH_KEY = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
HES = HlsKeys(b"HES\x00\x00\x00\x00\x01", BLOCK_KEY, AUTH_KEY)


def fixed_clock() -> dt.datetime:
    return NOW


def ciphered(serial: str, number: int) -> SimulatedMeterConfig:
    keys = HlsKeys(b"FLT" + number.to_bytes(5, "big"), BLOCK_KEY, AUTH_KEY)
    return SimulatedMeterConfig(serial, hls_keys=keys, clock=fixed_clock)


METERS = [
    SimulatedMeterConfig("FLT0000001", clock=fixed_clock),  # healthy
    SimulatedMeterConfig("FLT0000002", clock=fixed_clock),  # unreachable
    SimulatedMeterConfig("FLT0000003", clock=fixed_clock),  # slow
    SimulatedMeterConfig("FLT0000004", clock=fixed_clock),  # hangs up mid-session
    ciphered("FLT0000005", 5),  # garbling link, ciphered: the tag check catches it
    SimulatedMeterConfig("FLT0000006", framing="hdlc", clock=fixed_clock),  # garbling, HDLC
]
FAULTS = {
    "FLT0000002": LinkFaults(unreachable=True),
    "FLT0000003": LinkFaults(answer_delay_seconds=0.4),
    "FLT0000004": LinkFaults(drop_after_answers=2),
    "FLT0000005": LinkFaults(corrupt_every=4),
    "FLT0000006": LinkFaults(corrupt_every=3),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(METERS, link_faults=FAULTS) as running:
        yield running


def read_day(
    fleet: FleetThread, serial: str, *, timeout: float = 5.0, keys: HlsKeys | None = None
) -> LoadProfileReading:
    framing = "hdlc" if serial == "FLT0000006" else "wrapper"
    return asyncio.run(
        read_load_profile(
            MeterEndpoint("127.0.0.1", fleet.ports[serial], framing=framing),
            start=YESTERDAY,
            end=TODAY,
            timeout=timeout,
            security=keys,
            counters=InMemoryInvocationCounters(),
        )
    )


def test_a_healthy_meter_of_the_faulty_fleet_answers_the_whole_day(fleet: FleetThread) -> None:
    assert len(read_day(fleet, "FLT0000001").rows) == 96


def test_an_unreachable_meter_refuses_the_connection(fleet: FleetThread) -> None:
    with pytest.raises(MeterUnreachable):
        read_day(fleet, "FLT0000002")


def test_a_slow_meter_times_out_a_short_timeout_and_answers_a_patient_client(
    fleet: FleetThread,
) -> None:
    with pytest.raises(MeterTimeout):
        read_day(fleet, "FLT0000003", timeout=0.2)
    assert len(read_day(fleet, "FLT0000003", timeout=3.0).rows) == 96


def test_a_meter_that_hangs_up_mid_session_gives_a_typed_error(fleet: FleetThread) -> None:
    with pytest.raises(DlmsError) as raised:
        read_day(fleet, "FLT0000004")
    assert not isinstance(raised.value, MeterTimeout)  # noticed at once, not by waiting
    assert len(read_day(fleet, "FLT0000001").rows) == 96  # the others are unaffected


def test_a_garbled_ciphered_answer_fails_its_tag_check(fleet: FleetThread) -> None:
    with pytest.raises(SecurityViolation):
        read_day(fleet, "FLT0000005", keys=HES)


def test_a_garbled_hdlc_frame_fails_its_check_sequence(fleet: FleetThread) -> None:
    with pytest.raises(FrameError, match=r"check sequence \(CRC\) mismatch"):
        read_day(fleet, "FLT0000006", timeout=1.0)


def test_faults_for_a_meter_not_in_the_fleet_are_refused() -> None:
    with pytest.raises(ValueError, match="not in the fleet"):
        FleetThread(METERS[:1], link_faults={"NOPE": LinkFaults(unreachable=True)})
