"""The push listener wired to the HeadEnd: keys from the vault, critical pushes first.

The listener checks frames one at a time; this sink sorts what it accepts into two
queues and always drains the critical one first, so a last gasp or a tamper alarm is
recorded ahead of a backlog of load-profile pushes. A pushed load profile is decoded
here (`push_objects`) and handed on as intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.errors import FrameError
from adapters.dlms.push import DataNotification, PushListener, PushOutcome, PushRejected
from adapters.dlms.push.push_objects import decode_profile_push, device_id_of
from application.collection import ProfileInterval
from application.push_ingestion import PushIngestion, ReceivedPush, is_critical
from application.pushed_profiles import PushedLoadProfiles

log = logging.getLogger(__name__)
LOAD_PROFILE_ENERGY = "1.0.1.29.0.255"  # the column of the load profile channels are fed from


def json_stable(value: Any) -> Any:
    """Decoded COSEM data as event-safe JSON: octet strings as hex, structures as lists."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_stable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class PrioritizedPushSink:
    def __init__(self, ingestion: PushIngestion) -> None:
        self.ingestion = ingestion
        self.critical: asyncio.Queue[ReceivedPush] = asyncio.Queue()
        self.bulk: asyncio.Queue[ReceivedPush] = asyncio.Queue()
        self._ready = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.outcomes: list[tuple[str, str]] = []  # (notification id, outcome), for reports
        self.rejected = 0

    async def notification_received(self, notification: DataNotification, peer: str) -> None:
        push = ReceivedPush(
            notification_id=notification.notification_id,
            system_title=notification.system_title.hex() if notification.system_title else None,
            invocation_counter=notification.invocation_counter,
            sent_at=notification.sent_at.isoformat() if notification.sent_at else None,
            body=json_stable(notification.body),
            peer=peer,
            device_id=device_id_of(notification.body),
            intervals=pushed_intervals(notification, peer),
        )
        await (self.critical if is_critical(push.body) else self.bulk).put(push)
        self._ready.set()
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())

    async def push_rejected(self, rejection: PushRejected) -> None:
        self.rejected += 1
        if rejection.security_event:
            await asyncio.to_thread(
                self.ingestion.reject,
                rejection.reason,
                rejection.system_title,
                rejection.peer,
                rejection.detail,
            )

    async def drained(self) -> None:
        """Waits until everything received so far is recorded (tests, shutdown)."""
        while not (self.critical.empty() and self.bulk.empty()) or self._busy:
            await asyncio.sleep(0.01)

    _busy = False

    async def _drain(self) -> None:
        while True:
            await self._ready.wait()
            queue = self.critical if not self.critical.empty() else self.bulk
            if queue.empty():
                self._ready.clear()
                continue
            push = queue.get_nowait()
            self._busy = True
            try:
                outcome = await asyncio.to_thread(self.ingestion.receive, push)
                self.outcomes.append((str(push.notification_id), outcome))
            except Exception:  # a store failure must not stop the listener
                log.exception("recording push %s failed", push.notification_id)
            finally:
                self._busy = False

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


def pushed_intervals(notification: DataNotification, peer: str) -> tuple[ProfileInterval, ...]:
    """The load profile entries a push carries (none if it carries no load profile)."""
    try:
        profile = decode_profile_push(notification.body)
    except FrameError as error:  # recorded as a push all the same; its rows are not read
        log.warning("load profile push from %s not readable: %s", peer, error)
        return ()
    if profile is None:
        return ()
    return tuple(ProfileInterval(r.captured_at, r.status, r.energy_wh) for r in profile.rows)


