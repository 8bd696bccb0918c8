"""Who changed something, why, and through which channel: carried by every event."""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("ui", "api", "cli", "device", "system", "import")


class InvalidProvenance(ValueError):
    """A change was attempted without saying who made it, why, or from where."""


@dataclass(frozen=True)
class Provenance:
    """The actor, reason and source recorded on an event (never in a side log)."""

    actor: str
    reason: str
    source: str
    reason_code: str = ""

    def __post_init__(self) -> None:
        if not self.actor.strip():
            raise InvalidProvenance("an actor is required for every recorded change")
        if not self.reason.strip():
            raise InvalidProvenance("a reason is required for every recorded change")
        if self.source not in SOURCES:
            raise InvalidProvenance(
                f"source must be one of {', '.join(SOURCES)}, not {self.source!r}"
            )

    def as_event_fields(self) -> dict[str, str]:
        return {
            "actor": self.actor,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "source": self.source,
        }
