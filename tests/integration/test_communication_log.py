"""The communication log over real DLMS/TCP, on SQLite and PostgreSQL: every session of
a read or a command is one row; a meter's status follows from them; old rows are
purged; the connectivity report counts meters by type. Read tasks are retried only
when the meter was not reached."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.dlms.communication_log import Communication, CommunicationLog
from adapters.dlms.errors import AssociationRejected, MeterTimeout, MeterUnreachable
from adapters.dlms.session_gate import SessionGate
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_collection import DlmsLoadProfileSource
from adapters.persistence.store import StoreLocation
from adapters.queue.handlers import MeterReads, PermanentTaskError
from adapters.security.passwords import Argon2PasswordHasher
from application.collection import Collection
from application.operations import TaskRun
from domain.provenance import Provenance
from interfaces.installation import Installation
from projections.connectivity import ConnectivityReport
from tests.integration.meter_proxies import SilentMeter
from tests.meters import closed_port, register_profile_channel

SETUP = Provenance("test", "set-up", "system")
PASSWORD = "comm-log-secret-1"
SINCE = date.today() - timedelta(days=30)


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


@pytest.fixture(scope="module")
def meter_port() -> Iterator[int]:
    config = SimulatedMeterConfig("COM0000001", password=PASSWORD, history_days=2)
    with FleetThread([config]) as fleet:
        yield fleet.ports["COM0000001"]


def log_of(installation: Installation) -> CommunicationLog:
    assert installation.communications is not None
    return installation.communications


def register(
    installation: Installation,
    serial: str,
    port: int,
    password: str = PASSWORD,
    meter_type: str = "single-phase",
) -> None:
    installation.registry.create_meter(
        {
            "serial": serial,
            "meter_type": meter_type,
            "security_profile": "lls",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        SINCE,
        SETUP,
        secrets={"lls_password": password},
    )
    register_profile_channel(installation, serial, SINCE, SETUP)


def move(installation: Installation, serial: str, port: int) -> None:
    today = datetime.now(UTC).date()
    installation.registry.change("meter", serial, {"comm_port": port}, today, SETUP)


def collect(installation: Installation, serial: str, timeout: float = 10.0) -> None:
    """One read of the last two hours, through the installation's communication log."""
    source = DlmsLoadProfileSource(timeout, gate=SessionGate(installation.communications))
    collection = Collection(installation.registry, installation.readings, source)
    end = datetime.now(UTC)
    asyncio.run(
        collection.collect_load_profile(serial, f"SP-{serial}:A+", end - timedelta(hours=2), end)
    )


def test_a_read_is_one_logged_session_and_makes_the_meter_communicating(
    installation: Installation, meter_port: int
) -> None:
    register(installation, "COM0000001", meter_port)
    before = datetime.now(UTC)

    collect(installation, "COM0000001")

    [session] = log_of(installation).history("COM0000001")
    assert (session["purpose"], session["outcome"], session["error"]) == ("read_profile", "ok", "")
    assert before <= session["started_at"] <= session["ended_at"] <= datetime.now(UTC)
    assert session["duration_ms"] >= 0
    assert 0 < session["octets_sent"] < session["octets_received"]  # a profile came back
    status = log_of(installation).status("COM0000001")
    assert status["status"] == "communicating"
    assert status["last_success_at"] == status["last_attempt_at"] == session["started_at"]
    assert status["consecutive_failures"] == 0


def test_unreachable_and_silent_meters_are_logged_and_the_meter_becomes_failing(
    installation: Installation, meter_port: int
) -> None:
    register(installation, "COM0000001", meter_port)
    collect(installation, "COM0000001")
    move(installation, "COM0000001", closed_port())
    with pytest.raises(MeterUnreachable):
        collect(installation, "COM0000001")
    with SilentMeter() as silent:
        move(installation, "COM0000001", silent.port)
        with pytest.raises(MeterTimeout, match=r"no answer within 0\.5 s"):
            collect(installation, "COM0000001", timeout=0.5)

    history = log_of(installation).history("COM0000001")
    assert [row["outcome"] for row in history] == ["timeout", "unreachable", "ok"]
    timed_out, unreachable, succeeded = history
    assert timed_out["duration_ms"] >= 500
    assert timed_out["octets_sent"] > 0 and timed_out["octets_received"] == 0
    assert unreachable["octets_sent"] is None  # no frame ever crossed
    status = log_of(installation).status("COM0000001")
    assert status["status"] == "failing"
    assert status["consecutive_failures"] == 2
    assert status["last_success_at"] == succeeded["started_at"]
    assert status["last_attempt_at"] == timed_out["started_at"]
    assert status["last_outcome"] == "timeout"
    assert len(log_of(installation).history("COM0000001", limit=2)) == 2


