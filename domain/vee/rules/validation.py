"""Running a rule set's rules over one validation context."""

from __future__ import annotations

from collections.abc import Iterable

from domain.vee.series import Finding, ValidationContext, ValidationRule


def validate(context: ValidationContext, rules: Iterable[ValidationRule]) -> list[Finding]:
    """Every finding of every rule, in the order of the rules."""
    return [finding for rule in rules for finding in rule.check(context)]


def failed_slots(context: ValidationContext, findings: Iterable[Finding]) -> set[int]:
    """Slots a fail finding points at; a finding naming no slots concerns them all."""
    slots: set[int] = set()
    for finding in findings:
        if finding.severity == "fail":
            slots.update(finding.slots or range(len(context.series)))
    return slots
