"""How long raw frames are kept: HES_RAW_FRAME_RETENTION_DAYS (default 3), and the purge
that the `purge_raw_frames` task (or `hes frames purge`) runs."""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy.engine import Engine

from adapters.raw_frames.table import RawFrameStore

RETENTION_ENV = "HES_RAW_FRAME_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 3


def retention_days(environ: dict[str, str] | None = None) -> int:
    """The configured retention in whole days (at least 1)."""
    configured = (os.environ if environ is None else environ).get(RETENTION_ENV, "").strip()
    if not configured:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(configured)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of days") from None
    if days < 1:
        raise ValueError(f"{RETENTION_ENV} must be at least 1 day")
    return days


def purge_expired_frames(
    engine: Engine, *, days: int | None = None, now: dt.datetime | None = None
) -> int:
    """Deletes frames older than the retention; returns how many were deleted."""
    keep = retention_days() if days is None else days
    if keep < 1:
        raise ValueError("raw frames are kept at least 1 day")
    moment = now or dt.datetime.now(dt.UTC)
    return RawFrameStore(engine).purge(moment - dt.timedelta(days=keep))
