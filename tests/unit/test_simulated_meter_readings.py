"""The simulated meter's registers, instantaneous values, billing snapshots, event logs
and scripted faults, on its metering state alone (no sockets)."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.dlms.event_logs import DISCONNECTOR, FRAUD, POWER_QUALITY, STANDARD
from adapters.dlms.simulated_faults import PowerFailure, Tamper, VoltageDisturbance
from adapters.dlms.simulated_meter import POWER_DOWN, SimulatedMeter, SimulatedMeterConfig
from adapters.dlms.simulated_registers import base_totals

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 14, 7, 30, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)


class MovableClock:
    def __init__(self, start: dt.datetime) -> None:
        self.moment = start

    def __call__(self) -> dt.datetime:
        return self.moment


def meter(clock: MovableClock, **options: object) -> SimulatedMeter:
    return SimulatedMeter(SimulatedMeterConfig("SIM-REG", history_days=3, clock=clock, **options))  # type: ignore[arg-type]


def test_the_active_import_total_is_its_base_plus_every_closed_interval() -> None:
    clock = MovableClock(NOW)
    simulated = meter(clock)
    rows = simulated.rows_by_entry(1, 0)
    assert simulated.energy_register_raw() == base_totals("SIM-REG").active_import + sum(
        row.energy_raw for row in rows
    )
    clock.moment += dt.timedelta(minutes=10)  # the 14:15 interval closes
    assert simulated.energy_register_raw() == (
        base_totals("SIM-REG").active_import
        + sum(row.energy_raw for row in rows)
        + simulated.rows_by_entry(len(rows) + 1, 0)[0].energy_raw
    )


def test_a_daily_snapshot_holds_the_totals_after_the_interval_ending_at_midnight() -> None:
    simulated = meter(MovableClock(NOW))
    snapshots = dict(simulated.daily_snapshots())
    assert sorted(snapshots) == [
        dt.datetime(2026, 3, day, tzinfo=UTC) for day in (7, 8, 9, 10)
    ]  # installation midnight and the three since
    assert snapshots[simulated.installed_at] == base_totals("SIM-REG")
    day = simulated.rows_in_range(
        dt.datetime(2026, 3, 8, 0, 15, tzinfo=UTC), dt.datetime(2026, 3, 9, tzinfo=UTC)
    )
    advance = (
        snapshots[dt.datetime(2026, 3, 9, tzinfo=UTC)].active_import
        - snapshots[dt.datetime(2026, 3, 8, tzinfo=UTC)].active_import
    )
    assert len(day) == 96 and advance == sum(row.energy_raw for row in day)


def test_every_total_grows_with_each_interval_and_only_a_pv_meter_exports() -> None:
    plain = meter(MovableClock(NOW))
    solar = meter(MovableClock(NOW), yearly_export_kwh=4000.0)
    base = base_totals("SIM-REG")
    grown = plain.energy_totals()
    assert grown.active_import > base.active_import
    assert grown.reactive_import > base.reactive_import
    assert grown.reactive_export > base.reactive_export
    assert grown.active_export == base.active_export
    # Three days of sun at 4,000 kWh a year, and today's until 14:00 (three quarters of a
    # sine from 06:00 to 18:00): 3.75 x 10.96 kWh, in 0.1 Wh.
    exported = solar.energy_totals().active_export - base.active_export
    assert exported == pytest.approx(3.75 * 4000 / 365 * 10_000, rel=0.01)


def test_a_power_failure_leaves_a_gap_and_marks_the_entry_after_it_power_down() -> None:
    down = dt.datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
    simulated = meter(MovableClock(NOW), faults=(PowerFailure(down, down + HOUR),))
    rows = simulated.rows_in_range(down - HOUR, down + 2 * HOUR)
    captured = [row.captured_at.strftime("%H:%M") for row in rows]
    # Off from 09:05 to 10:05: nothing captured at 09:15 ... 10:00; the entry at 10:15
    # closes an interval the failure touched.
    assert captured == ["08:15", "08:30", "08:45", "09:00", "10:15", "10:30", "10:45", "11:00"]
    [hit] = [row for row in rows if row.status == POWER_DOWN]
    assert hit.captured_at.strftime("%H:%M") == "10:15" and hit.energy_raw == 0
    assert all(row.energy_raw > 0 for row in rows if row.status == 0)
    by_entry = simulated.rows_by_entry(1, 0)
    assert not any(down < row.captured_at < down + HOUR for row in by_entry)
    # The register counts what was measured: since midnight, exactly the entries served.
    midnight, totals = simulated.daily_snapshots()[-1]
    served = simulated.rows_in_range(midnight + dt.timedelta(seconds=1), NOW)
    advance = simulated.energy_totals().active_import - totals.active_import
    assert advance == sum(row.energy_raw for row in served) > 0


def test_scripted_faults_appear_in_the_event_logs_once_the_clock_passes_them() -> None:
    clock = MovableClock(NOW)
    later = NOW + HOUR
    simulated = meter(
        clock,
        faults=(
            PowerFailure(NOW - 2 * HOUR, NOW - HOUR),
            VoltageDisturbance(NOW - HOUR, NOW - HOUR / 2, phase=2, kind="under"),
            Tamper(later, "terminal_cover_removed"),
        ),
    )
    standard = simulated.events.entries(STANDARD, simulated.now())
    quality = simulated.events.entries(POWER_QUALITY, simulated.now())
    assert [(event.at, event.code) for event in standard] == [
        (NOW - 2 * HOUR, 1),
        (NOW - HOUR, 2),
    ]
    assert [event.code for event in quality] == [77, 86]  # undervoltage L2, L2 normal
    assert simulated.events.entries(FRAUD, simulated.now()) == []
    clock.moment = later
    assert [event.code for event in simulated.events.entries(FRAUD, simulated.now())] == [40]


def test_relay_operations_are_logged_in_the_disconnector_log() -> None:
    simulated = meter(MovableClock(NOW))
    simulated.relay.remote_disconnect(NOW)
    simulated.relay.remote_disconnect(NOW + HOUR)  # already open: nothing happens
    simulated.relay.control_mode = 1
    simulated.relay.remote_reconnect(NOW + 2 * HOUR)
    simulated.relay.manual_reconnect(NOW + 3 * HOUR)
    logged = simulated.events.entries(DISCONNECTOR, NOW + 4 * HOUR)
    assert [(event.at - NOW, event.code) for event in logged] == [
        (dt.timedelta(0), 62),
        (2 * HOUR, 59),
        (3 * HOUR, 61),
    ]


def test_a_clock_adjustment_logs_the_time_before_and_after() -> None:
    simulated = meter(MovableClock(NOW))
    simulated.set_clock(NOW - dt.timedelta(minutes=5))
    logged = simulated.events.entries(STANDARD, NOW)
    assert [(event.at, event.code) for event in logged] == [
        (NOW - dt.timedelta(minutes=5), 5),
        (NOW, 4),
    ]


def test_phase_powers_add_up_to_the_interval_average_and_stop_with_the_relay() -> None:
    simulated = meter(MovableClock(NOW))
    values = simulated.instantaneous()
    interval_end = dt.datetime(2026, 3, 10, 14, 15, tzinfo=UTC)
    average_w = simulated.consumption.interval_raw(interval_end) * 4 // 10
    assert values.total_power == sum(values.powers) == average_w
    assert all(2280 <= volts <= 2320 for volts in values.voltages)
    assert all(current > 0 for current in values.currents)
    simulated.relay.remote_disconnect(NOW)
    open_relay = simulated.instantaneous()
    assert open_relay.powers == (0, 0, 0) and open_relay.currents == (0, 0, 0)
    assert open_relay.voltages == values.voltages  # the supply side still has voltage


def test_a_disturbed_phase_shows_in_its_voltage_and_a_power_failure_in_all() -> None:
    clock = MovableClock(NOW)
    simulated = meter(
        clock,
        faults=(
            VoltageDisturbance(NOW, NOW + HOUR, phase=3, kind="missing"),
            PowerFailure(NOW + HOUR, NOW + 2 * HOUR),
        ),
    )
    values = simulated.instantaneous()
    assert values.voltages[2] == 0 and values.powers[2] == 0 and values.currents[2] == 0
    assert values.voltages[0] > 0
    clock.moment = NOW + HOUR
    assert simulated.instantaneous().voltages == (0, 0, 0)


def test_a_fault_with_a_naive_time_or_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        PowerFailure(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="phase"):
        VoltageDisturbance(NOW, NOW + HOUR, phase=4, kind="over")
