"""AES-GCM-128 of DLMS security suite 0 (Green Book 9.2.7), on the `cryptography` package.

gurux-dlms 1.0.203 decrypts without checking the GCM tag and its pure-Python AES is about
20 times slower, so every ciphered APDU of this adapter, sent or received, goes through
here; gurux only ever sees plain APDUs.

Ciphered content = security control (SC) | invocation counter (IC, 4 octets) |
ciphertext | tag (12 octets). IV = system title of the sender (8) | IC. The additional
authenticated data is SC | authentication key (AK), followed by the plaintext when it is
authenticated only.

`AESGCM` only verifies 16-octet tags, and DLMS truncates them to 12: encryption uses
`AESGCM` and keeps the tag's first 12 octets; decryption uses the same package's
`Cipher(AES, GCM(iv, tag, min_tag_length=12))`, which checks the truncated tag (OpenSSL).

Keys live only in `SecurityKeys` objects, whose repr hides them; nothing here logs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.dlms.errors import FrameError, SecurityEventKind, SecurityViolation, UnsupportedFrame

AUTHENTICATED = 0x10
ENCRYPTED = 0x20
AUTHENTICATED_ENCRYPTED = AUTHENTICATED | ENCRYPTED  # 0x30, what we send and require
_KEY_SET = 0x40  # broadcast key: not used by this adapter
_COMPRESSED = 0x80
SECURITY_SUITE_0 = 0
TAG_LENGTH = 12
SYSTEM_TITLE_LENGTH = 8
HEADER_LENGTH = 5  # SC + IC
MAX_INVOCATION_COUNTER = 0xFFFFFFFF


@dataclass(frozen=True)
class SecurityKeys:
    """The global unicast encryption key (block cipher key, EK) and the authentication key
    (AK) shared by a meter and the HES."""

    block_cipher_key: bytes = field(repr=False)
    authentication_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("block_cipher_key", "authentication_key"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != 16:
                raise ValueError(f"{name} must be 16 bytes (AES-128, security suite 0)")

    def __repr__(self) -> str:
        return "SecurityKeys(<hidden>)"


class Unprotected(NamedTuple):
    security_control: int
    invocation_counter: int
    plaintext: bytes


def _iv(system_title: bytes, invocation_counter: int) -> bytes:
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise ValueError("a system title has 8 octets")
    if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
        raise ValueError("the invocation counter is exhausted: the keys must be renewed")
    return system_title + invocation_counter.to_bytes(4, "big")


def protect(
    plaintext: bytes,
    *,
    system_title: bytes,
    invocation_counter: int,
    keys: SecurityKeys,
    security_control: int = AUTHENTICATED_ENCRYPTED,
) -> bytes:
    """Ciphered content (SC | IC | ciphertext | tag) of `plaintext` sent by `system_title`."""
    iv = _iv(system_title, invocation_counter)
    header = bytes((security_control,)) + invocation_counter.to_bytes(4, "big")
    if security_control & 0x0F != SECURITY_SUITE_0 or security_control & ~0x3F:
        raise ValueError("only security suite 0 without broadcast key or compression")
    aead = AESGCM(keys.block_cipher_key)
    authenticated = bool(security_control & AUTHENTICATED)
    if security_control & ENCRYPTED:
        aad = header[:1] + keys.authentication_key if authenticated else b""
        sealed = aead.encrypt(iv, plaintext, aad)  # ciphertext | 16-octet tag
        # A GCM tag truncates to its prefix: DLMS keeps 12 of the 16 octets.
        tag = sealed[len(plaintext) : len(plaintext) + TAG_LENGTH] if authenticated else b""
        return header + sealed[: len(plaintext)] + tag
    if authenticated:
        aad = header[:1] + keys.authentication_key + plaintext
        return header + plaintext + aead.encrypt(iv, b"", aad)[:TAG_LENGTH]
    return header + plaintext


def unprotect(
    content: bytes,
    *,
    system_title: bytes,
    keys: SecurityKeys,
    require: int = AUTHENTICATED_ENCRYPTED,
) -> Unprotected:
    """Check and decrypt ciphered content sent by `system_title`.

    A tag that does not verify is a `SecurityViolation` (bad-tag); so is content weaker
    than `require` (a downgrade to authentication-only or plain is refused, not obeyed).
    """
    title = system_title.hex()
    if len(content) < HEADER_LENGTH:
        raise FrameError(f"ciphered content from {title} is shorter than its header")
    security_control = content[0]
    invocation_counter = int.from_bytes(content[1:5], "big")
    if security_control & 0x0F != SECURITY_SUITE_0 or security_control & (_KEY_SET | _COMPRESSED):
        raise UnsupportedFrame(
            f"security control 0x{security_control:02x} from {title}: only suite 0, "
            "unicast key, uncompressed is supported"
        )
    if security_control & require != require:
        raise SecurityViolation(
            f"APDU from {title} has security control 0x{security_control:02x}; "
            f"0x{require:02x} (authenticated and encrypted) is required",
            kind=SecurityEventKind.NOT_PROTECTED,
            system_title=title,
        )
    iv = _iv(system_title, invocation_counter)
    body = content[HEADER_LENGTH:]
    authenticated = bool(security_control & AUTHENTICATED)
    if authenticated and len(body) < TAG_LENGTH:
        raise FrameError(f"ciphered content from {title} is shorter than its tag")
    payload, tag = (body[:-TAG_LENGTH], body[-TAG_LENGTH:]) if authenticated else (body, b"")
    if not authenticated:
        plaintext = _ctr_decrypt(keys, iv, payload) if security_control & ENCRYPTED else payload
        return Unprotected(security_control, invocation_counter, plaintext)
    encrypted = bool(security_control & ENCRYPTED)
    aad = content[:1] + keys.authentication_key + (b"" if encrypted else payload)
    decryptor = Cipher(
        algorithms.AES(keys.block_cipher_key), modes.GCM(iv, tag, min_tag_length=TAG_LENGTH)
    ).decryptor()
    decryptor.authenticate_additional_data(aad)
    try:
        plaintext = decryptor.update(payload if encrypted else b"") + decryptor.finalize()
    except InvalidTag:
        raise SecurityViolation(
            f"GCM tag of the APDU from {title} (invocation counter {invocation_counter}) "
            "does not verify",
            kind=SecurityEventKind.BAD_TAG,
            system_title=title,
        ) from None
    return Unprotected(security_control, invocation_counter, plaintext if encrypted else payload)


def _ctr_decrypt(keys: SecurityKeys, iv: bytes, payload: bytes) -> bytes:
    # Encryption without authentication: GCM's keystream starts at counter block 2.
    counter_block = iv + (2).to_bytes(4, "big")
    decryptor = Cipher(algorithms.AES(keys.block_cipher_key), modes.CTR(counter_block)).decryptor()
    return decryptor.update(payload) + decryptor.finalize()


def gmac(
    challenge: bytes, *, system_title: bytes, invocation_counter: int, keys: SecurityKeys
) -> bytes:
    """HLS-GMAC f(challenge) = SC (0x10) | IC | GMAC tag over SC | AK | challenge."""
    sealed = protect(
        challenge,
        system_title=system_title,
        invocation_counter=invocation_counter,
        keys=keys,
        security_control=AUTHENTICATED,
    )
    return sealed[:HEADER_LENGTH] + sealed[-TAG_LENGTH:]


def verify_gmac(answer: bytes, challenge: bytes, *, system_title: bytes, keys: SecurityKeys) -> int:
    """Check f(challenge) sent by `system_title`; returns its invocation counter."""
    title = system_title.hex()
    if len(answer) != HEADER_LENGTH + TAG_LENGTH or answer[0] != AUTHENTICATED:
        raise SecurityViolation(
            f"HLS answer from {title} is not SC 0x10 | IC | 12-octet GMAC",
            kind=SecurityEventKind.CHALLENGE_FAILED,
            system_title=title,
        )
    counter = int.from_bytes(answer[1:5], "big")
    expected = gmac(challenge, system_title=system_title, invocation_counter=counter, keys=keys)
    if not hmac.compare_digest(expected, answer):
        raise SecurityViolation(
            f"HLS-GMAC answer from {title} does not verify",
            kind=SecurityEventKind.CHALLENGE_FAILED,
            system_title=title,
        )
    return counter
