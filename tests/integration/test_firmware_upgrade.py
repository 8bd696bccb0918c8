"""Remote firmware upgrade through image transfer 0.0.44.0.0.255: as a DeviceCommand end to
end, resumed after an interrupted transfer, with the image taken from the image store."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.objects import GXDLMSData

from adapters.dlms import obis
from adapters.dlms.firmware_upgrade import transfer_image
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_commands import DlmsCommandPort, FirmwareImages
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.provenance import Provenance
from interfaces.installation import Installation

OPERATOR = Provenance("olga", "firmware campaign 2026-11", "api")
SETUP = Provenance("test", "set-up", "system")
IMAGE = bytes(range(256)) * 20 + b"tail"  # 5,124 octets: 27 blocks of 192, the last short


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


@pytest.fixture
def images(tmp_path: Path) -> FirmwareImages:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "SIM-2.0.0.bin").write_bytes(IMAGE)
    return FirmwareImages(tmp_path / "images")


def register(installation: Installation, serial: str, port: int) -> None:
    installation.registry.create_meter(
        {
            "serial": serial,
            "meter_type": "single-phase",
            "security_profile": "lls",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        dt.date.today() - dt.timedelta(days=30),
        SETUP,
        secrets={"lls_password": "pw"},
    )


def upgrade(installation: Installation, port: DlmsCommandPort, parameters: dict[str, Any]) -> Any:
    command_id = installation.head_end.request_command(
        "FW-1", "firmware_upgrade", parameters, OPERATOR
    )
    return asyncio.run(installation.head_end.execute(command_id, port, timeout=30))


def port_with(installation: Installation, images: FirmwareImages) -> DlmsCommandPort:
    return DlmsCommandPort(
        installation.collection,
        installation.command_port.channels_of_meter,  # type: ignore[attr-defined]
        firmware_images=images,
    )


def test_an_image_is_transferred_verified_and_activated(
    installation: Installation, images: FirmwareImages
) -> None:
    config = SimulatedMeterConfig("FW-1", password="pw", verify_seconds=0.3)
    with FleetThread([config]) as fleet:
        register(installation, "FW-1", fleet.ports["FW-1"])
        done = upgrade(installation, port_with(installation, images), {"image_id": "SIM-2.0.0.bin"})
        meter = fleet.meter("FW-1")
    assert done.state == "confirmed"
    assert done.result["activated"] is True
    assert done.result["firmware_version"] == "SIM-2.0.0"
    assert done.result["sha256"] == hashlib.sha256(IMAGE).hexdigest()
    assert (done.result["blocks_total"], done.result["blocks_sent"]) == (27, 27)
    assert meter.firmware.image() == IMAGE
    assert meter.firmware.firmware_version == b"SIM-2.0.0"


def test_an_interrupted_transfer_resumes_with_the_missing_blocks_only(
    installation: Installation, images: FirmwareImages
) -> None:
    config = SimulatedMeterConfig("FW-1", password="pw", verify_seconds=0.05)
    with FleetThread([config]) as fleet:
        register(installation, "FW-1", fleet.ports["FW-1"])
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["FW-1"])

        def drop_after_ten(number: int) -> None:
            if number == 9:
                raise ConnectionResetError("link lost")  # the socket is closed, no release

        async def interrupted() -> None:
            async with CosemSession(endpoint, password="pw") as session:
                await transfer_image(session, b"SIM-2.0.0", IMAGE, after_block=drop_after_ten)

        with pytest.raises(ConnectionResetError):
            asyncio.run(interrupted())
        meter = fleet.meter("FW-1")
        assert meter.firmware.first_missing_block() == 10
        done = upgrade(installation, port_with(installation, images), {"image_id": "SIM-2.0.0.bin"})
    assert done.state == "confirmed"
    assert done.result["resumed_from_block"] == 10
    assert done.result["blocks_sent"] == 17
    assert meter.firmware.blocks_received == 27  # no block was sent twice
    assert meter.firmware.image() == IMAGE


def test_a_later_activation_is_scheduled_and_happens_at_its_time(
    installation: Installation, images: FirmwareImages
) -> None:
    now = [dt.datetime.now(dt.UTC)]
    config = SimulatedMeterConfig("FW-1", password="pw", verify_seconds=0.0, clock=lambda: now[0])
    later = (now[0] + dt.timedelta(hours=2)).replace(microsecond=0)
    with FleetThread([config]) as fleet:
        register(installation, "FW-1", fleet.ports["FW-1"])
        port = port_with(installation, images)
        done = upgrade(
            installation, port, {"image_id": "SIM-2.0.0.bin", "activate_at": later.isoformat()}
        )
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["FW-1"])
        before = asyncio.run(firmware_version(endpoint))
        now[0] = later + dt.timedelta(seconds=1)
        after = asyncio.run(firmware_version(endpoint))
    assert done.result["activated"] is False and done.result["firmware_version"] == "SIM-1.0.0"
    assert (before, after) == (b"SIM-1.0.0", b"SIM-2.0.0")


async def firmware_version(endpoint: MeterEndpoint) -> bytes:
    async with CosemSession(endpoint) as session:  # the public client may read it
        return bytes(await session.get(GXDLMSData(obis.FIRMWARE_VERSION), 2))


def test_an_unknown_or_unsafe_image_name_fails_the_command(
    installation: Installation, images: FirmwareImages
) -> None:
    config = SimulatedMeterConfig("FW-1", password="pw")
    with FleetThread([config]) as fleet:
        register(installation, "FW-1", fleet.ports["FW-1"])
        port = port_with(installation, images)
        missing = upgrade(installation, port, {"image_id": "SIM-9.bin"})
        escaping = upgrade(installation, port, {"image_id": "../hes.sqlite"})
        version = fleet.meter("FW-1").firmware.firmware_version
    assert missing.state == "failed" and "no firmware image" in missing.error
    assert escaping.state == "failed" and "not a plain file name" in escaping.error
    assert version == b"SIM-1.0.0"
