"""Raw frames of real DLMS sessions in the `dlms_raw_frames` table, on SQLite and
PostgreSQL: captured with secrets blanked, written in batches, purged after retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Literal

import pytest
from sqlalchemy.engine import Engine

from adapters.dlms.client import MeterEndpoint, read_load_profile
from adapters.dlms.frame_capture import CapturedFrame
from adapters.dlms.hdlc import decode_frame
from adapters.dlms.hls import HlsKeys
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.queue.handlers import default_handlers
from adapters.raw_frames import (
    BatchingFrameWriter,
    RawFrameStore,
    purge_expired_frames,
    retention_days,
)
from adapters.security.passwords import Argon2PasswordHasher
from application.task_runs import TaskRun
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.integration.test_device_commands import register

NOW = dt.datetime(2026, 3, 4, 6, 0, tzinfo=dt.UTC)
PASSWORD = "lls-very-secret"
SETUP = Provenance("test", "set-up", "system")
OLGA = Provenance("olga", "clock check", "api")


@pytest.fixture
def engine(store: StoreLocation) -> Engine:
    found: Engine = shared_datastore(store.url).engine  # type: ignore[assignment]
    return found


@pytest.fixture
def frame_store(engine: Engine) -> RawFrameStore:
    return RawFrameStore(engine)


def lls_read(framing: Literal["wrapper", "hdlc"], writer: BatchingFrameWriter) -> int:
    config = SimulatedMeterConfig(
        "RAW-1", password=PASSWORD, clock=lambda: NOW, framing=framing, hdlc_max_info_length=32
    )
    with FleetThread([config]) as fleet:
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["RAW-1"], framing=framing)
        reading = asyncio.run(
            read_load_profile(
                endpoint,
                start=NOW - dt.timedelta(hours=3),
                end=NOW,
                password=PASSWORD,
                frame_recorder=writer,
                meter_serial="RAW-1",
            )
        )
    assert writer.flush()
    return len(reading.rows)


@pytest.mark.parametrize("framing", ["wrapper", "hdlc"])
def test_a_stored_lls_session_holds_every_frame_and_no_password_byte(
    frame_store: RawFrameStore, framing: Literal["wrapper", "hdlc"]
) -> None:
    writer = BatchingFrameWriter(frame_store)

    assert lls_read(framing, writer) == 12
    writer.close()

    frames = frame_store.of_meter("RAW-1", limit=1000)
    secret = PASSWORD.encode()
    assert not any(secret[i : i + 4] in f.frame for f in frames for i in range(len(secret) - 3))
    assert any(f.redacted for f in frames)  # the AARQ, and it says so
    assert {f.direction for f in frames} == {"sent", "received"}
    assert {(f.framing, f.kind, f.transport) for f in frames} == {(framing, "session", "tcp")}
    assert len({f.session_id for f in frames}) == 1
    assert [f.at for f in frames] == sorted(f.at for f in frames)
    if framing == "hdlc":  # whole frames, check sequences included, even the redacted ones
        assert all(decode_frame(f.frame) for f in frames)
        assert frames[0].frame.hex().startswith("7ea0")  # SNRM first


def test_an_hls_session_is_stored_ciphered_under_the_meter_serial(
    frame_store: RawFrameStore,
) -> None:
    keys = HlsKeys(b"SIM\x00\x00\x00\x00\x07", b"B" * 16, b"A" * 16)
    hes = HlsKeys(b"HES\x00\x00\x00\x00\x01", b"B" * 16, b"A" * 16)
    writer = BatchingFrameWriter(frame_store)
    config = SimulatedMeterConfig("RAW-HLS", hls_keys=keys, clock=lambda: NOW)
    with FleetThread([config]) as fleet:
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["RAW-HLS"])
        asyncio.run(
            read_load_profile(
                endpoint,
                start=NOW - dt.timedelta(hours=1),
                end=NOW,
                security=hes,
                frame_recorder=writer,
                meter_serial="RAW-HLS",
            )
        )
    writer.close()

    frames = frame_store.of_meter("RAW-HLS", limit=1000)
    apdu_tags = {f.frame[8] for f in frames}
    assert 0xC8 in apdu_tags and 0xCC in apdu_tags  # glo-get-request and glo-get-response
    assert not any(f.redacted for f in frames)
    assert b"B" * 16 not in b"".join(f.frame for f in frames)


def test_the_writer_batches_and_never_blocks_the_caller_on_the_store(
    frame_store: RawFrameStore,
) -> None:
    release = threading.Event()
    batches: list[int] = []

    class SlowStore:
        def append(self, frames: list[CapturedFrame]) -> None:
            release.wait(10)  # the database is slow right now
            batches.append(len(frames))
            frame_store.append(frames)

    writer = BatchingFrameWriter(SlowStore(), batch_size=500)  # type: ignore[arg-type]
    started = dt.datetime.now(dt.UTC)
    for number in range(1200):
        writer.record(frame(NOW, "BUSY", number))
    recording = dt.datetime.now(dt.UTC) - started
    release.set()
    writer.close()

    assert recording < dt.timedelta(seconds=1)
    assert sum(batches) == 1200 and len(batches) <= 4
    assert len(frame_store.of_meter("BUSY", limit=5000)) == 1200


def test_frames_the_store_refuses_are_dropped_and_counted() -> None:
    class DownStore:
        def append(self, frames: list[CapturedFrame]) -> None:
            raise ConnectionError("database unreachable")

    writer = BatchingFrameWriter(DownStore())  # type: ignore[arg-type]
    writer.record(frame(NOW, "DOWN", 1))
    writer.close()

    assert writer.dropped == 1 and writer.written == 0


def frame(at: dt.datetime, serial: str, number: int) -> CapturedFrame:
    return CapturedFrame(
        at, serial, "127.0.0.1:4059", "s1", "sent", "wrapper", "session", number.to_bytes(4, "big")
    )


def test_frames_past_retention_are_purged_and_the_rest_kept(
    frame_store: RawFrameStore, engine: Engine
) -> None:
    now = dt.datetime.now(dt.UTC)
    ages = [dt.timedelta(days=5), dt.timedelta(days=3, minutes=1), dt.timedelta(days=2)]
    frame_store.append([frame(now - age, "OLD", n) for n, age in enumerate(ages)])

    assert purge_expired_frames(engine, days=3, now=now) == 2
    assert purge_expired_frames(engine, days=3, now=now) == 0
    [kept] = frame_store.of_meter("OLD")
    assert kept.frame == (2).to_bytes(4, "big")


def test_the_purge_task_deletes_by_the_configured_retention(
    frame_store: RawFrameStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(dt.UTC)
    frame_store.append([frame(now - dt.timedelta(days=d, minutes=1), "TASK", d) for d in (1, 2, 8)])
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "2")
    handlers = default_handlers(purge_raw_frames=lambda: purge_expired_frames(engine))
    run = TaskRun(uuid.uuid4(), 1, 1, "purge_raw_frames", "all", {}, "srv", "instance")

    first, again = handlers.run(run), handlers.run(run)

    assert (first, again) == ({"purged": 2}, {"purged": 0})
    assert [f.frame for f in frame_store.of_meter("TASK")] == [(1).to_bytes(4, "big")]


def test_the_retention_is_three_days_unless_configured() -> None:
    assert retention_days({}) == 3
    assert retention_days({"HES_RAW_FRAME_RETENTION_DAYS": "7"}) == 7
    for wrong in ("0", "three"):
        with pytest.raises(ValueError, match="HES_RAW_FRAME_RETENTION_DAYS"):
            retention_days({"HES_RAW_FRAME_RETENTION_DAYS": wrong})


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


def test_reads_and_commands_of_the_installation_are_captured(installation: Installation) -> None:
    config = SimulatedMeterConfig(serial="RAW-CMD", password="pw-RAW-CMD", history_days=2)
    with FleetThread([config]) as fleet:
        register(installation, "RAW-CMD", fleet.ports["RAW-CMD"])
        for command_type in ("read_now", "sync_clock"):
            command_id = installation.head_end.request_command("RAW-CMD", command_type, {}, OLGA)
            asyncio.run(installation.head_end.execute(command_id, installation.command_port))
    assert installation.frame_recorder is not None and installation.frame_recorder.flush()

    frames = installation.frame_recorder.store.of_meter("RAW-CMD", limit=10_000)
    assert len({f.session_id for f in frames}) == 2  # one read session, one command session
    assert b"pw-RAW-CMD" not in b"".join(f.frame for f in frames)
    assert sum(f.redacted for f in frames) == 2  # the AARQ of each session


def test_a_writer_with_a_retention_purges_what_grew_old_as_it_writes(
    frame_store: RawFrameStore,
) -> None:
    now = dt.datetime.now(dt.UTC)
    frame_store.append([frame(now - dt.timedelta(days=4), "AGED", 0)])
    writer = BatchingFrameWriter(frame_store, retention=dt.timedelta(days=3))

    writer.record(frame(now, "AGED", 1))
    writer.close()

    assert [f.frame for f in frame_store.of_meter("AGED")] == [(1).to_bytes(4, "big")]
