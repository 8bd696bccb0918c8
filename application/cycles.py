"""Scheduling: cycles come due and their tasks are asked for, each due time exactly once.

Firings live in this application's own event table (``scheduling_events``), not in the
Registry's: a 15-minute cycle records 35,000 firings a year, which are operational
facts rather than configuration, and every insert on PostgreSQL locks the whole events
table of its application (docs/PERFORMANCE.md), so firing cycles must not queue behind
registry edits and imports, nor they behind it. The cycles themselves stay in the
Registry, effective-dated and audited like every other configuration.

Firing order: the tasks are asked for first (``CycleTaskSink`` is idempotent by (cycle,
due time, meter, task type)), then the ``CycleFiring`` is recorded under its
deterministic id. A crash in between repeats only the idempotent request; a second
scheduler that gets that far anyway finds the firing recorded (IntegrityError) and
reports nothing. The tasks of a due time are therefore created once, and its firing
recorded once.

Follow-on work: a cycle names its chain of task types (read_meter -> validate ->
estimate -> export). Only the first is asked for here. Each task carries its cycle key
and due time; when one succeeds, the Operations application asks ``follow_on`` for the
next type and its parameters (as the cycle was known at the due time) and creates it,
stopping where a person must decide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.cycle_times import CycleTimes
from application.errors import UnknownAggregate
from domain.cycle import Cycle
from domain.cycle_firing import CycleFiring
from domain.local_time import require_aware
from domain.provenance import Provenance

_log = logging.getLogger(__name__)
DEFAULT_CATCH_UP = timedelta(hours=6)
MAX_RANGE_INSTANTS = 10_000


class RangeTooLong(ValueError):
    """A query over more due times than is sensible to look up at once."""


class CycleTaskSink(Protocol):
    def create_cycle_tasks(
        self,
        cycle_key: str,
        due_at: datetime,
        targets: Sequence[str],
        task_type: str,
        parameters: Mapping[str, object],
        provenance: Provenance,
    ) -> int:
        """Creates one task per target, idempotently; returns how many are new."""
        ...


class CycleCatalogue(Protocol):
    def cycle_versions(self) -> dict[str, int]:
        """Every cycle ever registered (retired ones too) and its latest version."""
        ...


class MeterSelection(Protocol):
    def serials(self, selector: Mapping[str, str], on: date) -> list[str]:
        """Serials of the meters in service on ``on`` matching every field of ``selector``."""
        ...


@dataclass(frozen=True)
class DueFiring:
    """A due time of a cycle not recorded as fired yet, with what it must ask for."""

    cycle_key: str
    due_at: datetime
    task_chain: tuple[str, ...]
    parameters: Mapping[str, Any]  # of the chain's first task type
    targets: tuple[str, ...]
    window_end: datetime | None

    @property
    def task_type(self) -> str:
        return self.task_chain[0]


@dataclass(frozen=True)
class LateWork:
    """Critical work of a due time that was not started before its window closed."""

    cycle_key: str
    due_at: datetime
    window_end: datetime
    fired_at: datetime | None  # None: not fired at all (yet)


class Scheduling(HesApplication):
    name = "Scheduling"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        registry: HesApplication,
        catalogue: CycleCatalogue,
        meters: MeterSelection | None = None,
        catch_up: timedelta = DEFAULT_CATCH_UP,
        fired_by: str = "scheduler",
    ) -> None:
        super().__init__(dict(env) if env is not None else None)
        self.times = CycleTimes(registry)
        self.catalogue = catalogue
        self.meters = meters
        self.catch_up = catch_up
        self.fired_by = fired_by
        # Per cycle, the instant up to which every due time is known to be handled. Only
        # an optimisation: without it (a fresh or standby scheduler) the recorded
        # firings within ``catch_up`` are looked up instead.
        self._handled_through: dict[str, datetime] = {}

    # -- firing ----------------------------------------------------------------------

    def due_firings(self, now: datetime) -> list[DueFiring]:
        """Due times up to ``now`` (within the catch-up horizon) not yet recorded fired."""
        require_aware(now, "now")
        with self.times.one_round():
            known = self.catalogue.cycle_versions()
            return [
                due for key, version in known.items() for due in self._due_for(key, version, now)
            ]

    def fire_due(self, now: datetime, sink: CycleTaskSink) -> list[CycleFiring]:
        """Fires every due time up to ``now``; a failing cycle does not hold up the others."""
        require_aware(now, "now")
        fired: list[CycleFiring] = []
        with self.times.one_round():
            for key, version in self.catalogue.cycle_versions().items():
                try:
                    for due in self._due_for(key, version, now):
                        # _due_for left out what is recorded; a rival's firing since is
                        # caught by the save (and the sink is idempotent).
                        if (firing := self.fire(due, now, sink, look_first=False)) is not None:
                            fired.append(firing)
                except Exception:
                    # Retried next round from where it stopped; logged, not raised, so one
                    # misconfigured cycle cannot stop every other from firing.
                    _log.exception("cycle %s could not be fired; will retry", key)
                    continue
                self._handled_through[key] = now
        return fired

    def fire(
        self, due: DueFiring, now: datetime, sink: CycleTaskSink, *, look_first: bool = True
    ) -> CycleFiring | None:
        """Asks for the tasks of one due time and records it; None if already recorded."""
        if look_first and self._firing(due.cycle_key, due.due_at) is not None:
            return None
        why = Provenance(
            actor=f"scheduler:{self.fired_by}",
            reason=f"cycle {due.cycle_key} due at {due.due_at.isoformat()}",
            source="system",
            reason_code="CYCLE_DUE",
        )
        created = sink.create_cycle_tasks(
            due.cycle_key, due.due_at, due.targets, due.task_type, due.parameters, why
        )
        firing = CycleFiring.fire(
            due.cycle_key,
            due.due_at,
            now,
            window_end=due.window_end,
            task_type=due.task_type,
            targets_count=len(due.targets),
            created_count=created,
            fired_by=self.fired_by,
        )
        try:
            self.save(firing)
        except IntegrityError:
            return None  # recorded by someone else meanwhile: fired once, not twice
        return firing

    # -- queries ---------------------------------------------------------------------

    def next_due(self, cycle_key: str, after: datetime, count: int = 5) -> list[datetime]:
        require_aware(after, "after")
        return self.times.upcoming(self.times.cycle(cycle_key), after, count)

    def follow_on(
        self, cycle_key: str, due_at: datetime, completed: str
    ) -> tuple[str, dict[str, Any]] | None:
        """The task type (and its parameters) to run after ``completed`` succeeded for the
        firing of ``due_at``, as the cycle was known then; None at the end of the chain."""
        cycle = self.times.cycle(cycle_key, as_of=None)
        known = self.times.known_at(cycle, due_at) or cycle
        day = known.local_day(due_at)
        following = known.follow_on(day, completed)
        return None if following is None else (following, known.parameters_on(day, following))

    def firings(self, cycle_key: str, since: datetime, until: datetime) -> list[CycleFiring]:
        """Recorded firings of a cycle with due times in ``(since, until]``."""
        cycle = self.times.cycle(cycle_key)
        found = (self._firing(cycle_key, at) for at in self._instants(cycle, since, until))
        return [firing for firing in found if firing is not None]

    def late_work(self, since: datetime, until: datetime, now: datetime) -> list[LateWork]:
        """Due times in ``(since, until]`` whose window closed before they were fired."""
        late: list[LateWork] = []
        for key in self.catalogue.cycle_versions():
            try:
                late.extend(self._late_work_of(key, since, min(until, now), now))
            except UnknownAggregate as error:
                # Its due times cannot be told (a missing holiday calendar); the
                # scheduler logs the same each round. One such cycle must not hide
                # every other cycle's late work.
                _log.warning("late work of cycle %s not known: %s", key, error)
        return sorted(late, key=lambda work: (work.due_at, work.cycle_key))

    # -- internals -------------------------------------------------------------------

    def _late_work_of(
        self, key: str, since: datetime, until: datetime, now: datetime
    ) -> list[LateWork]:
        cycle, late = self.times.cycle(key), []
        for at in self._instants(cycle, since, until):
            firing = self._firing(key, at)
            if firing is not None:
                if firing.was_late:
                    late.append(_late(firing))
                continue
            known = self.times.confirmed(cycle, at)
            end = None if known is None else known.window_end_for(at)
            if end is not None and end <= now:
                late.append(LateWork(key, at, end, None))
        return late

    def _due_for(self, key: str, version: int, now: datetime) -> list[DueFiring]:
        cycle = self.times.latest(key, version)
        lower = max(now - self.catch_up, self._handled_through.get(key, cycle.created_on))
        candidates = self.times.candidates(cycle, lower, now, enabled_only=False)
        if key not in self._handled_through:
            candidates = self._after_last_recorded(key, candidates)
        due: list[DueFiring] = []
        for at in candidates:
            known = self.times.confirmed(cycle, at)
            if known is not None:
                due.append(self._due(known, at))
        return due

    def _after_last_recorded(self, key: str, candidates: list[datetime]) -> list[datetime]:
        # Due times are fired in order, so everything before the newest recorded firing
        # was handled (fired, or left behind by the catch-up horizon).
        for index in range(len(candidates) - 1, -1, -1):
            if self._firing(key, candidates[index]) is not None:
                return candidates[index + 1 :]
        return candidates

    def _due(self, cycle: Cycle, at: datetime) -> DueFiring:
        day = cycle.local_day(at)
        targets = dict.fromkeys(cycle.meters_on(day))
        if selector := cycle.selector_on(day):
            if self.meters is None:
                raise RuntimeError(f"cycle {cycle.key} selects meters; no selection is wired")
            targets.update(dict.fromkeys(self.meters.serials(selector, day)))
        chain = tuple(cycle.chain_on(day))
        parameters = cycle.parameters_on(day, chain[0])
        return DueFiring(cycle.key, at, chain, parameters, tuple(targets), cycle.window_end_for(at))

    def _instants(self, cycle: Cycle, since: datetime, until: datetime) -> list[datetime]:
        require_aware(since, "since")
        require_aware(until, "until")
        instants = self.times.candidates(cycle, since, until)
        if len(instants) > MAX_RANGE_INSTANTS:
            raise RangeTooLong(f"{len(instants)} due times in that range; ask for a shorter one")
        return instants

    def _firing(self, key: str, at: datetime) -> CycleFiring | None:
        try:
            found: CycleFiring = self.repository.get(CycleFiring.id_for(key, at))
        except AggregateNotFoundError:
            return None
        return found


def _late(firing: CycleFiring) -> LateWork:
    assert firing.window_end is not None
    return LateWork(
        firing.cycle_key,
        firing.due,
        datetime.fromisoformat(firing.window_end),
        datetime.fromisoformat(firing.fired_at),
    )
