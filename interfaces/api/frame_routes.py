"""Raw frames of a meter's sessions and pushes, for operators and auditors.

Frames are kept only for the retention days (HES_RAW_FRAME_RETENTION_DAYS, default 3);
secrets (an LLS password, a new secret being set) were blanked before they were stored.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from adapters.persistence.factory import shared_datastore
from adapters.raw_frames import RawFrameStore, StoredFrame, retention_days
from application.errors import UnknownAggregate
from application.security import Principal
from interfaces.api.auth import requires
from interfaces.api.registry_routes import Install, aware

# Billing systems have no business reading the wire: operators and auditors only.
FrameReader = Annotated[Principal, Depends(requires("operator", "auditor"))]
MAX_FRAMES = 1000


def frame_view(frame: StoredFrame) -> dict[str, Any]:
    return {
        "id": frame.id,
        "at": frame.at.isoformat(),
        "direction": frame.direction,
        "kind": frame.kind,
        "framing": frame.framing,
        "transport": frame.transport,
        "session_id": frame.session_id,
        "peer": frame.peer,
        "redacted": frame.redacted,
        "note": frame.note,
        "length": len(frame.frame),
        "hex": frame.frame.hex(),
    }


def frame_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["raw frames"])

    @router.get("/meters/{serial}/frames")
    async def meter_frames(
        serial: str,
        install: Install,
        who: FrameReader,
        since: Annotated[
            datetime | None,
            Query(description="frames captured at or after (UTC if no zone); default: newest"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FRAMES)] = 100,
    ) -> dict[str, Any]:
        """Frames sent to and received from the meter, oldest first: the first `limit`
        from `since`, or the newest `limit` without it."""
        frames = await asyncio.to_thread(_frames_of, install, serial, aware(since), limit)
        return {
            "meter": serial,
            "retention_days": retention_days(),
            "count": len(frames),
            "frames": [frame_view(frame) for frame in frames],
        }

    return router


def _frames_of(install: Any, serial: str, since: datetime | None, limit: int) -> list[StoredFrame]:
    if not install.registry.exists("meter", serial):
        raise UnknownAggregate("meter", serial)
    return frame_store(install).of_meter(serial, since=since, limit=limit)


def frame_store(install: Any) -> RawFrameStore:
    writer = getattr(install, "frame_recorder", None)
    if writer is not None:
        store: RawFrameStore = writer.store
        return store
    return RawFrameStore(shared_datastore(install.store.url).engine)  # type: ignore[arg-type]
