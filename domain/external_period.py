"""External period: an interval of time that someone outside the meter reported.

Billing systems send outage credits (the customer had no supply and is credited) and
curtailment intervals (load was curtailed under an interruptible programme). Both feed
validation (no consumption is expected in an outage; low usage in a curtailment is not
suspect) and billing. A wrong period is corrected or retired, never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.attributes import Attribute, InvalidAttributes
from domain.registered import RegisteredAggregate

PERIOD_KINDS = ("outage_credit", "curtailment")


class ExternalPeriod(RegisteredAggregate):
    TOPIC = "hes.registry.ExternalPeriod"
    KEY = "period_key"
    SCHEMA = {
        "period_key": Attribute(key=True, max_length=128),  # the sender's reference
        "service_point_id": Attribute(required=True, max_length=64),
        "kind": Attribute(kind="choice", choices=PERIOD_KINDS, required=True),
        "starts_at": Attribute(kind="datetime", required=True),
        "ends_at": Attribute(kind="datetime", required=True),
        "programme": Attribute(max_length=100),
        "note": Attribute(max_length=400),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.ExternalPeriod.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.ExternalPeriod.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.ExternalPeriod.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.ExternalPeriod.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        starts, ends = attributes.get("starts_at"), attributes.get("ends_at")
        if starts and ends and datetime.fromisoformat(ends) <= datetime.fromisoformat(starts):
            raise InvalidAttributes({"ends_at": "must be after starts_at"})
