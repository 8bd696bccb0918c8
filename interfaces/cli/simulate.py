"""``hes simulate``: a fleet of simulated DLMS meters on 127.0.0.1 until Ctrl-C.

Meter N is serial ``{prefix}{N:06d}`` on port ``base_port + N - 1``. The management
password (LLS) comes from an environment variable, never from the command line (it would
show in the process list and the shell history); without it only the public client can
associate and commands other than reads are refused.

``--unreachable``, ``--slow``, ``--dropping`` and ``--garbling`` give that many of the
last meters a scripted link fault (``simulated_link_faults``).

With ``--push-to HOST:PORT`` every meter also pushes its load profile (every
``--push-every-minutes``, and at the times of its push schedule) and its alarms
(scripted faults) to a push listener, over UDP or ``--push-transport tcp``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from typing import Annotated, Literal

import typer

simulate_app = typer.Typer(help="Simulated DLMS meters.", no_args_is_help=False)


@simulate_app.command()
def simulate(
    meters: Annotated[int, typer.Option(min=1, max=5000, help="How many meters.")] = 10,
    base_port: Annotated[int, typer.Option(min=1024, max=65000, help="Port of meter 1.")] = 41000,
    prefix: Annotated[str, typer.Option(help="Serial number prefix.")] = "SIM",
    framing: Annotated[str, typer.Option(help="wrapper or hdlc.")] = "wrapper",
    history_days: Annotated[int, typer.Option(min=0, max=400, help="Days of profile.")] = 7,
    clock_offset_seconds: Annotated[
        int, typer.Option(help="Every meter's clock runs this far ahead (negative: behind).")
    ] = 0,
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the management password.")
    ] = "HES_SIMULATOR_PASSWORD",
    push_to: Annotated[
        str | None, typer.Option(help="HOST:PORT of a push listener: the meters push.")
    ] = None,
    push_transport: Annotated[str, typer.Option(help="udp or tcp.")] = "udp",
    push_every_minutes: Annotated[
        float, typer.Option(min=0.05, help="Load profile pushes this often.")
    ] = 15.0,
    push_entries: Annotated[
        int | None, typer.Option(min=1, help="Profile entries per push (default: a day's).")
    ] = None,
    unreachable: Annotated[int, typer.Option(min=0, help="Meters nobody can reach.")] = 0,
    slow: Annotated[int, typer.Option(min=0, help="Meters that answer late.")] = 0,
    slow_seconds: Annotated[float, typer.Option(min=0, help="How late they answer.")] = 5.0,
    dropping: Annotated[
        int, typer.Option(min=0, help="Meters that hang up after 3 answers a session.")
    ] = 0,
    garbling: Annotated[
        int, typer.Option(min=0, help="Meters whose every 5th answer has a byte flipped.")
    ] = 0,
) -> None:
    """Serve simulated meters (WRAPPER or HDLC over TCP) until interrupted."""
    from adapters.dlms.simulator import LinkFaults, SimulatedFleet, SimulatedMeterConfig
    from interfaces.cli.simulated_push_options import push_settings

    if framing not in ("wrapper", "hdlc"):
        raise typer.BadParameter("framing must be wrapper or hdlc")
    if base_port + meters - 1 > 65535:
        raise typer.BadParameter("base port + meters goes beyond port 65535")
    chosen: Literal["wrapper", "hdlc"] = "hdlc" if framing == "hdlc" else "wrapper"
    password = os.environ.get(password_env) or None
    pushes = push_settings(push_to, push_transport, push_every_minutes, push_entries)
    if unreachable + slow + dropping + garbling > meters:
        raise typer.BadParameter("more faulty meters than meters")
    configs = [
        SimulatedMeterConfig(
            f"{prefix}{number:06d}",
            port=base_port + number - 1,
            password=password,
            framing=chosen,
            history_days=history_days,
            clock_offset=dt.timedelta(seconds=clock_offset_seconds),
        )
        for number in range(1, meters + 1)
    ]

    # Faults go to the last meters of the fleet, so that meter 1 stays a healthy one.
    faulty = iter(reversed([config.serial for config in configs]))
    link_faults = {
        next(faulty): fault
        for count, fault in (
            (unreachable, LinkFaults(unreachable=True)),
            (slow, LinkFaults(answer_delay_seconds=slow_seconds)),
            (dropping, LinkFaults(drop_after_answers=3)),
            (garbling, LinkFaults(corrupt_every=5)),
        )
        for _ in range(count)
    }

    async def serve() -> None:
        fleet = SimulatedFleet(configs, pushes, link_faults)
        ports = await fleet.start()
        first, last = configs[0].serial, configs[-1].serial
        access = "management (LLS) and public" if password else "public client only"
        typer.echo(
            f"{len(ports)} meters {first}..{last} on 127.0.0.1:{base_port}.."
            f"{base_port + meters - 1} ({chosen}, {access}); Ctrl-C stops"
        )
        if link_faults:
            typer.echo(
                f"scripted link faults: {unreachable} unreachable, {slow} slow, "
                f"{dropping} dropping, {garbling} garbling (the last meters)"
            )
        if pushes is not None:
            where = pushes.destination
            typer.echo(
                f"pushing load profiles every {push_every_minutes:g} min, and alarms, to "
                f"{where.host}:{where.port} over {where.transport}"
            )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sign in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sign, stopping.set)
        try:
            await stopping.wait()
        finally:
            await fleet.stop()
        typer.echo("simulated meters stopped")

    asyncio.run(serve())
