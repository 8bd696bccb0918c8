"""Attribute kinds only cycles and holiday calendars have, normalised to canonical JSON.

Each is an ``Attribute`` whose ``normalise`` returns the stored form, so a spec given
in another spelling ("weekdays", "M1, M2", "yes") is recorded in one canonical shape
and a repeated registration stays idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.attributes import Attribute
from domain.collection_window import spec_of_window, window_from_spec
from domain.schedule import schedule_from_spec, spec_of

SELECTOR_FIELDS = ("meter_type", "template", "manufacturer", "model", "status")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Flag(Attribute):
    def normalise(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if value is None or not str(value).strip():
            return super().normalise(None)
        text = str(value).strip().lower()
        if text not in _TRUE + _FALSE:
            raise ValueError(f"must be true or false, not {value!r}")
        return text in _TRUE


@dataclass(frozen=True)
class Names(Attribute):
    """A list of names (serials, task types); a comma-separated text is accepted too."""

    def normalise(self, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if value is None or value == []:
            return super().normalise(None)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError("must be a list of names")
        names = [item.strip() for item in value if item.strip()]
        if any(len(name) > self.max_length for name in names):
            raise ValueError(f"names must be at most {self.max_length} characters")
        return list(dict.fromkeys(names))  # unique, in the order given


@dataclass(frozen=True)
class ScheduleSpec(Attribute):
    """A schedule spec; the cycle's time zone applies unless the spec names the same one."""

    def normalise(self, value: Any) -> Any:
        if value is None:
            return super().normalise(None)
        if not isinstance(value, Mapping):
            raise ValueError("must be an object with a 'kind'")
        zone = value.get("timezone")
        canonical = spec_of(schedule_from_spec({**value, "timezone": zone or "UTC"}))
        if not zone:
            del canonical["timezone"]
        return canonical


@dataclass(frozen=True)
class WindowSpec(Attribute):
    def normalise(self, value: Any) -> Any:
        if value is None:
            return super().normalise(None)
        return spec_of_window(window_from_spec(value))


@dataclass(frozen=True)
class MeterSelector(Attribute):
    """Which meters a cycle takes besides its listed ones: every field must match."""

    def normalise(self, value: Any) -> Any:
        if value is None or value == {}:
            return super().normalise(None)
        if not isinstance(value, Mapping):
            raise ValueError(f"must be an object with any of {', '.join(SELECTOR_FIELDS)}")
        if unknown := sorted(set(value) - set(SELECTOR_FIELDS)):
            raise ValueError(f"cannot select meters by {', '.join(unknown)}")
        return {str(name): str(item).strip() for name, item in value.items()}


@dataclass(frozen=True)
class DateList(Attribute):
    def normalise(self, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(";", ",").split(",") if part.strip()]
        if value is None:
            return super().normalise(None)
        if not isinstance(value, list):
            raise ValueError("must be a list of dates YYYY-MM-DD")
        try:
            days = {date.fromisoformat(str(item).strip()) for item in value}
        except ValueError:
            raise ValueError("must be a list of dates YYYY-MM-DD") from None
        return [day.isoformat() for day in sorted(days)]
