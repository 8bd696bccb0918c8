"""Premise: a place with an address where service is delivered."""

from __future__ import annotations

from domain.attributes import Attribute
from domain.registered import RegisteredAggregate


class Premise(RegisteredAggregate):
    TOPIC = "hes.registry.Premise"
    KEY = "premise_id"
    SCHEMA = {
        "premise_id": Attribute(key=True, max_length=64),
        "address": Attribute(required=True, max_length=400),
        "city": Attribute(),
        "postal_code": Attribute(max_length=20),
        "country": Attribute(max_length=2),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Premise.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Premise.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Premise.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Premise.Retired"
