"""The workflow chain's steps (validate, estimate, export) on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from adapters.loadshapes import load_shape
from adapters.persistence.store import StoreLocation
from adapters.queue.chain_handlers import ChangedDays, DirectoryMeterChannels
from adapters.security.passwords import Argon2PasswordHasher
from application.errors import UnknownAggregate
from application.vee_workflow import Delivery, VeeWorkflow
from application.workflow.period import Period
from application.workflow.review import PeriodReview
from application.workflow.steps import WorkflowSteps
from domain.channel import Channel
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality as Q
from domain.vee.rule_set import DEFAULT_RULE_SET
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
DEVICE = Provenance("hes-collector", "load profile read", "device")
OLGA = Provenance("olga", "site visit", "ui", "FIELD_READ")
DAY = date(2026, 3, 4)  # a Wednesday
KEY = "SP-1:A+"
CHANNEL = Channel.id_for(KEY)


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# A nightly cycle's read at 04:00 of the next day: one day back.
NIGHTLY = Period(start_of(DAY) + timedelta(hours=4), start_of(DAY) + timedelta(hours=28))
WHOLE_DAY = Period(start_of(DAY), start_of(DAY + timedelta(days=1)))


@dataclass
class Chain:
    installation: Installation
    workflow: VeeWorkflow
    steps: WorkflowSteps

    def deliver(self, day: date, first_slot: int = 0, values: np.ndarray | None = None) -> None:
        block = household_day(day)[first_slot:] if values is None else values
        start = start_of(day) + timedelta(minutes=15 * first_slot)
        self.workflow.process(Delivery(KEY, start, block, np.zeros(len(block))), DEVICE)

    def qualities(self, day: date) -> np.ndarray:
        end = start_of(day + timedelta(days=1))
        return self.installation.readings.series(CHANNEL, 15, start_of(day), end).qualities


@pytest.fixture
def chain(store: StoreLocation) -> Iterator[Chain]:
    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    registry = installation.registry
    registry.create_meter({"serial": "M-1", "meter_type": "single-phase"}, date(2026, 1, 1), SETUP)
    registry.register(
        "channel",
        {"channel_key": KEY, "service_point_id": "SP-1", "kind": "metered", "unit": "kWh",
         "interval_minutes": 15, "meter_serial": "M-1", "meter_channel": "1.0.1.29.0.255"},
        date(2026, 1, 1),
        SETUP,
    )  # fmt: skip
    workflow = VeeWorkflow(registry, installation.readings)
    steps = WorkflowSteps(
        PeriodReview(workflow),
        installation.exports,
        DirectoryMeterChannels(installation.read_models, registry),
        ChangedDays(installation.readings, installation.read_models),
    )
    yield Chain(installation, workflow, steps)
    installation.close()


def household_day(day: date) -> np.ndarray:
    return load_shape("h25").quarter_hours(day) * 3.5  # 3,500 kWh a year


def test_a_clean_period_goes_on_and_its_day_is_exported_once(chain: Chain) -> None:
    chain.deliver(DAY)
    chain.deliver(DAY + timedelta(days=1), values=household_day(DAY + timedelta(days=1))[:16])

    validated = chain.steps.validate("M-1", NIGHTLY)
    exported = chain.steps.export("M-1", NIGHTLY, cycle_key="NIGHTLY")
    again = chain.steps.export("M-1", NIGHTLY, cycle_key="NIGHTLY")

    assert "follow_on" not in validated
    assert validated["intervals"]["validated"] == 96 and validated["waiting_for_a_person"] == 0
    assert [row["day"] for row in validated["channels"][0]["days"]] == ["2026-03-04", "2026-03-05"]
    (day,) = exported["exported"]
    assert (day["day"], day["intervals"], day["qualities"]) == ("2026-03-04", 96, {"validated": 96})
    assert day["total"] == pytest.approx(float(household_day(DAY).sum()))
    assert (again["exported"], again["already_exported"]) == ([], 1)
    chain.installation.read_models.catch_up()
    (row,) = chain.installation.read_models.billing_exports.exports(channel_id=CHANNEL)
    assert (row["channel"], row["day"], row["version"], row["cycle_key"]) == (
        KEY,
        "2026-03-04",
        day["version"],
        "NIGHTLY",
    )
    as_exported = chain.installation.readings.intervals(
        CHANNEL, start_of(DAY), start_of(DAY + timedelta(days=1)), as_of=row["recorded_at"]
    )
    assert sum(r["value"] for r in as_exported) == pytest.approx(row["total"])


def test_a_day_changed_after_its_export_is_exported_again_as_a_new_version(chain: Chain) -> None:
    chain.deliver(DAY)
    first = chain.steps.export("M-1", NIGHTLY)["exported"][0]
    chain.installation.readings.edit_intervals(CHANNEL, {start_of(DAY): 0.5}, OLGA)
    the_next_night = Period(NIGHTLY.start + timedelta(days=1), NIGHTLY.until + timedelta(days=1))

    second = chain.steps.export("M-1", the_next_night)

    (changed,) = second["exported"]
    assert changed["day"] == "2026-03-04" and changed["version"] > first["version"]
    assert changed["qualities"] == {"validated": 95, "edited": 1}
    chain.installation.read_models.catch_up()
    rows = chain.installation.read_models.billing_exports.exports(channel_id=CHANNEL)
    assert [(row["day"], row["version"]) for row in rows] == [
        ("2026-03-04", first["version"]),
        ("2026-03-04", changed["version"]),
    ]
    newer = chain.installation.read_models.billing_exports.exports(after=rows[0]["sequence"])
    assert [row["version"] for row in newer] == [changed["version"]]


def test_a_gap_between_two_deliveries_is_estimated_once_by_the_estimate_step(
    chain: Chain,
) -> None:
    values = household_day(DAY)
    chain.deliver(DAY, values=values[:40])
    chain.deliver(DAY, first_slot=44, values=values[44:])  # 10:00-11:00 never delivered
    readings = chain.installation.readings

    validated = chain.steps.validate("M-1", WHOLE_DAY)
    estimated = chain.steps.estimate("M-1", WHOLE_DAY)
    last = readings.recorder.max_notification_id()
    again = chain.steps.estimate("M-1", WHOLE_DAY)

    assert "follow_on" not in validated and validated["estimable"] == 4
    assert estimated["estimated"] == 4 and "follow_on" not in estimated
    assert estimated["channels"][0]["methods"] == {"linear_interpolation": 4}
    assert list(chain.qualities(DAY)[40:44]) == [Q.ESTIMATED] * 4
    versions = readings.interval_versions(CHANNEL, start_of(DAY) + timedelta(hours=10))
    assert [(v["event"], v["actor"], v["source"]) for v in versions] == [
        ("IntervalsEstimated", "hes-vee", "system")
    ]
    assert again["estimated"] == 0 and readings.recorder.max_notification_id() == last


def test_a_gap_no_method_fills_stops_the_chain_until_like_days_make_it_estimable(
    chain: Chain,
) -> None:
    values = household_day(DAY)
    values[24:48] = np.nan  # six hours, and no history to borrow from
    chain.deliver(DAY, values=values)

    validated = chain.steps.validate("M-1", WHOLE_DAY)
    nothing = chain.steps.estimate("M-1", WHOLE_DAY)
    for back in range(21, 0, -1):  # three weeks of history arrive late (a backfill)
        chain.deliver(DAY - timedelta(days=back))
    estimated = chain.steps.estimate("M-1", WHOLE_DAY)

    assert validated["follow_on"] is False and validated["waiting_for_a_person"] == 24
    assert "24 intervals wait for a person" in validated["stopped"]
    assert "/api/v1/vee/exceptions?channel=SP-1:A+" in validated["stopped"]
    assert nothing["estimated"] == 0 and nothing["follow_on"] is False
    assert estimated["estimated"] == 24 and "follow_on" not in estimated
    assert estimated["channels"][0]["methods"] == {"like_day_average": 24}
    assert list(chain.qualities(DAY)[24:48]) == [Q.ESTIMATED] * 24
    chain.installation.read_models.catch_up()
    assert chain.installation.read_models.vee_exceptions.count(channel_id=CHANNEL) == 0


def test_intervals_failed_by_a_finding_about_the_whole_delivery_are_left_for_a_person(
    chain: Chain,
) -> None:
    registry = chain.installation.registry
    rules = [spec.as_dict() for spec in DEFAULT_RULE_SET.rules if spec.rule != "interval_length"]
    rules.append({"rule": "interval_length", "params": {"interval_minutes": 30}})
    registry.register("validation_rule_set", {"name": "half-hourly", "rules": rules}, DAY, SETUP)
    registry.change("channel", KEY, {"rule_set": "half-hourly"}, DAY, SETUP)
    chain.deliver(DAY)

    validated = chain.steps.validate("M-1", WHOLE_DAY)
    estimated = chain.steps.estimate("M-1", WHOLE_DAY)
    exported = chain.steps.export("M-1", WHOLE_DAY)

    assert validated["intervals"]["failed"] == 96 and validated["waiting_for_a_person"] == 96
    assert validated["follow_on"] is False
    assert estimated["estimated"] == 0
    assert exported["exported"] == []
    assert exported["held_back"][0]["reason"] == "not final: 96 failed of 96 intervals"


def test_a_channel_may_be_the_target_and_an_unknown_target_is_refused(chain: Chain) -> None:
    chain.deliver(DAY)
    assert chain.steps.validate(KEY, WHOLE_DAY)["channels"][0]["channel"] == KEY
    with pytest.raises(UnknownAggregate):
        chain.steps.validate("NO-SUCH-METER", WHOLE_DAY)
