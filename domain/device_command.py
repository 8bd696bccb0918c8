"""DeviceCommand: one instruction to one meter, followed from request to outcome.

requested -> queued -> sent -> confirmed | failed | timed out; a request may be
cancelled before it is sent. Every step records who and why, so an operator and an
auditor see exactly what was asked of a meter and what came of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.command_types import COMMAND_TYPES, check_parameters
from domain.provenance import Provenance

COMMANDS_NAMESPACE = UUID("2c7e9a41-6b3f-5d18-9e0a-7f4b3c2d1e6a")

OPEN_STATES = ("requested", "queued", "sent")
FINAL_STATES = ("confirmed", "failed", "timed_out", "cancelled")


class CommandStateError(ValueError):
    """A step that the command's current state does not allow."""


class DeviceCommand(Aggregate):
    TOPIC = "hes.head_end.DeviceCommand"

    if TYPE_CHECKING:
        meter_serial: str
        command_type: str
        parameters: dict[str, Any]
        state: str
        attempts: int
        result: dict[str, Any]
        error: str

    class WithProvenance(Aggregate.Event):
        TOPIC = "hes.head_end.DeviceCommand.WithProvenance"  # abstract
        actor: str
        reason: str
        reason_code: str
        source: str

    class Created(Aggregate.Created):
        TOPIC = "hes.head_end.DeviceCommand.Created"  # unused generic creation event

    class Requested(WithProvenance, Aggregate.Created):
        """Someone asked for this command to be carried out on a meter."""

        TOPIC = "hes.head_end.DeviceCommand.Requested"
        meter_serial: str
        command_type: str
        parameters: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.meter_serial = self.meter_serial
            aggregate.command_type = self.command_type
            aggregate.parameters = dict(self.parameters)
            aggregate.state = "requested"
            aggregate.attempts = 0
            aggregate.result = {}
            aggregate.error = ""

    class Queued(WithProvenance):
        TOPIC = "hes.head_end.DeviceCommand.Queued"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "queued"

    class Sent(WithProvenance):
        """The command went out to the meter (one more attempt)."""

        TOPIC = "hes.head_end.DeviceCommand.Sent"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "sent"
            aggregate.attempts += 1

    class Confirmed(WithProvenance):
        """The meter carried it out; ``result`` holds what it answered."""

        TOPIC = "hes.head_end.DeviceCommand.Confirmed"
        result: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "confirmed"
            aggregate.result = dict(self.result)

    class Failed(WithProvenance):
        TOPIC = "hes.head_end.DeviceCommand.Failed"
        error: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "failed"
            aggregate.error = self.error

    class TimedOut(WithProvenance):
        TOPIC = "hes.head_end.DeviceCommand.TimedOut"
        error: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "timed_out"
            aggregate.error = self.error

    class Cancelled(WithProvenance):
        TOPIC = "hes.head_end.DeviceCommand.Cancelled"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, DeviceCommand)
            aggregate.state = "cancelled"

    @staticmethod
    def id_for(request_key: str) -> UUID:
        """Commands are idempotent by the caller's request key (a retried POST)."""
        return uuid5(COMMANDS_NAMESPACE, request_key)

    @classmethod
    def request(
        cls,
        request_key: str,
        meter_serial: str,
        command_type: str,
        parameters: Mapping[str, Any],
        provenance: Provenance,
    ) -> DeviceCommand:
        if command_type not in COMMAND_TYPES:
            known = ", ".join(sorted(COMMAND_TYPES))
            raise CommandStateError(f"unknown command {command_type!r}; known: {known}")
        return cls._create(
            cls.Requested,
            id=cls.id_for(request_key),
            meter_serial=meter_serial,
            command_type=command_type,
            parameters=check_parameters(command_type, parameters),
            **provenance.as_event_fields(),
        )

    def queue(self, provenance: Provenance) -> None:
        self._expect("requested", "queue")
        self.trigger_event(self.Queued, **provenance.as_event_fields())

    def send(self, provenance: Provenance) -> None:
        self._expect(("requested", "queued", "sent"), "send")
        self.trigger_event(self.Sent, **provenance.as_event_fields())

    def confirm(self, result: Mapping[str, Any], provenance: Provenance) -> None:
        self._expect("sent", "confirm")
        self.trigger_event(self.Confirmed, result=dict(result), **provenance.as_event_fields())

    def fail(self, error: str, provenance: Provenance) -> None:
        self._expect(OPEN_STATES, "fail")
        self.trigger_event(self.Failed, error=error, **provenance.as_event_fields())

    def time_out(self, error: str, provenance: Provenance) -> None:
        self._expect("sent", "time out")
        self.trigger_event(self.TimedOut, error=error, **provenance.as_event_fields())

    def cancel(self, provenance: Provenance) -> None:
        self._expect(("requested", "queued"), "cancel")
        self.trigger_event(self.Cancelled, **provenance.as_event_fields())

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def _expect(self, states: str | tuple[str, ...], step: str) -> None:
        allowed = (states,) if isinstance(states, str) else states
        if self.state not in allowed:
            raise CommandStateError(f"cannot {step} a command that is {self.state}")
