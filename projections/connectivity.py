"""The connectivity report: how well the meters of each type communicate.

Joins the meter directory (which meters there are, of which type) with the
communication status and log of ``adapters.dlms.communication_log`` in the same
database: two grouped queries, however many meters. Retired meters are left out.

Per meter type:

- ``meters``: meters in the directory;
- ``communicating``: meters with a successful session since ``since`` (default the last
  24 hours);
- ``failing``: meters that succeeded once but whose latest session failed;
- ``never_communicated``: meters with no successful session ever (tried or not);
- ``sessions``, ``successful_sessions``, ``success_rate``: sessions started since
  ``since`` (within the log's retention), and ``outcomes``: their count per outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine

from adapters.dlms.communication_log import COMMUNICATION_LOG, COMMUNICATION_STATUS, OUTCOMES
from adapters.persistence.recorder import to_microseconds
from projections.meter_directory import DIRECTORY_METERS

UNTYPED = "(no type)"


@dataclass
class MeterTypeConnectivity:
    meter_type: str
    meters: int = 0
    communicating: int = 0
    failing: int = 0
    never_communicated: int = 0
    sessions: int = 0
    successful_sessions: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        return round(self.successful_sessions / self.sessions, 4) if self.sessions else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "meter_type": self.meter_type,
            "meters": self.meters,
            "communicating": self.communicating,
            "failing": self.failing,
            "never_communicated": self.never_communicated,
            "sessions": self.sessions,
            "successful_sessions": self.successful_sessions,
            "success_rate": self.success_rate,
            "outcomes": dict(self.outcomes),
        }


class ConnectivityReport:
    """Needs the directory's and the log's tables (Installation creates both)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def by_meter_type(self, since: datetime, today: date | None = None) -> list[dict[str, Any]]:
        """One entry per meter type (sorted), and a last one for all types, ``"*"``."""
        since_us = to_microseconds(since)
        on = (today or datetime.now(UTC).date()).isoformat()
        meters, status = DIRECTORY_METERS.c, COMMUNICATION_STATUS.c
        meter_type = func.coalesce(meters.meter_type, UNTYPED).label("meter_type")
        in_service = or_(meters.retired_from.is_(None), meters.retired_from > on)
        ever_succeeded = status.last_success_at_us.is_not(None)
        counts = (
            select(
                meter_type,
                func.count().label("meters"),
                _count(status.last_success_at_us >= since_us).label("communicating"),
                _count(and_(ever_succeeded, status.consecutive_failures > 0)).label("failing"),
                _count(status.last_success_at_us.is_(None)).label("never_communicated"),
            )
            .select_from(
                DIRECTORY_METERS.outerjoin(COMMUNICATION_STATUS, status.serial == meters.serial)
            )
            .where(in_service)
            .group_by(meter_type)
        )
        log = COMMUNICATION_LOG.c
        sessions = (
            select(meter_type, log.outcome, func.count().label("sessions"))
            .select_from(COMMUNICATION_LOG.join(DIRECTORY_METERS, meters.serial == log.serial))
            .where(log.started_at_us >= since_us, in_service)
            .group_by(meter_type, log.outcome)
        )
        report: dict[str, MeterTypeConnectivity] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(counts).mappings():
                report[row["meter_type"]] = MeterTypeConnectivity(
                    row["meter_type"],
                    int(row["meters"]),
                    int(row["communicating"]),
                    int(row["failing"]),
                    int(row["never_communicated"]),
                )
            for row in connection.execute(sessions).mappings():
                entry = report.setdefault(
                    row["meter_type"], MeterTypeConnectivity(row["meter_type"])
                )
                entry.outcomes[row["outcome"]] = int(row["sessions"])
        entries = [report[name] for name in sorted(report)]
        for entry in entries:
            entry.outcomes = _in_order(entry.outcomes)
            entry.sessions = sum(entry.outcomes.values())
            entry.successful_sessions = entry.outcomes.get("ok", 0)
        return [entry.as_dict() for entry in [*entries, _total(entries)]]


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _total(entries: list[MeterTypeConnectivity]) -> MeterTypeConnectivity:
    total = MeterTypeConnectivity("*")
    for entry in entries:
        total.meters += entry.meters
        total.communicating += entry.communicating
        total.failing += entry.failing
        total.never_communicated += entry.never_communicated
        total.sessions += entry.sessions
        total.successful_sessions += entry.successful_sessions
        for outcome, count in entry.outcomes.items():
            total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count
    total.outcomes = _in_order(total.outcomes)
    return total


def _in_order(outcomes: dict[str, int]) -> dict[str, int]:
    return {name: outcomes[name] for name in OUTCOMES if name in outcomes}
