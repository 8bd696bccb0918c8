"""Channel: a service point's series of interval values.

Metered channels take their values from a meter channel (an OBIS code of the meter
installed at the service point); calculated ones from a formula over other channels;
imported ones from outside (temperatures, prices, outage credits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.attributes import Attribute, InvalidAttributes
from domain.channel_formula import ChannelFormula, FormulaError
from domain.registered import RegisteredAggregate

INTERVAL_MINUTES = (1, 5, 10, 15, 30, 60)
CHANNEL_KINDS = ("metered", "calculated", "imported")


class Channel(RegisteredAggregate):
    TOPIC = "hes.registry.Channel"
    KEY = "channel_key"
    SCHEMA = {
        "channel_key": Attribute(key=True, max_length=128),
        "service_point_id": Attribute(required=True, max_length=64),
        "name": Attribute(max_length=100),
        "kind": Attribute(kind="choice", choices=CHANNEL_KINDS, required=True),
        "unit": Attribute(required=True, max_length=16),
        "interval_minutes": Attribute(kind="int", choices=INTERVAL_MINUTES, required=True),
        "meter_serial": Attribute(max_length=64),
        "meter_channel": Attribute(max_length=32),
        "multiplier": Attribute(kind="decimal", critical=True, positive=True),
        "formula": Attribute(critical=True, max_length=1000),
        "rule_set": Attribute(max_length=64),  # name of its ValidationRuleSet
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Channel.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Channel.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Channel.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Channel.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        kind = attributes.get("kind")
        if kind == "metered" and not attributes.get("meter_channel"):
            raise InvalidAttributes({"meter_channel": "a metered channel needs a meter channel"})
        if kind == "calculated" and not attributes.get("formula"):
            raise InvalidAttributes({"formula": "a calculated channel needs a formula"})
        if kind == "calculated":
            try:
                ChannelFormula.parse(str(attributes["formula"]))
            except FormulaError as error:
                raise InvalidAttributes({"formula": str(error)}) from None
