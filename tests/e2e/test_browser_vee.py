"""An operator fixes a gap the VEE workflow left, in a real browser (Debian's chromium).

Marked ``browser`` like ``test_browser``, whose server and browser fixtures this module
shares. Screenshots of the exception queue and of the channel page with the edits go to
the temp dir for a person to look at; they are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.vee_workflow import Delivery, VeeWorkflow
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.e2e import test_browser as shared

pytestmark = pytest.mark.browser

SETUP = Provenance("test", "setup", "system")
DEVICE = Provenance("hes-collector", "load profile read", "device")
CHANNEL_KEY = "SP-7:import"
SCREENSHOTS = shared.SCREENSHOTS

# The server and browser fixtures of test_browser; pytest finds them by name here.
base_url = shared.base_url
page = shared.page
problems = shared.problems


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    today = datetime.now(UTC).date()
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.registry.create_meter(
        {"serial": "M7", "meter_type": "three-phase"}, today - timedelta(days=90), SETUP
    )
    found.registry.register(
        "channel",
        {
            "channel_key": CHANNEL_KEY,
            "service_point_id": "SP-7",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_serial": "M7",
            "meter_channel": "1.0.1.29.0.255",
        },
        today - timedelta(days=90),
        SETUP,
    )
    hours = np.arange(96) / 4.0
    values = 0.2 + 0.5 * np.exp(-((hours - 8) ** 2) / 3) + np.exp(-((hours - 19) ** 2) / 4)
    values = values.round(3)
    values[24:48] = np.nan  # 06:00-12:00 lost, and no history to estimate it from
    yesterday = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=1)
    workflow = VeeWorkflow(found.registry, found.readings)
    workflow.process(Delivery(CHANNEL_KEY, yesterday, values, np.zeros(96, np.uint8)), DEVICE)
    yield found
    found.close()


def test_an_operator_fills_two_intervals_of_a_gap_and_reads_their_versions(
    page: Page, problems: list[str]
) -> None:
    page.goto("/exceptions")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("operator-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("exception-count")).to_have_text("24")
    expect(page.get_by_test_id("exceptions").locator("tbody tr")).to_have_count(24)
    page.screenshot(path=str(SCREENSHOTS / "hes_exceptions_page.png"), full_page=True)

    page.get_by_test_id("exceptions").get_by_role("link", name=CHANNEL_KEY).last.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CHANNEL_KEY)
    intervals = page.get_by_test_id("intervals")
    expect(intervals.locator("tr.q-failed")).to_have_count(24)
    day = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    page.get_by_label(f"select {day} 06:00:00").check()
    page.get_by_label(f"select {day} 06:15:00").check()
    page.get_by_label(f"new value for {day} 06:00:00").fill("0.41")
    page.get_by_label("One value for all ticked (kWh)").fill("0.44")
    page.get_by_label("Reason code").select_option("COMMUNICATION_LOSS")
    page.get_by_label("Reason in words (required with OTHER)").fill("values from the DCU buffer")
    page.get_by_role("button", name="Set values").click()

    expect(page.get_by_test_id("edit-notice")).to_contain_text("2 intervals edited")
    edited = intervals.locator("tr.q-edited")
    expect(edited).to_have_count(2)
    expect(edited.first).to_contain_text("0.410")
    expect(edited.last).to_contain_text("0.440")
    expect(intervals.locator("tr.q-failed")).to_have_count(22)
    page.screenshot(path=str(SCREENSHOTS / "hes_channel_edit_form.png"))
    edited.first.scroll_into_view_if_needed()
    page.mouse.wheel(0, -120)
    page.screenshot(path=str(SCREENSHOTS / "hes_channel_edited_rows.png"))

    edited.first.get_by_role("link", name="versions").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("06:00:00")
    versions = page.get_by_test_id("versions").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("IntervalsRecorded")
    expect(versions.first).to_contain_text("gap")
    expect(versions.last).to_contain_text("IntervalsEdited")
    expect(versions.last).to_contain_text("olga")
    expect(versions.last).to_contain_text("COMMUNICATION_LOSS")
    expect(versions.last).to_contain_text("values from the DCU buffer")
    page.screenshot(path=str(SCREENSHOTS / "hes_interval_versions.png"), full_page=True)

    page.get_by_role("link", name="Exceptions").click()
    expect(page.get_by_test_id("exception-count")).to_have_text("22")
    expect(page).to_have_url(re.compile(r"/exceptions$"))
    assert problems == []
