"""Deliveries handed in by many threads go through the bulk path together; each thread
gets its own outcome, and a refused delivery fails alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from application.bulk_ingest import BulkIngest
from application.delivery_batches import DeliveryBatches
from domain.channel import Channel
from tests.integration.test_bulk_ingest import (
    DAY,
    DEVICE,
    KEYS,
    Side,
    delivery,
    household,
    start_of,
)


class HeldFirstBatch(BulkIngest):
    """Holds its first batch until every delivery has been handed in: the rest gather."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batch_sizes: list[int] = []

    def ingest(self, deliveries: Any, provenance: Any) -> Any:
        self.batch_sizes.append(len(deliveries))
        self.entered.set()
        self.release.wait(10)
        return super().ingest(deliveries, provenance)


def test_deliveries_of_many_threads_are_stored_together_each_with_its_outcome(
    side: Side,
) -> None:
    bulk = HeldFirstBatch(side.registry, side.readings)
    batches = DeliveryBatches(bulk)
    days = [DAY + timedelta(days=offset) for offset in range(3)]
    work = [delivery(key, start_of(day), household(day)) for day in days for key in KEYS]
    try:
        with ThreadPoolExecutor(len(work)) as pool:
            futures = [pool.submit(batches.process, item, DEVICE) for item in work]
            assert bulk.entered.wait(10)
            waiting = batches._started()._waiting
            while waiting.qsize() < len(work) - bulk.batch_sizes[0]:
                threading.Event().wait(0.01)  # the first batch is held, the others gather
            bulk.release.set()
            outcomes = [future.result(10) for future in futures]
    finally:
        batches.close()

    assert [outcome.stored.intervals for outcome in outcomes] == [96] * len(work)
    assert sum(bulk.batch_sizes) == len(work)
    assert len(bulk.batch_sizes) <= 2  # what came while the first was held went together
    for key in KEYS:
        for day in days:
            stored = side.readings.series(
                Channel.id_for(key), 15, start_of(day), start_of(day + timedelta(1))
            )
            assert stored.values.tolist() == household(day).tolist()


def test_a_refused_delivery_fails_alone(side: Side) -> None:
    bulk = HeldFirstBatch(side.registry, side.readings)
    bulk.release.set()
    batches = DeliveryBatches(bulk)
    good = delivery("SP-1:A+", start_of(DAY), household(DAY))
    unknown = delivery("SP-9:A+", start_of(DAY), household(DAY))
    try:
        answers = batches._ingest([(unknown, DEVICE), (good, DEVICE)])
        with pytest.raises(LookupError, match="SP-9"):
            batches.process(unknown, DEVICE)
    finally:
        batches.close()

    assert isinstance(answers[0], LookupError)
    assert answers[1].stored.intervals == 96  # type: ignore[union-attr]
