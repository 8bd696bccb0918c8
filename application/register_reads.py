"""Register reads of channels: recorded per register and UTC month, read back for a
period as currently known or as known at any past time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentEdit, UnknownAggregate
from domain.provenance import Provenance
from domain.register_month import RegisterMonth, month_of
from domain.vee.reason_codes import check_reason
from domain.vee.series import RegisterRead

if TYPE_CHECKING:
    from application.registry import Registry

# A read at a period's end counts: [start, end] is read as [start, end + 1 s).
_JUST_AFTER = timedelta(seconds=1)


class RegisterReads:
    """Mixed into the Readings application (uses its repository, save and as-of reads)."""

    def record_register_reads(
        self, channel_id: UUID, reads: Iterable[RegisterRead], provenance: Provenance
    ) -> int:
        """Records the reads (all months in one transaction); how many were new or
        corrected. A concurrent writer's save is met by reading again, once."""
        grouped: dict[tuple[str, str], list[RegisterRead]] = {}
        for read in reads:
            grouped.setdefault((read.register, month_of(read.read_at)), []).append(read)
        if not grouped:
            return 0
        for attempt in (1, 2):
            staged, changed = [], 0
            for (register, month), month_reads in sorted(grouped.items()):
                stream = self._register_month(channel_id, register, month)
                count = stream.record([(r.read_at, r.value) for r in month_reads], provenance)
                if count:
                    staged.append(stream)
                    changed += count
            try:
                if staged:
                    self.save(*staged)  # type: ignore[attr-defined]
                return changed
            except IntegrityError:
                if attempt == 2:
                    raise ConcurrentEdit("channel", str(channel_id), " (register reads)") from None
        raise AssertionError("unreachable")

    def register_reads(
        self,
        channel_id: UUID,
        start: datetime,
        end: datetime,
        *,
        registers: Iterable[str] = ("total",),
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The reads of ``registers`` in [start, end), in time order (then register), as
        known at ``as_of`` (now when None), each with who recorded it, when and why."""
        streams = self._streams([channel_id], registers, start, end, as_of)
        rows = [row for _, stream in streams for row in stream.rows(start, end)]
        return sorted(rows, key=lambda row: (row["read_at"], row["register"]))

    def stored_register_reads(
        self, channel_ids: Iterable[UUID], start: datetime, end: datetime
    ) -> dict[UUID, list[RegisterRead]]:
        """The ``total`` reads of many channels in [start, end], as VEE takes them (the
        end included: a delivery's last read is at its end); one query."""
        wanted = total_streams(channel_ids, start, end)
        found = self.get_many_as_of(list(wanted), None)  # type: ignore[attr-defined]
        return vee_reads(wanted, found, start, end)

    def _streams(
        self,
        channel_ids: Iterable[UUID],
        registers: Iterable[str],
        start: datetime,
        end: datetime,
        as_of: datetime | None,
    ) -> list[tuple[UUID, RegisterMonth]]:
        """The month streams of the channels' registers over [start, end], as known at
        ``as_of``, read together (``get_many_as_of``); each with its channel."""
        wanted = {
            RegisterMonth.id_for(channel_id, register, month): channel_id
            for channel_id in channel_ids
            for register in registers
            for month in _months(start, end)
        }
        found = self.get_many_as_of(list(wanted), as_of)  # type: ignore[attr-defined]
        return [(wanted[stream_id], stream) for stream_id, stream in found.items()]

    def _register_month(self, channel_id: UUID, register: str, month: str) -> RegisterMonth:
        try:
            stream: RegisterMonth = self.repository.get(  # type: ignore[attr-defined]
                RegisterMonth.id_for(channel_id, register, month)
            )
        except AggregateNotFoundError:
            return RegisterMonth.open(channel_id, register, month)
        return stream


def total_streams(channel_ids: Iterable[UUID], start: datetime, end: datetime) -> dict[UUID, UUID]:
    """The ids of the ``total`` register's month streams over [start, end], each with its
    channel: what VEE reads besides a delivery (see ``vee_reads``)."""
    return {
        RegisterMonth.id_for(channel_id, "total", month): channel_id
        for channel_id in channel_ids
        for month in _months(start, end)
    }


def vee_reads(
    wanted: dict[UUID, UUID], found: dict[UUID, Any], start: datetime, end: datetime
) -> dict[UUID, list[RegisterRead]]:
    """Per channel, the reads in [start, end] of those ``wanted`` streams ``found``."""
    reads: dict[UUID, list[RegisterRead]] = {}
    for stream_id, channel_id in wanted.items():
        stream = found.get(stream_id)
        for row in stream.rows(start, end + _JUST_AFTER) if stream is not None else ():
            read = RegisterRead(row["read_at"], row["value"], row["register"])
            reads.setdefault(channel_id, []).append(read)
    return reads


def record_brought_reads(
    registry: Registry,
    readings: RegisterReads,
    channel_id: UUID,
    channel: str,
    reads: Iterable[RegisterRead],
    provenance: Provenance,
) -> int:
    """Reads a person or billing brings (a field visit, a photo of the display, billing's
    reads): only for a registered channel (``channel`` names it in a refusal), and with a
    standard reason code or words, as people's edits of intervals."""
    check_reason(provenance.reason_code, provenance.reason)
    try:
        registry.get_as_of(channel_id, None)
    except AggregateNotFoundError:
        raise UnknownAggregate("channel", channel) from None
    return readings.record_register_reads(channel_id, reads, provenance)


def with_stored(
    delivered: Iterable[RegisterRead],
    stored: Iterable[RegisterRead],
    start: datetime,
    end: datetime,
) -> tuple[RegisterRead, ...]:
    """A delivery's register reads and the stored ones in [start, end], in time order; a
    read the delivery carries wins over a stored one of the same register and time."""
    merged = {
        (read.register, read.read_at): read for read in stored if start <= read.read_at <= end
    }
    merged.update({(read.register, read.read_at): read for read in delivered})
    return tuple(sorted(merged.values(), key=lambda read: (read.read_at, read.register)))


def _months(start: datetime, end: datetime) -> list[str]:
    """The UTC months [start, end) touches."""
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    year, month, months = first.year, first.month, []
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
