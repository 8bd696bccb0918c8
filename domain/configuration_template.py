"""Configuration template: a named set of meter settings meters are created from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.attributes import Attribute, InvalidAttributes
from domain.meter import Meter
from domain.registered import RegisteredAggregate


class ConfigurationTemplate(RegisteredAggregate):
    TOPIC = "hes.registry.ConfigurationTemplate"
    KEY = "name"
    SCHEMA = {
        "name": Attribute(key=True, max_length=64),
        "description": Attribute(max_length=400),
        "meter_defaults": Attribute(kind="mapping", required=True),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.ConfigurationTemplate.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.ConfigurationTemplate.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.ConfigurationTemplate.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.ConfigurationTemplate.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        defaults = attributes.get("meter_defaults") or {}
        unknown = sorted(set(defaults) - set(Meter.SCHEMA))
        if unknown:
            raise InvalidAttributes(
                {"meter_defaults": f"not meter attributes: {', '.join(unknown)}"}
            )
        if "serial" in defaults:
            raise InvalidAttributes({"meter_defaults": "a template cannot fix the serial"})
