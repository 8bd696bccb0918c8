"""``hes command``: send a command to a meter and print its outcome."""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import Annotated, Any

import typer

from interfaces.cli.options import DatabaseUrl, DataDir


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are read as JSON when they parse (numbers, lists)."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        if not separator or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, not {pair!r}")
        try:
            parameters[name] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[name] = raw
    return parameters


def command(
    serial: Annotated[str, typer.Argument(help="Meter serial number.")],
    command_type: Annotated[str, typer.Argument(help="e.g. read_now, disconnect, sync_clock.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with the command).")],
    param: Annotated[list[str], typer.Option(help="NAME=VALUE, repeatable.")] = [],  # noqa: B006
    wait: Annotated[bool, typer.Option(help="Send now and wait for the answer.")] = True,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Request a command for a meter; with --wait (default) send it and show the outcome."""
    from domain.provenance import Provenance
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    who = Provenance(actor=f"cli:{getpass.getuser()}", reason=reason, source="cli")
    try:
        command_id = installation.head_end.request_command(
            serial, command_type, parse_parameters(param), who
        )
        if wait:
            asyncio.run(installation.head_end.execute(command_id, installation.command_port))
        else:
            installation.head_end.queue(command_id)
        found = installation.head_end.command(command_id)
    except (LookupError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()
    typer.echo(f"command {found.id}: {found.command_type} on {found.meter_serial} is {found.state}")
    if found.result:
        typer.echo(json.dumps(found.result, indent=2))
    if found.error:
        typer.echo(f"error: {found.error}", err=True)
    raise typer.Exit(0 if found.state in ("confirmed", "queued") else 1)
