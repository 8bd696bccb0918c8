"""Processing servers: what their worker processes report, what administrators decide.

A worker's reports (started, stopped or restarted as asked, shut down) are retried on a
conflict with an administrator's change; an administrator's change that loses such a
race is a ``ConcurrentEdit`` to reload and repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentEdit, UnknownAggregate
from application.task_recording import TaskRecording, worker_provenance
from domain.processing_server import ProcessingServer
from domain.provenance import Provenance

DEFAULT_THREAD_GROUPS = ({"threads": 32, "task_types": ["*"]},)


class ProcessingServerUseCases(TaskRecording):
    def server_started(
        self,
        name: str,
        instance: str,
        host: str,
        pid: int,
        thread_groups: Sequence[Mapping[str, Any]] = DEFAULT_THREAD_GROUPS,
    ) -> ProcessingServer:
        """A worker process came up: registers the server the first time, records Started."""
        provenance = worker_provenance(name, "worker process started")
        for _ in range(5):
            server = self._find(ProcessingServer, ProcessingServer.id_for(name))
            if server is None:
                server = ProcessingServer.register(name, thread_groups, provenance)
            server.start(instance, host, pid, provenance)
            try:
                self.save(server)
            except IntegrityError:
                continue  # registered or changed meanwhile: look again
            return server
        raise ConcurrentEdit("processing server", name)

    def configure_server(
        self, name: str, thread_groups: Sequence[Mapping[str, Any]], provenance: Provenance
    ) -> ProcessingServer:
        return self._change_server(name, lambda server: server.configure(thread_groups, provenance))

    def stop_server(self, name: str, provenance: Provenance) -> ProcessingServer:
        return self._change_server(name, lambda server: server.stop(provenance))

    def restart_server(self, name: str, provenance: Provenance) -> ProcessingServer:
        return self._change_server(name, lambda server: server.restart(provenance))

    def confirm_stopped(self, name: str, instance: str) -> bool:
        provenance = worker_provenance(name, "task processing stopped as requested")
        return self._report(name, lambda server: server.confirm_stopped(instance, provenance))

    def confirm_restarted(self, name: str, instance: str) -> bool:
        provenance = worker_provenance(name, "task processing restarted as requested")
        return self._report(name, lambda server: server.confirm_restarted(instance, provenance))

    def server_shut_down(self, name: str, instance: str) -> bool:
        provenance = worker_provenance(name, "worker process shut down")
        return self._report(name, lambda server: server.shut_down(instance, provenance))

    def mark_server_lost(self, name: str, instance: str, last_seen: datetime) -> bool:
        provenance = Provenance("hes-dispatcher", "no heartbeat from the worker", "system")
        return self._report(
            name, lambda server: server.mark_lost(instance, last_seen.isoformat(), provenance)
        )

    def server(self, name: str) -> ProcessingServer:
        found = self._find(ProcessingServer, ProcessingServer.id_for(name))
        if found is None:
            raise UnknownAggregate("processing server", name)
        return found

    def _change_server(
        self, name: str, command: Callable[[ProcessingServer], None]
    ) -> ProcessingServer:
        server = self.server(name)
        command(server)
        try:
            self.save(server)
        except IntegrityError:
            raise ConcurrentEdit("processing server", name) from None
        return server

    def _report(self, name: str, command: Callable[[ProcessingServer], bool]) -> bool:
        for _ in range(5):
            server = self.server(name)
            if not command(server):
                return False
            try:
                self.save(server)
            except IntegrityError:
                continue
            return True
        raise ConcurrentEdit("processing server", name)
