"""Registry aggregates on their own: what registration, changes and corrections record."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from domain.account import Account
from domain.attributes import Attribute, InvalidAttributes, normalise
from domain.channel import Channel
from domain.meter import Meter
from domain.provenance import InvalidProvenance, Provenance
from domain.registered import RegisteredAggregate, RegistryRuleViolation
from domain.service_point import ServicePoint

OPENED = date(2025, 1, 1)
APRIL = date(2025, 4, 1)
BY_OPERATOR = Provenance("alice", "meter installed", "ui", reason_code="INSTALL")


def _meter(**overrides: Any) -> Meter:
    attributes = {"serial": "MTR-1", "meter_type": "E350", "ct_ratio": "100", **overrides}
    meter = Meter.register(attributes, OPENED, BY_OPERATOR)
    assert isinstance(meter, Meter)
    return meter


def _channel(**overrides: Any) -> Channel:
    attributes = {
        "channel_key": "MTR-1:A+",
        "service_point_id": "SP-1",
        "kind": "metered",
        "unit": "kWh",
        "interval_minutes": 15,
        "meter_serial": "MTR-1",
        "meter_channel": "1.0.1.8.0.255",
        "multiplier": "40",
        **overrides,
    }
    channel = Channel.register(attributes, OPENED, BY_OPERATOR)
    assert isinstance(channel, Channel)
    return channel


def _events(aggregate: RegisteredAggregate) -> list[RegisteredAggregate.Event]:
    events = aggregate.collect_events()
    assert all(isinstance(event, RegisteredAggregate.Event) for event in events)
    return events  # type: ignore[return-value]


def _problems(error: pytest.ExceptionInfo[InvalidAttributes]) -> set[str]:
    return set(error.value.problems)


# -- registration -------------------------------------------------------------------


def test_registration_normalises_decimals_to_canonical_strings() -> None:
    meter = _meter(ct_ratio="100.00", pt_ratio=1.1, pulse_multiplier=" 0.50 ")

    values = meter.attributes_on(OPENED)

    assert values["ct_ratio"] == "100"
    assert values["pt_ratio"] == "1.1"
    assert values["pulse_multiplier"] == "0.5"


def test_registration_trims_text_and_converts_whole_numbers() -> None:
    meter = _meter(serial="  MTR-1 ", comm_port="4059")

    assert meter.key == "MTR-1"
    assert meter.attributes_on(OPENED)["comm_port"] == 4059


def test_registration_records_its_effective_date_as_an_iso_string() -> None:
    meter = _meter()

    assert meter.registered_from == "2025-01-01"
    assert meter.timelines["ct_ratio"] == [["2025-01-01", "100"]]


def test_date_attributes_are_stored_as_iso_strings() -> None:
    schema = {"installed_on": Attribute(kind="date")}

    assert normalise(schema, {"installed_on": date(2025, 3, 9)}, complete=False) == {
        "installed_on": "2025-03-09"
    }
    assert normalise(schema, {"installed_on": " 2025-03-09 "}, complete=False) == {
        "installed_on": "2025-03-09"
    }
    with pytest.raises(InvalidAttributes):
        normalise(schema, {"installed_on": "09.03.2025"}, complete=False)


def test_nothing_is_in_force_before_the_registration_date() -> None:
    meter = _meter()

    assert meter.attributes_on(date(2024, 12, 31))["ct_ratio"] is None


def test_registration_names_every_missing_required_field() -> None:
    with pytest.raises(InvalidAttributes) as error:
        Channel.register({"channel_key": "C-1"}, OPENED, BY_OPERATOR)

    assert _problems(error) == {"service_point_id", "kind", "unit", "interval_minutes"}


def test_registration_refuses_a_missing_natural_key() -> None:
    with pytest.raises(InvalidAttributes) as error:
        Meter.register({"meter_type": "E350"}, OPENED, BY_OPERATOR)

    assert _problems(error) == {"serial"}


@pytest.mark.parametrize("blank", ["  ", "\t"])
def test_registration_refuses_a_blank_natural_key_or_required_text(blank: str) -> None:
    with pytest.raises(InvalidAttributes) as error:
        Meter.register({"serial": blank, "meter_type": blank}, OPENED, BY_OPERATOR)

    assert _problems(error) == {"serial", "meter_type"}


def test_registration_refuses_unknown_attributes() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter(colour="red")

    assert _problems(error) == {"colour"}


def test_registration_refuses_a_value_outside_its_choices() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter(protocol="modbus")

    assert _problems(error) == {"protocol"}


@pytest.mark.parametrize("ratio", ["0", "-1", "NaN", "Infinity", "abc"])
def test_critical_parameters_must_be_positive_finite_numbers(ratio: str) -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter(ct_ratio=ratio)

    assert _problems(error) == {"ct_ratio"}


def test_a_change_to_a_non_positive_critical_parameter_is_refused() -> None:
    meter = _meter()

    with pytest.raises(InvalidAttributes):
        meter.change({"ct_ratio": "0"}, APRIL, BY_OPERATOR)

    assert meter.attributes_on(APRIL)["ct_ratio"] == "100"
    assert len(_events(meter)) == 1


# -- rules of each aggregate ------------------------------------------------------


def test_a_meter_with_hls_needs_references_to_both_keys() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter(security_profile="hls-gmac", secret_refs={"block_cipher_key": "ref-1"})

    assert "authentication_key" in str(error.value)


def test_a_meter_with_hls_and_both_key_references_registers() -> None:
    refs = {"block_cipher_key": "ref-1", "authentication_key": "ref-2"}

    meter = _meter(security_profile="hls-gmac", secret_refs=refs)

    assert meter.attributes_on(OPENED)["secret_refs"] == refs


def test_switching_a_meter_to_lls_without_a_password_reference_is_refused() -> None:
    meter = _meter()

    with pytest.raises(InvalidAttributes) as error:
        meter.change({"security_profile": "lls"}, APRIL, BY_OPERATOR)

    assert "lls_password" in str(error.value)


def test_a_meter_channel_needs_an_obis_code() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter(meter_channels=[{"unit": "kWh"}])

    assert _problems(error) == {"meter_channels"}


def test_a_metered_channel_needs_a_meter_channel() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _channel(meter_channel="")

    assert _problems(error) == {"meter_channel"}


def test_a_calculated_channel_needs_a_formula() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _channel(kind="calculated", meter_channel="")

    assert _problems(error) == {"formula"}


def test_an_imported_channel_needs_neither_meter_channel_nor_formula() -> None:
    channel = _channel(kind="imported", meter_serial="", meter_channel="")

    assert channel.attributes_on(OPENED)["kind"] == "imported"


def test_a_channel_interval_must_divide_the_hour() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _channel(interval_minutes=7)

    assert _problems(error) == {"interval_minutes"}


# -- changes and corrections ------------------------------------------------------


def test_the_natural_key_cannot_change() -> None:
    meter = _meter()

    with pytest.raises(InvalidAttributes) as error:
        meter.change({"serial": "MTR-2"}, APRIL, BY_OPERATOR)

    assert _problems(error) == {"serial"}
    assert meter.key == "MTR-1"


def test_a_change_must_name_at_least_one_attribute() -> None:
    with pytest.raises(InvalidAttributes):
        _meter().change({}, APRIL, BY_OPERATOR)


def test_a_required_attribute_cannot_be_blanked() -> None:
    with pytest.raises(InvalidAttributes) as error:
        _meter().change({"meter_type": ""}, APRIL, BY_OPERATOR)

    assert _problems(error) == {"meter_type"}


def test_a_change_records_the_values_it_replaced_on_its_effective_date() -> None:
    channel = _channel()

    channel.change({"multiplier": "80"}, APRIL, BY_OPERATOR)

    changed = _events(channel)[-1]
    assert isinstance(changed, Channel.Changed)
    assert changed.changes == {"multiplier": "80"}
    assert changed.before == {"multiplier": "40"}
    assert changed.effective_from == "2025-04-01"
    assert channel.attributes_on(date(2025, 3, 31))["multiplier"] == "40"
    assert channel.attributes_on(APRIL)["multiplier"] == "80"


def test_a_correction_rewrites_the_period_it_names_and_records_the_wrong_value() -> None:
    account = Account.register(
        {"account_key": "ACC-1", "account_number": "4711-01", "customer_id": "C-1"},
        OPENED,
        BY_OPERATOR,
    )

    account.correct({"account_number": "4711-07"}, APRIL, BY_OPERATOR)

    corrected = _events(account)[-1]
    assert isinstance(corrected, Account.Corrected)
    assert corrected.before == {"account_number": "4711-01"}
    assert corrected.effective_on == "2025-04-01"
    assert account.attributes_on(OPENED)["account_number"] == "4711-07"


def test_a_service_point_meter_exchange_records_the_meter_before_and_after() -> None:
    point = ServicePoint.register(
        {"service_point_id": "SP-1", "name": "Main St 1", "meter_serial": "MTR-1"},
        OPENED,
        BY_OPERATOR,
    )
    assert isinstance(point, ServicePoint)

    point.exchange_meter("MTR-2", APRIL, Provenance("bob", "meter faulty", "ui"))

    exchanged = _events(point)[-1]
    assert isinstance(exchanged, ServicePoint.MeterExchanged)
    assert exchanged.before == {"meter_serial": "MTR-1"}
    assert exchanged.changes == {"meter_serial": "MTR-2"}
    assert point.attributes_on(date(2025, 3, 31))["meter_serial"] == "MTR-1"
    assert point.attributes_on(APRIL)["meter_serial"] == "MTR-2"


def test_retiring_twice_is_refused() -> None:
    meter = _meter()
    meter.retire(APRIL, BY_OPERATOR)

    with pytest.raises(RegistryRuleViolation):
        meter.retire(date(2025, 5, 1), BY_OPERATOR)

    assert meter.retired_from == "2025-04-01"


# -- provenance -------------------------------------------------------------------


def test_every_event_carries_actor_reason_and_source() -> None:
    meter = _meter()
    meter.change({"ct_ratio": "200"}, APRIL, Provenance("bob", "ratio fixed", "api", "CT"))
    meter.correct({"meter_type": "E360"}, OPENED, Provenance("carol", "typo", "import"))
    meter.retire(date(2026, 1, 1), Provenance("system", "decommissioned", "system"))

    events = _events(meter)

    assert [(e.actor, e.reason, e.reason_code, e.source) for e in events] == [
        ("alice", "meter installed", "INSTALL", "ui"),
        ("bob", "ratio fixed", "CT", "api"),
        ("carol", "typo", "", "import"),
        ("system", "decommissioned", "", "system"),
    ]


@pytest.mark.parametrize(
    ("actor", "reason", "source"),
    [("", "why", "ui"), ("  ", "why", "ui"), ("alice", "", "ui"), ("alice", " ", "ui")],
)
def test_provenance_needs_an_actor_and_a_reason(actor: str, reason: str, source: str) -> None:
    with pytest.raises(InvalidProvenance):
        Provenance(actor, reason, source)


def test_provenance_refuses_an_unknown_source() -> None:
    with pytest.raises(InvalidProvenance):
        Provenance("alice", "why", "telepathy")


# -- identity and serialisation ---------------------------------------------------


def test_ids_are_uuid5_of_the_natural_key_and_deterministic() -> None:
    meter = _meter(serial=" MTR-1 ")

    assert meter.id == Meter.id_for("MTR-1")
    assert meter.id.version == 5
    assert Meter.id_for("MTR-1") == Meter.id_for("MTR-1")
    assert Meter.id_for("MTR-1") != Meter.id_for("MTR-2")


def test_the_same_key_names_different_aggregates_in_different_kinds() -> None:
    assert Meter.id_for("X-1") != Channel.id_for("X-1")


def _payload(event: RegisteredAggregate.Event) -> dict[str, Any]:
    common = {"originator_id", "originator_version", "timestamp"}
    return {name: value for name, value in event.__dict__.items() if name not in common}


def test_event_payloads_are_json_stable() -> None:
    meter = _meter(
        pt_ratio=1.1,
        comm_port=4059,
        secret_refs={"lls_password": "ref-1"},
        security_profile="lls",
        meter_channels=[{"obis": "1.0.1.8.0.255", "unit": "kWh"}],
    )
    meter.change({"ct_ratio": "150.0", "comm_port": "4060"}, APRIL, BY_OPERATOR)
    meter.correct({"pt_ratio": "1.20"}, OPENED, BY_OPERATOR)

    for event in _events(meter):
        payload = _payload(event)
        assert json.loads(json.dumps(payload)) == payload


def test_aggregate_state_is_json_stable_for_snapshots() -> None:
    meter = _meter(meter_channels=[{"obis": "1.0.1.8.0.255"}])
    meter.change({"ct_ratio": "150"}, APRIL, BY_OPERATOR)

    assert json.loads(json.dumps(meter.timelines)) == meter.timelines


@pytest.mark.parametrize("edit", ["change", "correct", "retire", "exchange"])
def test_nothing_can_take_effect_before_the_registration_date(edit: str) -> None:
    point = ServicePoint.register({"service_point_id": "SP-1", "name": "Mill"}, OPENED, BY_OPERATOR)
    before = date(2024, 12, 31)
    with pytest.raises(RegistryRuleViolation, match="registered with effect from 2025-01-01"):
        if edit == "change":
            point.change({"name": "Old mill"}, before, BY_OPERATOR)
        elif edit == "correct":
            point.correct({"name": "Old mill"}, before, BY_OPERATOR)
        elif edit == "retire":
            point.retire(before, BY_OPERATOR)
        else:
            point.exchange_meter("M-2", before, BY_OPERATOR)
    assert point.version == 1
