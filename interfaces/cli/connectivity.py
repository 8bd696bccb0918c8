"""``hes connectivity``: the connectivity report by meter type, or one meter's
communication status and latest sessions (``--meter SERIAL``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from interfaces.cli.options import DatabaseUrl, DataDir


def connectivity(
    meter: Annotated[
        str | None, typer.Option(help="One meter: its status and latest sessions.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Start of the report's period (ISO, UTC if no zone; default 24 h ago)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Sessions shown with --meter.")] = 20,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Communication of the meters: by meter type, or one meter's history."""
    from interfaces.api.communication_routes import communication_log
    from interfaces.installation import Installation
    from projections.connectivity import ConnectivityReport

    installation = Installation.open(data_dir, database_url)
    try:
        log = communication_log(installation)
        if meter is not None:
            if not installation.registry.exists("meter", meter):
                typer.echo(f"no meter {meter!r}", err=True)
                raise typer.Exit(1)
            _show_meter(log.status(meter), log.history(meter, limit))
            return
        now = datetime.now(UTC)
        start = since if since is None or since.tzinfo else since.replace(tzinfo=UTC)
        start = start or now - timedelta(hours=24)
        installation.read_models.catch_up()
        rows = ConnectivityReport(log.engine).by_meter_type(start, now.date())
    finally:
        installation.close()
    typer.echo(f"since {start.isoformat(timespec='seconds')}")
    typer.echo(
        f"{'meter type':<20} {'meters':>7} {'communicating':>13} {'failing':>7} "
        f"{'never':>6} {'sessions':>8} {'success':>8}"
    )
    for row in rows:
        rate = "-" if row["success_rate"] is None else f"{row['success_rate']:.1%}"
        name = "all types" if row["meter_type"] == "*" else row["meter_type"]
        typer.echo(
            f"{name:<20} {row['meters']:>7} {row['communicating']:>13} {row['failing']:>7} "
            f"{row['never_communicated']:>6} {row['sessions']:>8} {rate:>8}"
        )


def _show_meter(status: dict[str, Any], sessions: list[dict[str, Any]]) -> None:
    def when(moment: datetime | None) -> str:
        return moment.isoformat(timespec="seconds") if moment else "-"

    typer.echo(
        f"{status['serial']}: {status['status']}, last attempt {when(status['last_attempt_at'])}"
        f" ({status['last_outcome'] or '-'}), last success {when(status['last_success_at'])}, "
        f"{status['consecutive_failures']} consecutive failures"
    )
    for row in sessions:
        octets = (
            f"{row['octets_sent']}/{row['octets_received']} octets"
            if row["octets_sent"] is not None
            else "no frames"
        )
        typer.echo(
            f"{when(row['started_at'])}  {row['purpose']:<20} {row['outcome']:<18} "
            f"{row['duration_ms']:>7} ms  {octets}  {row['error']}"
        )
