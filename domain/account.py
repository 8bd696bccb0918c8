"""Account: the billing relationship of a customer, its number and its tariff.

The account number can change over time (with effect from a date), so the aggregate's
identity is the ``account_key`` given when it was opened, never the number.
"""

from __future__ import annotations

from domain.attributes import Attribute
from domain.registered import RegisteredAggregate


class Account(RegisteredAggregate):
    TOPIC = "hes.registry.Account"
    KEY = "account_key"
    SCHEMA = {
        "account_key": Attribute(key=True, max_length=64),
        "account_number": Attribute(required=True, max_length=64),
        "customer_id": Attribute(required=True, max_length=64),
        "premise_id": Attribute(max_length=64),
        "tou_schedule": Attribute(max_length=64),
        "status": Attribute(kind="choice", choices=("active", "suspended", "closed")),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Account.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Account.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Account.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Account.Retired"
