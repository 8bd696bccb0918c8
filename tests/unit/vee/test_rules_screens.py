"""Screens: a rule's test on many deliveries at once never clears a delivery its ``check``
would find something in, and ``validate_many`` gives exactly ``validate``'s findings.

The data is drawn from a few discrete levels so that values land exactly on the rules'
limits (a spike exactly 3 x the third-highest, a day exactly 3 x the average, zeros
exactly 2 h long): the boundaries are where a screen could go wrong.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.rule_set import DEFAULT_RULE_SET
from domain.vee.rules import RULES, build_rule
from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.days import daily_values
from domain.vee.rules.validation import clear_rows, validate, validate_many
from domain.vee.series import IntervalSeries, PowerOutage, ValidationContext
from tests.unit.vee import MIDNIGHT, at, household_day, interval_series

LEVELS = np.array([0.0, 0.0, 0.25, 0.25, 0.25, 0.5, 0.75, 1.0, 2.0, 10.0, 10.5, -0.25, -0.5])

# Every rule that screens, with its defaults, the default rule set's parameters and
# parameters that move its boundaries.
SCREENED = [
    *(rule for rule in DEFAULT_RULE_SET.build() if hasattr(rule, "screen")),
    build_rule("gap", {"max_gap_intervals": 3}),
    build_rule("absolute_limits", {"high": 1.0, "low": 0.25}),
    build_rule("negative_consumption", {"tolerance": 0.25}),
    build_rule("historical_usage", {"high_factor": 1.0, "low_factor": 1.0, "min_history_days": 2}),
    build_rule("spike", {"tolerance_percent": 0.0, "min_highest": 0.5}),
    build_rule("consecutive_zeros", {"min_hours": 0.5, "max_hours": 1.0, "threshold": 0.25}),
    build_rule("suspect_status", {"status_mask": 0x80}),
    build_rule("duplicate_delivery", {"tolerance": 0.25, "report_identical": False}),
    build_rule("outage_count", {"max_outages": 0}),
]


def drawn_context(rng: np.random.Generator, days: int = 1) -> ValidationContext:
    """A delivery of ``days`` days: mostly household days, some drawn from LEVELS in
    runs, with statuses, a history, earlier deliveries, outages and disconnections."""
    width = 96 * days
    if rng.random() < 0.4:
        values = np.concatenate([household_day() for _ in range(days)])
    else:
        values = np.repeat(rng.choice(LEVELS, width // 4 + 1), 4)[:width]
        scattered = rng.random(width) < 0.1
        values[scattered] = rng.choice(LEVELS, int(scattered.sum()))
    if rng.random() < 0.2:
        values[int(rng.integers(0, width))] = rng.choice([0.75, 2.0, 10.0])  # a spike, or not
    if rng.random() < 0.3:
        first = int(rng.integers(0, width))
        values[first : first + int(rng.integers(1, 12))] = np.nan
    statuses = np.where(rng.random(width) < 0.02, rng.choice([0x01, 0x02, 0x80]), 0)
    series = interval_series(values, statuses=statuses.astype(np.uint8))
    history_days = int(rng.integers(1, 14))
    level = rng.choice([0.25, 0.5, values[~np.isnan(values)].sum() / 96 / days / 3 or 0.25])
    past = np.full(96 * history_days, level)
    if rng.random() < 0.3:
        past[int(rng.integers(len(past)))] = np.nan  # an incomplete day, left out
    history = interval_series(past, start=MIDNIGHT - timedelta(days=history_days))
    earlier = None
    if rng.random() < 0.3:
        earlier_values = np.where(rng.random(width) < 0.5, values, np.nan)
        earlier_values[rng.random(width) < 0.1] += rng.choice([0.25, 0.5])
        earlier = interval_series(earlier_values)
    outages = tuple(PowerOutage(at(hour), at(hour, 20)) for hour in range(int(rng.integers(0, 5))))
    disconnections = ((at(3), at(5)),) if rng.random() < 0.1 else ()
    return ValidationContext(
        series=series,
        history=history if rng.random() < 0.9 else None,
        outages=outages,
        disconnections=disconnections,
        previously_delivered=earlier,
    )


def boundary_contexts() -> list[ValidationContext]:
    """Deliveries exactly on, and one step beyond, the limits of the rules above."""
    week = interval_series(np.full(96 * 7, 0.25), start=MIDNIGHT - timedelta(days=7))
    flat = np.full(96, 0.25)  # 24 a day, like the week before
    shaped = []
    for total in (72.0, 72.25, 4.8, 4.75, 24.0, 24.25):  # 3 x, 0.2 x and 1 x the average
        shaped.append(flat * total / 24)
    for zeros in (2, 7, 8):  # 30 min, 1 h 45 and exactly 2 h of zeros
        day = flat.copy()
        day[40 : 40 + zeros] = 0.0
        shaped.append(day)
    for missing in (3, 4):
        day = flat.copy()
        day[10 : 10 + missing] = np.nan
        shaped.append(day)
    for peak in (0.75, 0.76, 1.0):  # 3 x the third-highest, just above, 4 x
        day = flat.copy()
        day[20] = peak
        shaped.append(day)
    for value in (10.0, 10.25, -0.25, -0.5):
        day = flat.copy()
        day[30] = value
        shaped.append(day)
    return [ValidationContext(series=interval_series(day), history=week) for day in shaped]


@pytest.fixture(scope="module")
def contexts() -> list[ValidationContext]:
    rng = np.random.default_rng(20261207)
    drawn = [drawn_context(rng) for _ in range(400 - 21)] + boundary_contexts()
    # Histories of one length per batch, as a bulk ingest gives them, and mixed ones.
    uniform = [drawn_context(rng) for _ in range(200 - 21)]
    history = interval_series(np.full(96 * 7, 0.25), start=MIDNIGHT - timedelta(days=7))
    uniform = [ValidationContext(**{**c.__dict__, "history": history}) for c in uniform]
    return drawn + uniform + boundary_contexts()


@pytest.mark.parametrize("rule", SCREENED, ids=lambda rule: f"{rule.name}:{rule.params}")
def test_a_screen_clears_no_delivery_its_check_finds_something_in(
    rule: object, contexts: list[ValidationContext]
) -> None:
    for group in (contexts[:400], contexts[400:]):
        could = rule.screen(DeliveryBatch(group))  # type: ignore[attr-defined]
        fired = np.array([bool(rule.check(context)) for context in group])  # type: ignore[attr-defined]

        assert not np.any(fired & ~could), "a screen cleared a delivery its rule fires on"
        assert fired.any(), "the data never makes the rule fire: the test would prove nothing"


@pytest.mark.parametrize(
    "name", sorted(name for name, rule in RULES.items() if hasattr(rule, "screen"))
)
def test_every_screen_clears_plain_household_days(name: str) -> None:
    rule = RULES[name]()
    history = interval_series(np.tile(household_day(), 14), start=MIDNIGHT - timedelta(days=14))
    plain = [
        ValidationContext(series=interval_series(household_day() * factor), history=history)
        for factor in (0.8, 1.0, 1.2)
    ]

    assert not rule.screen(DeliveryBatch(plain)).any()


def test_validate_many_gives_validates_findings_in_validates_order(
    contexts: list[ValidationContext],
) -> None:
    rules = [*DEFAULT_RULE_SET.build(), *SCREENED]
    two_days = [drawn_context(np.random.default_rng(seed), days=2) for seed in range(30)]
    mixed = contexts[::3] + two_days

    assert validate_many(mixed, rules) == [validate(context, rules) for context in mixed]


def test_a_batch_refuses_series_of_different_shapes() -> None:
    day = ValidationContext(series=interval_series(household_day()))
    hourly = ValidationContext(series=interval_series(np.ones(24), interval_minutes=60))

    with pytest.raises(ValueError, match="share interval length"):
        DeliveryBatch([day, hourly])


def test_series_starting_off_midnight_are_screened_as_could_by_day_rules() -> None:
    odd = IntervalSeries(
        MIDNIGHT + timedelta(minutes=15),
        15,
        household_day(),
        np.zeros(96, np.uint8),
        np.full(96, ReadingQuality.RAW, np.uint8),
    )
    batch = DeliveryBatch(
        [ValidationContext(series=interval_series(household_day())), ValidationContext(odd)]
    )

    assert RULES["spike"]().screen(batch).all()


def history_totals(context: ValidationContext) -> np.ndarray:
    """The history as daily usage only (NaN: not a complete day), as the read model has it."""
    if context.history is None:
        return np.zeros(0)
    past = daily_values(context.history)
    complete = ~np.isnan(past).any(axis=1)
    return np.where(complete, np.where(complete[:, None], past, 0.0).sum(axis=1), np.nan)


def without_history(context: ValidationContext) -> ValidationContext:
    return dataclasses.replace(context, history=None)


@pytest.mark.parametrize(
    "name", sorted(name for name, rule in RULES.items() if not hasattr(rule, "screen"))
)
def test_a_rule_without_a_screen_does_not_look_at_the_history(
    name: str, contexts: list[ValidationContext]
) -> None:
    rule = RULES[name]()

    assert [rule.check(c) for c in contexts] == [rule.check(without_history(c)) for c in contexts]


def test_clear_rows_are_those_nothing_fires_on_given_the_history_as_daily_usage(
    contexts: list[ValidationContext],
) -> None:
    history = interval_series(np.tile(household_day(), 14), start=MIDNIGHT - timedelta(days=14))
    plain = [
        ValidationContext(series=interval_series(household_day() * factor), history=history)
        for factor in (0.5, 0.8, 1.0, 1.2, 2.0, 4.0)  # 4 x the usual day: historical usage
    ]
    for rules, group in ((DEFAULT_RULE_SET.build(), plain + contexts), ([*SCREENED], contexts)):
        light = [without_history(context) for context in group]

        clear = clear_rows(light, rules, [history_totals(context) for context in group])

        whole = np.array(
            [not validate(c, rules) and bool(np.isfinite(c.series.values).all()) for c in group]
        )
        assert not np.any(clear & ~whole)  # never clears what a rule fires on
    assert clear_rows(
        [without_history(c) for c in plain], DEFAULT_RULE_SET.build(),
        [history_totals(c) for c in plain],
    ).tolist() == [True] * 5 + [False]  # fmt: skip
