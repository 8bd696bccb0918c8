"""ProcessingServer: a named ``hes worker`` and what an administrator allows it to do.

The administrator sets its thread groups (how many task threads, and which task types
they accept) and may stop and restart its task processing; the worker process reports
that it started, that it carried a stop or restart out, that it shut down. Heartbeats
are not events (they would swamp the store): they go to a plain table, and only the
conclusion that a server was lost is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance
from domain.task_types import TASK_TYPES

SERVERS_NAMESPACE = UUID("1b9e4d27-7c3a-5f60-8e15-94a2c6d0b3f8")
ALL_TYPES = "*"
MAX_THREADS = 256


class ServerStateError(ValueError):
    """A step that the processing server's state does not allow, or a bad setting."""


@dataclass(frozen=True)
class ThreadGroup:
    """``threads`` task threads taking the tasks of ``task_types`` (``*``: every type)."""

    threads: int
    task_types: tuple[str, ...]

    @classmethod
    def of(cls, threads: int, task_types: Sequence[str]) -> ThreadGroup:
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise ServerStateError("threads must be a whole number")
        if not 1 <= threads <= MAX_THREADS:
            raise ServerStateError(f"a thread group has 1 to {MAX_THREADS} threads")
        names = tuple(dict.fromkeys(name.strip() for name in task_types))
        if not names:
            raise ServerStateError("a thread group accepts at least one task type (or *)")
        unknown = [name for name in names if name != ALL_TYPES and name not in TASK_TYPES]
        if unknown:
            raise ServerStateError(
                f"unknown task types {', '.join(unknown)}; known: {', '.join(sorted(TASK_TYPES))}"
            )
        return cls(threads, names)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadGroup:
        return cls.of(data.get("threads"), list(data.get("task_types", ())))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return {"threads": self.threads, "task_types": list(self.task_types)}

    @property
    def accepted(self) -> list[str]:
        """The task types by name (``*`` expanded)."""
        if ALL_TYPES in self.task_types:
            return sorted(TASK_TYPES)
        return sorted(self.task_types)


