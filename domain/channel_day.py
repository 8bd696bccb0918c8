"""One channel's interval values for one UTC day: a bounded event stream.

Values arrive as blocks (numpy arrays per event, never an event per interval). A block
that repeats what is already recorded records nothing, which makes re-reads and
re-delivered pushes idempotent; a block that differs records a new version, so every
earlier value stays retrievable as of the time it was known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

import numpy as np
from eventsourcing.domain import Aggregate

from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from domain.vee.estimation.billing_lock import EstimateLocked as EstimateLocked  # re-exported
from domain.vee.estimation.billing_lock import check_replacement_allowed

READINGS_NAMESPACE = UUID("0b5e7c3a-9f2d-5e41-8a6b-3c2d1e0f4a55")
# People's decisions, as plain ints (numpy compares them faster than the enum).
_EDITED, _ACCEPTED = int(ReadingQuality.EDITED), int(ReadingQuality.ACCEPTED)


class BlockOutOfDay(ValueError):
    """A block of intervals that does not fit the day or the channel's interval length."""


_FAILED = int(ReadingQuality.FAILED)
_STANDING = (int(ReadingQuality.RAW), int(ReadingQuality.VALIDATED))


def _newly_failed(current: np.ndarray, judged: np.ndarray) -> bool:
    """Whether a delivery's validation fails a slot that is raw or validated now."""
    return bool(np.any((judged == _FAILED) & np.isin(current, _STANDING)))


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class ChannelDay(Aggregate):
    TOPIC = "hes.readings.ChannelDay"

    if TYPE_CHECKING:
        channel_id: UUID
        day: str
        interval_minutes: int
        values: np.ndarray
        statuses: np.ndarray
        qualities: np.ndarray
        billed: np.ndarray
        raw: np.ndarray  # the last delivered value of each slot, whatever replaced it

    class Opened(Aggregate.Created):
        """The first values of this channel for this day arrived."""

        TOPIC = "hes.readings.ChannelDay.Opened"
        channel_id: UUID
        day: str
        interval_minutes: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ChannelDay)
            slots = 1440 // self.interval_minutes
            aggregate.channel_id = self.channel_id
            aggregate.day = self.day
            aggregate.interval_minutes = self.interval_minutes
            aggregate.values = np.full(slots, np.nan)
            aggregate.statuses = np.zeros(slots, dtype=np.uint8)
            aggregate.qualities = np.zeros(slots, dtype=np.uint8)
            aggregate.billed = np.zeros(slots, dtype=bool)
            aggregate.raw = np.full(slots, np.nan)

    class WithProvenance(Aggregate.Event):
        """Base of events that record who, why and from where (not named ``Event``:
        the library would rebase every nested event, ``Opened`` too, on it)."""

        TOPIC = "hes.readings.ChannelDay.WithProvenance"  # abstract: never triggered
        actor: str
        reason: str
        reason_code: str
        source: str

    class IntervalsRecorded(WithProvenance):
        """A block of interval values was delivered for consecutive slots of the day.

        ``qualities`` is per slot (raw, or validated / failed when the delivery was
        validated on arrival); ``findings`` are the validation rules that fired;
        ``held_slots`` kept their billed estimate: the delivered value is recorded here
        but does not replace it silently.
        """

        TOPIC = "hes.readings.ChannelDay.IntervalsRecorded"
        class_version = 2
        first_slot: int
        values: np.ndarray
        statuses: np.ndarray
        qualities: np.ndarray
        findings: list[dict[str, Any]]
        held_slots: list[int]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 had one quality for the whole block and no findings.
            state["qualities"] = np.full(len(state["values"]), state.pop("quality"), np.uint8)
            state["findings"] = []
            state["held_slots"] = []

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ChannelDay)
            slots = np.arange(self.first_slot, self.first_slot + len(self.values))
            if self.held_slots:
                keep = ~np.isin(slots, self.held_slots)
                aggregate.revise(slots[keep], self.values[keep], self.qualities[keep])
            else:
                aggregate.revise(slots, self.values, self.qualities)
            window = slice(self.first_slot, self.first_slot + len(self.values))
            raw, statuses = aggregate.raw.copy(), aggregate.statuses.copy()
            raw[window] = self.values
            statuses[window] = self.statuses
            aggregate.raw, aggregate.statuses = raw, statuses

    class SlotsRevised(WithProvenance):
        """Values of some slots were replaced by people or by the VEE workflow."""

        TOPIC = "hes.readings.ChannelDay.SlotsRevised"  # abstract: never triggered itself
        slots: list[int]
        values: np.ndarray
        quality: int
        method: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ChannelDay)
            slots = np.asarray(self.slots, dtype=np.int64)
            qualities = np.full(len(slots), self.quality, dtype=np.uint8)
            aggregate.revise(slots, self.values, qualities)
            # A revised value is a new one: it has not been billed yet.
            billed = aggregate.billed.copy()
            billed[slots] = False
            aggregate.billed = billed

    class IntervalsEstimated(SlotsRevised):
        """Missing or failed intervals were estimated (``method`` names how)."""

        TOPIC = "hes.readings.ChannelDay.IntervalsEstimated"

    class IntervalsEdited(SlotsRevised):
        """A person replaced interval values, giving a reason."""

        TOPIC = "hes.readings.ChannelDay.IntervalsEdited"

    class IntervalsAccepted(SlotsRevised):
        """A person accepted failed intervals as they are."""

        TOPIC = "hes.readings.ChannelDay.IntervalsAccepted"

    class EstimatesBilled(WithProvenance):
        """Estimated intervals went into a bill: no silent replacement from now on."""

        TOPIC = "hes.readings.ChannelDay.EstimatesBilled"
        slots: list[int]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ChannelDay)
            billed = aggregate.billed.copy()
            billed[np.asarray(self.slots, dtype=np.int64)] = True
            aggregate.billed = billed

    class Created(Aggregate.Created):
        """Unused: the library's generic creation event, named here for its topic."""

        TOPIC = "hes.readings.ChannelDay.Created"

    @staticmethod
    @lru_cache(maxsize=65_536)  # a bulk ingest asks for each delivered day several times
    def id_for(channel_id: UUID, day: date) -> UUID:
        return uuid5(READINGS_NAMESPACE, f"{channel_id}:{day.isoformat()}")

    @classmethod
    def open(cls, channel_id: UUID, day: date, interval_minutes: int) -> ChannelDay:
        if 1440 % interval_minutes:
            raise BlockOutOfDay(f"{interval_minutes} min does not divide a day")
        return cls._create(
            cls.Opened,
            id=cls.id_for(channel_id, day),
            channel_id=channel_id,
            day=day.isoformat(),
            interval_minutes=interval_minutes,
        )

    def record(
        self,
        first_slot: int,
        values: np.ndarray,
        statuses: np.ndarray,
        provenance: Provenance,
        qualities: np.ndarray | None = None,
        findings: Sequence[Mapping[str, Any]] = (),
    ) -> bool:
        """Records the block unless it repeats what is recorded; says whether it did."""
        values = np.asarray(values, dtype=np.float64)
        statuses = np.asarray(statuses, dtype=np.uint8)
        end = first_slot + len(values)
        if first_slot < 0 or end > len(self.values) or len(statuses) != len(values):
            raise BlockOutOfDay(
                f"slots {first_slot}..{end} do not fit a day of {len(self.values)} intervals"
            )
        if qualities is None:
            qualities = np.where(np.isnan(values), ReadingQuality.MISSING, ReadingQuality.RAW)
        qualities = np.asarray(qualities, dtype=np.uint8)
        window = slice(first_slot, end)
        # Idempotence is judged on what was delivered before, not on the current values:
        # a re-read of the same data must not undo an edit or an estimate. A repeat is
        # still recorded when its validation fails slots that stand as good: it brought
        # what the first delivery lacked (the meter's midnight registers after a push).
        if (
            np.array_equal(self.raw[window], values, equal_nan=True)
            and np.array_equal(self.statuses[window], statuses)
            and not _newly_failed(self.qualities[window], qualities)
        ):
            return False
        # People's decisions and billed estimates are not replaced by a delivery; the
        # delivered value is still recorded (and kept as the slot's raw value).
        current = self.qualities[window]
        billed = check_replacement_allowed(current, self.billed[window], False, None)
        held = billed | (current == _EDITED) | (current == _ACCEPTED)
        held_slots = [int(slot) + first_slot for slot in np.flatnonzero(held)]
        self.trigger_event(
            self.IntervalsRecorded,
            first_slot=first_slot,
            values=values,
            statuses=statuses,
            qualities=qualities,
            findings=[dict(finding) for finding in findings],
            held_slots=held_slots,
            **provenance.as_event_fields(),
        )
        return True

    def estimate(
        self,
        slots: Sequence[int],
        values: np.ndarray,
        method: str,
        provenance: Provenance,
        override_reason: str | None = None,
    ) -> None:
        """Estimates for ``slots``; a billed estimate is replaced only with a stated reason."""
        chosen = self._checked_slots(slots, values)
        billed = check_replacement_allowed(
            self.qualities[chosen], self.billed[chosen], True, override_reason
        )
        if billed.any() and override_reason:
            # The override is the reason the billed values changed: record it as such.
            provenance = Provenance(
                actor=provenance.actor,
                reason=override_reason,
                reason_code="BILLED_ESTIMATE_REPLACED",
                source=provenance.source,
            )
        self._revise(
            self.IntervalsEstimated, chosen, values, ReadingQuality.ESTIMATED, method, provenance
        )

    def edit(self, slots: Sequence[int], values: np.ndarray, provenance: Provenance) -> None:
        """A person's values for ``slots`` (the reason is in the provenance)."""
        chosen = self._checked_slots(slots, values)
        self._revise(
            self.IntervalsEdited, chosen, values, ReadingQuality.EDITED, "manual", provenance
        )

    def accept_as_is(self, slots: Sequence[int], provenance: Provenance) -> None:
        chosen = self._checked_slots(slots, None)
        self._revise(
            self.IntervalsAccepted,
            chosen,
            self.values[chosen],
            ReadingQuality.ACCEPTED,
            "accepted as is",
            provenance,
        )

    def mark_billed(self, slots: Sequence[int], provenance: Provenance) -> None:
        chosen = self._checked_slots(slots, None)
        estimated = chosen[self.qualities[chosen] == ReadingQuality.ESTIMATED]
        if len(estimated):
            self.trigger_event(
                self.EstimatesBilled,
                slots=[int(slot) for slot in estimated],
                **provenance.as_event_fields(),
            )

    # -- state changes shared by the events -------------------------------------------

    def revise(self, slots: np.ndarray, values: np.ndarray, qualities: np.ndarray) -> None:
        # Decoded arrays are read-only; the aggregate owns writable copies.
        self.values = self.values.copy()
        self.qualities = self.qualities.copy()
        self.values[slots] = values
        self.qualities[slots] = qualities

    def _revise(
        self,
        event_class: type[SlotsRevised],
        slots: np.ndarray,
        values: np.ndarray,
        quality: ReadingQuality,
        method: str,
        provenance: Provenance,
    ) -> None:
        self.trigger_event(
            event_class,
            slots=[int(slot) for slot in slots],
            values=np.asarray(values, dtype=np.float64),
            quality=int(quality),
            method=method,
            **provenance.as_event_fields(),
        )

    def _checked_slots(self, slots: Sequence[int], values: np.ndarray | None) -> np.ndarray:
        chosen = np.asarray(slots, dtype=np.int64)
        if len(chosen) == 0:
            raise BlockOutOfDay("no intervals were named")
        if chosen.min() < 0 or chosen.max() >= len(self.values):
            raise BlockOutOfDay(f"intervals outside this day of {len(self.values)} intervals")
        if len(np.unique(chosen)) != len(chosen):
            raise BlockOutOfDay("an interval is named twice")
        if values is not None and len(values) != len(chosen):
            raise BlockOutOfDay(f"{len(chosen)} intervals but {len(values)} values")
        if values is not None and not np.all(np.isfinite(np.asarray(values, dtype=float))):
            raise BlockOutOfDay("every value must be a finite number")
        return chosen

    def slot_times(self) -> list[datetime]:
        start = day_start(date.fromisoformat(self.day))
        step = timedelta(minutes=self.interval_minutes)
        return [start + step * index for index in range(len(self.values))]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "start": moment,
                "value": None if np.isnan(value) else float(value),
                "raw_value": None if np.isnan(raw) else float(raw),
                "meter_status": int(status),
                "quality": ReadingQuality(int(quality)).name.lower(),
                "billed": bool(billed),
                "version": self.version,
            }
            for moment, value, raw, status, quality, billed in zip(
                self.slot_times(),
                self.values,
                self.raw,
                self.statuses,
                self.qualities,
                self.billed,
                strict=True,
            )
        ]
