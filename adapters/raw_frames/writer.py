"""`BatchingFrameWriter`: the `FrameRecorder` of an installation.

`record()` only appends to an in-memory queue (no I/O on the caller's thread or event
loop); a daemon thread, started on the first frame, writes what has queued up in one
transaction per batch. A push listener receiving thousands of datagrams a second thus
pays one INSERT per batch, not one per frame.

Raw frames are diagnostics: when the store is down or the queue is full, frames are
dropped and counted (`dropped`), never allowed to slow or fail a session.

With a `retention`, the same thread also purges what has grown older than it, once
every `purge_every`: a process that captures frames keeps its table bounded even where
no `purge_raw_frames` task is scheduled.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque

from adapters.dlms.frame_capture import CapturedFrame
from adapters.raw_frames.table import RawFrameStore

log = logging.getLogger(__name__)


class BatchingFrameWriter:
    def __init__(
        self,
        store: RawFrameStore,
        *,
        batch_size: int = 500,
        linger_seconds: float = 0.2,
        queue_limit: int = 100_000,
        retention: dt.timedelta | None = None,
        purge_every: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        self.store = store
        self.retention = retention
        self.purge_every = purge_every
        self._next_purge = time.monotonic()  # the first frames bring a first purge
        self.batch_size = batch_size
        self.linger_seconds = linger_seconds
        self.queue_limit = queue_limit
        self.dropped = 0  # frames not kept: queue full, store failing, or after close()
        self.written = 0
        self._queue: deque[CapturedFrame] = deque()
        self._condition = threading.Condition()
        self._writing = False
        self._hurry = False  # flush() or close(): write without lingering
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, frame: CapturedFrame) -> None:
        with self._condition:
            if self._closed or len(self._queue) >= self.queue_limit:
                self._drop(1, "the raw-frame queue is full" if not self._closed else "")
                return
            self._queue.append(frame)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="raw-frame-writer", daemon=True
                )
                self._thread.start()
            if len(self._queue) >= self.batch_size:
                self._condition.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until every frame recorded so far is written (or dropped)."""
        with self._condition:
            self._hurry = True
            self._condition.notify_all()
            done = self._condition.wait_for(
                lambda: not self._queue and not self._writing, timeout=timeout
            )
            self._hurry = False
            return done

    def close(self, timeout: float = 30.0) -> None:
        """Writes what is queued, then stops; later frames are dropped."""
        self.flush(timeout)
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._purge_if_due()
            with self._condition:
                self._condition.wait_for(
                    lambda: bool(self._queue) or self._closed, timeout=self._until_purge()
                )
                if not self._queue and self._closed:
                    return  # closed and drained
                if not self._queue:
                    continue  # time to purge
                # Let a batch fill up, unless someone waits for the frames.
                deadline = time.monotonic() + self.linger_seconds
                self._condition.wait_for(
                    lambda: len(self._queue) >= self.batch_size or self._hurry or self._closed,
                    timeout=max(0.0, deadline - time.monotonic()),
                )
                count = min(len(self._queue), self.batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
                self._writing = True
            try:
                self.store.append(batch)
                self.written += len(batch)
            except Exception as error:  # the store is down: frames are lost, sessions go on
                log.warning("raw frames: %d frames not stored (%s)", len(batch), error)
                with self._condition:
                    self._drop(len(batch), "")
            finally:
                with self._condition:
                    self._writing = False
                    self._condition.notify_all()

    def _until_purge(self) -> float | None:
        if self.retention is None:
            return None
        return max(0.0, self._next_purge - time.monotonic())

    def _purge_if_due(self) -> None:
        if self.retention is None or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_every.total_seconds()
        try:
            purged = self.store.purge(dt.datetime.now(dt.UTC) - self.retention)
        except Exception as error:  # tried again at the next turn
            log.warning("raw frames: purge failed (%s)", error)
            return
        if purged:
            log.info("raw frames: %d frames older than %s purged", purged, self.retention)

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        if why and self.dropped % 10_000 == 1:  # once now and then, not per frame
            log.warning("raw frames: %s; %d frames dropped so far", why, self.dropped)
