"""``hes scheduler`` and ``hes cycles``: fire cycles, and define and inspect them.

Run on its own for tests and single-purpose hosts:
``python -m interfaces.cli.scheduling scheduler --database-url postgresql://...``.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer

from interfaces.cli.options import DatabaseUrl, DataDir

scheduling_app = typer.Typer(help="Cycles and the scheduler that fires them.", no_args_is_help=True)
cycles_app = typer.Typer(
    help="Cycles: schedules to which meters and tasks are assigned.", no_args_is_help=True
)
scheduling_app.add_typer(cycles_app, name="cycles")

SHORTHAND = "weekly:DAYS@HH:MM | monthly:N|last@HH:MM | every:MINUTES, or a JSON object"


@scheduling_app.command("scheduler")
def scheduler(
    tick: Annotated[float, typer.Option(min=0.05, help="Seconds between rounds.")] = 5.0,
    standby_poll: Annotated[
        float, typer.Option(min=0.05, help="Seconds between a standby's tries for the lock.")
    ] = 5.0,
    catch_up_minutes: Annotated[
        int, typer.Option(min=1, help="How far back missed due times are still fired.")
    ] = 360,
    record_only: Annotated[
        bool, typer.Option(help="Record firings without creating tasks (dry runs, tests).")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fire due cycles; exactly one scheduler is active, others wait as standbys."""
    from adapters.scheduler import (
        CLOCK_VARIABLE,
        RecordOnlySink,
        Scheduler,
        clock_from_env,
        stop_on_signals,
    )
    from adapters.scheduler_lock import identity, scheduler_lock
    from adapters.scheduling_sources import meter_directory_runner, open_scheduling
    from interfaces.installation import Installation

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if os.environ.get(CLOCK_VARIABLE):
        logging.getLogger("hes.scheduler").warning(
            "%s is set: a fake clock (tests only)", CLOCK_VARIABLE
        )
    installation = Installation.open(data_dir, database_url)
    sink, close_sink = (RecordOnlySink(), _nothing) if record_only else _task_sink(installation)
    scheduling, _ = open_scheduling(
        installation.store,
        installation.registry,
        catch_up=timedelta(minutes=catch_up_minutes),
        fired_by=identity(),
        meter_runner=meter_directory_runner(installation.read_models),
    )
    stop = threading.Event()
    stop_on_signals(stop)
    runner = Scheduler(
        scheduling,
        sink,
        scheduler_lock(installation.store),
        tick=tick,
        standby_poll=standby_poll,
        clock=clock_from_env(os.environ),
    )
    try:
        runner.run(stop)
    finally:
        scheduling.close()
        close_sink()
        installation.close()


def _task_sink(installation: Any) -> tuple[Any, Callable[[], None]]:
    """The installation's Operations application (tasks go to the queues of HES_REDIS_URL;
    without it they wait, queued, in the store until a worker's reconciler sends them)."""
    found = getattr(installation, "operations", None)
    if found is not None:
        return found, _nothing
    from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
    from application.operations import Operations

    settings = QueueSettings.from_env()
    queue = DramatiqTaskQueue(settings) if settings and not settings.is_stub else None
    operations = Operations(env=installation.store.application_env(), task_queue=queue)

    def close() -> None:
        operations.close()
        if queue is not None:
            queue.close()

    return operations, close


def _nothing() -> None:
    """Nothing to close."""


@cycles_app.command("list")
def cycles_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Every cycle with its next due time."""
    with _scheduling(data_dir, database_url) as (scheduling, catalogue):
        now = datetime.now(UTC)
        for row in catalogue.cycles():
            upcoming = [] if row["retired_from"] else scheduling.next_due(row["cycle_key"], now, 1)
            when = upcoming[0].isoformat() if upcoming else "-"
            typer.echo(f"{row['cycle_key']:<24} {when:<27} {row['name']}")


@cycles_app.command("show")
def cycles_show(key: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """A cycle's attributes as in force today, as JSON."""
    with _scheduling(data_dir, database_url) as (scheduling, _):
        cycle = scheduling.times.cycle(key)
        # Before its registration date a cycle is shown as it will be registered.
        today = max(cycle.local_day(datetime.now(UTC)), date.fromisoformat(cycle.registered_from))
        shown = {**cycle.attributes_on(today), "version": cycle.version}
        typer.echo(json.dumps(shown, indent=2, default=str))


