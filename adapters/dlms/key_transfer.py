"""Changing a meter's global keys from the HES: security setup (class 64, 0.0.43.0.0.255)
method 2 key_transfer, each new key wrapped under the meter's master key (the key
encrypting key, KEK) with AES key wrap (RFC 3394, the `cryptography` package).

The request travels inside the ciphered management association, so the wrapped keys are
encrypted once more on the wire. Keys are never logged nor put into exceptions.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from gurux_dlms.objects import GXDLMSSecuritySetup

from adapters.dlms import obis
from adapters.dlms.session import CosemSession
from adapters.dlms.typed_data import Array, Enum, OctetString, Structure

KEY_TRANSFER = 2
# key_id of key_data (Blue Book, security setup): which global key a wrapped key replaces.
UNICAST_ENCRYPTION_KEY, AUTHENTICATION_KEY = 0, 2
KEY_LENGTH = 16  # security suite 0: AES-128


def key_transfer_parameter(master_key: bytes, keys: dict[int, bytes]) -> Array:
    """array of key_data {key_id, key_wrapped}."""
    if len(master_key) != KEY_LENGTH or any(len(key) != KEY_LENGTH for key in keys.values()):
        raise ValueError("the master key and the new keys must be 16 octets (suite 0)")
    return Array(
        [
            Structure([Enum(key_id), OctetString(aes_key_wrap(master_key, key))])
            for key_id, key in sorted(keys.items())
        ]
    )


async def transfer_keys(
    session: CosemSession,
    master_key: bytes,
    *,
    block_cipher_key: bytes,
    authentication_key: bytes,
) -> None:
    """The meter takes both keys for its next association (AccessRefused if it refuses)."""
    parameter = key_transfer_parameter(
        master_key,
        {UNICAST_ENCRYPTION_KEY: block_cipher_key, AUTHENTICATION_KEY: authentication_key},
    )
    await session.act(GXDLMSSecuritySetup(obis.SECURITY_SETUP), KEY_TRANSFER, parameter)
