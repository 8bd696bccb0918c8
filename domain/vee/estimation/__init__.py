"""Estimation methods for interval data, one module each, and the plan that runs them.

Each method is a small class: ``name`` (its key in ``METHODS`` and in stored plans),
``params`` (a frozen dataclass with documented defaults) and ``estimate(context, slots)``
returning an ``Estimate`` or None when it cannot apply. Plans are stored as JSON:
``[{"method": "linear_interpolation", "params": {"max_gap_minutes": 120}}, ...]``.
docs/VEE.md describes every method with its parameters and measured accuracy.
``plan.py`` runs a plan over the gaps; ``billing_lock.py`` guards billed estimates. Pure
domain code: the standard library, numpy and ``domain`` only (tests/unit/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.vee.estimation.billing_lock import (
    EstimateLocked,
    billed_estimates,
    check_replacement_allowed,
)
from domain.vee.estimation.like_day_average import LikeDayAverage, LikeDayAverageParams
from domain.vee.estimation.linear_interpolation import (
    LinearInterpolation,
    LinearInterpolationParams,
)
from domain.vee.estimation.params import ConfigurableMethod, params_as_json, params_from
from domain.vee.estimation.plan import estimate_gaps, find_gaps, with_estimates
from domain.vee.estimation.power_gap_fill import PowerGapFill, PowerGapFillParams
from domain.vee.estimation.register_distribution import (
    RegisterDistribution,
    RegisterDistributionParams,
)
from domain.vee.estimation.register_scaling import RegisterScaling, RegisterScalingParams
from domain.vee.estimation.value_fill import ValueFill, ValueFillParams
from domain.vee.series import EstimationMethod

METHODS: dict[str, type[ConfigurableMethod]] = {
    method.name: method
    for method in (
        PowerGapFill,
        LinearInterpolation,
        LikeDayAverage,
        RegisterDistribution,
        ValueFill,
        RegisterScaling,
    )
}

# Certain before likely: no consumption without power; a line only over short gaps; the
# usual day otherwise; the register's word when there is no usable history.
DEFAULT_PLAN: tuple[Mapping[str, object], ...] = (
    {"method": PowerGapFill.name, "params": {}},
    {"method": LinearInterpolation.name, "params": {}},
    {"method": LikeDayAverage.name, "params": {}},
    {"method": RegisterDistribution.name, "params": {}},
)


def build_method(name: str, params: Mapping[str, object]) -> EstimationMethod:
    """The method ``name`` with ``params`` (JSON values; missing ones take their default)."""
    if name not in METHODS:
        raise ValueError(f"unknown estimation method {name!r}; known: {', '.join(METHODS)}")
    method = METHODS[name]
    return method(params_from(name, method.params_type, params))


def build_plan(specs: Sequence[Mapping[str, object]] = DEFAULT_PLAN) -> list[EstimationMethod]:
    """Methods from stored ``{"method": name, "params": {...}}`` objects, in order."""
    methods: list[EstimationMethod] = []
    for spec in specs:
        name, params = spec.get("method"), spec.get("params", {})
        if not isinstance(name, str) or not isinstance(params, Mapping):
            raise ValueError(f"a plan step needs a method name and a params object: {spec!r}")
        methods.append(build_method(name, params))
    return methods


def describe_method(method: EstimationMethod) -> dict[str, object]:
    """The stored form of a method: ``{"method": name, "params": {...}}``."""
    return {"method": method.name, "params": params_as_json(getattr(method, "params", None))}


__all__ = [
    "DEFAULT_PLAN",
    "METHODS",
    "EstimateLocked",
    "LikeDayAverage",
    "LikeDayAverageParams",
    "LinearInterpolation",
    "LinearInterpolationParams",
    "PowerGapFill",
    "PowerGapFillParams",
    "RegisterDistribution",
    "RegisterDistributionParams",
    "RegisterScaling",
    "RegisterScalingParams",
    "ValueFill",
    "ValueFillParams",
    "billed_estimates",
    "build_method",
    "build_plan",
    "check_replacement_allowed",
    "describe_method",
    "estimate_gaps",
    "find_gaps",
    "with_estimates",
]
