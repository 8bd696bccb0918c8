"""Both directions of one glo-ciphered association, used alike by the HES and the
simulated meter: every APDU sent is authenticated and encrypted (SC 0x30) under the own
system title and a fresh invocation counter; every APDU received must be ciphered, carry a
valid tag, and a counter above the last one accepted from the peer.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.dlms.ciphered_apdu import decode_ciphered, encode_glo, is_ciphered
from adapters.dlms.ciphering import protect, unprotect
from adapters.dlms.errors import FrameError, SecurityEventKind, SecurityViolation
from adapters.dlms.hls import HlsKeys

# Counter acceptance: (peer system title, counter) -> False for a replay.
CounterCheck = Callable[[bytes, int], bool]


class CipheredAssociation:
    def __init__(
        self,
        own: HlsKeys,
        *,
        next_counter: Callable[[], int],
        accept_counter: CounterCheck,
        peer_system_title: bytes | None = None,
    ) -> None:
        self._own = own
        self._next_counter = next_counter
        self._accept_counter = accept_counter
        self.peer_system_title = peer_system_title

    def __repr__(self) -> str:
        peer = self.peer_system_title.hex() if self.peer_system_title else "?"
        return f"CipheredAssociation({self._own.system_title.hex()} <-> {peer})"

    def seal(self, plain: bytes) -> bytes:
        content = protect(
            plain,
            system_title=self._own.system_title,
            invocation_counter=self._next_counter(),
            keys=self._own.keys,
        )
        return encode_glo(plain[0], content)

    def open(self, apdu: bytes) -> bytes:
        """The plain APDU inside a ciphered one from the peer, checked."""
        peer = self.peer_system_title
        if peer is None:
            raise RuntimeError("the peer's system title is not known yet")
        if not is_ciphered(apdu):
            raise SecurityViolation(
                f"plain APDU 0x{apdu[:1].hex()} from {peer.hex()} in a ciphered association",
                kind=SecurityEventKind.NOT_PROTECTED,
                system_title=peer.hex(),
            )
        ciphered = decode_ciphered(apdu)
        if ciphered.system_title is not None and ciphered.system_title != peer:
            raise SecurityViolation(
                f"APDU ciphered by {ciphered.system_title.hex()} in the association with "
                f"{peer.hex()}",
                kind=SecurityEventKind.UNKNOWN_SYSTEM_TITLE,
                system_title=ciphered.system_title.hex(),
            )
        unprotected = unprotect(ciphered.content, system_title=peer, keys=self._own.keys)
        if not self._accept_counter(peer, unprotected.invocation_counter):
            raise SecurityViolation(
                f"invocation counter {unprotected.invocation_counter} from {peer.hex()} is not "
                "above the last accepted one: replayed",
                kind=SecurityEventKind.REPLAYED_COUNTER,
                system_title=peer.hex(),
            )
        plain = unprotected.plaintext
        expected = ciphered.plain_tag
        if not plain or (expected is not None and plain[0] != expected):
            raise FrameError(
                f"glo APDU 0x{ciphered.tag:02x} decrypts to 0x{plain[:1].hex()}, "
                f"expected 0x{expected or 0:02x}"
            )
        return plain
