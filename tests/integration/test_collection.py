"""Collection over real DLMS/TCP into the event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_collection import DlmsLoadProfileSource
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.collection import Collection, ProfileRead
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
# A fixed meter clock: the profile and every expected value are reproducible.
METER_NOW = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
DAY_START = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


@pytest.fixture
def meter_port() -> Iterator[int]:
    config = SimulatedMeterConfig(
        serial="SIM-1", password="lls-secret-1", history_days=3, clock=lambda: METER_NOW
    )
    with FleetThread([config]) as fleet:
        yield fleet.ports["SIM-1"]


def register_meter(installation: Installation, port: int, password: str) -> None:
    since = date(2026, 1, 1)
    installation.registry.create_meter(
        {
            "serial": "SIM-1",
            "meter_type": "single-phase",
            "security_profile": "lls",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        since,
        SETUP,
        secrets={"lls_password": password},
    )
    installation.registry.register(
        "channel",
        {
            "channel_key": "SP-1:A+",
            "service_point_id": "SP-1",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_serial": "SIM-1",
            "meter_channel": "1.0.1.29.0.255",
            "multiplier": "2",
        },
        since,
        SETUP,
    )


def collect(installation: Installation) -> int:
    collection = Collection(installation.registry, installation.readings, DlmsLoadProfileSource(3))
    outcome = asyncio.run(
        collection.collect_load_profile(
            "SIM-1", "SP-1:A+", DAY_START, DAY_START + timedelta(days=1)
        )
    )
    return outcome.intervals


def test_a_day_of_load_profile_is_read_over_tcp_and_recorded_once(
    installation: Installation, meter_port: int
) -> None:
    register_meter(installation, meter_port, "lls-secret-1")

    assert collect(installation) == 96
    assert collect(installation) == 0  # the same read again records nothing

    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    assert len(rows) == 96
    assert rows[0]["start"] == DAY_START
    assert rows[-1]["start"] == DAY_START + timedelta(hours=23, minutes=45)
    assert all(row["quality"] == "raw" and row["value"] > 0 for row in rows)
    # Households use more in the evening than at night (BDEW h25), times the multiplier.
    evening = sum(row["value"] for row in rows[72:84])
    night = sum(row["value"] for row in rows[12:24])
    assert evening > night


def test_a_wrong_password_in_the_vault_fails_the_read_and_records_nothing(
    installation: Installation, meter_port: int
) -> None:
    from adapters.dlms.errors import AssociationRejected

    register_meter(installation, meter_port, "not-the-password")
    with pytest.raises(AssociationRejected) as raised:
        collect(installation)
    assert "not-the-password" not in str(raised.value)
    assert installation.readings.recorder.max_notification_id() is None


def test_collected_intervals_go_through_validation_and_estimation(
    installation: Installation, meter_port: int
) -> None:
    register_meter(installation, meter_port, "lls-secret-1")
    outcome = asyncio.run(
        installation.collection.collect_load_profile(
            "SIM-1", "SP-1:A+", DAY_START, DAY_START + timedelta(days=1)
        )
    )
    assert outcome.intervals == 96
    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    assert {row["quality"] for row in rows} == {"validated"}


def test_an_hls_gmac_meter_is_read_with_the_keys_sealed_in_the_vault(
    installation: Installation,
) -> None:
    from adapters.dlms.hls import HlsKeys

    title, key, auth = bytes.fromhex("5349480000000007"), bytes(range(16)), bytes(range(16, 32))
    config = SimulatedMeterConfig(
        serial="HLS-1", hls_keys=HlsKeys(title, key, auth), history_days=3, clock=lambda: METER_NOW
    )
    with FleetThread([config]) as fleet:
        installation.registry.create_meter(
            {
                "serial": "HLS-1",
                "meter_type": "single-phase",
                "security_profile": "hls-gmac",
                "system_title": title.hex(),
                "comm_address": "127.0.0.1",
                "comm_port": fleet.ports["HLS-1"],
            },
            date(2026, 1, 1),
            SETUP,
            secrets={"block_cipher_key": key.hex(), "authentication_key": auth.hex()},
        )
        installation.registry.register(
            "channel",
            {"channel_key": "SP-H:A+", "service_point_id": "SP-H", "kind": "metered",
             "unit": "kWh", "interval_minutes": 15, "meter_serial": "HLS-1",
             "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
        outcome = asyncio.run(
            installation.collection.collect_load_profile(
                "HLS-1", "SP-H:A+", DAY_START, DAY_START + timedelta(days=1)
            )
        )
    assert outcome.intervals == 96


def test_the_midnight_registers_account_for_entries_the_profile_lost(
    installation: Installation,
) -> None:
    """The meter lost 5 h of profile entries but its register counted on: the collection
    hands VEE the daily billing snapshots with the day, and the gap is estimated from the
    register's advance, so the day adds up to exactly what the register says."""
    from adapters.dlms.simulator import ProfileEntriesLost

    lost = ProfileEntriesLost(DAY_START + timedelta(hours=8), DAY_START + timedelta(hours=13))
    config = SimulatedMeterConfig(
        serial="SIM-1", password="lls-secret-1", history_days=3, clock=lambda: METER_NOW,
        faults=(lost,),
    )  # fmt: skip
    with FleetThread([config]) as fleet:
        register_meter(installation, fleet.ports["SIM-1"], "lls-secret-1")
        read = read_day(installation)
        outcome = asyncio.run(
            installation.collection.collect_load_profile(
                "SIM-1", "SP-1:A+", DAY_START, DAY_START + timedelta(days=1)
            )
        )

    assert len(read.intervals) == 96 - 20
    midnight, next_midnight = read.snapshots
    assert (midnight.captured_at, next_midnight.captured_at) == (
        DAY_START,
        DAY_START + timedelta(days=1),
    )
    assert outcome.intervals == 96
    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    estimated = [row for row in rows if row["quality"] == "estimated"]
    assert [row["start"] for row in estimated] == [
        DAY_START + timedelta(hours=8, minutes=15 * n) for n in range(20)
    ]
    advance_kwh = float(next_midnight.energy_wh - midnight.energy_wh) / 1000 * 2  # multiplier
    assert sum(row["value"] for row in rows) == pytest.approx(advance_kwh, abs=1e-9)
    assert all(row["value"] > 0 for row in estimated)
    stored = installation.readings.register_reads(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1, seconds=1)
    )
    assert [(r["read_at"], r["value"], r["source"]) for r in stored] == [
        (snapshot.captured_at, snapshot.energy_wh / 1000 * 2, "device")
        for snapshot in (midnight, next_midnight)
    ]


