"""BillingExport: each data version of a channel day goes to billing once."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from domain.billing_export import BillingExport
from domain.provenance import Provenance

EXPORTER = Provenance("hes-export", "final data made ready for billing", "system")
FIGURES = {"intervals": 96, "total": 12.5, "unit": "kWh", "qualities": {"validated": 96}}


def new_export() -> BillingExport:
    return BillingExport.open(uuid.uuid4(), "SP-1:A+", date(2026, 3, 4))


def test_a_version_is_exported_once_and_a_later_version_again() -> None:
    export = new_export()
    assert export.export(3, "2026-03-05T04:00:00+00:00", FIGURES, EXPORTER, cycle_key="C")
    assert not export.export(3, "2026-03-05T04:00:00+00:00", FIGURES, EXPORTER)
    assert export.export(5, "2026-03-06T09:00:00+00:00", FIGURES, EXPORTER)
    assert (export.exported_version, export.exports) == (5, 2)
    names = [type(event).__name__ for event in export.collect_events()]
    assert names == ["Opened", "VersionExported", "VersionExported"]


def test_an_older_version_than_the_one_billing_has_is_not_exported() -> None:
    export = new_export()
    export.export(5, "2026-03-06T09:00:00+00:00", FIGURES, EXPORTER)
    assert not export.export(4, "2026-03-06T08:00:00+00:00", FIGURES, EXPORTER)
    assert export.exported_version == 5


def test_the_exported_event_says_what_billing_got_and_who_made_it_ready() -> None:
    export = new_export()
    export.export(
        3, "2026-03-05T04:00:00+00:00", FIGURES, EXPORTER, cycle_key="NIGHTLY", task="t:1"
    )
    event = export.collect_events()[-1]
    assert (event.data_version, event.intervals, event.total) == (3, 96, 12.5)
    assert (event.qualities, event.cycle_key, event.task) == ({"validated": 96}, "NIGHTLY", "t:1")
    assert (event.actor, event.source) == ("hes-export", "system")


def test_ids_follow_the_channel_and_the_day() -> None:
    channel = uuid.uuid4()
    assert BillingExport.id_for(channel, date(2026, 3, 4)) == BillingExport.id_for(
        channel, date(2026, 3, 4)
    )
    assert BillingExport.id_for(channel, date(2026, 3, 4)) != BillingExport.id_for(
        channel, date(2026, 3, 5)
    )
    with pytest.raises(ValueError):
        new_export().export(0, "2026-03-05T04:00:00+00:00", FIGURES, EXPORTER)
