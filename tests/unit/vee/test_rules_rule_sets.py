"""Rules rebuilt from stored parameters, rule-set versions as JSON, and running a set."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.vee.rule_set import DEFAULT_RULE_SET, RuleSetVersion, RuleSpec, version_in_effect
from domain.vee.rules import (
    RULES,
    GapCheck,
    SpikeCheck,
    SpikeParams,
    TouSumCheckParams,
    build_rule,
    failed_slots,
    validate,
)
from domain.vee.series import PowerOutage, ValidationContext
from tests.unit.vee import MIDNIGHT, at, household_day, interval_series, reads, slot

ISSUE_RULES = {
    "gap",
    "interval_length",
    "interval_count",
    "absolute_limits",
    "historical_usage",
    "spike",
    "consecutive_zeros",
    "negative_consumption",
    "register_decrease",
    "register_delta",
    "sum_check",
    "tou_sum_check",
    "suspect_status",
    "clock_drift",
    "outage_count",
    "duplicate_delivery",
    "disconnected_usage",
}


def test_every_rule_of_the_issue_is_registered_under_its_own_name() -> None:
    assert set(RULES) == ISSUE_RULES
    assert all(rule.name == name for name, rule in RULES.items())


def test_a_rule_is_built_with_its_defaults_and_its_default_severity() -> None:
    assert build_rule("spike", {}) == SpikeCheck()
    assert build_rule("gap", {}).severity == "fail"
    assert build_rule("spike", {}).severity == "warn"


def test_a_rule_is_built_with_stored_parameters_and_severity() -> None:
    rule = build_rule("spike", {"tolerance_percent": 150, "min_highest": 0.5}, "fail")

    assert rule == SpikeCheck(SpikeParams(tolerance_percent=150.0, min_highest=0.5), "fail")
    assert isinstance(rule, SpikeCheck) and isinstance(rule.params.tolerance_percent, float)


def test_a_stored_list_becomes_the_tuple_a_rule_expects() -> None:
    rule = build_rule("tou_sum_check", {"tou_registers": ["1.8.1", "1.8.2"]})

    assert rule.params == TouSumCheckParams(tou_registers=("1.8.1", "1.8.2"))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "params", "severity", "complaint"),
    [
        ("spikes", {}, None, "unknown validation rule 'spikes'; known: absolute_limits"),
        ("gap", {"max_gap": 2}, None, "rule 'gap' has no parameter 'max_gap'; its parameters are"),
        ("gap", {"max_gap_intervals": 2.5}, None, "'max_gap_intervals' must be a whole number"),
        ("gap", {"max_gap_intervals": True}, None, "must be a whole number, not True"),
        ("spike", {"tolerance_percent": "200"}, None, "must be a number, not '200'"),
        ("spike", {"tolerance_percent": float("nan")}, None, "must be a number"),
        ("absolute_limits", {"high": "x"}, None, "must be a number or null"),
        ("tou_sum_check", {"tou_registers": [1]}, None, "must be a list of text"),
        ("duplicate_delivery", {"report_identical": 1}, None, "must be true or false"),
        ("spike", {"tolerance_percent": -1}, None, "rule 'spike': tolerance_percent must be 0"),
        ("gap", {}, "error", "severity must be 'warn' or 'fail', not 'error'"),
    ],
)
def test_unknown_or_ill_typed_settings_are_refused_with_a_clear_message(
    name: str, params: dict, severity: str | None, complaint: str
) -> None:
    with pytest.raises(ValueError) as raised:
        build_rule(name, params, severity)
    assert complaint in str(raised.value)


@pytest.mark.parametrize("name", sorted(ISSUE_RULES))
def test_every_rule_copes_with_an_empty_series_and_with_one_all_missing(name: str) -> None:
    rule = build_rule(name, {})
    everything = ordinary_household_context(household_day())
    empty = dataclasses.replace(everything, series=interval_series([]))
    all_missing = dataclasses.replace(everything, series=interval_series(np.full(96, np.nan)))

    assert rule.check(empty) == []
    assert all(finding.rule == name for finding in rule.check(all_missing))


def test_null_switches_an_optional_limit_off() -> None:
    rule = build_rule("absolute_limits", {"high": None})

    assert rule.check(ValidationContext(interval_series([1e6]))) == []


def test_a_rule_set_version_survives_a_json_round_trip() -> None:
    text = DEFAULT_RULE_SET.to_json()

    assert RuleSetVersion.from_json(text) == DEFAULT_RULE_SET
    assert json.loads(text)["effective_from"] == "2000-01-01"


def test_a_rule_set_version_with_tuples_compares_equal_after_the_round_trip() -> None:
    version = RuleSetVersion(
        "tou meters",
        date(2026, 4, 1),
        (RuleSpec("tou_sum_check", {"tou_registers": ("1.8.1", "1.8.2")}, "fail"),),
    )

    assert RuleSetVersion.from_json(version.to_json()) == version


def test_a_rule_set_with_a_bad_rule_is_refused_when_made_or_loaded() -> None:
    with pytest.raises(ValueError, match="has no parameter 'hgih'"):
        RuleSpec("absolute_limits", {"hgih": 5.0})
    stored = json.loads(DEFAULT_RULE_SET.to_json())
    stored["rules"][0]["severity"] = "fatal"
    with pytest.raises(ValueError, match="severity must be"):
        RuleSetVersion.from_json(json.dumps(stored))
    with pytest.raises(ValueError, match="not a rule set version"):
        RuleSetVersion.from_json('{"name": "x"}')


def test_the_version_in_effect_is_the_latest_effective_by_the_day() -> None:
    spring = RuleSetVersion("household", date(2026, 3, 1), (RuleSpec("gap"),))
    summer = RuleSetVersion("household", date(2026, 6, 1), (RuleSpec("spike"),))

    assert version_in_effect([summer, spring], date(2026, 2, 28)) is None
    assert version_in_effect([summer, spring], date(2026, 3, 1)) == spring
    assert version_in_effect([summer, spring], date(2026, 7, 1)) == summer


def ordinary_household_context(values: np.ndarray) -> ValidationContext:
    past = np.concatenate(
        [household_day(MIDNIGHT.date() - timedelta(days=n)) for n in range(14, 0, -1)]
    )
    day_total = f"{household_day().sum():.2f}"
    return ValidationContext(
        interval_series(values),
        history=interval_series(past, start=MIDNIGHT - timedelta(days=14)),
        registers=reads(
            "total", (at(0), "4711.00"), (at(24), str(Decimal("4711.00") + Decimal(day_total)))
        ),
        outages=(PowerOutage(at(3), at(3, 2)),),
        clock_deviation_seconds=4.0,
    )


def test_the_default_rule_set_passes_an_ordinary_household_day() -> None:
    context = ordinary_household_context(household_day())

    assert validate(context, DEFAULT_RULE_SET.build()) == []


def test_the_default_rule_set_finds_what_is_wrong_with_a_damaged_day() -> None:
    values = household_day()
    values[slot(3)] = 2.5  # a corrupted value
    values[slot(14) : slot(14, 45)] = np.nan  # 45 min lost in transmission
    context = ordinary_household_context(values)

    findings = validate(context, DEFAULT_RULE_SET.build())

    assert [finding.rule for finding in findings] == ["gap", "spike"]
    assert findings[0].slots == (slot(14), slot(14, 15), slot(14, 30))
    assert failed_slots(context, findings) == {slot(14), slot(14, 15), slot(14, 30)}


def test_a_finding_naming_no_slots_fails_the_whole_series() -> None:
    context = ValidationContext(interval_series(np.full(4, 0.25), interval_minutes=30))

    findings = validate(context, [build_rule("interval_length", {}), GapCheck()])

    assert failed_slots(context, findings) == {0, 1, 2, 3}


def test_findings_are_json_values_as_events_need_them() -> None:
    values = household_day()
    values[[2, 3]] = [np.nan, -1.0]
    values[slot(20) : slot(22, 30)] = 0.0
    context = ordinary_household_context(values)

    findings = validate(context, DEFAULT_RULE_SET.build())

    assert {finding.rule for finding in findings} >= {
        "gap",
        "negative_consumption",
        "consecutive_zeros",
    }
    for finding in findings:
        stored = dataclasses.asdict(finding)
        assert json.loads(json.dumps(stored)) == {**stored, "slots": list(finding.slots)}
