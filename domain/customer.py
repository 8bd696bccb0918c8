"""Customer: the party that holds accounts."""

from __future__ import annotations

from domain.attributes import Attribute
from domain.registered import RegisteredAggregate


class Customer(RegisteredAggregate):
    TOPIC = "hes.registry.Customer"
    KEY = "customer_id"
    SCHEMA = {
        "customer_id": Attribute(key=True, max_length=64),
        "name": Attribute(required=True),
        "email": Attribute(),
        "phone": Attribute(max_length=40),
        "postal_address": Attribute(max_length=400),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Customer.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Customer.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Customer.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Customer.Retired"
