"""Deliveries of many threads at once through the bulk VEE path.

A worker reads many meters at a time and pushed profiles arrive in bursts; one by one,
each delivery costs its own history read, rule-set lookup and save (``VeeWorkflow``).
``DeliveryBatches.process`` answers what ``VeeWorkflow.process`` answers, but the
deliveries handed in while the previous batch was being stored go through
``BulkIngest`` together (the same stored result: tests/integration/test_bulk_ingest.py).

A delivery that ``BulkIngest`` refuses (an unknown channel, intervals off the channel's
boundaries) would refuse its whole batch: the batch is then taken delivery by delivery,
so only the bad one fails, with its own error.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from application.bulk_ingest import BulkIngest
from application.group_commit import Batcher
from application.vee_workflow import Delivery, DeliveryOutcome
from domain.provenance import Provenance

_Item = tuple[Delivery, Provenance]
_Answer = DeliveryOutcome | Exception


class DeliveryBatches:
    def __init__(self, bulk: BulkIngest, *, max_batch: int = 500) -> None:
        self.bulk = bulk
        self.max_batch = max_batch
        self._batcher: Batcher[_Item, _Answer] | None = None
        self._lock = threading.Lock()

    def process(self, delivery: Delivery, provenance: Provenance) -> DeliveryOutcome:
        answer = self._started().submit((delivery, provenance))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        with self._lock:
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()

    def _started(self) -> Batcher[_Item, _Answer]:
        # Started on first use: most processes that open an installation never collect.
        with self._lock:
            if self._batcher is None:
                self._batcher = Batcher(
                    self._ingest, max_batch=self.max_batch, name="vee-deliveries"
                )
            return self._batcher

    def _ingest(self, items: Sequence[_Item]) -> list[_Answer]:
        answers: list[_Answer] = []
        for provenance, run in _runs_by_provenance(items):
            try:
                answers.extend(self.bulk.ingest(run, provenance))
            except (LookupError, ValueError):
                answers.extend(self._one_at_a_time(run, provenance))
        return answers

    def _one_at_a_time(self, run: Sequence[Delivery], provenance: Provenance) -> list[_Answer]:
        answers: list[_Answer] = []
        for delivery in run:
            try:
                answers.extend(self.bulk.ingest([delivery], provenance))
            except (LookupError, ValueError) as refused:
                answers.append(refused)
        return answers


def _runs_by_provenance(items: Sequence[_Item]) -> list[tuple[Provenance, list[Delivery]]]:
    """Consecutive deliveries of one provenance together, in the order they came (a
    channel's later delivery must see its earlier one)."""
    runs: list[tuple[Provenance, list[Delivery]]] = []
    for delivery, provenance in items:
        if runs and runs[-1][0] == provenance:
            runs[-1][1].append(delivery)
        else:
            runs.append((provenance, [delivery]))
    return runs