class MeterKeyring:
    """Which system title is which meter, and its keys: rebuilt from the registry.

    ``keys`` is the very dict the listener holds, refreshed in place, so a meter
    registered after the listener started is known after the next refresh.
    """

    def __init__(self, installation: Any) -> None:
        self.installation = installation
        self.keys: dict[bytes, SecurityKeys] = {}
        self.meters: dict[str, str] = {}  # system title hex -> serial
        self.plain_meters: set[str] = set()  # serials of meters without HLS keys
        self.channels: dict[str, list[str]] = {}  # serial -> channels its profile feeds

    def refresh(self) -> int:
        from datetime import UTC, datetime

        installation = self.installation
        installation.read_models.catch_up()
        today = datetime.now(UTC).date()
        registry = installation.registry
        keys: dict[bytes, SecurityKeys] = {}
        meters: dict[str, str] = {}
        plain: set[str] = set()
        directory = installation.read_models.directory
        for row in directory.meters(limit=1_000_000):
            settings = registry.get("meter", row["serial"]).attributes_on(today)
            if settings.get("security_profile") != "hls-gmac":
                plain.add(row["serial"])
            title = settings.get("system_title")
            if not title:
                continue
            meters[title] = row["serial"]
            if settings.get("security_profile") == "hls-gmac":
                secrets = [
                    registry.meter_secret(row["serial"], name, today)
                    for name in ("block_cipher_key", "authentication_key")
                ]
                if all(secrets):
                    keys[bytes.fromhex(title)] = SecurityKeys(
                        bytes.fromhex(secrets[0] or ""), bytes.fromhex(secrets[1] or "")
                    )
        self.keys.clear()
        self.keys.update(keys)
        self.meters = meters
        self.plain_meters = plain
        self.channels = _load_profile_channels(directory.channels(limit=1_000_000))
        return len(meters)

    def meter_of_title(self, title: str) -> str | None:
        return self.meters.get(title)

    def meter_of_device(self, serial: str) -> str | None:
        """The meter a plain push names, if it is one that may push in clear."""
        return serial if serial in self.plain_meters else None

    def channels_fed_by(self, serial: str) -> list[str]:
        return self.channels.get(serial, [])

    def identify(self, outcome: PushOutcome) -> str | None:
        """The meter a pushed frame came from, as far as it can tell (raw frames)."""
        if isinstance(outcome, PushRejected):
            return self.meter_of_title(outcome.system_title) if outcome.system_title else None
        if outcome.system_title is not None:
            return self.meter_of_title(outcome.system_title.hex())
        device = device_id_of(outcome.body)
        return self.meter_of_device(device) if device else None


def _load_profile_channels(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Metered channels fed by the load profile's interval energy, per meter serial."""
    fed: dict[str, list[str]] = {}
    for row in rows:
        metered = row.get("kind") == "metered" and row.get("meter_channel") == LOAD_PROFILE_ENERGY
        if metered and row.get("meter_serial"):
            fed.setdefault(str(row["meter_serial"]), []).append(str(row["channel_key"]))
    return fed


class PushService:
    """The push listener of an installation, wired: meters and keys from the registry,
    accepted pushes into the HeadEnd (load profiles into their channels), refusals as
    security events, every frame into the raw-frame store.

        service = PushService(installation, udp_port=4059, tcp_port=4059)
        await service.start()      # listening; `service.listener.udp_port` ...
        await service.refresh()    # meters registered since are known
        await service.stop()       # after recording what was received
    """

    def __init__(
        self,
        installation: Any,
        *,
        host: str = "127.0.0.1",
        udp_port: int | None = 4059,
        tcp_port: int | None = 4059,
        accept_plain: bool = True,
    ) -> None:
        self.keyring = MeterKeyring(installation)
        self.ingestion = PushIngestion(
            installation.head_end,
            self.keyring.meter_of_title,
            meter_of_device=self.keyring.meter_of_device,
            profiles=PushedLoadProfiles(installation.collection, self.keyring.channels_fed_by),
        )
        self.sink = PrioritizedPushSink(self.ingestion)
        self.listener = PushListener(
            self.sink,
            keyring=self.keyring.keys,
            accept_plain=accept_plain,
            host=host,
            udp_port=udp_port,
            tcp_port=tcp_port,
            recorder=getattr(installation, "frame_recorder", None),
            identify=self.keyring.identify,
        )

    async def start(self) -> int:
        """Starts listening; returns how many meters with a system title are known."""
        known = await self.refresh()
        await self.listener.start()
        return known

    async def refresh(self) -> int:
        return await asyncio.to_thread(self.keyring.refresh)

    async def drained(self) -> None:
        """Waits until every frame received so far is checked and recorded."""
        await self.listener.idle()
        await self.sink.drained()

    async def stop(self) -> None:
        await self.listener.stop()
        await self.sink.drained()
        await self.sink.close()
