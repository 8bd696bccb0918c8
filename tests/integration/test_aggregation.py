"""The ``aggregate`` step: calculated channels computed from their sources, recorded on
real SQLite and PostgreSQL, through the task handler as a worker runs it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from adapters.persistence.store import StoreLocation
from adapters.queue.chain_handlers import register_chain_handlers
from adapters.queue.handlers import PermanentTaskError, TaskHandlers
from adapters.security.passwords import Argon2PasswordHasher
from application.block_validation import BlockValidation
from application.operations import TaskRun
from domain.channel import Channel
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality as Q
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
IMPORT = Provenance("hes-import", "interval file", "import")
OLGA = Provenance("olga", "net metering of the site", "api")
DAY = date(2026, 3, 4)
NEXT_DAY = DAY + timedelta(days=1)
SLOTS = 96
NET = "SP-9:NET"


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def channel(key: str, kind: str, minutes: int = 15, **more: Any) -> dict[str, Any]:
    return {"channel_key": key, "service_point_id": key.split(":")[0], "kind": kind,
            "unit": "kWh", "interval_minutes": minutes, **more}  # fmt: skip


@dataclass
class Site:
    installation: Installation
    handlers: TaskHandlers  # as a worker that is not bare has them

    def record(self, key: str, values: np.ndarray, qualities: np.ndarray) -> None:
        self.installation.readings.record_block(
            Channel.id_for(key),
            15,
            start_of(DAY),
            values,
            np.zeros(len(values), dtype=np.uint8),
            IMPORT,
            validation=BlockValidation(qualities=qualities, findings=(), estimator=IMPORT),
        )

    def aggregate(self, target: str, parameters: dict[str, Any]) -> dict[str, Any]:
        operations = self.installation.operations
        task_id = operations.create_task(
            "aggregate", target, parameters, start_of(NEXT_DAY + timedelta(days=1)), OLGA
        )
        run = TaskRun(task_id, 1, 1, "aggregate", target, parameters, "srv-a", "srv-a/1")
        return self.handlers.run(run)

    def series(self, key: str) -> Any:
        end = start_of(NEXT_DAY + timedelta(days=1))
        return self.installation.readings.series(Channel.id_for(key), 15, start_of(DAY), end)


@pytest.fixture
def site(store: StoreLocation) -> Iterator[Site]:
    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    since = date(2026, 1, 1)
    for key in ("SP-1:A+", "SP-2:A+", "SP-3:A-"):
        installation.registry.register("channel", channel(key, "imported"), since, SETUP)
    formula = "{SP-1:A+} + {SP-2:A+} - 0.5 * {SP-3:A-}"
    installation.registry.register(
        "channel", channel(NET, "calculated", formula=formula), since, SETUP
    )
    handlers = TaskHandlers()
    register_chain_handlers(handlers, installation)
    yield Site(installation, handlers)
    installation.close()


A = np.arange(2 * SLOTS) * 0.25
B = np.full(2 * SLOTS, 1.5)
C = np.arange(2 * SLOTS) * 0.125 + 3.0


def record_sources(site: Site) -> None:
    validated = np.full(2 * SLOTS, Q.VALIDATED, dtype=np.uint8)
    b, b_qualities = B.copy(), validated.copy()
    b[10], b_qualities[10] = np.nan, Q.MISSING
    a_qualities = validated.copy()
    a_qualities[20] = Q.ESTIMATED
    site.record("SP-1:A+", A, a_qualities)
    site.record("SP-2:A+", b, b_qualities)
    site.record("SP-3:A-", C, validated)


def test_a_calculated_channel_is_its_formula_over_its_sources_exactly(site: Site) -> None:
    record_sources(site)

    result = site.aggregate(NET, {"start": "2026-03-04T00:00:00Z", "days": 2})

    net = site.series(NET)
    expected = A + B - 0.5 * C
    expected[10] = np.nan
    assert np.array_equal(net.values, expected, equal_nan=True)
    qualities = np.full(2 * SLOTS, Q.VALIDATED, dtype=np.uint8)
    qualities[10], qualities[20] = Q.MISSING, Q.ESTIMATED
    assert np.array_equal(net.qualities, qualities)
    assert result["qualities"] == {"missing": 1, "validated": 2 * SLOTS - 2, "estimated": 1}
    assert (result["recorded_days"], result["recorded_intervals"]) == (2, 2 * SLOTS)
    events = site.installation.readings.day_versions(Channel.id_for(NET), DAY)
    assert {event.actor for event in events[1:]} == {"hes-aggregate"}


def test_a_second_run_records_nothing(site: Site) -> None:
    record_sources(site)
    parameters = {"start": "2026-03-04T00:00:00Z", "end": "2026-03-06T00:00:00Z"}
    site.aggregate(NET, parameters)
    versions = len(site.installation.readings.day_versions(Channel.id_for(NET), DAY))

    again = site.aggregate(NET, parameters)

    assert (again["recorded_days"], again["recorded_intervals"]) == (0, 0)
    assert len(site.installation.readings.day_versions(Channel.id_for(NET), DAY)) == versions


def test_a_changed_formula_is_used_from_the_day_it_takes_effect(site: Site) -> None:
    record_sources(site)
    site.installation.registry.change(
        "channel", NET, {"formula": "{SP-1:A+} - {SP-3:A-}"}, NEXT_DAY, OLGA
    )

    site.aggregate(NET, {"start": "2026-03-04T00:00:00Z", "days": 2})

    net = site.series(NET).values
    before = A[:SLOTS] + B[:SLOTS] - 0.5 * C[:SLOTS]
    before[10] = np.nan
    assert np.array_equal(net[:SLOTS], before, equal_nan=True)
    assert np.array_equal(net[SLOTS:], A[SLOTS:] - C[SLOTS:])


def test_a_source_of_another_interval_length_is_refused(site: Site) -> None:
    since = date(2026, 1, 1)
    registry = site.installation.registry
    registry.register("channel", channel("SP-4:TEMP", "imported", 60), since, SETUP)
    registry.register(
        "channel",
        channel("SP-9:MIX", "calculated", formula="{SP-1:A+} + {SP-4:TEMP}"),
        since,
        SETUP,
    )

    with pytest.raises(PermanentTaskError, match="60 min intervals"):
        site.aggregate("SP-9:MIX", {"start": "2026-03-04T00:00:00Z", "days": 1})


def test_only_calculated_channels_are_aggregated(site: Site) -> None:
    with pytest.raises(PermanentTaskError, match="not a calculated channel"):
        site.aggregate("any", {"channel": "SP-1:A+", "start": "2026-03-04T00:00:00Z", "days": 1})
