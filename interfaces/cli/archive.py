"""``hes archive``: daily archive files of raw frames, the communication log and the task
log, written before retention purges them (the ``archive`` task does the same)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from interfaces.cli.options import DatabaseUrl, DataDir

archive_app = typer.Typer(
    help="Daily archive files of what retention purges.", no_args_is_help=True
)
What = Annotated[
    str, typer.Option(help="raw_frames, comm_log, task_log, or all.", show_default=True)
]


def _archive(data_dir: DataDir, database_url: DatabaseUrl):  # type: ignore[no-untyped-def]
    from adapters.archive import DailyArchive, archive_directory
    from adapters.persistence.factory import shared_datastore
    from adapters.persistence.store import locate_store

    store = locate_store(data_dir, database_url)
    engine = shared_datastore(store.url).engine
    return DailyArchive(engine, archive_directory(store.data_dir))  # type: ignore[arg-type]


def _kinds(what: str) -> tuple[str, ...]:
    from adapters.archive import ArchiveRefused, kinds_of

    try:
        return kinds_of(what)
    except ArchiveRefused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@archive_app.command("run")
def run(
    what: What = "all",
    day: Annotated[
        str | None, typer.Option(help="Only this UTC day (YYYY-MM-DD); default: every day due.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Archive every finished day not archived yet (or one day), a file per kind and day."""
    from adapters.archive import ArchiveRefused

    archive = _archive(data_dir, database_url)
    try:
        days = archive.archive(what, date.fromisoformat(day) if day else None)
    except (ArchiveRefused, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    for archived in days:
        state = "written" if archived.written else "archived before"
        typer.echo(
            f"{archived.kind:10} {archived.day}  {archived.rows:>9,} rows  {state:15} "
            f"{archived.file}"
        )
    if not days:
        typer.echo("no finished day is due (or every kind is empty)")


@archive_app.command("list")
def list_days(
    what: What = "all",
    verify: Annotated[bool, typer.Option(help="Check each file against its SHA-256.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The archived days, oldest first, with their row counts (and checks with --verify)."""
    archive = _archive(data_dir, database_url)
    found = False
    failed = 0
    for kind in _kinds(what):
        for manifest in archive.manifests(kind):
            found = True
            check = ""
            if verify:
                intact = archive.verify(kind, date.fromisoformat(manifest["day"]))
                failed += not intact
                check = "  intact" if intact else "  ALTERED OR MISSING"
            typer.echo(f"{kind:10} {manifest['day']}  {manifest['rows']:>9,} rows{check}")
    if not found:
        typer.echo(f"nothing archived in {archive.directory}")
    if failed:
        raise typer.Exit(1)
