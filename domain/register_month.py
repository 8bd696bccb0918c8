"""Register reads of one channel: the cumulative registers (the total, TOU rates) its
meter reported, one bounded stream per register and UTC month.

A read is a moment and an exact decimal value in the channel's unit. Recording a read
already known with the same value records nothing (re-reads and repeated deliveries are
idempotent); a different value for a known moment is a correction, recorded as a new
version, so the earlier value stays retrievable as of the time it was known. Values are
kept as decimal text: a billing register is never rounded through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance

REGISTERS_NAMESPACE = UUID("6a1f3b2c-4d5e-5f60-8a7b-9c0d1e2f3a4b")


class InvalidRegisterRead(ValueError):
    """A read without a time zone, outside the stream's month, or not a finite number."""


def month_of(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m}"


class RegisterMonth(Aggregate):
    TOPIC = "hes.readings.RegisterMonth"

    if TYPE_CHECKING:
        channel_id: UUID
        register: str
        month: str
        reads: dict[str, str]  # read_at (ISO, UTC) -> value text
        sources: dict[str, dict[str, Any]]  # read_at -> who, why, from where, version

    class Opened(Aggregate.Created):
        TOPIC = "hes.readings.RegisterMonth.Opened"
        channel_id: UUID
        register: str
        month: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisterMonth)
            aggregate.channel_id = self.channel_id
            aggregate.register = self.register
            aggregate.month = self.month
            aggregate.reads = {}
            aggregate.sources = {}

    class ReadsRecorded(Aggregate.Event):
        """New reads, or corrected values of known ones: [[read_at ISO, value], ...]."""

        TOPIC = "hes.readings.RegisterMonth.ReadsRecorded"
        reads: list[list[str]]
        actor: str
        reason: str
        reason_code: str
        source: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisterMonth)
            reads, sources = dict(aggregate.reads), dict(aggregate.sources)
            provenance = {
                "actor": self.actor,
                "reason": self.reason,
                "reason_code": self.reason_code,
                "source": self.source,
                "recorded_at": self.timestamp.isoformat(),
                "version": self.originator_version,
            }
            for read_at, value in self.reads:
                reads[read_at] = value
                sources[read_at] = provenance
            aggregate.reads, aggregate.sources = reads, sources

    class Created(Aggregate.Created):
        """Unused: the library's generic creation event, named here for its topic."""

        TOPIC = "hes.readings.RegisterMonth.Created"

    @staticmethod
    def id_for(channel_id: UUID, register: str, month: str) -> UUID:
        return uuid5(REGISTERS_NAMESPACE, f"{channel_id}/{register}/{month}")

    @classmethod
    def open(cls, channel_id: UUID, register: str, month: str) -> RegisterMonth:
        if not register.strip():
            raise InvalidRegisterRead("a register read names its register")
        return cls._create(
            cls.Opened,
            id=cls.id_for(channel_id, register, month),
            channel_id=channel_id,
            register=register,
            month=month,
        )

    def record(self, reads: Sequence[tuple[datetime, Decimal]], provenance: Provenance) -> int:
        """Records the reads that are new or differ from what is known; how many."""
        changed: dict[str, str] = {}
        for read_at, value in reads:
            at = _instant(read_at)
            if month_of(read_at) != self.month:
                raise InvalidRegisterRead(f"{at} is not in {self.month}")
            number = _number(value)
            known = self.reads.get(at)
            if known is None or Decimal(known) != number:
                changed[at] = str(number)
        if changed:
            self.trigger_event(
                self.ReadsRecorded,
                reads=[[at, value] for at, value in sorted(changed.items())],
                **provenance.as_event_fields(),
            )
        return len(changed)

    def rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The reads in [start, end), in time order, with who recorded them."""
        found = []
        for at in sorted(self.reads):
            moment = datetime.fromisoformat(at)
            if start <= moment < end:
                found.append(
                    {
                        "register": self.register,
                        "read_at": moment,
                        "value": Decimal(self.reads[at]),
                        **self.sources[at],
                    }
                )
        return found


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise InvalidRegisterRead("register read times must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _number(value: Decimal | str | int) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidRegisterRead(f"a register value must be a number, not {value!r}") from None
    if not number.is_finite():
        raise InvalidRegisterRead(f"a register value must be finite, not {value}")
    return number
