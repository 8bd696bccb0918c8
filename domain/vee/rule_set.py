"""Rule sets: which validation rules run, with which parameters and severities, from
which date. A rule set is assigned to channels or meter types; a change is a new version
with a later ``effective_from``, so data is always validated by the rules of its day.

Versions are stored as JSON and rebuilt into rules by ``build_rule``, which refuses
unknown rules and ill-typed parameters when a version is made, not when it first runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.vee.rules import build_rule
from domain.vee.series import Severity, ValidationRule


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a rule set as configured: its name, parameters (those not given take
    their defaults) and severity (None: the rule's own default)."""

    rule: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None

    def __post_init__(self) -> None:
        # Kept in their JSON form (lists, not tuples) so that a round trip compares equal.
        try:
            stored = json.loads(json.dumps(dict(self.params)))
        except TypeError as error:
            raise ValueError(
                f"rule {self.rule!r}: parameters must be JSON values: {error}"
            ) from error
        object.__setattr__(self, "params", stored)
        build_rule(self.rule, self.params, self.severity)

    def build(self) -> ValidationRule:
        return build_rule(self.rule, self.params, self.severity)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "params": self.params, "severity": self.severity}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RuleSpec:
        unknown = set(stored) - {"rule", "params", "severity"}
        if unknown or "rule" not in stored:
            raise ValueError(f"a rule needs 'rule' and may have 'params', 'severity': {stored}")
        return cls(stored["rule"], dict(stored.get("params") or {}), stored.get("severity"))


@dataclass(frozen=True)
class RuleSetVersion:
    name: str
    effective_from: date
    rules: tuple[RuleSpec, ...]

    def build(self) -> list[ValidationRule]:
        return [spec.build() for spec in self.rules]

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "effective_from": self.effective_from.isoformat(),
                "rules": [spec.as_dict() for spec in self.rules],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> RuleSetVersion:
        stored = json.loads(text)
        try:
            return cls(
                name=str(stored["name"]),
                effective_from=date.fromisoformat(stored["effective_from"]),
                rules=tuple(RuleSpec.from_dict(rule) for rule in stored["rules"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a rule set version: {error}") from error


def version_in_effect(versions: Iterable[RuleSetVersion], day: date) -> RuleSetVersion | None:
    """The version that validates data of ``day``: the latest one effective by then."""
    effective = [version for version in versions if version.effective_from <= day]
    return max(effective, key=lambda version: version.effective_from, default=None)


# For a 15-min kWh import channel of a household or small business. Interval count is
# left out: deliveries are often partial days, where the gap rule says what matters.
DEFAULT_RULE_SET = RuleSetVersion(
    name="default 15-min kWh",
    effective_from=date(2000, 1, 1),
    rules=(
        RuleSpec("gap"),
        RuleSpec("interval_length", {"interval_minutes": 15}),
        RuleSpec("absolute_limits", {"high": 10.0}),
        RuleSpec("negative_consumption"),
        RuleSpec("historical_usage"),
        RuleSpec("spike"),
        RuleSpec("consecutive_zeros"),
        # Errors and invalid data fail; a power-down or an invalid clock is worth a look.
        RuleSpec("suspect_status", {"status_mask": 0x01 | 0x04}, "fail"),
        RuleSpec("suspect_status", {"status_mask": 0x02 | 0x80}, "warn"),
        RuleSpec("register_decrease"),
        RuleSpec("register_delta", {"register": "total", "high_per_day": 200.0}),
        RuleSpec("sum_check"),
        RuleSpec("tou_sum_check"),
        RuleSpec("clock_drift"),
        RuleSpec("outage_count"),
        RuleSpec("duplicate_delivery"),
        RuleSpec("disconnected_usage"),
    ),
)
