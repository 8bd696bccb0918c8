"""Two editors of one meter: exactly one change wins, the other is told and stores nothing.

Each ``Registry`` instance stands for one process; they share the database (and, within
this test process, the datastore of its URL, as two applications of one install do).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from threading import Barrier

import pytest

from adapters.persistence.store import StoreLocation
from application.errors import ConcurrentEdit
from application.registry import Registration, Registry
from domain.provenance import Provenance
from domain.registered import RegisteredAggregate

OPENED = date(2025, 1, 1)
APRIL = date(2025, 4, 1)
SETUP = Provenance("alice", "new meter", "ui")
METER = {"serial": "MTR-1", "meter_type": "E350", "ct_ratio": "100"}
THREADS = 6
ATTEMPTS_PER_THREAD = 4


class RacingRegistry(Registry):
    """Waits after loading until every racer has loaded, so all edit the same version."""

    name = "Registry"

    def __init__(self, store: StoreLocation, barrier: Barrier) -> None:
        super().__init__(env=store.application_env())
        self.barrier = barrier

    def _load_for_edit(
        self, kind: str, key: str, expected_version: int | None
    ) -> RegisteredAggregate:
        aggregate = super()._load_for_edit(kind, key, expected_version)
        self.barrier.wait(timeout=30)
        return aggregate


class RacingRegistrations(Registry):
    """Waits after its first look for an existing twin, so both racers find none."""

    name = "Registry"

    def __init__(self, store: StoreLocation, barrier: Barrier) -> None:
        super().__init__(env=store.application_env())
        self.barrier = barrier
        self.looked = False

    def _registered_twin(self, kind: str, candidate: RegisteredAggregate) -> Registration | None:
        found = super()._registered_twin(kind, candidate)
        if not self.looked:
            self.looked = True
            self.barrier.wait(timeout=30)
        return found


@pytest.fixture
def registry(store: StoreLocation) -> Iterator[Registry]:
    registry = Registry(env=store.application_env())
    registry.register("meter", METER, OPENED, SETUP)
    yield registry
    registry.close()


def _edit(registry: Registry, ratio: str, actor: str) -> int | ConcurrentEdit:
    try:
        return registry.change(
            "meter", "MTR-1", {"ct_ratio": ratio}, APRIL, Provenance(actor, "new CTs", "ui")
        )
    except ConcurrentEdit as error:
        return error


def test_of_two_editors_of_the_same_version_exactly_one_wins(
    store: StoreLocation, registry: Registry
) -> None:
    barrier = Barrier(2)
    first, second = RacingRegistry(store, barrier), RacingRegistry(store, barrier)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(
            pool.map(_edit, [first, second], ["200", "300"], ["first", "second"], timeout=60)
        )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ConcurrentEdit", "int"]
    winner = next(outcome for outcome in outcomes if isinstance(outcome, int))
    history = registry.history("meter", "MTR-1")
    assert winner == 2
    assert len(history) == 2
    winning_ratio = "200" if history[-1].actor == "first" else "300"
    assert history[-1].changes == {"ct_ratio": winning_ratio}
    assert registry.get("meter", "MTR-1").attributes_on(APRIL)["ct_ratio"] == winning_ratio
    for racer in (first, second):
        racer.close()


def test_the_loser_of_a_race_succeeds_after_reloading(
    store: StoreLocation, registry: Registry
) -> None:
    barrier = Barrier(2)
    first, second = RacingRegistry(store, barrier), RacingRegistry(store, barrier)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(_edit, [first, second], ["200", "300"], ["first", "second"], timeout=60))

    version = registry.change("meter", "MTR-1", {"ct_ratio": "400"}, APRIL, SETUP)

    assert version == 3
    assert [event.originator_version for event in registry.history("meter", "MTR-1")] == [1, 2, 3]
    for racer in (first, second):
        racer.close()


def test_an_edit_based_on_an_old_version_is_refused_with_a_clear_message(
    store: StoreLocation, registry: Registry
) -> None:
    other_process = Registry(env=store.application_env())
    other_process.change("meter", "MTR-1", {"ct_ratio": "200"}, APRIL, SETUP)
    last_id = registry.recorder.max_notification_id()

    with pytest.raises(ConcurrentEdit) as error:
        registry.change("meter", "MTR-1", {"ct_ratio": "300"}, APRIL, SETUP, expected_version=1)

    message = str(error.value)
    assert "'MTR-1'" in message
    assert "you edited version 1, it is now 2" in message
    assert "reload" in message
    assert registry.recorder.max_notification_id() == last_id
    assert registry.get("meter", "MTR-1").attributes_on(APRIL)["ct_ratio"] == "200"
    other_process.close()


def test_an_edit_based_on_the_current_version_is_recorded(registry: Registry) -> None:
    version = registry.change(
        "meter", "MTR-1", {"ct_ratio": "200"}, APRIL, SETUP, expected_version=1
    )

    assert version == 2
    assert registry.get("meter", "MTR-1").attributes_on(APRIL)["ct_ratio"] == "200"


def test_many_threads_editing_one_meter_leave_a_contiguous_history(
    store: StoreLocation, registry: Registry
) -> None:
    processes = [Registry(env=store.application_env()) for _ in range(THREADS)]

    def edit_repeatedly(number: int) -> list[tuple[str, int | ConcurrentEdit]]:
        outcomes: list[tuple[str, int | ConcurrentEdit]] = []
        for attempt in range(ATTEMPTS_PER_THREAD):
            actor = f"thread-{number}-attempt-{attempt}"
            outcomes.append((actor, _edit(processes[number], str(100 + number), actor)))
        return outcomes

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [o for outcomes in pool.map(edit_repeatedly, range(THREADS)) for o in outcomes]

    successes = {actor: outcome for actor, outcome in results if isinstance(outcome, int)}
    failures = [outcome for _, outcome in results if not isinstance(outcome, int)]
    history = registry.history("meter", "MTR-1")
    assert len(successes) + len(failures) == THREADS * ATTEMPTS_PER_THREAD
    assert all(isinstance(failure, ConcurrentEdit) for failure in failures)
    assert successes, "at least one edit must win"
    assert [event.originator_version for event in history] == list(range(1, len(history) + 1))
    assert len(history) == 1 + len(successes)
    recorded = {event.actor: event.originator_version for event in history[1:]}
    assert recorded == successes
    for process in processes:
        process.close()


def test_two_processes_registering_the_same_meter_at_once_record_it_once(
    store: StoreLocation,
) -> None:
    barrier = Barrier(2)
    first, second = RacingRegistrations(store, barrier), RacingRegistrations(store, barrier)
    new_meter = {"serial": "MTR-2", "meter_type": "E350"}

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(
            pool.map(lambda r: r.register("meter", new_meter, OPENED, SETUP), [first, second])
        )

    assert sorted(outcome.created for outcome in outcomes) == [False, True]
    assert outcomes[0].id == outcomes[1].id
    assert len(first.history("meter", "MTR-2")) == 1
    for racer in (first, second):
        racer.close()
