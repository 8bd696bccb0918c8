"""Registry: customers, premises, accounts, service points, meters, channels, tariffs.

Each method is one use case: load, command, save once. Registration is idempotent by
natural key (the same attributes again record nothing), edits may name the version
they were based on, and a lost race on the same version is a ``ConcurrentEdit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.meters import MeterUseCases
from domain.account import Account
from domain.channel import Channel
from domain.configuration_template import ConfigurationTemplate
from domain.customer import Customer
from domain.cycle import Cycle
from domain.external_period import ExternalPeriod
from domain.holiday_calendar import HolidayCalendar
from domain.meter import Meter
from domain.premise import Premise
from domain.provenance import Provenance
from domain.registered import RegisteredAggregate
from domain.service_point import ServicePoint
from domain.tou_schedule import TouSchedule
from domain.validation_rule_set import ValidationRuleSet

KINDS: dict[str, type[RegisteredAggregate]] = {
    "customer": Customer,
    "premise": Premise,
    "account": Account,
    "service_point": ServicePoint,
    "meter": Meter,
    "channel": Channel,
    "tou_schedule": TouSchedule,
    "template": ConfigurationTemplate,
    "validation_rule_set": ValidationRuleSet,
    "external_period": ExternalPeriod,
    "cycle": Cycle,
    "holiday_calendar": HolidayCalendar,
}
KIND_OF = {cls: kind for kind, cls in KINDS.items()}


@dataclass(frozen=True)
class Registration:
    """What an idempotent registration did: recorded it now, or found it already."""

    id: UUID
    key: str
    created: bool


class Registry(MeterUseCases, HesApplication):
    name = "Registry"
    # Bounds the replay of any version, historical ones too: the repository starts from
    # the nearest snapshot at or below the version asked for.
    snapshotting_intervals = {cls: 50 for cls in KINDS.values()}

    # -- commands -------------------------------------------------------------------

    def register(
        self,
        kind: str,
        attributes: Mapping[str, Any],
        effective_from: date,
        provenance: Provenance,
    ) -> Registration:
        aggregate = KINDS[kind].register(attributes, effective_from, provenance)
        if (existing := self._registered_twin(kind, aggregate)) is not None:
            return existing
        try:
            self.save(aggregate)
        except IntegrityError:
            # Someone registered the same key between our check and our save.
            if (existing := self._registered_twin(kind, aggregate)) is not None:
                return existing
            raise
        return Registration(aggregate.id, aggregate.key, created=True)

    def register_all(
        self,
        items: Iterable[tuple[str, Mapping[str, Any], date]],
        provenance: Provenance,
    ) -> list[Registration]:
        """Registers many in one transaction: all are recorded, or none (bulk import)."""
        pending: list[RegisteredAggregate] = []
        pending_ids: set[UUID] = set()
        results: list[Registration] = []
        for kind, attributes, effective_from in items:
            aggregate = KINDS[kind].register(attributes, effective_from, provenance)
            if (existing := self._registered_twin(kind, aggregate)) is not None:
                results.append(existing)
                continue
            if aggregate.id in pending_ids:
                raise DuplicateKey(kind, aggregate.key)
            pending.append(aggregate)
            pending_ids.add(aggregate.id)
            results.append(Registration(aggregate.id, aggregate.key, created=True))
        try:
            self.save(*pending)
        except IntegrityError:
            raise ConcurrentEdit("registry", "bulk import", ": retry the import") from None
        return results

    def change(
        self,
        kind: str,
        key: str,
        changes: Mapping[str, Any],
        effective_from: date,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        aggregate = self._load_for_edit(kind, key, expected_version)
        aggregate.change(changes, effective_from, provenance)
        return self._save_edit(kind, key, aggregate)

    def correct(
        self,
        kind: str,
        key: str,
        corrections: Mapping[str, Any],
        effective_on: date,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        aggregate = self._load_for_edit(kind, key, expected_version)
        aggregate.correct(corrections, effective_on, provenance)
        return self._save_edit(kind, key, aggregate)

    def retire(self, kind: str, key: str, effective_from: date, provenance: Provenance) -> int:
        aggregate = self._load_for_edit(kind, key, None)
        aggregate.retire(effective_from, provenance)
        return self._save_edit(kind, key, aggregate)

    # -- queries --------------------------------------------------------------------

    def get(self, kind: str, key: str, as_of: datetime | None = None) -> Any:
        """The aggregate as recorded at ``as_of`` (now when None)."""
        try:
            return self.get_as_of(KINDS[kind].id_for(key), as_of)
        except AggregateNotFoundError:
            raise UnknownAggregate(kind.replace("_", " "), key, as_of) from None

    def history(self, kind: str, key: str) -> list[Any]:
        events = self.history_of(KINDS[kind].id_for(key))
        if not events:
            raise UnknownAggregate(kind.replace("_", " "), key)
        return events

    def exists(self, kind: str, key: str) -> bool:
        try:
            self.repository.get(KINDS[kind].id_for(key))
        except AggregateNotFoundError:
            return False
        return True

    # -- internals ------------------------------------------------------------------

    def _registered_twin(self, kind: str, candidate: RegisteredAggregate) -> Registration | None:
        # Compared with the registration as first recorded (version 1): later changes
        # do not make a repeated delivery of the original a conflict. The effective
        # date is not compared, so repeating it on a later day is still idempotent.
        try:
            existing: RegisteredAggregate = self.repository.get(candidate.id, version=1)
        except AggregateNotFoundError:
            return None
        if _given(candidate) == _given(existing):
            return Registration(existing.id, existing.key, created=False)
        raise DuplicateKey(kind.replace("_", " "), candidate.key)

    def _load_for_edit(
        self, kind: str, key: str, expected_version: int | None
    ) -> RegisteredAggregate:
        aggregate: RegisteredAggregate = self.get(kind, key)
        if expected_version is not None and aggregate.version != expected_version:
            raise ConcurrentEdit(
                kind.replace("_", " "),
                key,
                f" (you edited version {expected_version}, it is now {aggregate.version})",
            )
        return aggregate

    def _save_edit(self, kind: str, key: str, aggregate: RegisteredAggregate) -> int:
        try:
            self.save(aggregate)
        except IntegrityError:
            raise ConcurrentEdit(kind.replace("_", " "), key) from None
        return aggregate.version


def _given(aggregate: RegisteredAggregate) -> dict[str, Any]:
    """The attribute values a registration gave (an empty value counts as not given)."""
    return {
        name: timeline[0][1]
        for name, timeline in aggregate.timelines.items()
        if timeline[0][1] is not None
    }
