"""``hes push-listener``: receive meter pushes (WRAPPER over UDP and TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from interfaces.cli.options import DatabaseUrl, DataDir


def push_listener(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    udp_port: Annotated[int, typer.Option(help="UDP port (DLMS: 4059).")] = 4059,
    tcp_port: Annotated[int, typer.Option(help="TCP port (DLMS: 4059).")] = 4059,
    refresh_seconds: Annotated[
        float, typer.Option(help="How often meters and keys are re-read from the registry.")
    ] = 60.0,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Verify, decode and record meter pushes (pushed load profiles as interval data);
    refusals are recorded as security events, every frame as a raw frame."""
    from adapters.push_service import PushService
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)

    async def serve() -> None:
        service = PushService(installation, host=host, udp_port=udp_port, tcp_port=tcp_port)
        known = await service.start()
        listener = service.listener
        typer.echo(
            f"push listener: UDP {host}:{listener.udp_port}, TCP {host}:{listener.tcp_port}, "
            f"{known} meters known"
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sign in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sign, stopping.set)
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), refresh_seconds)
            if not stopping.is_set():
                await service.refresh()
        await service.stop()

    try:
        asyncio.run(serve())
    finally:
        installation.close()
    typer.echo("push listener stopped")
