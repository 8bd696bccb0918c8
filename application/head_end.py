"""HeadEnd: commands to meters, each followed as a DeviceCommand from request to outcome.

The meter is reached through a ``MeterCommandPort`` (the DLMS adapter); this module only
decides what is recorded: every attempt, the meter's answer, a refusal or a timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.registry import Registry
from domain.device_command import DeviceCommand
from domain.provenance import Provenance

HEAD_END = Provenance(actor="hes-head-end", reason="command execution", source="system")


class CommandRefused(Exception):
    """The meter answered and refused, or could not be reached at all."""


class MeterNotReached(CommandRefused):
    """No session came about (no connection, a dropped one, a garbled answer, no free
    session slot): nothing was refused, and trying again later may well succeed."""


class CommandNotAnswered(Exception):
    """The meter did not answer in time; whether it acted is unknown."""


class MeterCommandPort(Protocol):
    async def execute(
        self, serial: str, command_type: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Carries the command out on the meter; returns what the meter answered."""
        ...


class HeadEnd(HesApplication):
    name = "HeadEnd"

    def __init__(self, env: Mapping[str, str] | None = None, registry: Registry | None = None):
        super().__init__(dict(env) if env is not None else None)
        self.registry = registry

    def request_command(
        self,
        serial: str,
        command_type: str,
        parameters: Mapping[str, Any],
        provenance: Provenance,
        request_key: str | None = None,
    ) -> UUID:
        """Records the request (idempotent by ``request_key``); returns the command id."""
        if self.registry is not None and not self.registry.exists("meter", serial):
            raise UnknownAggregate("meter", serial)
        key = request_key or uuid.uuid4().hex
        command = DeviceCommand.request(key, serial, command_type, parameters, provenance)
        try:
            existing: DeviceCommand = self.repository.get(command.id)
        except AggregateNotFoundError:
            self.save(command)
            return command.id
        if (existing.meter_serial, existing.command_type) != (serial, command_type):
            raise DuplicateKey("command request", key)
        return existing.id

    def command(self, command_id: UUID) -> DeviceCommand:
        try:
            found: DeviceCommand = self.repository.get(command_id)
        except AggregateNotFoundError:
            raise UnknownAggregate("command", str(command_id)) from None
        return found

    def queue(self, command_id: UUID, provenance: Provenance = HEAD_END) -> None:
        command = self.command(command_id)
        command.queue(provenance)
        self._save(command)

    def cancel(self, command_id: UUID, provenance: Provenance) -> None:
        command = self.command(command_id)
        command.cancel(provenance)
        self._save(command)

    async def execute(
        self, command_id: UUID, port: MeterCommandPort, timeout: float = 60.0
    ) -> DeviceCommand:
        """Sends the command once and records the outcome (confirmed, failed, timed out)."""
        command = await asyncio.to_thread(self.command, command_id)
        if command.is_final:
            return command  # a re-delivered task: the outcome is already recorded
        command.send(HEAD_END)
        await asyncio.to_thread(self._save, command)
        try:
            result = await asyncio.wait_for(
                port.execute(command.meter_serial, command.command_type, command.parameters),
                timeout,
            )
        except (TimeoutError, CommandNotAnswered) as error:
            command.time_out(str(error) or f"no answer within {timeout:g} s", HEAD_END)
        except CommandRefused as error:
            command.fail(str(error), HEAD_END)
        else:
            command.confirm({**result, "confirmed_at": datetime.now(UTC).isoformat()}, HEAD_END)
        await asyncio.to_thread(self._save, command)
        return command

    def _save(self, command: DeviceCommand) -> None:
        try:
            self.save(command)
        except IntegrityError:
            raise ConcurrentEdit("command", str(command.id)) from None
