"""Holiday calendar: a named set of local dates on which cycles skip or shift work.

A cycle's schedule names a calendar (``"holidays": {"calendar": "DE-BY"}``); the dates
are kept here once, so a public holiday added to the calendar applies to every cycle
that names it.
"""

from __future__ import annotations

from datetime import date

from domain.attributes import Attribute
from domain.cycle_attributes import DateList
from domain.registered import RegisteredAggregate


class HolidayCalendar(RegisteredAggregate):
    TOPIC = "hes.registry.HolidayCalendar"
    KEY = "calendar_key"
    SCHEMA = {
        "calendar_key": Attribute(key=True, max_length=64),
        "name": Attribute(required=True),
        "region": Attribute(max_length=100),
        "dates": DateList(kind="list", required=True),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.HolidayCalendar.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.HolidayCalendar.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.HolidayCalendar.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.HolidayCalendar.Retired"

    def dates_on(self, day: date) -> frozenset[date]:
        """The holidays as the calendar listed them with effect on ``day``."""
        listed = self.attributes_on(day).get("dates") or []
        return frozenset(date.fromisoformat(text) for text in listed)
