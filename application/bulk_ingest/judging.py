"""The findings of a wave of deliveries, those under one rule set screened together."""

from __future__ import annotations

from collections.abc import Sequence

from application.bulk_ingest.plans import Planned
from domain.vee.rules.validation import validate_many
from domain.vee.series import Finding, ValidationContext


def validated(
    plans: Sequence[Planned], contexts: Sequence[ValidationContext]
) -> list[list[Finding]]:
    """``validate`` of each context, deliveries under one rule set screened together."""
    by_rules: dict[int, list[int]] = {}
    for row, plan in enumerate(plans):
        by_rules.setdefault(id(plan.rules), []).append(row)
    findings: list[list[Finding]] = [[] for _ in plans]
    for rows in by_rules.values():
        found = validate_many([contexts[row] for row in rows], plans[rows[0]].rules)
        for row, row_findings in zip(rows, found, strict=True):
            findings[row] = row_findings
    return findings
