"""Daily archive files: one gzip-compressed JSON Lines file per source and UTC day, with
a manifest beside it (rows, first and last time, SHA-256 of the file).

A day is archived once it is over (and an hour more, so that late writes and the task
monitor's projection have settled) and only while retention has not yet touched it: a
day that began before the retention cutoff may be partly purged already, and an archive
of it would be silently short, so it is refused. Files are written under a temporary
name and renamed, the manifest last: a run killed half-way leaves no manifest, and the
next run writes the day again. The same rows give the same bytes (rows in a total order,
gzip without a time stamp), so a day written twice by two workers is one file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from adapters.archive.sources import KINDS, SOURCES, ArchiveSource
from adapters.persistence.recorder import to_microseconds
from projections.runner import from_microseconds

ARCHIVE_DIR_ENV = "HES_ARCHIVE_DIR"
SETTLE = dt.timedelta(hours=1)
FORMAT = (
    "jsonl.gz: one JSON object per row; *_us columns as ISO UTC times without _us; bytes as hex"
)
_STREAM_ROWS = 5_000


class ArchiveRefused(ValueError):
    """The day cannot be archived (not over yet, or partly purged already)."""


@dataclass(frozen=True)
class ArchivedDay:
    kind: str
    day: dt.date
    rows: int
    file: Path
    sha256: str
    written: bool  # False: the day was archived before, nothing was written now

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "day": self.day.isoformat(),
            "rows": self.rows,
            "file": str(self.file),
            "sha256": self.sha256,
            "written": self.written,
        }


def archive_directory(data_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """HES_ARCHIVE_DIR, else ``archive`` in the data directory."""
    configured = (os.environ if environ is None else environ).get(ARCHIVE_DIR_ENV, "").strip()
    return Path(configured) if configured else Path(data_dir) / "archive"


class DailyArchive:
    def __init__(self, engine: Engine, directory: Path) -> None:
        self.engine = engine
        self.directory = Path(directory)

    # -- what can be archived ------------------------------------------------------

    def archivable_days(self, kind: str, now: dt.datetime) -> list[dt.date]:
        """Days of ``kind`` with rows (or inside the kept window) that are over and not
        yet touched by retention, oldest first, archived ones included."""
        source = _source(kind)
        first_whole = _first_whole_day(source, now)
        last = _last_finished_day(now)
        oldest = self._oldest_day(source)
        start = first_whole if oldest is None else max(first_whole, oldest)
        return [start + dt.timedelta(days=n) for n in range((last - start).days + 1)]

    def archive(
        self, what: str = "all", day: dt.date | None = None, now: dt.datetime | None = None
    ) -> list[ArchivedDay]:
        """``what`` (a kind, or all) for ``day``, or without it every day due: what the
        ``archive`` task and ``hes archive run`` do."""
        kinds = kinds_of(what)
        if day is None:
            return self.run(kinds, now)
        return [self.archive_day(kind, day, now) for kind in kinds]

    def run(
        self, kinds: tuple[str, ...] = KINDS, now: dt.datetime | None = None
    ) -> list[ArchivedDay]:
        """Archives every archivable day of ``kinds`` not archived yet (catching up on
        days a missed run left); days archived before are reported, not rewritten."""
        moment = now or dt.datetime.now(dt.UTC)
        return [
            self.archive_day(kind, day, moment)
            for kind in kinds
            for day in self.archivable_days(kind, moment)
        ]

    # -- one day -------------------------------------------------------------------

    def archive_day(self, kind: str, day: dt.date, now: dt.datetime | None = None) -> ArchivedDay:
        source = _source(kind)
        moment = now or dt.datetime.now(dt.UTC)
        if day > _last_finished_day(moment):
            raise ArchiveRefused(
                f"{kind} of {day}: the day is not over (archived from {SETTLE} after its end)"
            )
        if day < _first_whole_day(source, moment):
            raise ArchiveRefused(
                f"{kind} of {day}: past the retention of {source.retention().days} days, its"
                " rows may be purged already"
            )
        data, manifest = self.paths(kind, day)
        if manifest.exists():
            recorded = json.loads(manifest.read_text())
            return ArchivedDay(kind, day, recorded["rows"], data, recorded["sha256"], False)
        data.parent.mkdir(parents=True, exist_ok=True)
        time_key = source.time_column.removesuffix("_us")
        rows, first, last = _write_atomically(data, self._rows(source, day), time_key)
        sha256 = _sha256(data)
        record = {
            "kind": kind,
            "day": day.isoformat(),
            "rows": rows,
            "first": first,
            "last": last,
            "file": data.name,
            "sha256": sha256,
            "format": FORMAT,
            "archived_at": moment.isoformat(),
        }
        _replace_with(manifest, (json.dumps(record, indent=2) + "\n").encode())
        return ArchivedDay(kind, day, rows, data, sha256, True)

    def paths(self, kind: str, day: dt.date) -> tuple[Path, Path]:
        folder = self.directory / kind / f"{day.year:04d}"
        return folder / f"{day.isoformat()}.jsonl.gz", folder / f"{day.isoformat()}.manifest.json"

    def manifests(self, kind: str) -> list[dict[str, Any]]:
        """The manifests of ``kind``, oldest day first."""
        folder = self.directory / _source(kind).kind
        found = sorted(folder.glob("*/*.manifest.json")) if folder.exists() else []
        return [json.loads(path.read_text()) for path in found]

    def verify(self, kind: str, day: dt.date) -> bool:
        """Whether the day's file still has the SHA-256 its manifest recorded."""
        data, manifest = self.paths(kind, day)
        if not (data.exists() and manifest.exists()):
            return False
        return bool(_sha256(data) == json.loads(manifest.read_text())["sha256"])

    # -- reading the tables --------------------------------------------------------

    def _oldest_day(self, source: ArchiveSource) -> dt.date | None:
        if not inspect(self.engine).has_table(source.table.name):
            return None
        column = source.table.c[source.time_column]
        query = select(func.min(column)).where(*source.rows_condition())
        with self.engine.connect() as connection:
            oldest = connection.execute(query).scalar()
        return None if oldest is None else from_microseconds(int(oldest)).date()

    def _rows(self, source: ArchiveSource, day: dt.date) -> Iterator[dict[str, Any]]:
        if not inspect(self.engine).has_table(source.table.name):
            return
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        column = source.table.c[source.time_column]
        query = (
            select(source.table)
            .where(
                column >= to_microseconds(start),
                column < to_microseconds(start + dt.timedelta(days=1)),
                *source.rows_condition(),
            )
            .order_by(*(source.table.c[name] for name in source.order))
        )
        with self.engine.connect() as connection:
            streamed = connection.execution_options(stream_results=True, yield_per=_STREAM_ROWS)
            for row in streamed.execute(query).mappings():
                yield _archived_row(row)


