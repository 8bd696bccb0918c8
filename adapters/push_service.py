"""The push listener wired to the HeadEnd: keys from the vault, critical pushes first.

The listener checks frames one at a time; this sink sorts what it accepts into two
queues and always drains the critical one first, so a last gasp or a tamper alarm is
recorded ahead of a backlog of load-profile pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.push import DataNotification, PushRejected
from application.push_ingestion import PushIngestion, ReceivedPush, is_critical

log = logging.getLogger(__name__)


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


class MeterKeyring:
    """Which system title is which meter, and its keys: rebuilt from the registry.

    ``keys`` is the very dict the listener holds, refreshed in place, so a meter
    registered after the listener started is known after the next refresh.
    """

    def __init__(self, installation: Any) -> None:
        self.installation = installation
        self.keys: dict[bytes, SecurityKeys] = {}
        self.meters: dict[str, str] = {}  # system title hex -> serial

    def refresh(self) -> int:
        from datetime import UTC, datetime

        installation = self.installation
        installation.read_models.catch_up()
        today = datetime.now(UTC).date()
        registry = installation.registry
        keys: dict[bytes, SecurityKeys] = {}
        meters: dict[str, str] = {}
        for row in installation.read_models.directory.meters(limit=1_000_000):
            settings = registry.get("meter", row["serial"]).attributes_on(today)
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
        return len(meters)

    def meter_of_title(self, title: str) -> str | None:
        return self.meters.get(title)
