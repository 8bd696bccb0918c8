"""What a simulated meter pushes, decoded as the HES decodes it (no sockets)."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.errors import FrameError, SecurityViolation
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.push import decode_push_apdu, unwrap
from adapters.dlms.push.push_objects import decode_profile_push, device_id_of, push_setup_of
from adapters.dlms.simulated_meter import SimulatedMeter, SimulatedMeterConfig
from adapters.dlms.simulated_pushes import MeterPusher, PushDestination, PushSettings

NOW = dt.datetime(2026, 3, 4, 6, 0, tzinfo=dt.UTC)
KEYS = HlsKeys(bytes.fromhex("5349500000000009"), bytes(range(16)), bytes(range(16, 32)))
SETTINGS = PushSettings(PushDestination("127.0.0.1", 4059), entries=6)


def pusher(**config: object) -> MeterPusher:
    meter = SimulatedMeter(SimulatedMeterConfig("OBJ-1", clock=lambda: NOW, **config))  # type: ignore[arg-type]
    return MeterPusher(meter, SETTINGS)


def decoded(frame: bytes, keyring: dict[bytes, SecurityKeys] | None = None) -> object:
    counters = InMemoryInvocationCounters()
    return decode_push_apdu(unwrap(frame), keyring=keyring or {}, counters=counters)


def test_a_compact_load_profile_push_decodes_to_the_meters_rows() -> None:
    source = pusher(compact_profile=True)

    notification = decoded(source.load_profile_frame())
    profile = decode_profile_push(notification.body)  # type: ignore[attr-defined]

    expected = source.meter.rows_by_entry(source.meter.entries_in_use() - 5, 0)
    assert profile is not None and profile.device_id == "OBJ-1"
    assert profile.capture_period == dt.timedelta(minutes=15)
    assert [row.captured_at for row in profile.rows] == [row.captured_at for row in expected]
    assert [row.energy_wh * 10 for row in profile.rows] == [row.energy_raw for row in expected]


def test_a_meter_with_keys_pushes_general_glo_ciphered_with_rising_counters() -> None:
    source = pusher(hls_keys=KEYS)
    first, second = source.load_profile_frame(), source.alarm_frame("power_up")

    assert first[8] == second[8] == 0xDB  # general-glo-ciphering after the WRAPPER header
    keyring = {KEYS.system_title: KEYS.keys}
    one, two = decoded(first, keyring), decoded(second, keyring)
    assert two.invocation_counter > one.invocation_counter  # type: ignore[attr-defined]
    assert device_id_of(two.body) == "OBJ-1"  # type: ignore[attr-defined]
    with pytest.raises(SecurityViolation):
        decoded(first, {KEYS.system_title: SecurityKeys(bytes(16), bytes(16))})


def test_bodies_of_other_push_setups_hold_no_load_profile() -> None:
    alarm = decoded(pusher().alarm_frame("meter_cover_removed"))

    assert push_setup_of(alarm.body) == "0.4.25.9.0.255"  # type: ignore[attr-defined]
    assert decode_profile_push(alarm.body) is None  # type: ignore[attr-defined]
    assert decode_profile_push(b"\x01\x02") is None
    assert decode_profile_push([bytes([1, 0, 99, 1, 0, 255]), 5]) is None


def test_a_load_profile_push_whose_values_do_not_fit_is_refused() -> None:
    setup = bytes([0, 0, 25, 9, 0, 255])
    with pytest.raises(FrameError, match="not \\(clock, status, energy\\)"):
        decode_profile_push([setup, b"M1", [-1, 30], 900, [[None, 0]]])
    with pytest.raises(FrameError, match="null timestamp"):
        decode_profile_push([setup, b"M1", [-1, 30], 900, [[None, 0, 5]]])
    with pytest.raises(FrameError, match="serial number"):
        decode_profile_push([setup, b"", [-1, 30], 900, []])
