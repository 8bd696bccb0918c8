"""Meter: a physical device, its measuring parameters and how to reach it.

Passwords and keys are never attributes: the meter holds only references
(``secret_refs``) to secrets sealed in the key store, so no event carries them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.attributes import Attribute, InvalidAttributes
from domain.registered import RegisteredAggregate

PROTOCOLS = ("dlms-wrapper-tcp", "dlms-hdlc-tcp", "dlms-wrapper-udp")
SECURITY_PROFILES = ("none", "lls", "hls-gmac")
# Which sealed secrets each security profile needs before the meter can be read.
REQUIRED_SECRETS = {
    "none": (),
    "lls": ("lls_password",),
    "hls-gmac": ("block_cipher_key", "authentication_key"),
}


class Meter(RegisteredAggregate):
    TOPIC = "hes.registry.Meter"
    KEY = "serial"
    SCHEMA = {
        "serial": Attribute(key=True, max_length=64),
        "device_number": Attribute(max_length=64),
        "meter_type": Attribute(required=True, max_length=64),
        "manufacturer": Attribute(max_length=64),
        "model": Attribute(max_length=64),
        "ct_ratio": Attribute(kind="decimal", critical=True, positive=True),
        "pt_ratio": Attribute(kind="decimal", critical=True, positive=True),
        "pulse_multiplier": Attribute(kind="decimal", critical=True, positive=True),
        "comm_address": Attribute(max_length=255),
        "comm_port": Attribute(kind="int", positive=True),
        "phone": Attribute(max_length=40),
        "apn": Attribute(max_length=100),
        "protocol": Attribute(kind="choice", choices=PROTOCOLS),
        "dlms_client_address": Attribute(kind="int", positive=True),
        "dlms_server_address": Attribute(kind="int", positive=True),
        # 8 octets in hex: names the meter in ciphered APDUs and pushes.
        "system_title": Attribute(max_length=16),
        "security_profile": Attribute(kind="choice", choices=SECURITY_PROFILES),
        "secret_refs": Attribute(kind="mapping"),
        "meter_channels": Attribute(kind="list"),
        "template": Attribute(max_length=64),
        "status": Attribute(kind="choice", choices=("in-stock", "installed", "removed")),
    }

    class Registered(RegisteredAggregate.Registered):
        TOPIC = "hes.registry.Meter.Registered"

    class Changed(RegisteredAggregate.Changed):
        TOPIC = "hes.registry.Meter.Changed"

    class Corrected(RegisteredAggregate.Corrected):
        TOPIC = "hes.registry.Meter.Corrected"

    class Retired(RegisteredAggregate.Retired):
        TOPIC = "hes.registry.Meter.Retired"

    @classmethod
    def check_rules(cls, attributes: Mapping[str, Any]) -> None:
        profile = attributes.get("security_profile") or "none"
        refs = attributes.get("secret_refs") or {}
        missing = [name for name in REQUIRED_SECRETS[profile] if name not in refs]
        if missing:
            raise InvalidAttributes(
                {"security_profile": f"{profile} needs the secrets {', '.join(missing)}"}
            )
        title = attributes.get("system_title")
        if title is not None and not _is_hex(title, 8):
            raise InvalidAttributes({"system_title": "must be 8 octets as 16 hex digits"})
        for channel in attributes.get("meter_channels") or []:
            if not isinstance(channel, dict) or not channel.get("obis"):
                raise InvalidAttributes(
                    {"meter_channels": "each meter channel needs at least an 'obis' code"}
                )


def _is_hex(text: str, octets: int) -> bool:
    try:
        return len(bytes.fromhex(text)) == octets
    except ValueError:
        return False
