"""Real meter pushes over UDP into the HeadEnd: once each, refusals as security events."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from adapters.dlms.push import PushListener
from adapters.persistence.store import StoreLocation
from adapters.push_service import MeterKeyring, PrioritizedPushSink
from adapters.security.passwords import Argon2PasswordHasher
from application.push_ingestion import PushIngestion, is_critical
from domain.meter_push import MeterPush, SecurityEvent
from domain.provenance import Provenance
from interfaces.installation import Installation

FRAMES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "dlms" / "real_meter_frames.json").read_text()
)["wrapper_udp_data_notifications"]
SETUP = Provenance("test", "set-up", "system")


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


def register_pushing_meter(installation: Installation) -> None:
    installation.registry.create_meter(
        {
            "serial": "REAL-1",
            "meter_type": "three-phase",
            "security_profile": "hls-gmac",
            "system_title": FRAMES["system_title_hex"],
        },
        date(2021, 1, 1),
        SETUP,
        secrets={
            "block_cipher_key": FRAMES["block_cipher_key_ascii"].encode().hex(),
            "authentication_key": FRAMES["authentication_key_ascii"].encode().hex(),
        },
    )


async def push_over_udp(installation: Installation, frames: list[bytes]) -> PrioritizedPushSink:
    keyring = MeterKeyring(installation)
    await asyncio.to_thread(keyring.refresh)
    sink = PrioritizedPushSink(PushIngestion(installation.head_end, keyring.meter_of_title))
    listener = PushListener(sink, keyring=keyring.keys, udp_port=0, tcp_port=None)
    await listener.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for frame in frames:
                sender.sendto(frame, ("127.0.0.1", listener.udp_port or 0))
                await asyncio.sleep(0.01)
        for _ in range(300):
            await asyncio.sleep(0.02)
            if len(sink.outcomes) + sink.rejected >= len(frames):
                break
        await sink.drained()
    finally:
        await listener.stop()
        await sink.close()
    return sink


def recorded(installation: Installation, kind: type) -> list:
    notifications = installation.head_end.recorder.select_notifications(start=1, limit=1000)
    events = [installation.head_end.mapper.to_domain_event(n) for n in notifications]
    return [event for event in events if isinstance(event, kind)]


def test_the_thirteen_real_pushes_are_recorded_once_each(installation: Installation) -> None:
    register_pushing_meter(installation)
    frames = [bytes.fromhex(frame) for frame in FRAMES["frames_hex"]]
    sink = asyncio.run(push_over_udp(installation, frames + frames[:3]))
    pushes = recorded(installation, MeterPush.Received)
    assert len(pushes) == 13
    assert {push.meter_serial for push in pushes} == {"REAL-1"}
    assert [c for _, c in sink.outcomes].count("recorded") == 13
    # The repeats were refused as replays by the counter check, not recorded again.
    replays = [e for e in recorded(installation, SecurityEvent.Recorded) if "replay" in e.kind]
    assert len(replays) == 3


def test_tampered_and_unknown_pushes_become_security_events(installation: Installation) -> None:
    register_pushing_meter(installation)
    good = bytes.fromhex(FRAMES["frames_hex"][0])
    tampered = bytearray(good)
    tampered[-3] ^= 0x01  # inside the GCM tag
    asyncio.run(push_over_udp(installation, [bytes(tampered)]))
    events = recorded(installation, SecurityEvent.Recorded)
    assert len(events) == 1 and events[0].meter_serial == "REAL-1"
    assert not recorded(installation, MeterPush.Received)


def test_a_push_from_a_title_no_meter_has_is_a_security_event(
    installation: Installation,
) -> None:
    frames = [bytes.fromhex(FRAMES["frames_hex"][0])]
    asyncio.run(push_over_udp(installation, frames))  # no meter registered: no keys either
    events = recorded(installation, SecurityEvent.Recorded)
    assert len(events) == 1
    assert events[0].system_title == FRAMES["system_title_hex"]
    assert not recorded(installation, MeterPush.Received)


def test_alarm_and_relay_objects_make_a_push_critical() -> None:
    alarm_register = bytes([0, 0, 97, 98, 0, 255]).hex()
    profile = bytes([1, 0, 99, 1, 0, 255]).hex()
    assert is_critical([alarm_register, 5])
    assert is_critical([[bytes([0, 0, 96, 3, 10, 255]).hex(), 1]])
    assert not is_critical([profile, [1, 2, 3]])
