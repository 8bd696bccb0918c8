"""The push listener on real UDP and TCP sockets, fed with the 13 ciphered DataNotifications
a real meter pushed (tests/fixtures/dlms/NOTICE.md), then with replays, forgeries and junk."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.push import (
    PUSH_NAMESPACE,
    DataNotification,
    PushListener,
    PushRejected,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dlms"
REAL = json.loads((FIXTURES / "real_meter_frames.json").read_text())
PUSHES = [bytes.fromhex(frame) for frame in REAL["wrapper_udp_data_notifications"]["frames_hex"]]
METER_TITLE = bytes.fromhex("2f19229199164103")
METER_KEYS = SecurityKeys(b"MYDUMMYGLOBALKEY", b"MYDUMMYGLOBALKEY")
PLAIN = bytes.fromhex(REAL["apdus_from_general_global_cipher_tests_hex"][3])


def wrapped(apdu: bytes) -> bytes:
    return bytes.fromhex("000100010001") + len(apdu).to_bytes(2, "big") + apdu


class RecordingSink:
    def __init__(self, fail_first: bool = False) -> None:
        self.notifications: list[DataNotification] = []
        self.rejections: list[PushRejected] = []
        self.arrived = asyncio.Event()
        self._fail = fail_first

    async def notification_received(self, notification: DataNotification, peer: str) -> None:
        self.notifications.append(notification)
        self.arrived.set()
        if self._fail:
            self._fail = False
            raise RuntimeError("the store is down")

    async def push_rejected(self, rejection: PushRejected) -> None:
        self.rejections.append(rejection)
        self.arrived.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.notifications) + len(self.rejections) < count:
                self.arrived.clear()
                await self.arrived.wait()


Scenario = Callable[[PushListener, RecordingSink], Awaitable[None]]


def run(scenario: Scenario, **options: object) -> RecordingSink:
    async def main() -> RecordingSink:
        sink = RecordingSink(fail_first=bool(options.pop("fail_first", False)))
        listener = PushListener(sink, keyring={METER_TITLE: METER_KEYS}, **options)  # type: ignore[arg-type]
        await listener.start()
        try:
            await scenario(listener, sink)
        finally:
            await listener.stop()
        return sink

    return asyncio.run(main())


async def send_udp(listener: PushListener, *frames: bytes) -> None:
    assert listener.udp_port is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for frame in frames:
            sender.sendto(frame, ("127.0.0.1", listener.udp_port))
            await asyncio.sleep(0.001)  # keep the order a real meter's pushes would have


async def send_tcp(listener: PushListener, data: bytes, chunk: int = 7) -> None:
    assert listener.tcp_port is not None
    _reader, writer = await asyncio.open_connection("127.0.0.1", listener.tcp_port)
    for start in range(0, len(data), chunk):  # frames cut at awkward places
        writer.write(data[start : start + chunk])
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_the_13_real_pushes_arrive_over_udp_checked_and_in_order() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_udp(listener, *PUSHES)
        await sink.wait_for(13)

    sink = run(scenario)

    assert sink.rejections == []
    counters = [n.invocation_counter or 0 for n in sink.notifications]
    assert counters == sorted(counters) and counters[0] == 0x1E5 and len(set(counters)) == 13
    assert {n.system_title for n in sink.notifications} == {METER_TITLE}
    first = sink.notifications[0]
    assert first.long_invoke_id == 0x1DB and first.sent_at is None
    assert isinstance(first.body, bytes) and len(first.body) == 34
    assert first.notification_id == uuid.uuid5(PUSH_NAMESPACE, "2f19229199164103:485")


def test_the_13_real_pushes_arrive_over_one_tcp_stream() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_tcp(listener, b"".join(PUSHES))
        await sink.wait_for(13)

    sink = run(scenario)

    assert [n.invocation_counter for n in sink.notifications] == [
        int.from_bytes(frame[20:24], "big") for frame in PUSHES
    ]


def test_a_replayed_push_is_a_security_event_and_the_listener_carries_on() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_udp(listener, PUSHES[0], PUSHES[1], PUSHES[0], PUSHES[2])
        await sink.wait_for(4)

    sink = run(scenario)

    assert [n.invocation_counter for n in sink.notifications] == [485, 486, 487]
    [replay] = sink.rejections
    assert replay.reason == "replayed-counter" and replay.security_event
    assert replay.system_title == METER_TITLE.hex()


@pytest.mark.parametrize(
    "position", [20, 40, -13, -12, -1], ids=["counter", "text", "text-end", "tag", "tag-end"]
)
def test_a_push_altered_in_one_byte_is_rejected_over_tcp(position: int) -> None:
    altered = bytearray(PUSHES[3])
    altered[position] ^= 0x80

    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_tcp(listener, bytes(altered) + PUSHES[4])
        await sink.wait_for(2)

    sink = run(scenario)

    [rejection] = sink.rejections
    assert rejection.reason == "bad-tag" and rejection.security_event
    assert [n.invocation_counter for n in sink.notifications] == [489]


def test_pushes_from_an_unknown_meter_are_security_events() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        listener.keyring = {}
        await send_udp(listener, PUSHES[0])
        await sink.wait_for(1)

    sink = run(scenario)

    assert [r.reason for r in sink.rejections] == ["unknown-system-title"]
    assert sink.notifications == []


def test_junk_is_rejected_as_malformed_and_a_failing_sink_stops_nothing() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_udp(listener, b"\x00\x01\x00", b"\x00\x02" + b"\x00" * 10, PUSHES[0])
        await send_tcp(listener, b"GET / HTTP/1.1\r\n\r\n")  # not WRAPPER: that connection ends
        await send_udp(listener, PUSHES[1])
        await sink.wait_for(5)

    sink = run(scenario, fail_first=True)

    assert [r.reason for r in sink.rejections] == ["malformed"] * 3
    assert not any(r.security_event for r in sink.rejections)
    assert [n.invocation_counter for n in sink.notifications] == [485, 486]


def test_plain_pushes_are_accepted_with_an_id_from_their_bytes_unless_refused() -> None:
    async def scenario(listener: PushListener, sink: RecordingSink) -> None:
        await send_udp(listener, wrapped(PLAIN), wrapped(PLAIN))
        await sink.wait_for(2)

    sink = run(scenario)
    refused = run(scenario, accept_plain=False)

    first, again = sink.notifications
    assert first.notification_id == again.notification_id  # the consumer ingests it once
    assert first.system_title is None and first.invocation_counter is None
    assert [r.reason for r in refused.rejections] == ["not-protected"] * 2
