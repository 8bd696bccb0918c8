"""Typed failures of a meter session. Messages name the meter and what failed, never a
password or key."""

from __future__ import annotations

import enum


class DlmsError(Exception):
    """Base of every failure raised by the DLMS adapter."""


class MeterUnreachable(DlmsError):
    """No TCP connection: refused, no route, or the connect timed out."""


class ConnectionLost(MeterUnreachable):
    """The meter (or the network) closed the connection in the middle of a session."""


class MeterTimeout(DlmsError):
    """Connected, but the meter did not answer one request within the timeout."""


class AssociationRejected(DlmsError):
    """The meter answered the AARQ with a rejecting AARE (wrong password, unknown client...)."""

    def __init__(self, message: str, *, diagnostic: int) -> None:
        super().__init__(message)
        self.diagnostic = diagnostic


class FrameError(DlmsError):
    """Bytes that are not a valid answer: malformed, truncated or unexpected."""


class UnsupportedFrame(FrameError):
    """Well-formed bytes of a kind this adapter does not handle (e.g. an IEC 61334-4-32 LLC
    frame fed to the HDLC decoder, or a ciphering suite other than 0)."""


class SecurityEventKind(enum.StrEnum):
    BAD_TAG = "bad-tag"  # the GCM tag (or GMAC) does not verify: forged or corrupted
    REPLAYED_COUNTER = "replayed-counter"  # invocation counter not above the last accepted
    UNKNOWN_SYSTEM_TITLE = "unknown-system-title"  # no keys for this sender
    NOT_PROTECTED = "not-protected"  # plain, or weaker than authenticated + encrypted
    CHALLENGE_FAILED = "challenge-failed"  # HLS pass 3/4 answered wrongly
    REFUSED_BY_METER = "refused-by-meter"  # the meter could not decipher us, or our counter


class SecurityViolation(DlmsError):
    """A security event: a GCM tag that does not verify, a replayed or lower invocation
    counter, an unknown system title, a plain APDU where a ciphered one is required, a
    failed HLS challenge. Never a transient fault: the HES records it and does not retry
    blindly. `kind` says which; `system_title` (hex) names the sender when known."""

    def __init__(
        self, message: str, *, kind: SecurityEventKind, system_title: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.system_title = system_title


class AttributeReadRefused(DlmsError):
    """The meter answered a GET with a data-access-result other than success."""

    def __init__(self, message: str, *, result: int) -> None:
        super().__init__(message)
        self.result = result


class AccessRefused(AttributeReadRefused):
    """The meter refused a SET or an ACTION: `result` is the data-access-result or
    action-result (3 read-write-denied, 2 temporary-failure, ...), -1 when it refused the
    service as a whole. A subclass of AttributeReadRefused: the association stays healthy
    and callers that treat any refusal alike keep working."""


class UnexpectedProfileLayout(DlmsError):
    """The load profile lacks the columns the HES needs (clock and interval energy)."""