def test_a_day_that_disagrees_with_its_register_fails_the_sum_check(
    installation: Installation, meter_port: int
) -> None:
    """The intervals as read, with the midnight snapshots as read except that the later
    one is 5 kWh further on: the sum check fails the day and the register's advance is
    distributed instead, both findings and the delivered values kept in the day's history."""
    register_meter(installation, meter_port, "lls-secret-1")
    read = read_day(installation)
    first, last = read.snapshots
    ahead = dataclasses.replace(last, energy_wh=last.energy_wh + 5000)

    installation.collection.record_intervals("SP-1:A+", read.intervals, snapshots=[first, ahead])

    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    advance_kwh = float(ahead.energy_wh - first.energy_wh) / 1000 * 2
    assert {row["quality"] for row in rows} == {"estimated"}
    assert sum(row["value"] for row in rows) == pytest.approx(advance_kwh, abs=1e-9)
    [recorded, *_] = installation.readings.day_versions(
        Channel.id_for("SP-1:A+"), DAY_START.date()
    )[1:]
    assert [f["rule"] for f in recorded.findings] == ["sum_check"]
    assert recorded.findings[0]["detail"]["register_advance"] == pytest.approx(advance_kwh)


def read_day(installation: Installation) -> ProfileRead:
    meter = installation.registry.get("meter", "SIM-1").attributes_on(DAY_START.date())
    address = installation.collection.address_of("SIM-1", meter, DAY_START.date())
    end = DAY_START + timedelta(days=1)
    return asyncio.run(DlmsLoadProfileSource(3).read_profile(address, DAY_START, end))


