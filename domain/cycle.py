"""Cycle: a user-defined schedule to which meters and a chain of task types are assigned.

When the schedule comes due, the scheduler asks for one task of the chain's first type
for every assigned meter (its listed ``meters`` and those matching its ``selector``),
with that type's ``task_parameters``. The rest of the chain (e.g. read_meter ->
validate -> estimate -> export) stays here: the task carries its cycle key and due
time, and ``follow_on`` names the next type once one has succeeded.

Every attribute is effective-dated like the rest of the registry: a schedule or an
assignment can change from a given day, and what was in force on the day a cycle came
due stays answerable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.attributes import Attribute, InvalidAttributes
from domain.collection_window import CollectionWindow, window_from_spec
from domain.cycle_attributes import Flag, MeterSelector, Names, ScheduleSpec, WindowSpec
from domain.local_time import zone
from domain.registered import RegisteredAggregate
from domain.schedule import Schedule, schedule_from_spec
from domain.timeline import value_on

DEFAULT_CHAIN = ["read_meter", "validate", "estimate", "export"]


class Cycle(RegisteredAggregate):
    TOPIC = "hes.registry.Cycle"
    KEY = "cycle_key"
    SCHEMA = {
        "cycle_key": Attribute(key=True, max_length=64),
        "name": Attribute(required=True),
        "timezone": Attribute(required=True, max_length=64),
        "schedule": ScheduleSpec(kind="mapping", required=True),
        "task_chain": Names(kind="list", required=True, max_length=64),
        # {"read_meter": {"what": "profile", "days": 2}}: what each task of the chain is given
        "task_parameters": Attribute(kind="mapping"),
        "meters": Names(kind="list", max_length=64),
        "selector": MeterSelector(kind="mapping"),
        "collection_window": WindowSpec(kind="mapping"),
        "enabled": Flag(kind="flag"),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Cycle.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Cycle.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Cycle.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Cycle.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        name = attributes.get("timezone")
        try:
            zone(str(name))
        except ValueError as error:
            raise InvalidAttributes({"timezone": str(error)}) from None
        schedule = attributes.get("schedule") or {}
        if schedule.get("timezone") not in (None, name):
            raise InvalidAttributes(
                {"schedule": f"names {schedule['timezone']}, but the cycle runs in {name}"}
            )
        chain = attributes.get("task_chain") or []
        if not chain:
            raise InvalidAttributes({"task_chain": "needs at least one task type"})
        parameters = attributes.get("task_parameters") or {}
        strays = sorted(set(parameters) - set(chain))
        if strays or not all(isinstance(given, dict) for given in parameters.values()):
            raise InvalidAttributes(
                {"task_parameters": "must map task types of the chain to objects of parameters"}
            )

    # -- what is in force on a day ---------------------------------------------------

    def schedule_on(self, day: date) -> Schedule:
        values = self.attributes_on(day)
        return schedule_from_spec({**values["schedule"], "timezone": values["timezone"]})

    def zone_on(self, day: date) -> ZoneInfo:
        return zone(self.attributes_on(day)["timezone"])

    def window_on(self, day: date) -> CollectionWindow:
        return window_from_spec(self.attributes_on(day).get("collection_window"))

    def window_end_for(self, due_at: datetime) -> datetime | None:
        """When the work due at ``due_at`` must be done, or None when unbounded."""
        day = self.local_day(due_at)
        return self.window_on(day).end_for(due_at, self.zone_on(day))

    def is_enabled_on(self, day: date) -> bool:
        """In force (registered, not retired) and not switched off on ``day``."""
        if day.isoformat() < self.registered_from:
            return False
        if self.retired_from is not None and day.isoformat() >= self.retired_from:
            return False
        return self.attributes_on(day).get("enabled") is not False

    def first_enabled_day(self, day: date) -> date | None:
        """``day`` if the cycle is in force then, else the next day it will be; None if never."""
        changes = {self.registered_from, *(entry[0] for entry in self.timelines.get("enabled", []))}
        later = sorted(date.fromisoformat(start) for start in changes if start > day.isoformat())
        return next((d for d in [day, *later] if self.is_enabled_on(d)), None)

    def chain_on(self, day: date) -> list[str]:
        return list(self.attributes_on(day)["task_chain"])

    def parameters_on(self, day: date, task_type: str) -> dict[str, Any]:
        return dict((self.attributes_on(day).get("task_parameters") or {}).get(task_type) or {})

    def follow_on(self, day: date, task_type: str) -> str | None:
        """The task type that comes after ``task_type`` in the chain; None at its end."""
        chain = self.chain_on(day)
        if task_type not in chain:
            return None
        position = chain.index(task_type)
        return chain[position + 1] if position + 1 < len(chain) else None

    def meters_on(self, day: date) -> list[str]:
        return list(self.attributes_on(day).get("meters") or [])

    def selector_on(self, day: date) -> dict[str, str]:
        return dict(self.attributes_on(day).get("selector") or {})

    def local_day(self, instant: datetime) -> date:
        """The cycle's local date of ``instant`` (its time zone rarely, if ever, changes)."""
        timeline = self.timelines["timezone"]
        name = value_on(timeline, instant.date()) or timeline[0][1]
        return instant.astimezone(zone(name)).date()

    def schedule_periods(self) -> list[str]:
        """Effective-from dates at which the schedule or time zone changed."""
        starts = {entry[0] for name in ("schedule", "timezone") for entry in self.timelines[name]}
        return sorted(starts)
