"""Form fields to domain values and back: dates, recorded times, attribute edits.

Browsers send every field as text; the domain normalises and judges the values, so
this module only decides which fields the user actually changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.attributes import Attribute

# Kinds a one-line text input can edit; lists and mappings (meter channels, sealed
# secret references) have their own use cases.
FORM_KINDS = ("text", "int", "decimal", "date", "choice")


def field_text(form: Any, name: str) -> str:
    """A submitted field's text, stripped; empty when absent (or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def decimal_text(text: str) -> str:
    """A typed number as Python reads it: operators on European keyboards type a decimal
    comma (one comma and no point is taken as the decimal separator)."""
    text = text.strip()
    return text.replace(",", ".") if text.count(",") == 1 and "." not in text else text


class FormProblem(ValueError):
    """A field the page itself could not read (before the domain sees anything)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str
    choices: tuple[Any, ...]
    critical: bool
    value: str


def parse_moment(field: str, text: str | None) -> datetime | None:
    """A recorded time from a datetime-local field; without a zone it is UTC."""
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FormProblem(field, f"is not a date and time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_day(field: str, text: str | None, default: date) -> date:
    if not text or not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormProblem(field, f"is not a date YYYY-MM-DD: {text!r}") from None


def moment_field(moment: datetime) -> str:
    """The value a datetime-local input shows for ``moment`` (UTC, to the second)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def now_field(now: datetime) -> str:
    """The default "known at" value: ``now`` rounded up to the second, so resubmitting the
    form still includes everything recorded before the page was shown."""
    whole = now.replace(microsecond=0)
    return moment_field(whole + timedelta(seconds=1) if whole < now else whole)


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def editable_fields(
    schema: Mapping[str, Attribute], current: Mapping[str, Any], key: str
) -> list[FormField]:
    return [
        FormField(
            name, attribute.kind, attribute.choices, attribute.critical, as_text(current.get(name))
        )
        for name, attribute in schema.items()
        if name != key and attribute.kind in FORM_KINDS
    ]


def changed_values(fields: list[FormField], submitted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose submitted text differs from what the form showed."""
    changes: dict[str, Any] = {}
    for field in fields:
        value = submitted.get(field.name)
        if not isinstance(value, str):
            continue
        if value.strip() != field.value.strip():
            changes[field.name] = value.strip()
    return changes
