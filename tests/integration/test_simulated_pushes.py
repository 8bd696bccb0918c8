"""Simulated meters push over real UDP and TCP to a real `PushService`: load profiles end
up as interval data once, alarms are critical, replayed ciphered pushes are security
events, and every pushed frame is kept as a raw frame. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import date

import pytest

from adapters.dlms.hls import HlsKeys
from adapters.dlms.simulated_pushes import PushDestination, PushSettings
from adapters.dlms.simulator import SimulatedFleet, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.push_service import PushService
from adapters.security.passwords import Argon2PasswordHasher
from domain.channel import Channel
from domain.meter_push import MeterPush, SecurityEvent
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.meters import register_profile_channel

SETUP = Provenance("test", "set-up", "system")
NOW = dt.datetime(2026, 3, 4, 6, 0, tzinfo=dt.UTC)  # the meters' clock
KEYS = HlsKeys(bytes.fromhex("5349500000000001"), bytes(range(16)), bytes(range(16, 32)))


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    register(found, "PUSH-HLS", hls=True)
    register(found, "PUSH-LLS", hls=False)
    yield found
    found.close()


def register(installation: Installation, serial: str, *, hls: bool) -> None:
    since = date(2026, 1, 1)
    if hls:
        attributes = {"security_profile": "hls-gmac", "system_title": KEYS.system_title.hex()}
        secrets = {
            "block_cipher_key": KEYS.block_cipher_key.hex(),
            "authentication_key": KEYS.authentication_key.hex(),
        }
    else:
        attributes, secrets = {"security_profile": "lls"}, {"lls_password": "pw-" + serial}
    installation.registry.create_meter(
        {"serial": serial, "meter_type": "single-phase", **attributes},
        since,
        SETUP,
        secrets=secrets,
    )
    register_profile_channel(installation, serial, since, SETUP)


Scenario = Callable[[PushService, dict[str, SimulatedFleet]], Awaitable[None]]


def pushing(installation: Installation, scenario: Scenario, **settings: object) -> None:
    """Runs `scenario` with the push service listening and two meters that push to it:
    the HLS meter over UDP, the plain one over TCP."""

    async def main() -> None:
        service = PushService(installation, udp_port=0, tcp_port=0)
        await service.start()
        listener = service.listener
        assert listener.udp_port and listener.tcp_port
        fleets = {
            "PUSH-HLS": SimulatedFleet(
                [SimulatedMeterConfig("PUSH-HLS", hls_keys=KEYS, clock=lambda: NOW)],
                PushSettings(
                    PushDestination("127.0.0.1", listener.udp_port, "udp"),
                    **settings,  # type: ignore[arg-type]
                ),
            ),
            "PUSH-LLS": SimulatedFleet(
                [SimulatedMeterConfig("PUSH-LLS", password="pw-PUSH-LLS", clock=lambda: NOW)],
                PushSettings(PushDestination("127.0.0.1", listener.tcp_port, "tcp")),
            ),
        }
        for fleet in fleets.values():
            await fleet.start()
        try:
            await scenario(service, fleets)
        finally:
            # Meters stop first: a meter pushing faster than a loaded store records would
            # never let the service run dry.
            for fleet in fleets.values():
                await fleet.stop()
            await arrived(service)
            await service.stop()

    asyncio.run(main())


async def arrived(service: PushService) -> None:
    await asyncio.sleep(0.05)  # the datagram or the TCP stream reaches the listener
    await service.drained()


def recorded(installation: Installation, kind: type) -> list:
    notifications = installation.head_end.recorder.select_notifications(start=1, limit=10_000)
    events = [installation.head_end.mapper.to_domain_event(n) for n in notifications]
    return [event for event in events if isinstance(event, kind)]


def intervals(installation: Installation, serial: str) -> list[dict[str, object]]:
    return installation.readings.intervals(
        Channel.id_for(f"SP-{serial}:A+"), NOW - dt.timedelta(days=2), NOW
    )


def test_a_ciphered_load_profile_push_over_udp_becomes_interval_data_once(
    installation: Installation,
) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        pusher = fleets["PUSH-HLS"].pusher("PUSH-HLS")
        await pusher.push_load_profile()
        await arrived(service)
        await pusher.push_load_profile()  # a new push carrying the same entries

    pushing(installation, scenario, entries=8)

    rows = intervals(installation, "PUSH-HLS")
    assert len(rows) == 8
    assert rows[-1]["start"] == NOW - dt.timedelta(minutes=15)  # entries end at 06:00
    assert all(row["value"] > 0 for row in rows)
    pushes = recorded(installation, MeterPush.Received)
    assert len(pushes) == 2 and {p.meter_serial for p in pushes} == {"PUSH-HLS"}
    assert not any(p.critical for p in pushes)


def test_the_same_push_twice_records_nothing_twice(installation: Installation) -> None:
    frames: list[bytes] = []

    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        frames.append(await fleets["PUSH-LLS"].pusher("PUSH-LLS").push_load_profile())
        await arrived(service)
        first = service.ingestion.intervals_recorded
        _reader, writer = await asyncio.open_connection("127.0.0.1", service.listener.tcp_port or 0)
        writer.write(frames[0])  # the very same plain frame again
        await writer.drain()
        writer.close()
        await arrived(service)
        assert (first, service.ingestion.intervals_recorded) == (96, 96)

    pushing(installation, scenario)

    assert len(intervals(installation, "PUSH-LLS")) == 96
    assert len(recorded(installation, MeterPush.Received)) == 1  # plain: same bytes, same id


def test_an_alarm_push_is_recorded_as_critical(installation: Installation) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        await fleets["PUSH-HLS"].pusher("PUSH-HLS").push_alarm("meter_cover_removed")

    pushing(installation, scenario)

    [alarm] = recorded(installation, MeterPush.Received)
    assert alarm.critical and alarm.meter_serial == "PUSH-HLS"
    assert alarm.body[0] == bytes([0, 4, 25, 9, 0, 255]).hex()  # the push setup on alarm
    assert alarm.body[3] == 44  # fraud detection log: meter cover removed
    assert intervals(installation, "PUSH-HLS") == []


def test_a_replayed_ciphered_push_is_a_security_event_kept_as_a_raw_frame(
    installation: Installation,
) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        frame = await fleets["PUSH-HLS"].pusher("PUSH-HLS").push_load_profile()
        await arrived(service)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
            attacker.sendto(frame, ("127.0.0.1", service.listener.udp_port or 0))

    pushing(installation, scenario, entries=4)

    [event] = recorded(installation, SecurityEvent.Recorded)
    assert event.kind == "replayed-counter" and event.meter_serial == "PUSH-HLS"
    assert len(recorded(installation, MeterPush.Received)) == 1
    writer = installation.frame_recorder
    assert writer is not None and writer.flush()
    original, replay = writer.store.of_meter("PUSH-HLS")
    assert original.frame == replay.frame and original.frame[8] == 0xDB  # general-glo
    assert (original.note, replay.note) == ("accepted", "replayed-counter")
    assert {original.kind, original.transport, original.direction} == {"push", "udp", "received"}


def test_meters_push_on_their_own_every_interval(installation: Installation) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        pusher = fleets["PUSH-HLS"].pusher("PUSH-HLS")
        async with asyncio.timeout(5):
            while pusher.pushed < 2:
                await asyncio.sleep(0.05)

    pushing(installation, scenario, every=dt.timedelta(seconds=0.1), tick=0.05, entries=2)

    assert len(recorded(installation, MeterPush.Received)) >= 2
    assert len(intervals(installation, "PUSH-HLS")) == 2


def test_junk_on_the_push_port_is_kept_as_a_raw_frame_of_no_meter(
    installation: Installation,
) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", service.listener.tcp_port or 0)
        writer.write(b"GET / HTTP/1.1\r\nHost: meter\r\n\r\n")
        await writer.drain()
        writer.close()

    pushing(installation, scenario)

    writer = installation.frame_recorder
    assert writer is not None and writer.flush()
    from adapters.raw_frames.table import raw_frames

    with writer.store._engine.connect() as connection:  # frames of no meter: by SQL only
        rows = connection.execute(raw_frames.select()).mappings().all()
    [junk] = rows
    assert junk["meter_serial"] is None and junk["note"] == "malformed"
    assert bytes(junk["frame"]).startswith(b"GET / HTTP/1.1\r\nHost: meter")


def test_a_plain_push_in_the_name_of_a_meter_with_keys_is_refused(
    installation: Installation,
) -> None:
    async def scenario(service: PushService, fleets: dict[str, SimulatedFleet]) -> None:
        impostor = SimulatedFleet(  # says it is PUSH-HLS, but cannot cipher
            [SimulatedMeterConfig("PUSH-HLS", clock=lambda: NOW)],
            PushSettings(PushDestination("127.0.0.1", service.listener.udp_port or 0, "udp")),
        )
        await impostor.start()
        try:
            await impostor.pusher("PUSH-HLS").push_load_profile()
        finally:
            await impostor.stop()

    pushing(installation, scenario)

    [event] = recorded(installation, SecurityEvent.Recorded)
    assert event.kind == "unknown_meter" and "without ciphering" in event.detail
    assert recorded(installation, MeterPush.Received) == []
    assert intervals(installation, "PUSH-HLS") == []
