"""Raw frames of every DLMS session and push, kept for a number of days and then purged.

What lives here: `table` (the plain SQL table `dlms_raw_frames` and its queries),
`writer` (the `FrameRecorder` the channels and the push listener are given: it queues
frames and writes them in batches on its own thread), `retention` (how many days frames
are kept, and the purge). Not event-sourced: frames are diagnostics with a retention
limit, and a purge must really delete them.

What may be touched from outside: the names exported below.
"""

from __future__ import annotations

from adapters.raw_frames.retention import purge_expired_frames, retention_days
from adapters.raw_frames.table import RawFrameStore, StoredFrame
from adapters.raw_frames.writer import BatchingFrameWriter

__all__ = [
    "BatchingFrameWriter",
    "RawFrameStore",
    "StoredFrame",
    "purge_expired_frames",
    "retention_days",
]