def kinds_of(what: str) -> tuple[str, ...]:
    """The kinds ``what`` names: all of them, or the one (refused when unknown)."""
    return KINDS if what == "all" else (_source(what).kind,)


def _source(kind: str) -> ArchiveSource:
    try:
        return SOURCES[kind]
    except KeyError:
        known = ", ".join(KINDS)
        raise ArchiveRefused(
            f"nothing called {kind!r} is archived; known: {known} (what must be all or one of them)"
        ) from None


def _last_finished_day(now: dt.datetime) -> dt.date:
    return (now - SETTLE).date() - dt.timedelta(days=1)


def _first_whole_day(source: ArchiveSource, now: dt.datetime) -> dt.date:
    """The first day that began at or after the retention cutoff."""
    cutoff = now.astimezone(dt.UTC) - source.retention()
    midnight = dt.datetime.combine(cutoff.date(), dt.time(), dt.UTC)
    return cutoff.date() if cutoff == midnight else cutoff.date() + dt.timedelta(days=1)


def _archived_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    archived: dict[str, Any] = {}
    for name, value in row.items():
        if name.endswith("_us") and isinstance(value, int):
            archived[name.removesuffix("_us")] = from_microseconds(value).isoformat()
        elif isinstance(value, bytes | memoryview):
            archived[name] = bytes(value).hex()
        elif isinstance(value, uuid.UUID):
            archived[name] = str(value)
        else:
            archived[name] = value
    return archived


def _write_atomically(
    path: Path, rows: Iterator[dict[str, Any]], time_key: str
) -> tuple[int, str | None, str | None]:
    """Writes the rows to ``path`` under a temporary name first; returns how many rows,
    and the first and last row's ``time_key``."""
    temporary = _beside(path)
    count, first, last = 0, None, None
    try:
        with (
            open(temporary, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        ):
            for row in rows:
                compressed.write(json.dumps(row, sort_keys=True, default=str).encode() + b"\n")
                count += 1
                first = first or row[time_key]
                last = row[time_key]
            compressed.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return count, first, last


def _beside(path: Path) -> Path:
    """A temporary name next to ``path``, this process's and this call's own, so that two
    workers writing the same day never share one."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def _replace_with(path: Path, content: bytes) -> None:
    temporary = _beside(path)
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
