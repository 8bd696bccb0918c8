"""What meters push unasked: accepted notifications, and frames refused for security.

A ``MeterPush`` is identified by its notification id (system title and invocation
counter), so the same push received twice is recorded once. A ``SecurityEvent`` records
a refused frame (bad tag, replay, unknown sender) for the security officer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance


class MeterPush(Aggregate):
    TOPIC = "hes.head_end.MeterPush"

    if TYPE_CHECKING:
        meter_serial: str
        critical: bool
        body: Any

    class Created(Aggregate.Created):
        TOPIC = "hes.head_end.MeterPush.Created"  # unused generic creation event

    class Received(Aggregate.Created):
        """A meter pushed a DataNotification that verified and was accepted."""

        TOPIC = "hes.head_end.MeterPush.Received"
        meter_serial: str
        system_title: str
        invocation_counter: int | None
        sent_at: str | None
        body: Any
        critical: bool
        peer: str
        actor: str
        reason: str
        reason_code: str
        source: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, MeterPush)
            aggregate.meter_serial = self.meter_serial
            aggregate.critical = self.critical
            aggregate.body = self.body

    @classmethod
    def receive(
        cls,
        notification_id: UUID,
        meter_serial: str,
        system_title: str,
        invocation_counter: int | None,
        sent_at: str | None,
        body: Any,
        critical: bool,
        peer: str,
        provenance: Provenance,
    ) -> MeterPush:
        return cls._create(
            cls.Received,
            id=notification_id,
            meter_serial=meter_serial,
            system_title=system_title,
            invocation_counter=invocation_counter,
            sent_at=sent_at,
            body=body,
            critical=critical,
            peer=peer,
            **provenance.as_event_fields(),
        )


class SecurityEvent(Aggregate):
    TOPIC = "hes.head_end.SecurityEvent"

    class Created(Aggregate.Created):
        TOPIC = "hes.head_end.SecurityEvent.Created"  # unused generic creation event

    class Recorded(Aggregate.Created):
        """A frame was refused for security: who sent it, why it was refused."""

        TOPIC = "hes.head_end.SecurityEvent.Recorded"
        kind: str
        system_title: str | None
        meter_serial: str | None
        peer: str
        detail: str
        actor: str
        reason: str
        reason_code: str
        source: str

    @classmethod
    def record(
        cls,
        event_id: UUID,
        kind: str,
        system_title: str | None,
        meter_serial: str | None,
        peer: str,
        detail: str,
        provenance: Provenance,
    ) -> SecurityEvent:
        return cls._create(
            cls.Recorded,
            id=event_id,
            kind=kind,
            system_title=system_title,
            meter_serial=meter_serial,
            peer=peer,
            detail=detail,
            **provenance.as_event_fields(),
        )
