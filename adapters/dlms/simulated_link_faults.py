"""Scripted faults of a simulated meter's communication (not of its metering).

A fleet in the field has meters that answer slowly (a weak GPRS link), that cannot be
reached at all, that drop the connection in the middle of a session, and links that
garble a byte now and then. ``LinkFaults`` scripts these per meter; ``FaultyLink``
applies them to the answers of one connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkFaults:
    """``answer_delay_seconds``: every answer this late. ``unreachable``: nothing listens
    on the meter's port (connections are refused). ``drop_after_answers``: the meter
    closes each connection, unanswered, after that many answers. ``corrupt_every``:
    every that-many-th answer of a connection has one byte flipped (a WRAPPER payload
    becomes undecodable, an HDLC frame fails its check sequence)."""

    answer_delay_seconds: float = 0.0
    unreachable: bool = False
    drop_after_answers: int | None = None
    corrupt_every: int | None = None

    def __post_init__(self) -> None:
        if self.answer_delay_seconds < 0:
            raise ValueError("answer_delay_seconds must not be negative")
        if self.drop_after_answers is not None and self.drop_after_answers < 0:
            raise ValueError("drop_after_answers must not be negative")
        if self.corrupt_every is not None and self.corrupt_every < 1:
            raise ValueError("corrupt_every must be at least 1")

    @property
    def any(self) -> bool:
        return self != LinkFaults()


class ConnectionDropped(Exception):
    """The scripted meter hangs up now (``drop_after_answers`` reached)."""


class FaultyLink:
    """The faults of one connection: counts its answers and spoils them as scripted."""

    def __init__(self, faults: LinkFaults) -> None:
        self.faults = faults
        self.answers = 0

    async def before_answer(self) -> None:
        """Waits as a slow meter does; raises ``ConnectionDropped`` when it hangs up."""
        drop_after = self.faults.drop_after_answers
        if drop_after is not None and self.answers >= drop_after:
            raise ConnectionDropped(f"scripted drop after {drop_after} answers")
        if self.faults.answer_delay_seconds:
            await asyncio.sleep(self.faults.answer_delay_seconds)

    def spoiled(self, answer: bytes) -> bytes:
        """The answer as it leaves the meter: one byte flipped every ``corrupt_every``."""
        self.answers += 1
        every = self.faults.corrupt_every
        if len(answer) < 2 or every is None or self.answers % every:
            return answer
        # The last byte but one: in a WRAPPER frame part of the APDU, in an HDLC frame
        # part of its check sequence (the last byte is the closing flag).
        return answer[:-2] + bytes([answer[-2] ^ 0xFF]) + answer[-1:]
