"""Validation rule set: which VEE rules run on which data, version by version.

A change to a rule set is a ``Changed`` event with an ``effective_from``, so every day of
data is validated by the rules in force on that day, and the event log keeps every
version. Channels name their rule set; meter types can have a default one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.attributes import Attribute, InvalidAttributes
from domain.registered import RegisteredAggregate
from domain.vee.rule_set import RuleSetVersion, RuleSpec


class ValidationRuleSet(RegisteredAggregate):
    TOPIC = "hes.registry.ValidationRuleSet"
    KEY = "name"
    SCHEMA = {
        "name": Attribute(key=True, max_length=64),
        "description": Attribute(max_length=400),
        # [{"rule": "spike", "params": {"tolerance_percent": 300}, "severity": "warn"}, ...]
        "rules": Attribute(kind="list", required=True),
        "meter_types": Attribute(kind="list"),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.ValidationRuleSet.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.ValidationRuleSet.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.ValidationRuleSet.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.ValidationRuleSet.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        problems = []
        for index, stored in enumerate(attributes.get("rules") or []):
            try:
                if not isinstance(stored, Mapping):
                    raise ValueError("must be an object with 'rule', 'params', 'severity'")
                RuleSpec.from_dict(stored)
            except ValueError as error:
                problems.append(f"rule {index + 1}: {error}")
        if problems:
            raise InvalidAttributes({"rules": "; ".join(problems)})

    def version_on(self, day: date) -> RuleSetVersion:
        """The rule set in force on ``day`` (as far as this version of it knows)."""
        rules = self.attributes_on(day).get("rules") or []
        start = self.period_of("rules", day) or self.registered_from
        return RuleSetVersion(
            name=self.key,
            effective_from=date.fromisoformat(start),
            rules=tuple(RuleSpec.from_dict(stored) for stored in rules),
        )
