"""The image transfer process (class 18, 0.0.44.0.0.255) of a simulated meter: initiate,
blocks, verification (which takes a while, as on a real meter), activation. Pure Python.

Resume: an image_transfer_initiate with the identifier and size of the transfer in
progress keeps the blocks already received, so a HES that lost its connection reads
attribute 4 (first not transferred block) and sends only what is missing.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class TransferStatus(enum.IntEnum):
    """image_transfer_status, attribute 6."""

    NOT_INITIATED = 0
    INITIATED = 1
    VERIFICATION_INITIATED = 2
    VERIFICATION_SUCCESSFUL = 3
    VERIFICATION_FAILED = 4
    ACTIVATION_INITIATED = 5
    ACTIVATION_SUCCESSFUL = 6
    ACTIVATION_FAILED = 7


class TransferRefused(Exception):
    """The method is not possible in the current state (answered temporary-failure or
    other-reason by the meter)."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass
class ImageTransfer:
    firmware_version: bytes
    block_size: int = 192
    verify_seconds: float = 0.2
    monotonic: Callable[[], float] = time.monotonic
    identifier: bytes = b""
    size: int = 0
    _blocks: dict[int, bytes] = field(default_factory=dict)
    _status: TransferStatus = TransferStatus.NOT_INITIATED
    _verified_at: float | None = None  # when the running verification completes
    blocks_received: int = 0  # every block_transfer call, repeats included (for tests)

    @property
    def block_count(self) -> int:
        return -(-self.size // self.block_size)

    @property
    def status(self) -> TransferStatus:
        due = self._verified_at
        verifying = self._status is TransferStatus.VERIFICATION_INITIATED
        if verifying and due is not None and self.monotonic() >= due:
            complete = self.first_missing_block() >= self.block_count
            self._status = (
                TransferStatus.VERIFICATION_SUCCESSFUL
                if complete
                else TransferStatus.VERIFICATION_FAILED
            )
            self._verified_at = None
        return self._status

    def first_missing_block(self) -> int:
        """image_first_not_transferred_block_number, attribute 4."""
        block = 0
        while block in self._blocks:
            block += 1
        return block

    def transferred_bits(self) -> str:
        """image_transferred_blocks_status, attribute 3: one bit per block."""
        return "".join("1" if n in self._blocks else "0" for n in range(self.block_count))

    def initiate(self, identifier: bytes, size: int) -> None:
        if size <= 0:
            raise TransferRefused("image size must be positive")
        same = (identifier, size) == (self.identifier, self.size)
        if same and self._status is TransferStatus.INITIATED:
            return  # resume: keep the blocks already received
        self.identifier, self.size = identifier, size
        self._blocks = {}
        self._status = TransferStatus.INITIATED

    def transfer_block(self, number: int, data: bytes) -> None:
        if self._status is not TransferStatus.INITIATED:
            raise TransferRefused("no image transfer initiated")
        if not 0 <= number < self.block_count:
            raise TransferRefused("block number out of range")
        last = number == self.block_count - 1
        expected = self.size - number * self.block_size if last else self.block_size
        if len(data) != expected:
            raise TransferRefused("block of the wrong size")
        self._blocks[number] = data
        self.blocks_received += 1

    def verify(self) -> None:
        """Starts verification; the meter answers temporary-failure until it is done."""
        status = self.status
        if status is TransferStatus.VERIFICATION_SUCCESSFUL:
            return
        if status is TransferStatus.INITIATED:
            self._status = TransferStatus.VERIFICATION_INITIATED
            self._verified_at = self.monotonic() + self.verify_seconds
            status = self.status
        if status is TransferStatus.VERIFICATION_INITIATED:
            raise TransferRefused("verification in progress", temporary=True)
        if status is not TransferStatus.VERIFICATION_SUCCESSFUL:
            raise TransferRefused(f"cannot verify in state {status.name}")

    def activate(self) -> None:
        if self.status is not TransferStatus.VERIFICATION_SUCCESSFUL:
            raise TransferRefused(f"cannot activate in state {self.status.name}")
        self.firmware_version = self.identifier
        self._status = TransferStatus.ACTIVATION_SUCCESSFUL

    def image(self) -> bytes:
        return b"".join(self._blocks[n] for n in sorted(self._blocks))
