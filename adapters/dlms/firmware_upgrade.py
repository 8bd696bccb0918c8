"""Firmware upgrade through the image transfer object 0.0.44.0.0.255 (class 18), HES side.

initiate (method 1) -> blocks (method 2) from the meter's first not transferred block
(attribute 4), so an interrupted transfer resumes where it stopped -> verify (method 3;
a meter that needs time answers temporary-failure and the status, attribute 6, is polled)
-> activate (method 4) now, or later by the image activation schedule 0.0.15.0.2.255.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from gurux_dlms.objects import GXDLMSActionSchedule, GXDLMSData, GXDLMSImageTransfer

from adapters.dlms import obis
from adapters.dlms.errors import AccessRefused, DlmsError, FrameError
from adapters.dlms.schedule_values import execution_at
from adapters.dlms.session import CosemSession
from adapters.dlms.set_action_service import ActionResult
from adapters.dlms.typed_data import (
    DoubleLongUnsigned,
    Integer,
    OctetString,
    Structure,
)

VERIFICATION_INITIATED, VERIFICATION_SUCCESSFUL, VERIFICATION_FAILED = 2, 3, 4


class FirmwareRejected(DlmsError):
    """The meter could not verify or activate the image."""


@dataclass(frozen=True)
class TransferOutcome:
    blocks_total: int
    blocks_sent: int
    resumed_from_block: int
    activated: bool
    firmware_version: str


async def transfer_image(
    session: CosemSession,
    identifier: bytes,
    image: bytes,
    *,
    activate_at: dt.datetime | None = None,
    poll_interval: float = 0.05,
    verify_timeout: float = 60.0,
    after_block: Callable[[int], None] | None = None,
) -> TransferOutcome:
    """Transfer, verify and activate `image`; `activate_at` in the future schedules the
    activation instead. `after_block(number)` is called after every block sent."""
    transfer = GXDLMSImageTransfer(obis.IMAGE_TRANSFER)
    block_size = _int(await session.get(transfer, 2), "image_block_size")
    if block_size <= 0:
        raise FrameError("image_block_size read as 0")
    total = -(-len(image) // block_size)
    await session.act(
        transfer, 1, Structure([OctetString(identifier), DoubleLongUnsigned(len(image))])
    )
    first = min(_int(await session.get(transfer, 4), "first not transferred block"), total)
    for number in range(first, total):
        block = image[number * block_size : (number + 1) * block_size]
        await session.act(transfer, 2, Structure([DoubleLongUnsigned(number), OctetString(block)]))
        if after_block is not None:
            after_block(number)
    await _verify(session, transfer, poll_interval, verify_timeout)
    activated = False
    if activate_at is None or activate_at <= dt.datetime.now(dt.UTC):
        try:
            await session.act(transfer, 4, Integer(0))
        except AccessRefused as refusal:
            raise FirmwareRejected(f"the meter refused to activate the image: {refusal}") from None
        activated = True
    else:
        await session.set(
            GXDLMSActionSchedule(obis.IMAGE_ACTIVATION_SCHEDULE), 4, execution_at(activate_at)
        )
    version = await session.get(GXDLMSData(obis.FIRMWARE_VERSION), 2)
    return TransferOutcome(
        total, total - first, first, activated, bytes(version).decode("ascii", "replace")
    )


async def _verify(
    session: CosemSession, transfer: GXDLMSImageTransfer, poll: float, timeout: float
) -> None:
    try:
        await session.act(transfer, 3, Integer(0))
        return
    except AccessRefused as refusal:
        if refusal.result != ActionResult.TEMPORARY_FAILURE:
            raise FirmwareRejected(f"the meter refused to verify the image: {refusal}") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _int(await session.get(transfer, 6), "image_transfer_status")
        if status == VERIFICATION_SUCCESSFUL:
            return
        if status == VERIFICATION_FAILED:
            raise FirmwareRejected("the meter found the image invalid (verification failed)")
        await asyncio.sleep(poll)
    raise FirmwareRejected(f"image verification did not finish within {timeout:g} s")


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FrameError(f"{what} read as {value!r}")
    return value
