"""`change_keys`: new global keys for an HLS meter.

The operator seals the new block cipher (encryption) key and authentication key in the
vault first and names their references; the keys are revealed only in memory, wrapped
under the meter's master key (KEK, the meter's `master_key` secret) and sent with the
security setup's key_transfer in the ciphered management association. Once the meter has
acknowledged the transfer it holds the new keys for its next association, so the registry
records the references at once (a stale registry would lock the HES out); then a new
association with the new keys proves them. Keys never appear in events, logs or errors.

When the meter's answer to the transfer is lost (a timeout, a dropped connection), the
meter holds either key pair: an association with the new keys says which, and the
registry follows the meter. When the registered keys are refused, an earlier change
whose answer was lost may have left the meter with the keys asked for: an association
with them settles that too, so asking again after a lost answer is always safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.dlms.errors import (
    AssociationRejected,
    DlmsError,
    FrameError,
    MeterTimeout,
    MeterUnreachable,
    SecurityViolation,
)
from adapters.dlms.hls import HlsKeys
from adapters.dlms.key_transfer import KEY_LENGTH, transfer_keys
from adapters.dlms.session import CosemSession, MeterEndpoint
from application.head_end import CommandRefused
from domain.provenance import Provenance

if TYPE_CHECKING:
    from adapters.dlms_commands import DlmsCommandPort

KEYS_CHANGED = Provenance(
    actor="hes-head-end", reason="global keys changed on the meter", source="system"
)
NEW_KEYS = {
    "block_cipher_key": "block_cipher_key_ref",
    "authentication_key": "authentication_key_ref",
}


def _key(hex_text: str | None, what: str) -> bytes:
    try:
        key = bytes.fromhex(hex_text or "")
    except ValueError:
        key = b""
    if len(key) != KEY_LENGTH:
        raise CommandRefused(f"{what} is not a 16-octet key in hex")  # never the value
    return key


async def change_keys(
    port: DlmsCommandPort, serial: str, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    registry = port.collection.registry
    vault = getattr(registry, "vault", None)
    if vault is None:
        raise CommandRefused("no secret vault: cannot reveal the new keys")
    today = datetime.now(UTC).date()
    meter = registry.get("meter", serial).attributes_on(today)
    if str(meter.get("security_profile")) != "hls-gmac":
        raise CommandRefused("change_keys applies to HLS-GMAC meters only")
    references = {name: str(parameters[parameter]) for name, parameter in NEW_KEYS.items()}
    new: dict[str, bytes] = {}
    for name, reference in references.items():
        try:
            new[name] = _key(vault.reveal(reference), f"sealed secret {reference}")
        except LookupError:
            raise CommandRefused(f"no sealed secret {reference}") from None
    if (meter.get("secret_refs") or {}).get("master_key") is None:
        raise CommandRefused(f"meter {serial} has no master key (KEK) in the vault")
    master_key = _key(registry.meter_secret(serial, "master_key", today), "the master key")

    address = port.collection.address_of(serial, meter, today)
    endpoint = MeterEndpoint(address.host, address.port, framing=address.framing)  # type: ignore[arg-type]
    new_keys = HlsKeys(port.system_title, new["block_cipher_key"], new["authentication_key"])
    sent = acknowledged = proven = False
    try:
        async with port.session(serial) as session:
            sent = True  # associated: the transfer goes out now
            await transfer_keys(
                session,
                master_key,
                block_cipher_key=new["block_cipher_key"],
                authentication_key=new["authentication_key"],
            )
            acknowledged = True
    except (SecurityViolation, AssociationRejected):
        # The registered keys are refused. An earlier change whose answer was lost may
        # have left the meter with exactly the keys asked for: then that change is done.
        if sent or not await _associates(port, serial, endpoint, new_keys):
            raise
        proven = True
    except (MeterTimeout, MeterUnreachable, FrameError):
        # The transfer went out and its answer was lost (or the release after it): the
        # meter holds the old keys or the new ones. It says which by associating.
        if not sent:
            raise
        if not acknowledged:
            if not await _associates(port, serial, endpoint, new_keys):
                raise  # not taken (or not reachable now): asking again is safe
            proven = True
    refs = {**(meter.get("secret_refs") or {}), **references}
    try:
        await asyncio.to_thread(
            registry.change, "meter", serial, {"secret_refs": refs}, today, KEYS_CHANGED
        )
    except Exception as error:  # the meter has the new keys: say so loudly
        raise CommandRefused(
            f"the meter took the new keys but the registry was not updated "
            f"({type(error).__name__}); record {references['block_cipher_key']} and "
            f"{references['authentication_key']} as its keys"
        ) from None
    if not proven and not await _associates(port, serial, endpoint, new_keys):
        raise CommandRefused(
            "the meter took the new keys and the registry records them, but an association "
            "with them failed"
        )
    return {
        "keys_changed": True,
        # The meter's answer was lost, or an earlier change took: an association proved it.
        "proven_by_association": proven,
        **{NEW_KEYS[name]: ref for name, ref in references.items()},
    }


async def _associates(
    port: DlmsCommandPort, serial: str, endpoint: MeterEndpoint, keys: HlsKeys
) -> bool:
    """Whether the meter accepts a ciphered association with ``keys``. The association is
    the proof: a release lost after it does not count against it."""
    associated = False
    try:
        async with (
            port.gate.attempt(serial, "change_keys") as attempt,
            CosemSession(
                endpoint,
                timeout=port.timeout,
                security=keys,
                counters=port.counters,
                frame_recorder=attempt.frame_recorder(port.frame_recorder),
                meter_serial=serial,
            ),
        ):
            associated = True
    except (DlmsError, OSError):
        pass
    return associated
