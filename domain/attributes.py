"""Declared attributes of registry aggregates and how their values are normalised.

Values are kept JSON-stable (str, int, bool, list, dict) so events and snapshots
round-trip exactly: decimals as canonical strings, dates as ISO strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class InvalidAttributes(ValueError):
    """Attribute values that the registry refuses, with one message per field."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))


@dataclass(frozen=True)
class Attribute:
    """One field of an aggregate: its kind and the rules that guard it."""

    kind: str = "text"  # text | int | decimal | date | datetime | choice | list | mapping
    required: bool = False
    key: bool = False  # the natural key: given once, never changed
    critical: bool = False  # a measuring parameter: flagged in audit, kept forever
    positive: bool = False
    choices: tuple[Any, ...] = ()
    max_length: int = 200

    def normalise(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required or self.key:
                raise ValueError("is required")
            return None
        return _NORMALISERS[self.kind](self, value)


def _text(attribute: Attribute, value: Any) -> str:
    text = str(value).strip()
    if len(text) > attribute.max_length:
        raise ValueError(f"is longer than {attribute.max_length} characters")
    return text


def _int(attribute: Attribute, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number, not {value!r}") from None
    if attribute.choices and number not in attribute.choices:
        raise ValueError(f"must be one of {', '.join(map(str, attribute.choices))}")
    if attribute.positive and number <= 0:
        raise ValueError("must be positive")
    return number


def _decimal(attribute: Attribute, value: Any) -> str:
    if isinstance(value, float):
        # Floats carry binary rounding; measuring parameters must be exact.
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a decimal number, not {value!r}") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if attribute.positive and number <= 0:
        raise ValueError("must be positive")
    return format(number.normalize(), "f")


def _date(attribute: Attribute, value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValueError(f"must be a date YYYY-MM-DD, not {value!r}") from None


def _datetime(attribute: Attribute, value: Any) -> str:
    """An instant, kept as canonical UTC ISO text; a zone is required (no guessing)."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"must be an ISO date-time with a zone, not {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError("must name its time zone (e.g. 2026-03-01T10:00:00+01:00)")
    return moment.astimezone(UTC).isoformat()


def _choice(attribute: Attribute, value: Any) -> str:
    text = str(value).strip()
    if text not in attribute.choices:
        raise ValueError(f"must be one of {', '.join(attribute.choices)}, not {text!r}")
    return text


def _list(attribute: Attribute, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("must be a list")
    return value


def _mapping(attribute: Attribute, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object")
    return {str(name): item for name, item in value.items()}


_NORMALISERS = {
    "text": _text,
    "int": _int,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
    "choice": _choice,
    "list": _list,
    "mapping": _mapping,
}


def normalise(
    schema: Mapping[str, Attribute], values: Mapping[str, Any], *, complete: bool
) -> dict[str, Any]:
    """Checks ``values`` against ``schema``; ``complete`` demands every required field."""
    problems: dict[str, str] = {}
    result: dict[str, Any] = {}
    for name, value in values.items():
        attribute = schema.get(name)
        if attribute is None:
            problems[name] = "is not a known attribute"
            continue
        try:
            result[name] = attribute.normalise(value)
        except ValueError as error:
            problems[name] = str(error)
    if complete:
        for name, attribute in schema.items():
            if (attribute.required or attribute.key) and result.get(name) is None:
                problems.setdefault(name, "is required")
    if problems:
        raise InvalidAttributes(problems)
    return result
