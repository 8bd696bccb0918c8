"""Where Scheduling learns which cycles exist and which meters a selector takes.

Both come from read models on the installation's datastore. Each lookup first catches
its projection up (cheap when nothing is new; safe beside ``hes projections``, since
runners advance their positions by compare-and-set), so a cycle or meter registered a
moment ago is seen by the next tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from application.cycles import DEFAULT_CATCH_UP, Scheduling
from projections.cycle_directory import CycleDirectoryProjection, CycleDirectoryView
from projections.meter_directory import (
    DIRECTORY_METERS,
    MeterDirectoryProjection,
    MeterDirectoryView,
)
from projections.runner import PollingProjectionRunner


class DirectoryCycleCatalogue:
    def __init__(self, runner: PollingProjectionRunner[CycleDirectoryView]) -> None:
        self.runner = runner

    def cycle_versions(self) -> dict[str, int]:
        self.runner.catch_up()
        return self.runner.view.cycle_versions()

    def cycles(self) -> list[dict[str, Any]]:
        self.runner.catch_up()
        return self.runner.view.cycles()


class DirectoryMeterSelection:
    """Meters by the directory's columns as in force today, in service on the day asked."""

    def __init__(self, runner: PollingProjectionRunner[MeterDirectoryView]) -> None:
        self.runner = runner

    def serials(self, selector: Mapping[str, str], on: date) -> list[str]:
        self.runner.catch_up()
        meters = DIRECTORY_METERS.c
        query = (
            select(meters.serial)
            .where(*(meters[name] == value for name, value in selector.items()))
            .where(meters.registered_from <= on.isoformat())
            .where(or_(meters.retired_from.is_(None), meters.retired_from > on.isoformat()))
            .order_by(meters.serial)
        )
        with self.runner.view.transaction(commit=False) as session:
            return [str(serial) for serial in session.execute(query).scalars().all()]


def open_scheduling(
    store: StoreLocation,
    registry: Any,
    *,
    catch_up: timedelta = DEFAULT_CATCH_UP,
    fired_by: str = "scheduler",
    meter_runner: PollingProjectionRunner[MeterDirectoryView] | None = None,
) -> tuple[Scheduling, DirectoryCycleCatalogue]:
    """The Scheduling application of an installation, with its catalogue of cycles.

    ``meter_runner``: the installation's own meter-directory runner, when it has one.
    """
    datastore = shared_datastore(store.url)
    catalogue = DirectoryCycleCatalogue(
        PollingProjectionRunner(registry, CycleDirectoryProjection(CycleDirectoryView(datastore)))
    )
    meters = DirectoryMeterSelection(
        meter_runner
        or PollingProjectionRunner(
            registry, MeterDirectoryProjection(MeterDirectoryView(datastore))
        )
    )
    scheduling = Scheduling(
        store.application_env(),
        registry=registry,
        catalogue=catalogue,
        meters=meters,
        catch_up=catch_up,
        fired_by=fired_by,
    )
    return scheduling, catalogue


def scheduling_of(installation: Any) -> tuple[Scheduling, DirectoryCycleCatalogue]:
    """An installation's Scheduling, opened once and kept on it.

    Until ``Installation`` opens Scheduling itself, entry points (CLI, API) share one
    per installation this way; it follows the installation's meter-directory runner.
    """
    found = getattr(installation, "scheduling", None)
    catalogue = getattr(installation, "cycle_catalogue", None)
    if found is not None and catalogue is not None:
        return found, catalogue
    found, catalogue = open_scheduling(
        installation.store,
        installation.registry,
        meter_runner=meter_directory_runner(installation.read_models),
    )
    installation.scheduling, installation.cycle_catalogue = found, catalogue
    return found, catalogue


def meter_directory_runner(read_models: Any) -> PollingProjectionRunner[MeterDirectoryView] | None:
    """The runner that keeps ``read_models.directory`` (the meter directory), if any."""
    for runner in read_models.runners:
        if runner.view is read_models.directory:
            found: PollingProjectionRunner[MeterDirectoryView] = runner
            return found
    return None
