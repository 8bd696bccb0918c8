"""Validation rules: one module a rule, each a small class with its parameters as a
frozen dataclass, and ``build_rule`` to rebuild one from a rule set stored as JSON.

``slots``, ``days``, ``registers`` and ``tolerance`` are what several rules share;
``parameters`` turns stored parameters back into a rule's dataclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from domain.vee.rules.absolute_limits import AbsoluteLimitsCheck, AbsoluteLimitsParams
from domain.vee.rules.clock_drift import ClockDriftCheck, ClockDriftParams
from domain.vee.rules.consecutive_zeros import ConsecutiveZerosCheck, ConsecutiveZerosParams
from domain.vee.rules.disconnected_usage import DisconnectedUsageCheck, DisconnectedUsageParams
from domain.vee.rules.duplicate_delivery import DuplicateDeliveryCheck, DuplicateDeliveryParams
from domain.vee.rules.gap import GapCheck, GapParams
from domain.vee.rules.historical_usage import HistoricalUsageCheck, HistoricalUsageParams
from domain.vee.rules.interval_count import IntervalCountCheck, IntervalCountParams
from domain.vee.rules.interval_length import IntervalLengthCheck, IntervalLengthParams
from domain.vee.rules.negative_consumption import (
    NegativeConsumptionCheck,
    NegativeConsumptionParams,
)
from domain.vee.rules.outage_count import OutageCountCheck, OutageCountParams
from domain.vee.rules.parameters import build_params, parameters_of
from domain.vee.rules.register_decrease import RegisterDecreaseCheck, RegisterDecreaseParams
from domain.vee.rules.register_delta import RegisterDeltaCheck, RegisterDeltaParams
from domain.vee.rules.spike import SpikeCheck, SpikeParams
from domain.vee.rules.sum_check import SumCheck, SumCheckParams
from domain.vee.rules.suspect_status import SuspectStatusCheck, SuspectStatusParams
from domain.vee.rules.tou_sum_check import TouSumCheck, TouSumCheckParams
from domain.vee.rules.validation import failed_slots, validate
from domain.vee.series import ValidationRule

RULES: dict[str, type[Any]] = {
    rule.name: rule
    for rule in (
        GapCheck,
        IntervalLengthCheck,
        IntervalCountCheck,
        AbsoluteLimitsCheck,
        HistoricalUsageCheck,
        SpikeCheck,
        ConsecutiveZerosCheck,
        NegativeConsumptionCheck,
        RegisterDecreaseCheck,
        RegisterDeltaCheck,
        SumCheck,
        TouSumCheck,
        SuspectStatusCheck,
        ClockDriftCheck,
        OutageCountCheck,
        DuplicateDeliveryCheck,
        DisconnectedUsageCheck,
    )
}


def build_rule(
    name: str, params: Mapping[str, object], severity: str | None = None
) -> ValidationRule:
    """The rule ``name`` with ``params`` (missing ones take their defaults); ValueError
    names what is wrong: an unknown rule or parameter, a value of the wrong type or range."""
    rule_class = RULES.get(name)
    if rule_class is None:
        raise ValueError(f"unknown validation rule {name!r}; known: {', '.join(sorted(RULES))}")
    built = build_params(name, parameters_of(rule_class), params)
    if severity is None:
        return cast(ValidationRule, rule_class(params=built))
    if severity not in ("warn", "fail"):
        raise ValueError(f"rule {name!r}: severity must be 'warn' or 'fail', not {severity!r}")
    return cast(ValidationRule, rule_class(params=built, severity=severity))


__all__ = [
    "RULES",
    "AbsoluteLimitsCheck",
    "AbsoluteLimitsParams",
    "ClockDriftCheck",
    "ClockDriftParams",
    "ConsecutiveZerosCheck",
    "ConsecutiveZerosParams",
    "DisconnectedUsageCheck",
    "DisconnectedUsageParams",
    "DuplicateDeliveryCheck",
    "DuplicateDeliveryParams",
    "GapCheck",
    "GapParams",
    "HistoricalUsageCheck",
    "HistoricalUsageParams",
    "IntervalCountCheck",
    "IntervalCountParams",
    "IntervalLengthCheck",
    "IntervalLengthParams",
    "NegativeConsumptionCheck",
    "NegativeConsumptionParams",
    "OutageCountCheck",
    "OutageCountParams",
    "RegisterDecreaseCheck",
    "RegisterDecreaseParams",
    "RegisterDeltaCheck",
    "RegisterDeltaParams",
    "SpikeCheck",
    "SpikeParams",
    "SumCheck",
    "SumCheckParams",
    "SuspectStatusCheck",
    "SuspectStatusParams",
    "TouSumCheck",
    "TouSumCheckParams",
    "build_rule",
    "failed_slots",
    "validate",
]
