"""Group commit: the requests of many worker threads, handled together in one go.

Every save on PostgreSQL takes an exclusive lock on the events table and waits for its
commit to reach the disk, and every load is a round trip, so one load and two saves per
task would cap a whole cluster at a few hundred tasks a second whatever the number of
workers. Threads hand their requests to one thread instead, which takes whatever has
gathered meanwhile (the batch grows with the load), handles it with one query and one
transaction, and gives each thread its own answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - the item, as in the library's own generics
R = TypeVar("R")
_STOP = object()


class Batcher(Generic[I, R]):
    """``handle(items)`` answers every item of a batch, in order."""

    def __init__(
        self,
        handle: Callable[[list[I]], Sequence[R]],
        *,
        max_batch: int = 500,
        name: str = "group-commit",
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._waiting: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: I) -> R:
        """Blocks until the batch holding ``item`` is handled; returns its answer."""
        future: Future[R] = Future()
        self._waiting.put((item, future))
        return future.result()

    def close(self, timeout: float = 10.0) -> None:
        self._waiting.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._waiting.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    found = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if found is _STOP:
                    stopping = True
                    break
                batch.append(found)
            self._answer(batch)  # type: ignore[arg-type]

    def _answer(self, batch: list[tuple[I, Future[R]]]) -> None:
        try:
            answers = self._handle([item for item, _ in batch])
        except Exception as error:  # the database is down: every waiting thread hears it
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)
