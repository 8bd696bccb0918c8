"""The composition root: one install's store, applications, key store and read models.

Every entry point (web, CLI, demo, tests) opens an Installation instead of wiring
applications itself, so they all agree on where data lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from adapters.dlms.communication_log import CommunicationLog
from adapters.dlms.counter_store import SqlInvocationCounters
from adapters.dlms.session_gate import SessionGate
from adapters.dlms_collection import DlmsLoadProfileSource
from adapters.dlms_commands import DlmsCommandPort, FirmwareImages
from adapters.interval_history import BulkExternalPeriods, IntervalViewHistory
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation, locate_store
from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
from adapters.queue.task_loader import BulkTaskLoader
from adapters.raw_frames import BatchingFrameWriter, RawFrameStore, retention_days
from adapters.secrets.master_key import load_master_key
from adapters.secrets.vault import SqlSecretVault
from adapters.security.passwords import Argon2PasswordHasher
from application.bulk_ingest import BulkIngest
from application.collection import Collection
from application.delivery_batches import DeliveryBatches
from application.head_end import HeadEnd, MeterCommandPort
from application.operations import Operations
from application.readings import Readings
from application.registry import Registry
from application.secrets import PasswordHasher
from application.security import Security
from application.vee_workflow import VeeWorkflow
from application.workflow.exports import Exports
from projections.read_models import ReadModels
from projections.task_monitor_projection import TaskMonitor


@dataclass
class Installation:
    store: StoreLocation
    registry: Registry
    readings: Readings
    security: Security
    vault: SqlSecretVault
    read_models: ReadModels
    head_end: HeadEnd
    collection: Collection
    command_port: MeterCommandPort
    operations: Operations
    task_monitor: TaskMonitor
    task_queue: DramatiqTaskQueue | None
    exports: Exports  # final days made ready for billing (its own event table)
    frame_recorder: BatchingFrameWriter | None = None  # raw frames of sessions and pushes
    communications: CommunicationLog | None = None  # one row per DLMS session, and status

    @classmethod
    def open(
        cls,
        data_dir: str | Path | None = None,
        database_url: str | None = None,
        *,
        hasher: PasswordHasher | None = None,
        queue: QueueSettings | None = None,
    ) -> Installation:
        """``queue``: where tasks are sent (default: HES_REDIS_URL; without it, tasks
        wait queued in the store until a worker's reconciler sends them)."""
        store = locate_store(data_dir, database_url)
        env = store.application_env()
        engine = shared_datastore(store.url).engine
        vault = SqlSecretVault(engine, load_master_key(store.data_dir))  # type: ignore[arg-type]
        registry = Registry(env=env)
        registry.vault = vault
        readings = Readings(env=env)
        security = Security(env=env, hasher=hasher or Argon2PasswordHasher())
        exports = Exports(env=env)
        head_end = HeadEnd(env=env, registry=registry)
        read_models = ReadModels(
            store, registry, readings, security, exports=exports, head_end=head_end
        )
        # Counters survive restarts: a replayed answer stays refused after one.
        counters = SqlInvocationCounters(engine)  # type: ignore[arg-type]
        frame_recorder = BatchingFrameWriter(
            RawFrameStore(engine),  # type: ignore[arg-type]
            retention=timedelta(days=retention_days()),  # HES_RAW_FRAME_RETENTION_DAYS
        )
        communications = CommunicationLog(engine)  # type: ignore[arg-type]
        collection = Collection(
            registry,
            readings,
            DlmsLoadProfileSource(
                counters=counters,
                frame_recorder=frame_recorder,
                # Session limits and the communication log; commands share the reads' gate.
                gate=SessionGate(communications),
            ),
            workflow=VeeWorkflow(registry, readings, external_periods=read_models.external_periods),
            # Many threads' deliveries at once through the bulk path; its history comes
            # from the interval read model, exact while the projection lags.
            deliveries=DeliveryBatches(
                BulkIngest(
                    registry,
                    readings,
                    IntervalViewHistory(
                        read_models.intervals, readings, catch_up=read_models.fresh_intervals
                    ),
                    external_periods=BulkExternalPeriods(read_models.external_periods),
                )
            ),
        )

        def channels_of_meter(serial: str) -> list[dict[str, object]]:
            read_models.catch_up()
            return read_models.directory.channels_of_meter(serial)

        command_port = DlmsCommandPort(
            collection,
            channels_of_meter,
            firmware_images=FirmwareImages(Path(store.data_dir) / "firmware"),
            frame_recorder=frame_recorder,
        )
        queue = queue or QueueSettings.from_env()
        task_queue = DramatiqTaskQueue(queue) if queue is not None else None
        operations = Operations(env=env, task_queue=task_queue)
        operations.task_loader = BulkTaskLoader(operations)
        return cls(
            store,
            registry,
            readings,
            security,
            vault,
            read_models,
            head_end,
            collection,
            command_port,
            operations,
            TaskMonitor(shared_datastore(store.url), operations),
            task_queue,
            exports=exports,
            frame_recorder=frame_recorder,
            communications=communications,
        )

    def is_reachable(self) -> bool:
        engine = shared_datastore(self.store.url).engine
        try:
            with engine.connect() as connection:  # type: ignore[union-attr]
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def close(self) -> None:
        self.collection.close()
        self.read_models.stop()
        self.task_monitor.stop()
        for application in (
            self.registry,
            self.readings,
            self.security,
            self.head_end,
            self.operations,
            self.exports,
        ):
            application.close()
        if self.task_queue is not None:
            self.task_queue.close()
        if self.frame_recorder is not None:
            self.frame_recorder.close()
