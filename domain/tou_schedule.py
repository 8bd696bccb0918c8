"""Time-of-use schedule: the tariff periods an account is billed by."""

from __future__ import annotations

from domain.attributes import Attribute
from domain.registered import RegisteredAggregate


class TouSchedule(RegisteredAggregate):
    TOPIC = "hes.registry.TouSchedule"
    KEY = "code"
    SCHEMA = {
        "code": Attribute(key=True, max_length=64),
        "name": Attribute(required=True),
        "tariff_code": Attribute(max_length=64),
        "timezone": Attribute(max_length=64),
        # [{"day_types": ["WT"], "start": "07:00", "end": "22:00", "rate": "PEAK"}, ...]
        "periods": Attribute(kind="list"),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.TouSchedule.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.TouSchedule.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.TouSchedule.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.TouSchedule.Retired"
