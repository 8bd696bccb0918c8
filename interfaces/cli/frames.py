"""``hes frames``: the raw frames of a meter's sessions and pushes, and their purge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from interfaces.cli.options import DatabaseUrl, DataDir

frames_app = typer.Typer(help="Raw DLMS frames (kept for a few days).", no_args_is_help=True)


def _store(data_dir: DataDir, database_url: DatabaseUrl):  # type: ignore[no-untyped-def]
    from adapters.persistence.factory import shared_datastore
    from adapters.persistence.store import locate_store
    from adapters.raw_frames import RawFrameStore

    return RawFrameStore(shared_datastore(locate_store(data_dir, database_url).url).engine)


@frames_app.command("show")
def show(
    serial: Annotated[str, typer.Argument(help="Meter serial number.")],
    since: Annotated[
        datetime | None, typer.Option(help="From this time (ISO, UTC); default: the newest.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a meter's frames, oldest first: time, direction, framing, session, hex."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    frames = _store(data_dir, database_url).of_meter(serial, since=since, limit=limit)
    if not frames:
        typer.echo(f"no raw frames of {serial} are kept")
        return
    for frame in frames:
        arrow = ">>" if frame.direction == "sent" else "<<"
        marks = " [redacted]" if frame.redacted else ""
        marks += f" ({frame.note})" if frame.note else ""
        typer.echo(
            f"{frame.at.isoformat(timespec='milliseconds')} {arrow} {frame.kind:7} "
            f"{frame.framing}/{frame.transport} {frame.session_id or '-':32} "
            f"{frame.frame.hex()}{marks}"
        )


@frames_app.command("purge")
def purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Keep this many days (default HES_RAW_FRAME_RETENTION_DAYS, else 3)."
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete the frames older than the retention."""
    from adapters.persistence.factory import shared_datastore
    from adapters.persistence.store import locate_store
    from adapters.raw_frames import purge_expired_frames, retention_days

    try:
        days = older_than_days or retention_days()
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    engine = shared_datastore(locate_store(data_dir, database_url).url).engine
    purged = purge_expired_frames(engine, days=days, now=datetime.now(UTC))  # type: ignore[arg-type]
    typer.echo(f"{purged} raw frames older than {days} days purged")