@cycles_app.command("next")
def cycles_next(
    key: str,
    count: Annotated[int, typer.Option(min=1, max=1000)] = 5,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The next due times of a cycle, in its local time."""
    with _scheduling(data_dir, database_url) as (scheduling, _):
        cycle = scheduling.times.cycle(key)
        for instant in scheduling.next_due(key, datetime.now(UTC), count):
            typer.echo(instant.astimezone(cycle.zone_on(cycle.local_day(instant))).isoformat())


@cycles_app.command("create")
def cycles_create(
    key: Annotated[str, typer.Argument(help="The cycle's key (never changes).")],
    name: Annotated[str, typer.Option(help="What operators call it.")],
    schedule: Annotated[str, typer.Option(help=SHORTHAND)],
    timezone: Annotated[str, typer.Option(help="IANA zone, e.g. Europe/Berlin.")],
    chain: Annotated[str, typer.Option(help="Task types in order.")] = "read_meter",
    meters: Annotated[str, typer.Option(help="Comma-separated serials.")] = "",
    selector: Annotated[str, typer.Option(help='JSON, e.g. {"meter_type": "E350"}.')] = "",
    window: Annotated[str, typer.Option(help='JSON, e.g. {"start": "04:00", ...}.')] = "",
    holidays: Annotated[str, typer.Option(help="Holiday calendar key (skipped).")] = "",
    reason: Annotated[str, typer.Option(help="Why (recorded).")] = "cycle created",
    effective_from: Annotated[str, typer.Option(help="YYYY-MM-DD (default today).")] = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a cycle (repeating the same creation records nothing)."""
    from domain.provenance import Provenance
    from interfaces.installation import Installation

    spec = parse_schedule(schedule)
    if holidays:
        spec["holidays"] = {"calendar": holidays, "rule": "skip"}
    attributes: dict[str, Any] = {
        "cycle_key": key,
        "name": name,
        "timezone": timezone,
        "schedule": spec,
        "task_chain": chain,
        "meters": meters or None,
        "selector": json.loads(selector) if selector else None,
        "collection_window": json.loads(window) if window else None,
    }
    who = Provenance(actor=f"cli:{getpass.getuser()}", reason=reason, source="cli")
    day = date.fromisoformat(effective_from) if effective_from else _today_in(timezone)
    installation = Installation.open(data_dir, database_url)
    try:
        result = installation.registry.register("cycle", attributes, day, who)
    except (LookupError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()
    typer.echo(f"cycle {result.key} {'created' if result.created else 'already registered'}")


def parse_schedule(text: str) -> dict[str, Any]:
    """A JSON spec, or the shorthand ``weekly:mon,fri@04:00``, ``monthly:last@04:00``,
    ``every:15``."""
    text = text.strip()
    if text.startswith("{"):
        parsed: dict[str, Any] = json.loads(text)
        return parsed
    kind, _, rest = text.partition(":")
    what, _, at = rest.partition("@")
    if kind == "weekly":
        days: Any = what if what in ("daily", "weekdays", "weekends") else what.split(",")
        return {"kind": "weekly", "days": days, "at": at}
    if kind == "monthly":
        return {"kind": "monthly", "day": what if what == "last" else int(what), "at": at}
    if kind == "every":
        return {"kind": "every", "minutes": int(what)}
    raise typer.BadParameter(f"expected {SHORTHAND}")


def _today_in(timezone: str) -> date:
    from domain.local_time import today_in

    try:
        return today_in(timezone)
    except ValueError:
        return datetime.now(UTC).date()  # the registration then names the bad zone


@contextmanager
def _scheduling(data_dir: Any, database_url: str | None) -> Iterator[tuple[Any, Any]]:
    """An installation's Scheduling and cycle catalogue for one command."""
    from adapters.scheduling_sources import scheduling_of
    from interfaces.installation import Installation

    installation = Installation.open(data_dir, database_url)
    try:
        yield scheduling_of(installation)
    except (LookupError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        installation.close()


if __name__ == "__main__":
    scheduling_app()
