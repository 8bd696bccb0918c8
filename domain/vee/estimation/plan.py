"""An estimation plan: methods tried in order for each gap, then optional register scaling.

The Readings application runs it after validation: ``find_gaps`` names the missing and
failed slots, ``estimate_gaps`` proposes values, ``with_estimates`` gives the series as it
would be, which is validated again before the estimates are recorded
(``ChannelDay.IntervalsEstimated``). Slots no method could fill stay missing for a person.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.estimation.known import known_mask
from domain.vee.estimation.register_scaling import RegisterScaling
from domain.vee.series import Estimate, EstimationMethod, IntervalSeries, ValidationContext


def find_gaps(series: IntervalSeries) -> list[tuple[int, ...]]:
    """Runs of consecutive slots without a usable value (missing, failed or NaN)."""
    return _runs(np.flatnonzero(~known_mask(series.values, series.qualities)))


def estimate_gaps(
    context: ValidationContext,
    gaps: Sequence[tuple[int, ...]],
    methods: Sequence[EstimationMethod],
) -> list[Estimate]:
    """Per gap, the first method that applies wins. A method may fill part of a gap (power-
    gap fill fills only what lies inside an outage); the rest goes on, run by run, to the
    methods after it. Each estimate is in the series the next gap sees, so register
    distribution shares only what is still unaccounted for. A ``RegisterScaling`` among
    ``methods`` runs last, over all estimates, whatever its position."""
    fillers = [method for method in methods if not isinstance(method, RegisterScaling)]
    scalings = [method for method in methods if isinstance(method, RegisterScaling)]
    series = context.series
    values, qualities = series.values.astype(np.float64), series.qualities.astype(np.uint8)
    current = dataclasses.replace(
        context, series=dataclasses.replace(series, values=values, qualities=qualities)
    )
    estimates: list[Estimate] = []
    for gap in gaps:
        pending: list[tuple[tuple[int, ...], int]] = [(tuple(gap), 0)]
        while pending:
            run, first = pending.pop(0)
            for position in range(first, len(fillers)):
                estimate = fillers[position].estimate(current, run)
                if estimate is None or not _usable(estimate, run):
                    continue
                estimates.append(estimate)
                values[list(estimate.slots)] = estimate.values
                qualities[list(estimate.slots)] = ReadingQuality.ESTIMATED
                rest = sorted(set(run) - set(estimate.slots))
                pending.extend((part, position + 1) for part in _runs(rest))
                break
    for scaling in scalings:
        estimates = _scaled(current, estimates, scaling)
    return estimates


def with_estimates(series: IntervalSeries, estimates: Iterable[Estimate]) -> IntervalSeries:
    """The series with the estimates in place (quality ESTIMATED), to be validated again."""
    values, qualities = series.values.astype(np.float64), series.qualities.astype(np.uint8)
    for estimate in estimates:
        values[list(estimate.slots)] = estimate.values
        qualities[list(estimate.slots)] = ReadingQuality.ESTIMATED
    return dataclasses.replace(series, values=values, qualities=qualities)


def _usable(estimate: Estimate, run: tuple[int, ...]) -> bool:
    if not estimate.slots or not set(estimate.slots) <= set(run):
        raise ValueError(f"{estimate.method} estimated slots it was not asked for")
    if len(estimate.values) != len(estimate.slots):
        raise ValueError(
            f"{estimate.method} gave {len(estimate.values)} values for {len(estimate.slots)} slots"
        )
    # A value that is not a number would fail when recorded; the next method may do better.
    return bool(np.isfinite(estimate.values).all())


def _scaled(
    context: ValidationContext, estimates: list[Estimate], scaling: RegisterScaling
) -> list[Estimate]:
    """The estimates with the values ``scaling`` gave; only those it changed are renamed."""
    slots = sorted({slot for estimate in estimates for slot in estimate.slots})
    result = scaling.estimate(context, tuple(slots)) if slots else None
    if result is None:
        return estimates
    series_values = context.series.values  # the plan's own copy
    scaled = np.full(len(series_values), np.nan)
    scaled[list(result.slots)] = result.values
    rescaled: list[Estimate] = []
    for estimate in estimates:
        chosen = list(estimate.slots)
        values = np.where(np.isnan(scaled[chosen]), estimate.values, scaled[chosen])
        if np.array_equal(values, estimate.values):
            rescaled.append(estimate)
            continue
        series_values[chosen] = values  # a further scaling starts from these
        note = "; ".join(filter(None, (estimate.note, result.note)))
        rescaled.append(Estimate(f"{estimate.method}+{scaling.name}", estimate.slots, values, note))
    return rescaled


def _runs(slots: Sequence[int] | np.ndarray) -> list[tuple[int, ...]]:
    """Consecutive slots grouped: [3, 4, 5, 9] -> [(3, 4, 5), (9,)]."""
    ordered = np.asarray(slots, dtype=np.int64)
    if not ordered.size:
        return []
    breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
    return [tuple(int(slot) for slot in run) for run in np.split(ordered, breaks)]
