"""The outcome of validating one delivered block, cut to the channel days it spans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.provenance import Provenance


@dataclass(frozen=True)
class BlockEstimate:
    slots: tuple[int, ...]  # indexes into the block
    values: np.ndarray
    method: str


@dataclass(frozen=True)
class DayPart:
    qualities: np.ndarray
    findings: list[dict[str, Any]]
    estimates: list[tuple[list[int], np.ndarray, str]]  # day slots, values, method
    estimator: Provenance


@dataclass(frozen=True)
class BlockValidation:
    """Per-slot qualities, the findings (slots relative to the block) and estimates."""

    qualities: np.ndarray
    findings: Sequence[Mapping[str, Any]]
    estimator: Provenance
    estimates: Sequence[BlockEstimate] = field(default_factory=tuple)

    def part(self, offset: int, count: int, first_slot: int) -> DayPart:
        """The share of block slots [offset, offset+count) for a day starting at first_slot."""

        def to_day(slots: Sequence[int]) -> list[int]:
            return [first_slot + slot - offset for slot in slots if offset <= slot < offset + count]

        findings = []
        for finding in self.findings:
            slots = list(finding.get("slots") or ())
            day_slots = to_day(slots)
            if slots and not day_slots:
                continue  # the finding concerns another day of the block
            findings.append({**finding, "slots": day_slots})
        estimates = []
        for estimate in self.estimates:
            chosen = [i for i, slot in enumerate(estimate.slots) if offset <= slot < offset + count]
            if chosen:
                estimates.append(
                    (
                        to_day([estimate.slots[i] for i in chosen]),
                        np.asarray(estimate.values)[chosen],
                        estimate.method,
                    )
                )
        return DayPart(
            qualities=self.qualities[offset : offset + count],
            findings=findings,
            estimates=estimates,
            estimator=self.estimator,
        )
