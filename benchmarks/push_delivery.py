"""What one pushed interval costs the VEE workflow (``VeeWorkflow.process``), and what
reading its context costs: the 28-day history, the values delivered before and the
stored register reads, read together (``Readings.delivery_context``, one query) against
the same three read one after the other (the baseline, measured in the same run on the
same store).

    .venv/bin/python -m benchmarks.push_delivery [--backend sqlite|postgres|both]
                                                 [--pushes 600] [--warm-up 100]

One 15-min channel gets one interval per push, as a meter pushing every quarter hour
delivers them; the first ``--warm-up`` pushes build history and are not timed. A second
channel gets the same pushes through the installation's ``DeliveryBatches`` (what the
collection uses: BulkIngest with the read-model history), one at a time, the read
models caught up every 50 pushes outside the timing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from adapters.security.passwords import Argon2PasswordHasher
from application.vee_workflow import Delivery, VeeWorkflow
from benchmarks.scratch_stores import run_on_backends, scratch_store
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.installation import Installation

SETUP = Provenance("bench", "push benchmark", "system")
DEVICE = Provenance("hes-push-listener", "meter push", "device")
START = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)


@contextmanager
def opened(backend: str, admin_dsn: str) -> Iterator[Installation]:
    with scratch_store(backend, admin_dsn) as store:
        installation = Installation.open(
            store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
        )
        yield installation
        installation.close()


def mean_ms(work: Callable[[int], Any], numbers: range) -> float:
    times = []
    for number in numbers:
        started = time.perf_counter()
        work(number)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.mean(times)


def run(backend: str, args: argparse.Namespace) -> None:
    with opened(backend, args.postgres_dsn) as installation:
        registry, readings = installation.registry, installation.readings
        registry.create_meter(
            {"serial": "M", "meter_type": "single-phase"}, date(2026, 1, 1), SETUP
        )
        for key, obis in (("K", "1.0.1.29.0.255"), ("K2", "1.0.2.29.0.255")):
            attributes = {"channel_key": key, "service_point_id": "SP", "kind": "metered",
                          "unit": "kWh", "interval_minutes": 15, "meter_serial": "M",
                          "meter_channel": obis}  # fmt: skip
            registry.register("channel", attributes, date(2026, 1, 1), SETUP)
        workflow = VeeWorkflow(registry, readings)
        batches = installation.collection.deliveries
        assert batches is not None
        channel_id = Channel.id_for("K")

        def push(number: int) -> None:
            delivery = Delivery("K", START + STEP * number, np.array([0.5]), np.zeros(1))
            workflow.process(delivery, DEVICE)

        def push_batched(number: int) -> None:
            # What the collection does with a pushed profile: DeliveryBatches, a batch of
            # one here (BulkIngest, its history from the interval read model).
            delivery = Delivery("K2", START + STEP * number, np.array([0.5]), np.zeros(1))
            batches.process(delivery, DEVICE)

        def window(number: int) -> tuple[datetime, datetime, datetime]:
            start = START + STEP * number
            return start - timedelta(days=28), start, start + STEP

        def together(number: int) -> None:
            readings.delivery_context(channel_id, 15, *window(number))

        def one_by_one(number: int) -> None:
            history_start, start, end = window(number)
            readings.series(channel_id, 15, history_start, start)
            readings.series(channel_id, 15, start, end, raw=True)
            readings.stored_register_reads([channel_id], start, end)

        for number in range(args.warm_up):
            push(number)
            push_batched(number)
        installation.read_models.catch_up()
        timed = range(args.warm_up, args.warm_up + args.pushes)
        pushed = mean_ms(push, timed)
        # The server's projection runner follows meanwhile: here every 50 pushes, untimed.
        batched_means = []
        for first in range(timed.start, timed.stop, 50):
            batched_means.append(mean_ms(push_batched, range(first, min(first + 50, timed.stop))))
            installation.read_models.catch_up()
        batched = statistics.mean(batched_means)
        # Both reads over the same pushed days, interleaved so that load hits them alike.
        read_together, read_apart = [], []
        for number in timed:
            read_together.append(mean_ms(together, range(number, number + 1)))
            read_apart.append(mean_ms(one_by_one, range(number, number + 1)))
        together_ms, apart_ms = statistics.mean(read_together), statistics.mean(read_apart)
        print(f"{backend:9} one-interval push, whole workflow      {pushed:7.2f} ms")
        print(f"{backend:9} the same through DeliveryBatches       {batched:7.2f} ms")
        print(f"{backend:9} its context read together (1 query)    {together_ms:7.2f} ms")
        print(
            f"{backend:9} the same read apart (3 queries, baseline) {apart_ms:5.2f} ms"
            f"   together / apart {together_ms / apart_ms:4.2f}x"
        )


def main() -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--pushes", type=int, default=600)
        parser.add_argument("--warm-up", type=int, default=100)

    run_on_backends(__doc__.split("\n\n")[0], run, arguments)


if __name__ == "__main__":
    main()
