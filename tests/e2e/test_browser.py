"""The pages in a real browser: Debian's chromium driven by Playwright, served by uvicorn.

Marked ``browser``; needs the playwright package and Debian's chromium (``apt-get install
chromium``): Playwright downloads no browser here. Screenshots of the meter and channel
pages go to the temp dir for a person to look at; they are not compared.
"""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SETUP = Provenance("test", "setup", "system")
CHANNEL_KEY = "SP-1:import"
SCREENSHOTS = Path(tempfile.gettempdir())


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    today = datetime.now(UTC).date()
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.registry.create_meter(
        {"serial": "M1", "meter_type": "three-phase", "manufacturer": "Landis", "ct_ratio": "100"},
        today - timedelta(days=90),
        SETUP,
    )
    found.registry.create_meter(
        {"serial": "M2", "meter_type": "single-phase"}, today - timedelta(days=90), SETUP
    )
    found.registry.register(
        "channel",
        {
            "channel_key": CHANNEL_KEY,
            "service_point_id": "SP-1",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_serial": "M1",
            "meter_channel": "1.0.1.29.0.255",
        },
        today - timedelta(days=90),
        SETUP,
    )
    found.registry.change("meter", "M1", {"ct_ratio": "200"}, today, SETUP)
    # Two days of a household-like shape: a night base, a morning and an evening peak.
    hours = np.arange(192) / 4.0
    values = (
        0.2 + 0.5 * np.exp(-(((hours % 24) - 8) ** 2) / 3) + np.exp(-(((hours % 24) - 19) ** 2) / 4)
    )
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=1)
    found.readings.record_block(
        Channel.id_for(CHANNEL_KEY), 15, start, values.round(3), np.zeros(192, np.uint8), SETUP
    )
    yield found
    found.close()


@pytest.fixture
def base_url(installation: Installation) -> Iterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(installation), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture
def problems() -> list[str]:
    """Script errors and CSP violations the browser reported; the pages must have none."""
    return []


@pytest.fixture
def page(base_url: str, problems: list[str]) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        found = context.new_page()
        found.on("console", lambda message: _note_error(problems, message))
        found.on("pageerror", lambda error: problems.append(str(error)))
        yield found
        browser.close()


def _note_error(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(message.text)


PAINTED_PIXELS = """() => {
    const canvas = document.querySelector('#chart canvas');
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
    return painted;
}"""


def test_an_operator_signs_in_browses_a_meter_and_its_load_profile_and_signs_out(
    page: Page, problems: list[str]
) -> None:
    page.goto("/meters")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fmeters$"))

    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("operator-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text("olga")
    expect(page.get_by_test_id("meter-count")).to_contain_text("2 meters")

    # htmx narrows the list while typing, without a full page load.
    page.get_by_label("Search").fill("landis")
    expect(page.get_by_test_id("meter-count")).to_contain_text("1 of 2 meters match")
    expect(page).to_have_url(re.compile(r"/meters\?search=landis$"))

    page.get_by_role("link", name="M1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Meter M1")
    expect(page.locator('[data-field="ct_ratio"]')).to_have_text("200")
    expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "hes_meter_page.png"), full_page=True)

    page.get_by_role("link", name=CHANNEL_KEY).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CHANNEL_KEY)
    expect(page.locator("#chart canvas")).to_have_count(1)
    expect(page.locator("#chart")).to_have_attribute("data-drawn-points", "192")
    assert page.evaluate(PAINTED_PIXELS) > 5_000, "the uPlot canvas is (nearly) blank"
    expect(page.get_by_test_id("intervals").locator("tbody tr")).to_have_count(192)
    page.screenshot(path=str(SCREENSHOTS / "hes_channel_page.png"))

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/meters")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert problems == []
