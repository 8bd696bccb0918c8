"""How registry aggregates and their events look in JSON (API models, not domain objects)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.registered import RegisteredAggregate

EVENT_FIELDS_HIDDEN = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def aggregate_view(
    aggregate: RegisteredAggregate, effective: date, as_of: datetime | None
) -> dict[str, Any]:
    return {
        "key": aggregate.key,
        "id": str(aggregate.id),
        "version": aggregate.version,
        "recorded_as_of": (as_of or aggregate.modified_on).isoformat(),
        "last_recorded_at": aggregate.modified_on.isoformat(),
        "effective": effective.isoformat(),
        "registered_from": aggregate.registered_from,
        "retired_from": aggregate.retired_from,
        "in_service": aggregate.registered_from <= effective.isoformat()
        and (aggregate.retired_from is None or effective.isoformat() < aggregate.retired_from),
        "attributes": aggregate.attributes_on(effective),
        "timelines": {
            name: [{"effective_from": start, "value": value} for start, value in timeline]
            for name, timeline in aggregate.timelines.items()
        },
    }


def event_view(event: Any) -> dict[str, Any]:
    """One recorded change: when, who, why, from where, and which fields."""
    kind = type(event).__name__
    fields: list[dict[str, Any]] = []
    if hasattr(event, "attributes"):
        fields = [{"field": k, "before": None, "after": v} for k, v in event.attributes.items()]
    for name in ("changes", "corrections"):
        if hasattr(event, name):
            fields = [
                {"field": k, "before": event.before.get(k), "after": v}
                for k, v in getattr(event, name).items()
            ]
    return {
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "event": kind,
        "correction": kind == "Corrected",
        "effective_from": getattr(event, "effective_from", None),
        "effective_on": getattr(event, "effective_on", None),
        "actor": event.actor,
        "reason": event.reason,
        "reason_code": event.reason_code,
        "source": event.source,
        "fields": fields,
    }
