"""``hes demo``: a simulated fleet read over real DLMS/TCP into the store, with the UI.

Restart-safe by construction: registrations are idempotent by natural key, each meter's
password is created once and kept sealed in the vault (the simulator is given the same
one on every start), and re-read intervals that match what is recorded record nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from adapters.dlms.hls import HlsKeys
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from domain.provenance import Provenance
from interfaces.demo_cycle import CYCLE, DemoCollection, demo_queue, register_cycle
from interfaces.demo_pushes import DemoPushListener
from interfaces.installation import Installation

SETUP = Provenance(actor="hes-demo", reason="demo fleet set-up", source="system")
# HLS-GMAC (security suite 0, authenticated and encrypted): how a utility runs its fleet.
TEMPLATE = "demo-dlms-hls"
LOAD_SHAPES = ("h25", "g25", "l25")
FIRST_READ_DAYS = 2


@dataclass(frozen=True)
class DemoMeter:
    serial: str
    port: int
    load_shape: str

    @property
    def system_title(self) -> bytes:
        """8 octets: "SIM" and the meter's number (distinct per meter, as pushes need)."""
        return b"SIM" + int(self.serial[4:]).to_bytes(5, "big")

    @property
    def service_point(self) -> str:
        return f"SP-{self.serial}"

    @property
    def channel_key(self) -> str:
        return f"{self.service_point}:A+"


def demo_fleet(count: int, base_port: int) -> list[DemoMeter]:
    return [
        DemoMeter(f"DEMO{index:05d}", base_port + index, LOAD_SHAPES[index % len(LOAD_SHAPES)])
        for index in range(count)
    ]


def ensure_administrator(installation: Installation) -> str:
    """The admin's initial password, kept (0600) in the data dir until it is changed."""
    path = installation.store.data_dir / "initial-admin-password"
    if installation.security.has_user("admin"):
        return path.read_text().strip() if path.exists() else "(changed by the administrator)"
    password = secrets.token_urlsafe(12)
    installation.security.enrol("admin", password, ["administrator"], SETUP)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password


def register_fleet(installation: Installation, fleet: list[DemoMeter], since: date) -> None:
    registry = installation.registry
    registry.register(
        "template",
        {
            "name": TEMPLATE,
            "description": "Simulated DLMS meter, WRAPPER over TCP, HLS-GMAC suite 0",
            "meter_defaults": {
                "meter_type": "single-phase",
                "manufacturer": "HES simulator",
                "model": "SIM-1",
                "protocol": "dlms-wrapper-tcp",
                "security_profile": "hls-gmac",
                "comm_address": "127.0.0.1",
                "ct_ratio": "1",
                "pt_ratio": "1",
                "meter_channels": [
                    {"obis": "1.0.1.29.0.255", "unit": "Wh", "interval_minutes": 15}
                ],
                "status": "installed",
            },
        },
        since,
        SETUP,
    )
    for meter in fleet:
        if not registry.exists("meter", meter.serial):
            registry.create_meter(
                {
                    "serial": meter.serial,
                    "comm_port": meter.port,
                    "system_title": meter.system_title.hex(),
                },
                since,
                SETUP,
                template=TEMPLATE,
                # Each meter its own keys, made once and kept sealed.
                secrets={
                    "block_cipher_key": secrets.token_bytes(16).hex(),
                    "authentication_key": secrets.token_bytes(16).hex(),
                },
            )
        registry.register(
            "service_point",
            {
                "service_point_id": meter.service_point,
                "name": f"Demo service point {meter.serial[-5:]}",
                "purpose": {"h25": "residential", "g25": "commercial"}.get(
                    meter.load_shape, "agricultural"
                ),
                "meter_serial": meter.serial,
            },
            since,
            SETUP,
        )
        registry.register(
            "channel",
            {
                "channel_key": meter.channel_key,
                "service_point_id": meter.service_point,
                "name": "Active energy import",
                "kind": "metered",
                "unit": "kWh",
                "interval_minutes": 15,
                "meter_serial": meter.serial,
                "meter_channel": "1.0.1.29.0.255",
                "multiplier": "1",
            },
            since,
            SETUP,
        )


def simulator_configs(
    installation: Installation, fleet: list[DemoMeter]
) -> list[SimulatedMeterConfig]:
    """Each simulated meter gets the secrets the registry holds for it (LLS or HLS)."""
    today = datetime.now(UTC).date()
    registry = installation.registry
    configs = []
    for meter in fleet:
        settings = registry.get("meter", meter.serial).attributes_on(today)
        hls_keys = None
        if settings.get("security_profile") == "hls-gmac":
            hls_keys = HlsKeys(
                bytes.fromhex(settings["system_title"]),
                bytes.fromhex(registry.meter_secret(meter.serial, "block_cipher_key", today) or ""),
                bytes.fromhex(
                    registry.meter_secret(meter.serial, "authentication_key", today) or ""
                ),
            )
        configs.append(
            SimulatedMeterConfig(
                serial=meter.serial,
                port=meter.port,
                password=registry.meter_secret(meter.serial, "lls_password", today),
                hls_keys=hls_keys,
                load_shape=meter.load_shape,
                history_days=FIRST_READ_DAYS + 1,
            )
        )
    return configs


def run_demo(
    *,
    meters: int,
    host: str,
    port: int,
    meter_base_port: int,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    import uvicorn

    from interfaces.api.app import create_app

    # The scheduler says when it fires the cycle; the rest stays quiet unless it fails.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("hes.scheduler").setLevel(logging.INFO)
    queue = demo_queue()
    installation = Installation.open(data_dir, database_url, queue=queue)
    fleet = demo_fleet(meters, meter_base_port)
    since = (datetime.now(UTC) - timedelta(days=FIRST_READ_DAYS)).date()
    password = ensure_administrator(installation)
    register_fleet(installation, fleet, since)
    register_cycle(installation, TEMPLATE, since, SETUP)
    pushes = DemoPushListener(installation)
    simulators = FleetThread(simulator_configs(installation, fleet), pushes=pushes.start())
    simulators.start()
    installation.read_models.start()
    installation.task_monitor.start()
    collection = DemoCollection(installation, queue, FIRST_READ_DAYS)
    collection.start()
    print(f"HES demo: {meters} simulated DLMS meters on 127.0.0.1:{fleet[0].port}-{fleet[-1].port}")
    print(f"data: {installation.store.url}")
    print(f"push listener: UDP 127.0.0.1:{pushes.udp_port}; the meters push every quarter hour")
    print(f"web UI and API: http://{host}:{port}/  (login: admin / {password})")
    print(f"API token: hes token create --user admin --data-dir {installation.store.data_dir}")
    try:
        read, recorded = collection.read_all_now([meter.serial for meter in fleet])
        print(f"collector: read {read} of {len(fleet)} meters, {recorded} new intervals")
        print(f"cycle {CYCLE} reads every meter each quarter hour (tasks: /api/v1/tasks)")
        uvicorn.run(create_app(installation), host=host, port=port, log_level="warning")
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it shut down on; the shutdown itself was clean.
        pass
    finally:
        collection.stop()
        simulators.stop()
        pushes.stop()
        installation.close()
        print("HES demo stopped; data kept in", installation.store.data_dir)
