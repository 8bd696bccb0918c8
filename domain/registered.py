"""The shape every registry aggregate shares: effective-dated attributes.

Subclasses declare ``SCHEMA`` (their attributes), a ``TOPIC`` and their own nested
event classes (each with a ``TOPIC``, so stored events survive code moves). Changes
over time carry ``effective_from``; corrections of past mistakes are separate events;
both record actor, reason and source, and the values they replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.attributes import Attribute, InvalidAttributes, normalise
from domain.provenance import Provenance
from domain.timeline import Timeline, period_start, value_on, with_change, with_correction

# Fixed namespace: aggregate ids are uuid5 of natural keys, so a repeated creation or a
# re-delivered import maps to the same aggregate and is idempotent.
REGISTRY_NAMESPACE = UUID("6f1d8f0e-2c1a-5b7e-9d43-1f6f0c2b9a10")


class RegistryRuleViolation(ValueError):
    """A command that the registry's rules refuse (not a malformed value)."""


class RegisteredAggregate(Aggregate):
    """An aggregate of the registry whose attributes change with effect from a date."""

    SCHEMA: ClassVar[dict[str, Attribute]] = {}
    KEY: ClassVar[str] = ""

    if TYPE_CHECKING:  # set by the events; class annotations would become __init__ params
        registered_from: str
        retired_from: str | None
        timelines: dict[str, Timeline]

    class Event(Aggregate.Event):
        actor: str
        reason: str
        reason_code: str
        source: str

    class Registered(Event, Aggregate.Created):
        """The thing was entered into the registry, in force from ``effective_from``."""

        attributes: dict[str, Any]
        effective_from: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisteredAggregate)
            aggregate.registered_from = self.effective_from
            aggregate.retired_from = None
            aggregate.timelines = {
                name: [[self.effective_from, value]] for name, value in self.attributes.items()
            }

    class Changed(Event):
        """Attributes really changed in the world, with effect from a date."""

        changes: dict[str, Any]
        before: dict[str, Any]
        effective_from: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisteredAggregate)
            day = date.fromisoformat(self.effective_from)
            for name, value in self.changes.items():
                timeline = aggregate.timelines.get(name, [])
                aggregate.timelines[name] = with_change(timeline, day, value)

    class Corrected(Event):
        """Recorded values were wrong for the period in force on ``effective_on``."""

        corrections: dict[str, Any]
        before: dict[str, Any]
        effective_on: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisteredAggregate)
            day = date.fromisoformat(self.effective_on)
            for name, value in self.corrections.items():
                timeline = aggregate.timelines.get(name, [])
                aggregate.timelines[name] = with_correction(timeline, day, value)

    class Retired(Event):
        """The thing stopped being in service from ``effective_from``."""

        effective_from: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RegisteredAggregate)
            aggregate.retired_from = self.effective_from

    # -- identity -------------------------------------------------------------------

    @classmethod
    @lru_cache(maxsize=65_536)  # a bulk ingest asks for every delivery's channel
    def id_for(cls, key: str) -> UUID:
        topic = getattr(cls, "TOPIC", cls.__qualname__)
        return uuid5(REGISTRY_NAMESPACE, f"{topic}:{key.strip()}")

    @property
    def key(self) -> str:
        return str(self.timelines[self.KEY][0][1])

    # -- commands -------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        attributes: Mapping[str, Any],
        effective_from: date,
        provenance: Provenance,
    ) -> RegisteredAggregate:
        values = normalise(cls.SCHEMA, attributes, complete=True)
        cls.check_rules(values)
        return cls._create(
            cls.Registered,
            id=cls.id_for(str(values[cls.KEY])),
            attributes=values,
            effective_from=effective_from.isoformat(),
            **provenance.as_event_fields(),
        )

    def change(
        self, changes: Mapping[str, Any], effective_from: date, provenance: Provenance
    ) -> None:
        self.check_registered_by(effective_from)
        values = self._checked(changes)
        self.check_rules({**self.attributes_on(effective_from), **values})
        before = {name: value_on(self.timelines.get(name, []), effective_from) for name in values}
        self.trigger_event(
            self.Changed,
            changes=values,
            before=before,
            effective_from=effective_from.isoformat(),
            **provenance.as_event_fields(),
        )

    def correct(
        self, corrections: Mapping[str, Any], effective_on: date, provenance: Provenance
    ) -> None:
        self.check_registered_by(effective_on)
        values = self._checked(corrections)
        self.check_rules({**self.attributes_on(effective_on), **values})
        before = {name: value_on(self.timelines.get(name, []), effective_on) for name in values}
        self.trigger_event(
            self.Corrected,
            corrections=values,
            before=before,
            effective_on=effective_on.isoformat(),
            **provenance.as_event_fields(),
        )

    def retire(self, effective_from: date, provenance: Provenance) -> None:
        self.check_registered_by(effective_from)
        if self.retired_from is not None:
            raise RegistryRuleViolation(f"{self.key} was already retired on {self.retired_from}")
        self.trigger_event(
            self.Retired, effective_from=effective_from.isoformat(), **provenance.as_event_fields()
        )

    # -- guards ---------------------------------------------------------------------

    def check_registered_by(self, day: date) -> None:
        """Nothing about a thing can take effect before it was registered."""
        if day.isoformat() < self.registered_from:
            raise RegistryRuleViolation(
                f"{self.key} was registered with effect from {self.registered_from}; "
                f"nothing can take effect on {day.isoformat()} (correct the registration "
                "date by registering with the right effective_from instead)"
            )

    def _checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if not values:
            raise InvalidAttributes({"changes": "at least one attribute must be given"})
        if self.KEY in values and str(values[self.KEY]).strip() != self.key:
            raise InvalidAttributes({self.KEY: "is the natural key and cannot change"})
        checked = normalise(self.SCHEMA, values, complete=False)
        missing = {
            name: "is required"
            for name, value in checked.items()
            if value is None and (self.SCHEMA[name].required or self.SCHEMA[name].key)
        }
        if missing:
            raise InvalidAttributes(missing)
        return checked

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        """Rules across several attributes; subclasses add theirs."""

    # -- queries --------------------------------------------------------------------

    def attributes_on(self, day: date) -> dict[str, Any]:
        """Every attribute as in force on ``day`` (as far as this version knows)."""
        return {name: value_on(timeline, day) for name, timeline in self.timelines.items()}

    def period_of(self, name: str, day: date) -> str | None:
        return period_start(self.timelines.get(name, []), day)

    def is_critical(self, name: str) -> bool:
        attribute = self.SCHEMA.get(name)
        return bool(attribute and attribute.critical)


# The metaclass copies the library's generic ``Created`` event onto this class; our
# creation event is ``Registered``, and subclasses must not inherit an event without
# an explicit topic.
del RegisteredAggregate.Created
