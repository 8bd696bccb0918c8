"""Meter use cases that need more than the generic registry edits.

Meters come from configuration templates, their passwords and keys go to the vault
(events hold only references), and meters are exchanged at service points.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from application.errors import UnknownAggregate
from application.secrets import SECRET_NAMES, SecretVault
from domain.attributes import InvalidAttributes
from domain.provenance import Provenance
from domain.registered import RegistryRuleViolation

if TYPE_CHECKING:
    from application.registry import Registration


class MeterUseCases:
    vault: SecretVault | None = None

    def create_meter(
        self,
        attributes: Mapping[str, Any],
        effective_from: date,
        provenance: Provenance,
        template: str | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Registration:
        """A meter from explicit fields, or from a template with fields overriding it."""
        values: dict[str, Any] = {}
        if template:
            found = self.get("template", template)  # type: ignore[attr-defined]
            defaults = found.attributes_on(effective_from).get("meter_defaults")
            if defaults is None:
                raise RegistryRuleViolation(
                    f"template {template!r} is in force only from {found.registered_from}"
                )
            values.update(defaults)
            values["template"] = template
        values.update(attributes)
        serial = str(values.get("serial") or "").strip()
        if not serial:
            raise InvalidAttributes({"serial": "is required"})
        if secrets:
            values["secret_refs"] = self.seal_meter_secrets(serial, secrets)
        return self.register("meter", values, effective_from, provenance)  # type: ignore[attr-defined]

    def change_meter_secrets(
        self,
        serial: str,
        secrets: Mapping[str, str],
        effective_from: date,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        meter = self.get("meter", serial)  # type: ignore[attr-defined]
        refs = dict(meter.attributes_on(effective_from).get("secret_refs") or {})
        refs.update(self.seal_meter_secrets(serial, secrets))
        return self.change(  # type: ignore[attr-defined]
            "meter", serial, {"secret_refs": refs}, effective_from, provenance, expected_version
        )

    def meter_secret(self, serial: str, name: str, on: date) -> str | None:
        """A meter's secret in clear, for a session with it; never store or log it."""
        meter = self.get("meter", serial)  # type: ignore[attr-defined]
        reference = (meter.attributes_on(on).get("secret_refs") or {}).get(name)
        if reference is None:
            return None
        return self._vault().reveal(reference)

    def exchange_meter(
        self,
        service_point_id: str,
        new_serial: str,
        effective_from: date,
        provenance: Provenance,
    ) -> int:
        if not self.exists("meter", new_serial):  # type: ignore[attr-defined]
            raise UnknownAggregate("meter", new_serial)
        point = self._load_for_edit("service_point", service_point_id, None)  # type: ignore[attr-defined]
        point.exchange_meter(new_serial, effective_from, provenance)
        return self._save_edit("service_point", service_point_id, point)  # type: ignore[attr-defined]

    def seal_meter_secrets(self, serial: str, secrets: Mapping[str, str]) -> dict[str, str]:
        """Seals passwords/keys of a meter; returns the references to record instead."""
        unknown = sorted(set(secrets) - set(SECRET_NAMES))
        if unknown:
            raise InvalidAttributes({"secrets": f"unknown secret names: {', '.join(unknown)}"})
        vault = self._vault()
        return {name: vault.seal(f"meter:{serial}", name, value) for name, value in secrets.items()}

    def _vault(self) -> SecretVault:
        if self.vault is None:
            raise RuntimeError("this registry was opened without a secret vault")
        return self.vault
