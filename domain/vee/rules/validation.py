"""Running a rule set's rules over one validation context, or over many at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.series import Finding, ValidationContext, ValidationRule


def validate(context: ValidationContext, rules: Iterable[ValidationRule]) -> list[Finding]:
    """Every finding of every rule, in the order of the rules."""
    return [finding for rule in rules for finding in rule.check(context)]


def validate_many(
    contexts: Sequence[ValidationContext], rules: Sequence[ValidationRule]
) -> list[list[Finding]]:
    """``validate`` of each context, the same findings in the same order; a rule that can
    screen a batch (``DeliveryBatch``) runs ``check`` only where its screen says it could
    find something."""
    results: list[list[Finding]] = [[] for _ in contexts]
    for rows in _same_shape(contexts):
        batch = DeliveryBatch([contexts[row] for row in rows]) if len(rows) > 1 else None
        for rule in rules:
            screen = getattr(rule, "screen", None)
            could = screen(batch) if batch is not None and screen is not None else None
            for position, row in enumerate(rows):
                if could is None or could[position]:
                    results[row].extend(rule.check(contexts[row]))
    return results


def clear_rows(
    contexts: Sequence[ValidationContext],
    rules: Sequence[ValidationRule],
    history_totals: Sequence[np.ndarray],
) -> np.ndarray:
    """Per context, whether no rule finds anything and every value is there: such a
    delivery is validated whole. The contexts carry no history; ``history_totals`` gives
    each one's as daily usage (what the historical-usage screen needs). A rule without a
    screen runs ``check`` on the context as given, so it must not look at the history
    (tests/unit/vee/test_rules_screens.py holds every such rule to that)."""
    clear = np.zeros(len(contexts), dtype=bool)
    for rows in _same_shape(contexts, [len(totals) for totals in history_totals]):
        totals = np.stack([history_totals[row] for row in rows])
        batch = DeliveryBatch([contexts[row] for row in rows], totals)
        passed = np.isfinite(batch.values).all(axis=1)
        for rule in rules:
            screen = getattr(rule, "screen", None)
            if screen is not None:
                passed &= ~screen(batch)
                continue
            for position in np.flatnonzero(passed):
                if rule.check(contexts[rows[position]]):
                    passed[position] = False
        clear[rows] = passed
    return clear


def _same_shape(
    contexts: Sequence[ValidationContext], history_days: Sequence[int] | None = None
) -> list[list[int]]:
    """Row numbers grouped by interval length and slot count (what a batch must share),
    and by history length when the histories come as daily totals."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for row, context in enumerate(contexts):
        days = history_days[row] if history_days is not None else 0
        key = (context.series.interval_minutes, len(context.series), days)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def failed_slots(context: ValidationContext, findings: Iterable[Finding]) -> set[int]:
    """Slots a fail finding points at; a finding naming no slots concerns them all."""
    slots: set[int] = set()
    for finding in findings:
        if finding.severity == "fail":
            slots.update(finding.slots or range(len(context.series)))
    return slots


def pointed_at(findings: Iterable[Finding]) -> set[int]:
    """Slots named by failing findings (not those concerning the whole block)."""
    return {slot for f in findings if f.severity == "fail" for slot in f.slots}
