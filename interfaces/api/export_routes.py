"""What billing pulls: channel days made ready by the chain's export step, each version once.

No files: a billing system asks ``GET /api/v1/exports?after=<last sequence it took>``
and fetches each day's values as of the exported version (``intervals_url``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query

from interfaces.api.reading_routes import channel_id_of
from interfaces.api.registry_routes import Install, Reader, aware


def export_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["exports"])

    @router.get("/exports")
    def exports(
        install: Install,
        who: Reader,
        since: Annotated[
            datetime | None, Query(description="exported at or after (ISO-8601, UTC if no zone)")
        ] = None,
        channel: Annotated[str | None, Query(description="a channel's key or id")] = None,
        after: Annotated[
            int | None, Query(ge=0, description="only rows after this sequence (a cursor)")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        """Exported channel days in the order they were exported; a day whose data
        changed after its export comes again as a new version."""
        install.read_models.catch_up()
        rows = install.read_models.billing_exports.exports(
            since=aware(since),
            channel_id=channel_id_of(channel) if channel else None,
            after=after,
            limit=limit,
        )
        return {
            "count": len(rows),
            "next_after": rows[-1]["sequence"] if rows else after,
            "exports": [_shown(row) for row in rows],
        }

    return router


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(row["day"] + "T00:00:00+00:00")
    query = urlencode(
        {
            "start": start.isoformat(),
            "end": (start + timedelta(days=1)).isoformat(),
            "as_of": row["recorded_at"].isoformat(),
        }
    )
    # The day's register reads, both midnights included, as known when it was exported.
    registers = urlencode(
        {
            "start": start.isoformat(),
            "end": (start + timedelta(days=1, seconds=1)).isoformat(),
            "as_of": row["exported_at"].isoformat(),
        }
    )
    channel = quote(row["channel"], safe="")
    return {
        **row,
        "recorded_at": row["recorded_at"].isoformat(),
        "exported_at": row["exported_at"].isoformat(),
        "intervals_url": f"/api/v1/channels/{channel}/intervals?{query}",
        "registers_url": f"/api/v1/channels/{channel}/registers?{registers}",
    }
