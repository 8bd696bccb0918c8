"""The archive: daily files of what retention purges from the plain tables (raw frames,
the communication log, the task log), written by the ``archive`` task and ``hes archive``.

What lives here: `sources` (which tables, their time column and retention), `daily`
(writing, listing and verifying a day's file). What may be touched from outside: the
names exported below.
"""

from __future__ import annotations

from adapters.archive.daily import (
    ArchivedDay,
    ArchiveRefused,
    DailyArchive,
    archive_directory,
    kinds_of,
)
from adapters.archive.sources import KINDS

__all__ = [
    "KINDS",
    "ArchiveRefused",
    "ArchivedDay",
    "DailyArchive",
    "archive_directory",
    "kinds_of",
]
