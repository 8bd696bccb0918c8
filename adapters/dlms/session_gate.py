"""The gate every outgoing DLMS session passes: the process's session limits, a deadline
for the whole session, and one row in the communication log whatever the outcome.

    async with gate.attempt(serial, "read_profile") as attempt:
        await read_load_profile(..., frame_recorder=attempt.frame_recorder(recorder))

Every I/O of a session is bounded by the session's own timeout (connect, each frame
exchanged, release, close); a meter that answers each request just in time, or keeps
sending blocks, is still stopped by the deadline (``MeterTimeout``). Octets are counted
from the frames the channel hands its frame tap (whole frames, framing included; lengths
survive the blanking of secrets), passed on to the raw-frame recorder if there is one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from adapters.dlms.communication_log import Communication
from adapters.dlms.errors import (
    AssociationRejected,
    AttributeReadRefused,
    ConnectionLost,
    DlmsError,
    MeterTimeout,
    MeterUnreachable,
    SecurityViolation,
)
from adapters.dlms.frame_capture import CapturedFrame, FrameRecorder
from adapters.dlms.session import CosemSession
from adapters.dlms.session_limits import SessionLimiter, process_limiter

log = logging.getLogger(__name__)


class CommunicationRecorder(Protocol):
    def record(self, communication: Communication) -> None: ...


@dataclass
class Traffic:
    sent: int = 0
    received: int = 0
    frames: int = 0


class CountingRecorder:
    """Counts the octets of each captured frame, then hands it on (if anyone keeps them)."""

    def __init__(self, traffic: Traffic, inner: FrameRecorder | None) -> None:
        self.traffic = traffic
        self.inner = inner

    def record(self, frame: CapturedFrame) -> None:
        self.traffic.frames += 1
        if frame.direction == "sent":
            self.traffic.sent += len(frame.data)
        else:
            self.traffic.received += len(frame.data)
        if self.inner is not None:
            self.inner.record(frame)


class Attempt:
    """One session under way: its octet counts, and the recorder that counts them."""

    def __init__(self, serial: str, purpose: str) -> None:
        self.serial = serial
        self.purpose = purpose
        self.traffic = Traffic()

    def frame_recorder(self, inner: FrameRecorder | None = None) -> CountingRecorder:
        return CountingRecorder(self.traffic, inner)


def outcome_of(error: BaseException | None) -> tuple[str, str]:
    """The log's outcome and error text for how a session ended.

    A refusal inside a healthy association (a GET, SET or ACTION the meter declined)
    is still a communication that worked: ``ok``, with the refusal as its text.
    """
    if error is None:
        return "ok", ""
    if isinstance(error, AttributeReadRefused):
        return "ok", str(error)
    if isinstance(error, SecurityViolation):
        return "security_violation", f"{error.kind}: {error}"
    if isinstance(error, AssociationRejected):
        return "refused", str(error)
    if isinstance(error, ConnectionLost):
        return "dropped", str(error)
    if isinstance(error, MeterUnreachable):
        return "unreachable", str(error)
    if isinstance(error, MeterTimeout | TimeoutError):
        return "timeout", str(error) or "timed out"
    if isinstance(error, asyncio.CancelledError):
        return "error", "cancelled before the session ended"
    if isinstance(error, DlmsError | OSError):
        return "error", f"{type(error).__name__}: {error}"
    # Foreign exceptions are named, not quoted: their text was not written to be logged.
    return "error", type(error).__name__


class SessionGate:
    """Limits, deadline and log for the sessions of one installation (or one test)."""

    def __init__(
        self,
        log: CommunicationRecorder | None = None,
        limiter: SessionLimiter | None = None,
    ) -> None:
        self.log = log
        self.limiter = limiter or process_limiter()

    @property
    def default_deadline(self) -> float:
        """HES_DLMS_SESSION_SECONDS: how long a whole session may take."""
        return self.limiter.limits.session_seconds

    @asynccontextmanager
    async def attempt(
        self, serial: str, purpose: str, *, deadline: float | Literal["default"] | None = "default"
    ) -> AsyncIterator[Attempt]:
        """Waits for a slot and the turn to connect, then runs the body under the
        deadline (``None``: none; default ``HES_DLMS_SESSION_SECONDS``) and records it.
        ``SessionLimitBusy`` (no slot in time) is raised before anything is recorded."""
        seconds = self.default_deadline if deadline == "default" else deadline
        attempt = Attempt(serial, purpose)
        async with self.limiter.session():
            started, clock = datetime.now(UTC), time.monotonic()
            failure: BaseException | None = None
            bound = asyncio.timeout(seconds)
            try:
                async with bound:
                    yield attempt
            except TimeoutError as error:
                if not bound.expired():
                    failure = error
                    raise
                failure = MeterTimeout(
                    f"meter {serial}: {purpose} session not finished within {seconds:g} s"
                )
                raise failure from None
            except BaseException as error:
                failure = error
                raise
            finally:
                ended = started + timedelta(seconds=time.monotonic() - clock)
                outcome, text = outcome_of(failure)
                await self._record(
                    Communication(
                        serial,
                        purpose,
                        started,
                        ended,
                        outcome,
                        text,
                        attempt.traffic.sent if attempt.traffic.frames else None,
                        attempt.traffic.received if attempt.traffic.frames else None,
                    )
                )

    async def _record(self, communication: Communication) -> None:
        if self.log is None:
            return
        try:
            # Off the loop (a short transaction), and shielded: a cancelled session is
            # still recorded.
            await asyncio.shield(asyncio.to_thread(self.log.record, communication))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("communication of meter %s not logged", communication.serial)


class GatedSession:
    """``async with GatedSession(gate, serial, purpose, open_session) as session:`` a
    ``CosemSession`` opened through the gate; ``open_session`` makes it, given the frame
    recorder to use (one that counts, then hands frames to ``frame_recorder``)."""

    def __init__(
        self,
        gate: SessionGate,
        serial: str,
        purpose: str,
        open_session: Callable[[FrameRecorder], CosemSession],
        *,
        frame_recorder: FrameRecorder | None = None,
        deadline: float | Literal["default"] | None = "default",
    ) -> None:
        self.gate = gate
        self.serial = serial
        self.purpose = purpose
        self._open_session = open_session
        self._frame_recorder = frame_recorder
        self._deadline = deadline
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> CosemSession:
        async with AsyncExitStack() as stack:
            attempt = await stack.enter_async_context(
                self.gate.attempt(self.serial, self.purpose, deadline=self._deadline)
            )
            session = self._open_session(attempt.frame_recorder(self._frame_recorder))
            opened = await stack.enter_async_context(session)
            self._stack = stack.pop_all()
        return opened

    async def __aexit__(self, *exc_info: Any) -> None:
        # Neither the gate nor the session swallows an exception: none is suppressed here.
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(*exc_info)