def test_a_refused_password_is_logged_as_refused_without_the_password(
    installation: Installation, meter_port: int
) -> None:
    register(installation, "COM0000001", meter_port, password="wrong-password-42")

    with pytest.raises(AssociationRejected, match="authentication failure"):
        collect(installation, "COM0000001")

    [session] = log_of(installation).history("COM0000001")
    assert session["outcome"] == "refused"
    assert "authentication failure" in session["error"]
    assert "wrong-password-42" not in session["error"]
    assert log_of(installation).status("COM0000001")["status"] == "never"


def test_a_command_session_is_logged_under_the_commands_name(
    installation: Installation, meter_port: int
) -> None:
    register(installation, "COM0000001", meter_port)
    command_id = installation.head_end.request_command("COM0000001", "disconnect", {}, SETUP)
    asyncio.run(installation.head_end.execute(command_id, installation.command_port, timeout=20))
    command_id = installation.head_end.request_command("COM0000001", "connect", {}, SETUP)
    asyncio.run(installation.head_end.execute(command_id, installation.command_port, timeout=20))

    history = log_of(installation).history("COM0000001")
    assert [(row["purpose"], row["outcome"]) for row in history] == [
        ("connect", "ok"),
        ("disconnect", "ok"),
    ]


def test_read_tasks_are_retried_only_when_the_meter_was_not_reached(
    installation: Installation, meter_port: int
) -> None:
    register(installation, "COM0000001", closed_port())
    register(installation, "COM0000002", meter_port, password="wrong-password-42")
    reads = MeterReads(installation.command_port, timeout=30)

    def run(serial: str) -> TaskRun:
        return TaskRun(uuid.uuid4(), 1, 1, "read_meter", serial, {"days": 1}, "srv-a", "i-1")

    with pytest.raises(RuntimeError, match="unreachable"):  # retried after the back-off
        reads(run("COM0000001"))
    with pytest.raises(PermanentTaskError, match="association rejected"):
        reads(run("COM0000002"))
    with pytest.raises(PermanentTaskError, match="no meter"):
        reads(run("NO-SUCH-METER"))


def test_sessions_older_than_the_retention_are_purged_and_the_status_stays(
    installation: Installation,
) -> None:
    log = log_of(installation)
    now = datetime.now(UTC)
    for days_ago, outcome in ((40, "ok"), (32, "timeout"), (1, "unreachable")):
        started = now - timedelta(days=days_ago)
        log.record(Communication("COM0000009", "read_profile", started, started, outcome, ""))

    assert log.purge(now) == 2
    assert log.purge(now) == 0  # by age only: a second run finds nothing more
    assert [row["outcome"] for row in log.history("COM0000009")] == ["unreachable"]
    status = log.status("COM0000009")
    assert status["last_success_at"] is not None
    assert status["last_success_at"] < now - timedelta(days=39)
    assert (status["status"], status["consecutive_failures"]) == ("failing", 2)


def test_the_connectivity_report_counts_meters_and_sessions_by_meter_type(
    installation: Installation,
) -> None:
    for serial, meter_type in (
        ("SP-A1", "single-phase"),
        ("SP-A2", "single-phase"),
        ("SP-A3", "single-phase"),
        ("TP-B1", "three-phase"),
    ):
        register(installation, serial, 4059, meter_type=meter_type)
    log, now = log_of(installation), datetime.now(UTC)

    def session(serial: str, hours_ago: float, outcome: str) -> None:
        started = now - timedelta(hours=hours_ago)
        log.record(Communication(serial, "read_profile", started, started, outcome))

    session("SP-A1", 30, "timeout")
    session("SP-A1", 2, "ok")  # communicating
    session("SP-A2", 40, "ok")
    session("SP-A2", 1, "unreachable")  # failing: it worked once
    session("TP-B1", 3, "refused")  # never communicated; SP-A3 never tried either
    installation.read_models.catch_up()

    report = ConnectivityReport(log.engine).by_meter_type(now - timedelta(hours=24))

    by_type = {row["meter_type"]: row for row in report}
    single, three, total = by_type["single-phase"], by_type["three-phase"], by_type["*"]
    assert (single["meters"], single["communicating"], single["failing"]) == (3, 1, 1)
    assert single["never_communicated"] == 1
    assert (single["sessions"], single["successful_sessions"], single["success_rate"]) == (
        2,
        1,
        0.5,
    )
    assert single["outcomes"] == {"ok": 1, "unreachable": 1}
    assert (three["meters"], three["never_communicated"], three["success_rate"]) == (1, 1, 0.0)
    assert (total["meters"], total["sessions"], total["communicating"]) == (4, 3, 1)
    assert [row["meter_type"] for row in report] == ["single-phase", "three-phase", "*"]
