"""Commands to meters over real DLMS/TCP, each followed as a DeviceCommand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.errors import DuplicateKey, UnknownAggregate
from domain.command_types import InvalidCommandParameters
from domain.device_command import CommandStateError
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.meters import closed_port, register_profile_channel

OLGA = Provenance("olga", "customer called: no data on the portal", "api")
SETUP = Provenance("test", "set-up", "system")


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


def register(installation: Installation, serial: str, port: int) -> None:
    since = date.today() - timedelta(days=30)
    installation.registry.create_meter(
        {
            "serial": serial,
            "meter_type": "single-phase",
            "security_profile": "lls",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        since,
        SETUP,
        secrets={"lls_password": "pw-" + serial},
    )
    register_profile_channel(installation, serial, since, SETUP)


def run(installation: Installation, command_id: object) -> object:
    return asyncio.run(
        installation.head_end.execute(command_id, installation.command_port, timeout=10)  # type: ignore[arg-type]
    )


def test_read_now_is_confirmed_with_what_the_meter_delivered(installation: Installation) -> None:
    config = SimulatedMeterConfig(serial="CMD-1", password="pw-CMD-1", history_days=2)
    with FleetThread([config]) as fleet:
        register(installation, "CMD-1", fleet.ports["CMD-1"])
        command_id = installation.head_end.request_command("CMD-1", "read_now", {"days": 1}, OLGA)
        command = run(installation, command_id)
    assert command.state == "confirmed"  # type: ignore[attr-defined]
    assert command.result["new_intervals"] >= 90  # type: ignore[attr-defined]
    events = installation.head_end.history_of(command_id)
    assert [type(e).__name__ for e in events] == ["Requested", "Sent", "Confirmed"]
    assert events[0].actor == "olga" and events[0].source == "api"


def test_a_meter_that_cannot_be_reached_fails_the_command(installation: Installation) -> None:
    register(installation, "CMD-2", closed_port())
    command_id = installation.head_end.request_command("CMD-2", "read_now", {}, OLGA)
    command = run(installation, command_id)
    assert command.state == "failed"  # type: ignore[attr-defined]
    assert "unreachable" in command.error or "refused" in command.error  # type: ignore[attr-defined]
    assert run(installation, command_id).state == "failed"  # type: ignore[attr-defined]
    assert len(installation.head_end.history_of(command_id)) == 3  # not sent twice


def test_requests_are_checked_before_anything_is_recorded(installation: Installation) -> None:
    register(installation, "CMD-3", closed_port())
    with pytest.raises(UnknownAggregate):
        installation.head_end.request_command("NOPE", "disconnect", {}, OLGA)
    with pytest.raises(CommandStateError, match="unknown command"):
        installation.head_end.request_command("CMD-3", "self_destruct", {}, OLGA)
    with pytest.raises(InvalidCommandParameters, match="minutes: must be one of"):
        installation.head_end.request_command("CMD-3", "set_capture_period", {"minutes": 7}, OLGA)
    with pytest.raises(InvalidCommandParameters, match="never a secret"):
        installation.head_end.request_command(
            "CMD-3", "change_password", {"secret_ref": "hunter2"}, OLGA
        )
    assert installation.head_end.recorder.max_notification_id() is None


def test_a_repeated_request_key_gives_the_same_command(installation: Installation) -> None:
    register(installation, "CMD-4", closed_port())
    first = installation.head_end.request_command("CMD-4", "disconnect", {}, OLGA, "ticket-7")
    again = installation.head_end.request_command("CMD-4", "disconnect", {}, OLGA, "ticket-7")
    assert first == again
    with pytest.raises(DuplicateKey):
        installation.head_end.request_command("CMD-4", "connect", {}, OLGA, "ticket-7")
    assert installation.head_end.recorder.max_notification_id() == 1


def test_a_command_can_be_cancelled_only_before_it_is_sent(installation: Installation) -> None:
    register(installation, "CMD-5", closed_port())
    command_id = installation.head_end.request_command("CMD-5", "disconnect", {}, OLGA)
    installation.head_end.cancel(command_id, OLGA)
    assert installation.head_end.command(command_id).state == "cancelled"
    assert run(installation, command_id).state == "cancelled"  # type: ignore[attr-defined]
    sent = installation.head_end.request_command("CMD-5", "read_now", {}, OLGA)
    run(installation, sent)
    with pytest.raises(CommandStateError, match="cannot cancel a command that is failed"):
        installation.head_end.cancel(sent, OLGA)


def test_recorded_times_stay_in_order(installation: Installation) -> None:
    register(installation, "CMD-6", closed_port())
    command_id = installation.head_end.request_command("CMD-6", "read_now", {}, OLGA)
    run(installation, command_id)
    times = [e.timestamp for e in installation.head_end.history_of(command_id)]
    assert times == sorted(times) and times[-1] <= datetime.now(UTC)
