"""Validate, estimate, validate the estimates again: what happens to a delivery between
reading and storing, for the one-by-one workflow (``VeeWorkflow``) and the bulk path
(``application/bulk_ingest``) alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from application.block_validation import BlockEstimate, BlockValidation
from application.readings import BlockOutcome
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from domain.vee.estimation.plan import estimate_gaps, find_gaps, with_estimates
from domain.vee.rules.validation import failed_slots, pointed_at, validate
from domain.vee.series import (
    Estimate,
    EstimationMethod,
    Finding,
    ValidationContext,
    ValidationRule,
)

ESTIMATOR = Provenance(
    actor="hes-vee", reason="automatic estimation", reason_code="VEE", source="system"
)


@dataclass(frozen=True)
class DeliveryOutcome:
    stored: BlockOutcome
    validated: int
    failed: int
    estimated: int
    for_a_person: int  # failed or missing intervals no method could estimate
    findings: list[dict[str, Any]]


@dataclass(frozen=True)
class Judgement:
    """What validation and estimation made of one delivery, before it is stored."""

    validation: BlockValidation
    validated: int
    failed: int
    estimated: int
    for_a_person: int

    def outcome(self, stored: BlockOutcome) -> DeliveryOutcome:
        return DeliveryOutcome(
            stored=stored,
            validated=self.validated,
            failed=self.failed,
            estimated=self.estimated,
            for_a_person=self.for_a_person,
            findings=list(self.validation.findings),  # type: ignore[arg-type]
        )


def judge(
    context: ValidationContext,
    rules: Sequence[ValidationRule],
    methods: Sequence[EstimationMethod],
    findings: list[Finding] | None = None,
) -> Judgement:
    """Validates the delivery in ``context``, estimates what failed or is missing and
    validates the estimates again (one that fails is not used). ``findings``: the rules'
    findings on ``context`` when they are known already."""
    values = context.series.values
    if findings is None:
        findings = validate(context, rules)
    if not findings and np.isfinite(values).all():
        # Nothing fired and nothing is missing: every slot is validated, nothing to
        # estimate (what the steps below come to, in a tenth of the time).
        return all_validated(len(values))
    failing = failed_slots(context, findings)
    qualities = np.where(np.isnan(values), ReadingQuality.MISSING, ReadingQuality.VALIDATED).astype(
        np.uint8
    )
    qualities[sorted(failing)] = ReadingQuality.FAILED
    # Only intervals a rule points at (and missing ones) are estimated; a finding about
    # the whole block leaves its values for a person.
    to_estimate = qualities.copy()
    to_estimate[sorted(failing - pointed_at(findings))] = ReadingQuality.VALIDATED
    judged = dataclasses.replace(
        context, series=dataclasses.replace(context.series, qualities=to_estimate)
    )
    estimates = revalidated(judged, estimate_gaps(judged, find_gaps(judged.series), methods), rules)
    estimated = {slot for estimate in estimates for slot in estimate.slots}
    unusable = set(np.flatnonzero(qualities != ReadingQuality.VALIDATED).tolist())
    return Judgement(
        validation=BlockValidation(
            qualities=qualities,
            findings=[finding.as_stored() for finding in findings],
            estimator=ESTIMATOR,
            estimates=[BlockEstimate(e.slots, e.values, e.method) for e in estimates],
        ),
        validated=int(np.sum(qualities == ReadingQuality.VALIDATED)),
        failed=len(failing),
        estimated=len(estimated),
        for_a_person=len(unusable - estimated),
    )


def all_validated(length: int) -> Judgement:
    return Judgement(
        validation=BlockValidation(
            qualities=np.full(length, ReadingQuality.VALIDATED, dtype=np.uint8),
            findings=[],
            estimator=ESTIMATOR,
            estimates=[],
        ),
        validated=length,
        failed=0,
        estimated=0,
        for_a_person=0,
    )


def revalidated(
    context: ValidationContext, estimates: list[Estimate], rules: Sequence[ValidationRule]
) -> list[Estimate]:
    """Estimated data is validated again; an estimate that fails is not used."""
    if not estimates:
        return estimates
    filled = dataclasses.replace(context, series=with_estimates(context.series, estimates))
    refused = pointed_at(validate(filled, rules))
    return [e for e in estimates if not refused.intersection(e.slots)]