def test_a_read_lacking_entries_never_turns_known_intervals_into_missing(
    installation: Installation, meter_port: int
) -> None:
    """The day was recorded whole before (as the meter's pushes record it); a later read
    from the meter, which has since lost 5 h of entries, changes nothing."""
    from adapters.dlms.simulator import ProfileEntriesLost

    register_meter(installation, meter_port, "lls-secret-1")
    whole = read_day(installation)
    installation.collection.record_intervals("SP-1:A+", whole.intervals)  # no registers
    lost = ProfileEntriesLost(DAY_START + timedelta(hours=8), DAY_START + timedelta(hours=13))
    config = SimulatedMeterConfig(
        serial="SIM-1", password="lls-secret-1", history_days=3, clock=lambda: METER_NOW,
        faults=(lost,),
    )  # fmt: skip
    versions = len(installation.readings.day_versions(Channel.id_for("SP-1:A+"), DAY_START.date()))

    with FleetThread([config]) as fleet:
        meter = installation.registry.get("meter", "SIM-1").attributes_on(DAY_START.date())
        address = installation.collection.address_of(
            "SIM-1", {**meter, "comm_port": fleet.ports["SIM-1"]}, DAY_START.date()
        )
        end = DAY_START + timedelta(days=1)
        partial = asyncio.run(DlmsLoadProfileSource(3).read_profile(address, DAY_START, end))
    recorded = installation.collection.record_intervals(
        "SP-1:A+", partial.intervals, snapshots=partial.snapshots
    )

    assert len(partial.intervals) == 76 and len(partial.snapshots) == 2
    assert recorded.intervals == 0
    day = installation.readings.day_versions(Channel.id_for("SP-1:A+"), DAY_START.date())
    assert len(day) == versions  # the registers were recorded, the day's intervals not again
    rows = installation.readings.intervals(Channel.id_for("SP-1:A+"), DAY_START, end)
    assert len(rows) == 96 and {row["quality"] for row in rows} == {"validated"}


def test_registers_that_arrive_after_the_day_still_fail_it_when_they_disagree(
    installation: Installation, meter_port: int
) -> None:
    """The day came by push (no registers) and was validated; the read that brings the
    midnights repeats its values, but its sum check fails the day: that is recorded, and
    the day waits for a person (an estimate would contradict what the meter delivered)."""
    register_meter(installation, meter_port, "lls-secret-1")
    read = read_day(installation)
    installation.collection.record_intervals("SP-1:A+", read.intervals)  # as a push would
    first, last = read.snapshots
    ahead = dataclasses.replace(last, energy_wh=last.energy_wh + 5000)

    installation.collection.record_intervals("SP-1:A+", read.intervals, snapshots=[first, ahead])
    installation.collection.record_intervals("SP-1:A+", read.intervals, snapshots=[first, ahead])

    channel_id = Channel.id_for("SP-1:A+")
    events = installation.readings.day_versions(channel_id, DAY_START.date())
    recorded = [e for e in events if type(e).__name__ == "IntervalsRecorded"]
    assert len(recorded) == 2  # the push, then the read that failed it; the repeat: nothing
    assert [(f["rule"], f["severity"]) for f in recorded[1].findings] == [
        ("sum_check", "fail"),
        ("duplicate_delivery", "warn"),  # the same values again: said, changes nothing
    ]
    rows = installation.readings.intervals(channel_id, DAY_START, DAY_START + timedelta(days=1))
    assert {row["quality"] for row in rows} == {"failed"}
    installation.read_models.catch_up()
    assert (
        installation.read_models.vee_exceptions.count(channel_id=channel_id, rule="sum_check") == 96
    )


def test_an_outage_in_the_meters_event_log_is_filled_with_nothing(
    installation: Installation,
) -> None:
    """Off from 10:05 to 11:05: the profile has no entries for 10:15 ... 11:00, the event
    log has power down and up. The read brings both: the slots wholly inside the outage
    are estimated as no consumption (power-gap fill), the one it cut otherwise."""
    from adapters.dlms.simulator import PowerFailure

    down = DAY_START + timedelta(hours=10, minutes=5)
    config = SimulatedMeterConfig(
        serial="SIM-1", password="lls-secret-1", history_days=3, clock=lambda: METER_NOW,
        faults=(PowerFailure(down, down + timedelta(hours=1)),),
    )  # fmt: skip
    with FleetThread([config]) as fleet:
        register_meter(installation, fleet.ports["SIM-1"], "lls-secret-1")
        read = read_day(installation)
        installation.collection.record_intervals(
            "SP-1:A+", read.intervals, snapshots=read.snapshots, outages=read.outages
        )

    assert [(o.down_at, o.up_at) for o in read.outages] == [(down, down + timedelta(hours=1))]
    assert len(read.intervals) == 92
    channel_id = Channel.id_for("SP-1:A+")
    rows = installation.readings.intervals(channel_id, DAY_START, DAY_START + timedelta(days=1))
    by_start = {row["start"]: row for row in rows}
    inside = [DAY_START + timedelta(hours=10, minutes=m) for m in (15, 30, 45)]
    assert all(by_start[s]["quality"] == "estimated" and by_start[s]["value"] == 0 for s in inside)
    events = installation.readings.day_versions(channel_id, DAY_START.date())
    methods = {e.method for e in events if type(e).__name__ == "IntervalsEstimated"}
    assert "power_gap_fill" in methods
    cut = by_start[DAY_START + timedelta(hours=10)]
    assert cut["quality"] == "estimated"
