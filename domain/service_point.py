"""Service point: where energy is delivered and measured.

Its id is constant for its whole life: meters are exchanged and accounts change at a
service point, and both are effective-dated attributes of it.
"""

from __future__ import annotations

from datetime import date

from domain.attributes import Attribute
from domain.provenance import Provenance
from domain.registered import RegisteredAggregate


class ServicePoint(RegisteredAggregate):
    TOPIC = "hes.registry.ServicePoint"
    KEY = "service_point_id"
    SCHEMA = {
        "service_point_id": Attribute(key=True, max_length=64),
        "name": Attribute(required=True),
        "purpose": Attribute(
            kind="choice",
            choices=("residential", "commercial", "industrial", "agricultural", "generation"),
        ),
        "location": Attribute(max_length=400),
        "premise_id": Attribute(max_length=64),
        "account_key": Attribute(max_length=64),
        "meter_serial": Attribute(max_length=64),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.ServicePoint.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.ServicePoint.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.ServicePoint.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.ServicePoint.Retired"

    class MeterExchanged(RegisteredAggregate.Changed):
        """The meter installed at this service point was replaced by another."""

        TOPIC = "hes.registry.ServicePoint.MeterExchanged"

    def exchange_meter(self, new_serial: str, effective_from: date, provenance: Provenance) -> None:
        self.check_registered_by(effective_from)
        values = self._checked({"meter_serial": new_serial})
        before = {"meter_serial": self.attributes_on(effective_from).get("meter_serial")}
        self.trigger_event(
            self.MeterExchanged,
            changes=values,
            before=before,
            effective_from=effective_from.isoformat(),
            **provenance.as_event_fields(),
        )
