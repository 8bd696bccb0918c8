"""change_keys when the meter's answer is lost: over real TCP, the simulated meter takes
the keys and hangs up before it answers; the head end learns by associating which keys
the meter holds, and a later change_keys finds a change that already took."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from adapters.dlms.hls import HlsKeys
from adapters.dlms.simulated_link_faults import LinkFaults
from adapters.dlms.simulator import FleetThread
from adapters.persistence.store import StoreLocation
from interfaces.installation import Installation
from tests.integration.test_dlms_key_and_read_commands import (
    KEK,
    NEW_AUTH,
    NEW_KEY,
    command,
    hls_meter,
    new_key_references,
    open_installation,
    register,
)

# On one connection: the public client's association, its read of the invocation counter
# and its release; the ciphered association and HLS pass 4. The sixth answer, to the key
# transfer, is lost (and so is the release of the probe that follows).
ANSWERS_BEFORE_THE_TRANSFERS = 5


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = open_installation(store)
    yield found
    found.close()


def link_of(fleet: FleetThread, serial: str) -> object:
    return next(meter for meter in fleet.fleet.meters if meter.serial == serial)


def test_a_lost_answer_to_the_key_transfer_is_settled_by_associating_with_the_new_keys(
    installation: Installation,
) -> None:
    config = hls_meter("KEY-L1", 11, master_key=KEK)
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        warm = command(installation, config.serial, "read_registers", {})  # counters known
        simulator = link_of(fleet, config.serial)
        simulator.link_faults = LinkFaults(drop_after_answers=ANSWERS_BEFORE_THE_TRANSFERS)  # type: ignore[attr-defined]
        changed = command(
            installation, config.serial, "change_keys", new_key_references(installation, "KEY-L1")
        )
        simulator.link_faults = LinkFaults()  # type: ignore[attr-defined]
        after = command(installation, config.serial, "read_registers", {})
        on_meter = fleet.meter(config.serial).security

    assert warm.state == "confirmed", warm.error
    assert changed.state == "confirmed", changed.error
    assert changed.result["proven_by_association"] is True
    assert on_meter is not None and on_meter.keys.block_cipher_key == NEW_KEY
    today = dt.date.today()
    assert installation.registry.meter_secret("KEY-L1", "block_cipher_key", today) == NEW_KEY.hex()
    assert after.state == "confirmed", after.error


def test_a_change_that_already_took_is_found_and_recorded(installation: Installation) -> None:
    """The registry still names the old keys (the answer was lost, the command failed);
    asking again: the old keys are refused, the requested ones accepted."""
    config = hls_meter("KEY-L2", 12, master_key=KEK)
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        security = fleet.meter(config.serial).security
        assert security is not None
        security.keys = dataclasses.replace(
            security.keys, block_cipher_key=NEW_KEY, authentication_key=NEW_AUTH
        )
        again = command(
            installation, config.serial, "change_keys", new_key_references(installation, "KEY-L2")
        )
        after = command(installation, config.serial, "read_events", {"logs": ["standard"]})
        repeated = command(
            installation, config.serial, "change_keys", new_key_references(installation, "KEY-L2")
        )

    assert again.state == "confirmed", again.error
    assert again.result["proven_by_association"] is True
    assert after.state == "confirmed", after.error
    # Now the registry's keys work: the transfer runs, the keys stay (the same ones).
    assert repeated.state == "confirmed", repeated.error
    assert repeated.result["proven_by_association"] is False


def test_keys_refused_and_not_held_leave_the_refusal(installation: Installation) -> None:
    config = hls_meter("KEY-L3", 13, master_key=KEK)
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        security = fleet.meter(config.serial).security
        assert security is not None
        other = bytes(range(32, 48))
        security.keys = HlsKeys(security.keys.system_title, other, other)
        before = installation.registry.get("meter", "KEY-L3").attributes_on(dt.date.today())
        refused = command(
            installation, config.serial, "change_keys", new_key_references(installation, "KEY-L3")
        )
        held = security.keys
    assert refused.state == "failed"
    assert NEW_KEY.hex() not in refused.error and other.hex() not in refused.error
    after = installation.registry.get("meter", "KEY-L3").attributes_on(dt.date.today())
    assert after["secret_refs"] == before["secret_refs"]  # the registry names its old keys
    assert held.block_cipher_key == other  # and the meter kept its own
