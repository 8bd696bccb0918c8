"""Register reads of a channel: as known now or at any past time, and reads a person or
a billing system brings (a field visit's reading, a billing read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query

from application.register_reads import record_brought_reads
from domain.vee.series import RegisterRead
from interfaces.api.models import RegisterReadsIn
from interfaces.api.reading_routes import aware_required, channel_id_of, checked_span
from interfaces.api.registry_routes import AsOf, Install, Reader, Writer, api_provenance


def register_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["readings"])

    @router.get("/channels/{channel}/registers")
    def register_reads(
        channel: str,
        install: Install,
        who: Reader,
        start: datetime,
        end: datetime,
        as_of: AsOf = None,
        register: list[str] = Query(["total"]),
    ) -> dict[str, Any]:
        """Reads in [start, end) of the named registers, as known at as_of, each with
        its value as exact decimal text and who recorded it, when and why."""
        begin, finish, moment = checked_span(start, end, as_of, "register reads")
        channel_id = channel_id_of(channel)
        rows = install.readings.register_reads(
            channel_id, begin, finish, registers=register, as_of=moment
        )
        return {
            "channel_id": str(channel_id),
            "start": begin.isoformat(),
            "end": finish.isoformat(),
            "as_of": (moment or datetime.now(UTC)).isoformat(),
            "reads": [
                {**row, "read_at": row["read_at"].isoformat(), "value": str(row["value"])}
                for row in rows
            ],
        }

    @router.post("/channels/{channel}/registers")
    def record_register_reads(
        channel: str, body: RegisterReadsIn, install: Install, who: Writer
    ) -> dict[str, Any]:
        """Records reads; a read equal to one known is not recorded again, a different
        value for a known time is a correction (the earlier one stays as of its time)."""
        channel_id = channel_id_of(channel)
        reads = [
            RegisterRead(aware_required(item.read_at), item.value, item.register_name)
            for item in body.reads
        ]
        provenance = api_provenance(who, body.reason, body.reason_code)
        recorded = record_brought_reads(
            install.registry, install.readings, channel_id, channel, reads, provenance
        )
        return {"channel_id": str(channel_id), "recorded": recorded, "received": len(reads)}

    return router