def checked_groups(groups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not groups:
        raise ServerStateError("a processing server needs at least one thread group")
    return [ThreadGroup.from_dict(group).as_dict() for group in groups]


class ProcessingServer(Aggregate):
    TOPIC = "hes.operations.ProcessingServer"

    if TYPE_CHECKING:
        name: str
        thread_groups: list[dict[str, Any]]
        enabled: bool
        status: str
        instance: str
        host: str
        pid: int

    class Event(Aggregate.Event):
        TOPIC = "hes.operations.ProcessingServer.Event"  # abstract
        actor: str
        reason: str
        reason_code: str
        source: str

    class Created(Aggregate.Created):
        TOPIC = "hes.operations.ProcessingServer.Created"  # unused generic creation event

    class Registered(Event, Aggregate.Created):
        """A processing server was known for the first time, with its thread groups."""

        TOPIC = "hes.operations.ProcessingServer.Registered"
        name: str
        thread_groups: list[dict[str, Any]]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.name = self.name
            aggregate.thread_groups = [dict(group) for group in self.thread_groups]
            aggregate.enabled = True
            aggregate.status = "offline"
            aggregate.instance = ""
            aggregate.host = ""
            aggregate.pid = 0

    class Started(Event):
        """A worker process of this server came up (``instance`` names that process)."""

        TOPIC = "hes.operations.ProcessingServer.Started"
        instance: str
        host: str
        pid: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.instance, aggregate.host, aggregate.pid = self.instance, self.host, self.pid
            aggregate.status = "processing" if aggregate.enabled else "paused"

    class Configured(Event):
        """An administrator set the thread groups."""

        TOPIC = "hes.operations.ProcessingServer.Configured"
        thread_groups: list[dict[str, Any]]
        before: list[dict[str, Any]]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.thread_groups = [dict(group) for group in self.thread_groups]

    class StopRequested(Event):
        """An administrator stopped task processing on this server."""

        TOPIC = "hes.operations.ProcessingServer.StopRequested"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.enabled = False

    class ProcessingStopped(Event):
        """The worker took no more tasks, finished those it was running, gave back the rest."""

        TOPIC = "hes.operations.ProcessingServer.ProcessingStopped"
        instance: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.status = "paused"

    class RestartRequested(Event):
        """An administrator restarted task processing on this server."""

        TOPIC = "hes.operations.ProcessingServer.RestartRequested"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.enabled = True

    class ProcessingRestarted(Event):
        TOPIC = "hes.operations.ProcessingServer.ProcessingRestarted"
        instance: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.status = "processing"

    class ShutDown(Event):
        """The worker process exited cleanly (SIGTERM or Ctrl-C)."""

        TOPIC = "hes.operations.ProcessingServer.ShutDown"
        instance: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.status = "offline"

    class Lost(Event):
        """The worker process stopped sending heartbeats; its tasks go to other servers."""

        TOPIC = "hes.operations.ProcessingServer.Lost"
        instance: str
        last_seen: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProcessingServer)
            aggregate.status = "lost"

    # -- identity -------------------------------------------------------------------

    @staticmethod
    def id_for(name: str) -> UUID:
        return uuid5(SERVERS_NAMESPACE, name.strip().lower())

    # -- commands -------------------------------------------------------------------

    @classmethod
    def register(
        cls, name: str, thread_groups: Sequence[Mapping[str, Any]], provenance: Provenance
    ) -> ProcessingServer:
        clean = name.strip()
        if not clean or len(clean) > 64 or not clean.replace("-", "").replace(".", "").isalnum():
            raise ServerStateError("a server name is 1-64 letters, digits, dots or dashes")
        return cls._create(
            cls.Registered,
            id=cls.id_for(clean),
            name=clean,
            thread_groups=checked_groups(thread_groups),
            **provenance.as_event_fields(),
        )

    def start(self, instance: str, host: str, pid: int, provenance: Provenance) -> None:
        self.trigger_event(
            self.Started, instance=instance, host=host, pid=pid, **provenance.as_event_fields()
        )

    def configure(self, thread_groups: Sequence[Mapping[str, Any]], provenance: Provenance) -> None:
        groups = checked_groups(thread_groups)
        if groups == self.thread_groups:
            raise ServerStateError(f"{self.name} already has these thread groups")
        self.trigger_event(
            self.Configured,
            thread_groups=groups,
            before=self.thread_groups,
            **provenance.as_event_fields(),
        )

    def stop(self, provenance: Provenance) -> None:
        if not self.enabled:
            raise ServerStateError(f"task processing on {self.name} is already stopped")
        self.trigger_event(self.StopRequested, **provenance.as_event_fields())

    def restart(self, provenance: Provenance) -> None:
        if self.enabled:
            raise ServerStateError(f"task processing on {self.name} was not stopped")
        self.trigger_event(self.RestartRequested, **provenance.as_event_fields())

    def confirm_stopped(self, instance: str, provenance: Provenance) -> bool:
        """Records that ``instance`` stopped processing; False when nothing changed."""
        if self.enabled or instance != self.instance or self.status != "processing":
            return False
        self.trigger_event(
            self.ProcessingStopped, instance=instance, **provenance.as_event_fields()
        )
        return True

    def confirm_restarted(self, instance: str, provenance: Provenance) -> bool:
        if not self.enabled or instance != self.instance or self.status != "paused":
            return False
        self.trigger_event(
            self.ProcessingRestarted, instance=instance, **provenance.as_event_fields()
        )
        return True

    def shut_down(self, instance: str, provenance: Provenance) -> bool:
        if instance != self.instance or self.status in ("offline", "lost"):
            return False
        self.trigger_event(self.ShutDown, instance=instance, **provenance.as_event_fields())
        return True

    def mark_lost(self, instance: str, last_seen: str, provenance: Provenance) -> bool:
        if instance != self.instance or self.status not in ("processing", "paused"):
            return False
        self.trigger_event(
            self.Lost, instance=instance, last_seen=last_seen, **provenance.as_event_fields()
        )
        return True

    # -- queries --------------------------------------------------------------------

    @property
    def groups(self) -> list[ThreadGroup]:
        return [ThreadGroup.from_dict(group) for group in self.thread_groups]

    @property
    def should_process(self) -> bool:
        return self.enabled
