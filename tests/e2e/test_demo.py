"""``hes demo`` as a user runs it: a real process, real sockets, Ctrl-C, restart."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from adapters.persistence.store import StoreLocation

ROOT = Path(__file__).resolve().parents[2]
METERS = 3


def free_port_block(count: int) -> int:
    """A base port with ``count`` consecutive ports free on 127.0.0.1."""
    for _ in range(50):
        base = random.randint(20000, 60000)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free ports")


@contextmanager
def running_demo(store: StoreLocation) -> Iterator[tuple[str, list[str]]]:
    web_port, meter_port = free_port_block(1), free_port_block(METERS)
    command = [
        sys.executable, "-m", "interfaces.cli.main", "demo",
        "--meters", str(METERS), "--port", str(web_port),
        "--meter-base-port", str(meter_port), "--data-dir", str(store.data_dir),
    ]  # fmt: skip
    if not store.is_sqlite:
        command += ["--database-url", store.url]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("HES_DATABASE_URL", None)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("collector: read"):
                break
        assert any("collector: read" in line for line in output), "".join(output)
        url = f"http://127.0.0.1:{web_port}"
        wait_until_serving(url)
        yield url, output
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        output.append(rest)
        assert process.returncode == 0, "".join(output)


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def token_for(store: StoreLocation) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", "token", "create", "--user", "admin",
         "--data-dir", str(store.data_dir), "--database-url", "" if store.is_sqlite else store.url],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return created.stdout.strip()


def event_counts(store: StoreLocation) -> dict[str, int]:
    engine = create_engine(store.url)
    try:
        with engine.connect() as connection:
            return {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("registry_events", "readings_events", "sealed_secrets")
            }
    finally:
        engine.dispose()


def test_the_demo_serves_meters_read_over_dlms_and_restarts_without_loss_or_duplicates(
    store: StoreLocation,
) -> None:
    with running_demo(store) as (url, output):
        assert f"web UI and API: {url}/" in "".join(output)
        assert "login: admin / " in "".join(output)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        headers = {"Authorization": f"Bearer {token_for(store)}"}
        meters = httpx.get(f"{url}/api/v1/meters", headers=headers).json()
        assert meters["total"] == METERS
        assert httpx.get(f"{url}/meters", follow_redirects=False).status_code in (302, 303)
        # The reads ran as tasks on the demo's processing server, seen by the task monitor.
        statistics = httpx.get(f"{url}/api/v1/tasks/statistics", headers=headers).json()
        assert statistics["by_task_type"]["read_meter"]["succeeded"] == METERS
        tasks = httpx.get(f"{url}/api/v1/tasks", headers=headers).json()["tasks"]
        assert {task["running_on"] for task in tasks} == {"demo"}
        cycles = httpx.get(f"{url}/api/v1/cycles", headers=headers).json()["cycles"]
        assert [cycle["cycle_key"] for cycle in cycles] == ["DEMO-READ"]
    first = event_counts(store)
    assert first["readings_events"] >= METERS  # at least a block per meter

    with running_demo(store) as (url, output):
        headers = {"Authorization": f"Bearer {token_for(store)}"}
        serial = "DEMO00001"
        meter = httpx.get(f"{url}/api/v1/meters/{serial}", headers=headers).json()
        assert meter["version"] == 1  # registered once, not again on restart
        history = httpx.get(f"{url}/api/v1/meters/{serial}/history", headers=headers).json()
        assert len(history["changes"]) == 1
        start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 86400))
        end = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
        day = httpx.get(
            f"{url}/api/v1/channels/SP-{serial}:A+/intervals",
            params={"start": start, "end": end},
            headers=headers,
        ).json()
        starts = [row["start"] for row in day["intervals"]]
        assert len(starts) == 96 == len(set(starts))
    second = event_counts(store)
    assert second["registry_events"] == first["registry_events"]
    # Two keys (block cipher, authentication) per HLS-GMAC meter, sealed once.
    assert second["sealed_secrets"] == first["sealed_secrets"] == METERS * 2
    # Only intervals that closed between the two runs may add blocks.
    assert second["readings_events"] - first["readings_events"] <= METERS * 2
