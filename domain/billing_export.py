"""BillingExport: one channel's UTC day as handed to billing, version after version.

A day is exported when its data is final (every interval known and settled). The data
version exported is the ``ChannelDay`` version whose values were made ready, with its
recorded time, so billing reads exactly those values (``as_of`` that time). Exporting
the same version again records nothing; a day whose data changed later (an edit, a late
read, an estimate) is exported again as a new version, and billing sees it once more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance

EXPORTS_NAMESPACE = UUID("6f1d2b8e-3c4a-5e7f-9a0b-1c2d3e4f5a6b")


class BillingExport(Aggregate):
    TOPIC = "hes.exports.BillingExport"

    if TYPE_CHECKING:
        channel_id: UUID
        channel_key: str
        day: str
        exported_version: int  # 0: nothing exported yet
        exports: int

    class Opened(Aggregate.Created):
        """The first version of this channel day went to billing."""

        TOPIC = "hes.exports.BillingExport.Opened"
        channel_id: UUID
        channel_key: str
        day: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BillingExport)
            aggregate.channel_id = self.channel_id
            aggregate.channel_key = self.channel_key
            aggregate.day = self.day
            aggregate.exported_version = 0
            aggregate.exports = 0

    class VersionExported(Aggregate.Event):
        """A version of the day's data was made ready for billing.

        ``data_version`` and ``data_recorded_at`` name the ChannelDay version exported;
        ``qualities`` counts its intervals per quality; ``cycle_key``, ``due_at`` and
        ``task`` say which run of which workflow chain exported it (empty when none).
        """

        TOPIC = "hes.exports.BillingExport.VersionExported"
        data_version: int
        data_recorded_at: str
        intervals: int
        total: float
        unit: str
        qualities: dict[str, int]
        cycle_key: str
        due_at: str
        task: str
        actor: str
        reason: str
        reason_code: str
        source: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BillingExport)
            aggregate.exported_version = self.data_version
            aggregate.exports += 1

    class Created(Aggregate.Created):
        """Unused: the library's generic creation event, named here for its topic."""

        TOPIC = "hes.exports.BillingExport.Created"

    @staticmethod
    def id_for(channel_id: UUID, day: date) -> UUID:
        return uuid5(EXPORTS_NAMESPACE, f"{channel_id}:{day.isoformat()}")

    @classmethod
    def open(cls, channel_id: UUID, channel_key: str, day: date) -> BillingExport:
        return cls._create(
            cls.Opened,
            id=cls.id_for(channel_id, day),
            channel_id=channel_id,
            channel_key=channel_key,
            day=day.isoformat(),
        )

    def export(
        self,
        data_version: int,
        data_recorded_at: str,
        figures: Mapping[str, Any],
        provenance: Provenance,
        *,
        cycle_key: str = "",
        due_at: str = "",
        task: str = "",
    ) -> bool:
        """Exports ``data_version`` unless it (or a later one) was; says whether it did.

        ``figures``: ``intervals``, ``total``, ``unit`` and ``qualities`` of that version.
        """
        if data_version < 1:
            raise ValueError("a channel day's data version starts at 1")
        if data_version <= self.exported_version:
            return False  # exported already: billing has it (or something newer)
        self.trigger_event(
            self.VersionExported,
            data_version=data_version,
            data_recorded_at=data_recorded_at,
            intervals=int(figures["intervals"]),
            total=float(figures["total"]),
            unit=str(figures["unit"]),
            qualities={str(name): int(count) for name, count in figures["qualities"].items()},
            cycle_key=cycle_key,
            due_at=due_at,
            task=task,
            **provenance.as_event_fields(),
        )
        return True
