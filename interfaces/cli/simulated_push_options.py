"""The push options of ``hes simulate``, read into the simulator's push settings."""

from __future__ import annotations

import datetime as dt

import typer

from adapters.dlms.simulated_pushes import PushDestination, PushSettings


def push_settings(
    push_to: str | None, transport: str, every_minutes: float, entries: int | None
) -> PushSettings | None:
    """None without ``--push-to``: the meters do not push."""
    if push_to is None:
        return None
    host, separator, port = push_to.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise typer.BadParameter("--push-to must be HOST:PORT, e.g. 127.0.0.1:4059")
    if transport not in ("udp", "tcp"):
        raise typer.BadParameter("--push-transport must be udp or tcp")
    try:
        destination = PushDestination(host, int(port), "tcp" if transport == "tcp" else "udp")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return PushSettings(destination, every=dt.timedelta(minutes=every_minutes), entries=entries)
