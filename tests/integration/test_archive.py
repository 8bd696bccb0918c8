"""The archive, on SQLite and PostgreSQL: a day's raw frames, communication sessions and
finished tasks go to a gzip JSON Lines file with a manifest, once the day is over and
while retention has not touched it; a second run writes nothing; a run killed half-way
is made good by the next; and the `archive` task does it in a real worker."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from adapters.archive import KINDS, ArchiveRefused, DailyArchive, archive_directory
from adapters.dlms.communication_log import Communication, CommunicationLog
from adapters.dlms.frame_capture import CapturedFrame
from adapters.persistence.factory import dispose_datastore, shared_datastore
from adapters.persistence.recorder import to_microseconds
from adapters.persistence.store import StoreLocation
from adapters.queue.handlers import PermanentTaskError, default_handlers
from adapters.raw_frames import RawFrameStore
from application.task_runs import TaskRun
from domain.task_types import ARCHIVED_KINDS, InvalidTaskParameters, task_type_named
from interfaces.cli.main import app
from projections.task_monitor import TASKS
from tests.integration.test_workers_redis import OLGA, Cluster, cluster, wait_for  # noqa: F401

NOW = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def engine(store: StoreLocation) -> Engine:
    found: Engine = shared_datastore(store.url).engine  # type: ignore[assignment]
    return found


@pytest.fixture
def archive(engine: Engine, tmp_path: Path) -> DailyArchive:
    return DailyArchive(engine, tmp_path / "archive")


def frame(at: dt.datetime, number: int, serial: str | None = "ARC-1") -> CapturedFrame:
    return CapturedFrame(
        at, serial, "127.0.0.1:4059", "s1", "received", "wrapper", "session",
        number.to_bytes(2, "big"),
    )  # fmt: skip


def read_rows(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines]


def test_the_days_that_are_over_and_whole_are_archived_once(
    engine: Engine, archive: DailyArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "3")
    midnight = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    at = {  # 4 days back lies before the cutoff (7 Mar 09:30), today is not over
        "old": midnight - 4 * DAY + dt.timedelta(hours=10),
        "first": midnight - 2 * DAY + dt.timedelta(hours=23, minutes=59),
        "second": midnight - 2 * DAY,
        "yesterday": midnight - DAY + dt.timedelta(seconds=1),
        "today": midnight + dt.timedelta(hours=1),
    }
    RawFrameStore(engine).append([frame(when, n) for n, when in enumerate(at.values())])

    days = archive.run(("raw_frames",), now=NOW)

    assert [(d.day, d.rows, d.written) for d in days] == [
        (dt.date(2026, 3, 8), 2, True),
        (dt.date(2026, 3, 9), 1, True),
    ]
    rows = read_rows(days[0].file)
    assert [row["frame"] for row in rows] == ["0002", "0001"]  # in time order
    assert rows[0]["at"] == "2026-03-08T00:00:00+00:00" and rows[0]["meter_serial"] == "ARC-1"
    manifest = archive.manifests("raw_frames")[0]
    assert (manifest["rows"], manifest["first"], manifest["last"]) == (
        2,
        "2026-03-08T00:00:00+00:00",
        "2026-03-08T23:59:00+00:00",
    )
    assert archive.verify("raw_frames", dt.date(2026, 3, 8))

    again = archive.run(("raw_frames",), now=NOW)
    assert [(d.day, d.written) for d in again] == [
        (dt.date(2026, 3, 8), False),
        (dt.date(2026, 3, 9), False),
    ]
    assert again[0].sha256 == days[0].sha256


def test_a_day_not_over_or_past_retention_is_refused(
    archive: DailyArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "3")
    with pytest.raises(ArchiveRefused, match="not over"):
        archive.archive_day("raw_frames", dt.date(2026, 3, 10), now=NOW)
    with pytest.raises(ArchiveRefused, match="not over"):  # over for less than an hour
        archive.archive_day("raw_frames", dt.date(2026, 3, 9), now=NOW.replace(hour=0, minute=59))
    with pytest.raises(ArchiveRefused, match="retention of 3 days"):
        archive.archive_day("raw_frames", dt.date(2026, 3, 7), now=NOW)
    with pytest.raises(ArchiveRefused, match="known: raw_frames, comm_log, task_log"):
        archive.archive_day("meters", dt.date(2026, 3, 9), now=NOW)
    assert archive.archive_day("raw_frames", dt.date(2026, 3, 8), now=NOW).rows == 0


def test_communication_sessions_and_finished_tasks_are_archived_by_their_day(
    engine: Engine, archive: DailyArchive
) -> None:
    yesterday = dt.datetime(2026, 3, 9, 4, tzinfo=dt.UTC)
    log = CommunicationLog(engine)
    for n, outcome in enumerate(("ok", "timeout")):
        started = yesterday + dt.timedelta(minutes=n)
        log.record(
            Communication(
                "ARC-1", "read_profile", started, started + dt.timedelta(seconds=3), outcome
            )
        )
    TASKS.create(engine, checkfirst=True)  # the task monitor's table, as it creates it
    finished = task_row("succeeded", yesterday + dt.timedelta(hours=1))
    running = task_row("running", None)
    with engine.begin() as connection:
        connection.execute(insert(TASKS), [finished, running])

    days = {(d.kind, d.day): d for d in archive.run(KINDS, now=NOW)}

    sessions = read_rows(days["comm_log", dt.date(2026, 3, 9)].file)
    assert [(s["outcome"], s["started_at"]) for s in sessions] == [
        ("ok", "2026-03-09T04:00:00+00:00"),
        ("timeout", "2026-03-09T04:01:00+00:00"),
    ]
    [task] = read_rows(days["task_log", dt.date(2026, 3, 9)].file)
    assert task["task_id"] == str(finished["task_id"]) and task["status"] == "succeeded"
    assert task["parameters"] == {"what": "profile"}
    assert task["finished_at"] == "2026-03-09T05:00:00+00:00"


def task_row(status: str, finished_at: dt.datetime | None) -> dict[str, object]:
    submitted = to_microseconds(dt.datetime(2026, 3, 9, 3, tzinfo=dt.UTC))
    return {
        "task_id": uuid.uuid4(), "task_type": "read_meter", "target": "ARC-1",
        "priority": "normal", "origin": "cycle", "cycle_key": "", "status": status,
        "submitted_by": "hes-scheduler", "submitted_source": "system",
        "submitted_at_us": submitted, "due_at_us": submitted, "run_at_us": submitted,
        "dispatch": 1, "attempts": 1, "attempts_total": 1, "errors": 0, "max_attempts": 4,
        "finished_at_us": None if finished_at is None else to_microseconds(finished_at),
        "parameters": {"what": "profile"}, "version": 3, "updated_at_us": submitted,
    }  # fmt: skip


def test_a_run_killed_before_its_manifest_is_made_good_by_the_next(
    engine: Engine, archive: DailyArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "3")
    RawFrameStore(engine).append([frame(dt.datetime(2026, 3, 9, 8, tzinfo=dt.UTC), 7)])
    data, manifest = archive.paths("raw_frames", dt.date(2026, 3, 9))
    data.parent.mkdir(parents=True)
    data.write_bytes(b"half a file")  # renamed into place, then killed: no manifest

    [day] = archive.run(("raw_frames",), now=NOW)

    assert day.written and manifest.exists()
    assert [row["frame"] for row in read_rows(data)] == ["0007"]
    assert sorted(p.name for p in data.parent.iterdir()) == [data.name, manifest.name]
    data.write_bytes(gzip.compress(b"{}\n", mtime=0))  # altered afterwards
    assert not archive.verify("raw_frames", dt.date(2026, 3, 9))


def test_the_archive_task_reports_what_it_wrote_and_refuses_what_it_cannot(
    engine: Engine, archive: DailyArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "3")
    now = dt.datetime.now(dt.UTC)
    RawFrameStore(engine).append([frame(now - DAY - dt.timedelta(hours=1), 1)])
    handlers = default_handlers(archive=archive)

    def run(parameters: dict[str, object]) -> dict[str, object]:
        return handlers.run(TaskRun(uuid.uuid4(), 1, 1, "archive", "all", parameters, "s", "i"))

    first = run({"what": "raw_frames"})
    again = run({"what": "raw_frames"})

    assert [day["rows"] for day in first["written"]] == [1]  # type: ignore[attr-defined]
    assert again["written"] == [] and again["already_archived"] == first["already_archived"] + 1
    with pytest.raises(PermanentTaskError, match="not over"):
        run({"day": now.date().isoformat()})


def test_the_archive_task_type_checks_its_parameters() -> None:
    archive_type = task_type_named("archive")
    assert ARCHIVED_KINDS == KINDS
    assert archive_type.checked({"what": "comm_log", "day": "2026-03-09"})
    for wrong in ({"what": "meters"}, {"day": "yesterday"}, {"older_than": 3}):
        with pytest.raises(InvalidTaskParameters):
            archive_type.checked(wrong)


def test_hes_archive_runs_and_lists_with_checks(store: StoreLocation, engine: Engine) -> None:
    yesterday = dt.datetime.now(dt.UTC) - DAY - dt.timedelta(hours=1)
    RawFrameStore(engine).append([frame(yesterday, 3), frame(yesterday, 4, None)])
    options = ["--data-dir", str(store.data_dir), "--database-url", store.url]
    runner = CliRunner()

    ran = runner.invoke(app, ["archive", "run", "--what", "raw_frames", *options])
    listed = runner.invoke(app, ["archive", "list", "--verify", *options])
    wrong = runner.invoke(app, ["archive", "run", "--what", "meters", *options])

    assert ran.exit_code == 0, ran.output
    assert f"raw_frames {yesterday.date()}          2 rows  written" in ran.output
    assert f"raw_frames {yesterday.date()}          2 rows  intact" in listed.output
    assert wrong.exit_code == 2 and "must be all or one of" in wrong.output
    assert (archive_directory(store.data_dir) / "raw_frames").is_dir()


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_runs_the_archive_task(cluster: Cluster) -> None:  # noqa: F811
    engine: Engine = shared_datastore(cluster.database_url).engine  # type: ignore[assignment]
    yesterday = dt.datetime.now(dt.UTC) - DAY - dt.timedelta(hours=1)
    RawFrameStore(engine).append([frame(yesterday, n) for n in range(5)])
    dispose_datastore(cluster.database_url)
    cluster.start_worker("srv-archive")

    task_id = cluster.operations.create_task(
        "archive", "all", {"what": "raw_frames"}, dt.datetime.now(dt.UTC), OLGA
    )

    wait_for(lambda: cluster.state(task_id) == "succeeded", "the archive task", 30)
    result = cluster.operations.task(task_id).result
    [written] = result["written"]
    assert written["rows"] == 5 and written["day"] == yesterday.date().isoformat()
    assert read_rows(Path(written["file"]))[0]["frame"] == "0000"
    assert Path(written["file"]).is_relative_to(cluster.logs / "archive")
