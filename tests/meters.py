"""Registering what the DLMS tests read: a load-profile channel of a meter, a dead port."""

from __future__ import annotations

import socket
from datetime import date

from domain.provenance import Provenance
from interfaces.installation import Installation


def register_profile_channel(
    installation: Installation, serial: str, since: date, who: Provenance
) -> str:
    """The 15-minute active-energy channel fed by the meter's load profile; its key."""
    key = f"SP-{serial}:A+"
    installation.registry.register(
        "channel",
        {
            "channel_key": key,
            "service_point_id": f"SP-{serial}",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_serial": serial,
            "meter_channel": "1.0.1.29.0.255",
        },
        since,
        who,
    )
    return key


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound a moment ago, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
