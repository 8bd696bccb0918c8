"""Commands to meters from the meter page.

The page requests the command, waits for the meter and redirects to the command's own
page; refusals show the meter page again and record nothing. read_now runs against a
simulated meter over real DLMS/TCP; the other outcomes come from a scripted meter port,
so these tests follow the pages whatever commands the DLMS adapter supports so far.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from application.head_end import CommandNotAnswered, CommandRefused
from domain.command_types import COMMAND_TYPES
from interfaces.installation import Installation
from interfaces.web.command_forms import COMMAND_FIELDS
from tests.e2e.test_web_pages import AUDITOR, hidden, opened, signed_in
from tests.integration.test_device_commands import closed_port, register

SITE_CSS = Path(__file__).parents[2] / "interfaces/web/static/site.css"


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    yield from opened(sqlite_store)


class ScriptedPort:
    """A meter port that answers every command as told and counts what it was sent."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.sent: list[str] = []

    async def execute(
        self, serial: str, command_type: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.sent.append(command_type)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def scripted(installation: Installation, answer: dict[str, Any] | Exception) -> ScriptedPort:
    port = ScriptedPort(answer)
    installation.command_port = port
    return port


def send(client: TestClient, serial: str, **fields: Any) -> Response:
    page = client.get(f"/meters/{serial}")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "request_key": hidden(page.text, "request_key"),
        **fields,
    }
    return client.post(f"/meters/{serial}/commands", data=form, follow_redirects=False)


def command_of(location: str) -> UUID:
    return UUID(location.rsplit("/", 1)[1])


def nothing_requested(installation: Installation) -> bool:
    return installation.head_end.recorder.max_notification_id() is None


def test_read_now_from_the_meter_page_is_confirmed_and_shown(
    installation: Installation,
) -> None:
    config = SimulatedMeterConfig(serial="WEB-1", password="pw-WEB-1", history_days=2)
    client = signed_in(installation)
    with FleetThread([config]) as fleet:
        register(installation, "WEB-1", fleet.ports["WEB-1"])
        answer = send(
            client,
            "WEB-1",
            command_type="read_now",
            **{"read_now.days": "1"},
            reason="customer asks about yesterday",
        )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert re.fullmatch(r"/commands/[0-9a-f-]{36}", location)
    page = client.get(location)
    assert re.search(r'data-testid="command-state">confirmed<', page.text)
    new_intervals = re.search(r'data-field="new_intervals">(\d+)<', page.text)
    assert new_intervals is not None and int(new_intervals.group(1)) >= 90
    steps = re.findall(r"<td>(Requested|Sent|Confirmed)</td>", page.text)
    assert steps == ["Requested", "Sent", "Confirmed"]
    requested = installation.head_end.history_of(command_of(location))[0]
    assert (requested.actor, requested.source) == ("olga", "ui")
    assert requested.reason == "customer asks about yesterday"
    assert requested.parameters == {"days": 1}

    meter = client.get("/meters/WEB-1")
    assert f'href="{location}">details</a>' in meter.text
    assert "customer asks about yesterday" in meter.text


def test_a_command_the_meter_protocol_cannot_carry_out_ends_failed_and_says_so(
    installation: Installation,
) -> None:
    register(installation, "WEB-2", closed_port())
    scripted(installation, CommandRefused("disconnect is not supported over DLMS yet"))
    client = signed_in(installation)
    answer = send(client, "WEB-2", command_type="disconnect", reason="unpaid since March")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert re.search(r'data-testid="command-state">failed<', page.text)
    assert "disconnect is not supported over DLMS yet" in page.text
    assert 'data-testid="not-supported"' in page.text  # nothing reached the meter


def test_a_meter_that_does_not_answer_in_time_shows_a_timed_out_command(
    installation: Installation,
) -> None:
    register(installation, "WEB-7", closed_port())
    scripted(installation, CommandNotAnswered("no answer within 30 s"))
    client = signed_in(installation)
    answer = send(client, "WEB-7", command_type="sync_clock", reason="clock drift alarm")
    page = client.get(answer.headers["location"])
    assert re.search(r'data-testid="command-state">timed out<', page.text)
    assert "no answer within 30 s" in page.text
    assert 'data-testid="not-supported"' not in page.text


def test_the_same_form_sent_twice_asks_the_meter_once(installation: Installation) -> None:
    register(installation, "WEB-3", closed_port())
    port = scripted(installation, {"clock_adjusted_by_seconds": 4})
    client = signed_in(installation)
    page = client.get("/meters/WEB-3")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "request_key": hidden(page.text, "request_key"),
        "command_type": "sync_clock",
        "reason": "clock drift alarm",
    }
    first = client.post("/meters/WEB-3/commands", data=form, follow_redirects=False)
    again = client.post("/meters/WEB-3/commands", data=form, follow_redirects=False)
    assert first.headers["location"] == again.headers["location"]
    assert port.sent == ["sync_clock"]
    history = installation.head_end.history_of(command_of(first.headers["location"]))
    assert [type(step).__name__ for step in history] == ["Requested", "Sent", "Confirmed"]
    shown = client.get(first.headers["location"])
    assert re.search(r'data-field="clock_adjusted_by_seconds">4<', shown.text)


def test_a_refused_request_shows_the_meter_page_again_and_records_nothing(
    installation: Installation,
) -> None:
    register(installation, "WEB-4", closed_port())
    client = signed_in(installation)
    minutes = {"set_capture_period.minutes": "7"}
    odd = send(client, "WEB-4", command_type="set_capture_period", reason="x", **minutes)
    assert odd.status_code == 422
    assert 'data-testid="command-error"' in odd.text and "must be one of" in odd.text
    assert 'name="set_capture_period.minutes" value="7"' in odd.text  # shown back for fixing
    missing = send(client, "WEB-4", command_type="set_capture_period", reason="x")
    assert missing.status_code == 422 and "minutes: is required" in missing.text
    no_reason = send(client, "WEB-4", command_type="connect", reason=" ")
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    words = send(client, "WEB-4", command_type="read_now", reason="x", **{"read_now.days": "two"})
    assert words.status_code == 422 and "must be a whole number" in words.text
    unknown = send(client, "WEB-4", command_type="self_destruct", reason="x")
    assert unknown.status_code == 422 and "choose one of" in unknown.text
    assert nothing_requested(installation)
    token = hidden(client.get("/meters/WEB-4").text, "csrf_token")
    form = {"csrf_token": token, "command_type": "connect", "reason": "x"}
    assert client.post("/meters/NOPE/commands", data=form).status_code == 404


def test_a_request_without_the_csrf_token_is_refused(installation: Installation) -> None:
    register(installation, "WEB-5", closed_port())
    client = signed_in(installation)
    form = {"command_type": "connect", "reason": "restore supply"}
    assert client.post("/meters/WEB-5/commands", data=form).status_code == 403
    assert (
        client.post("/meters/WEB-5/commands", data={**form, "csrf_token": "x"}).status_code == 403
    )
    assert nothing_requested(installation)


def test_an_auditor_sees_the_commands_but_gets_no_form_and_cannot_send(
    installation: Installation,
) -> None:
    register(installation, "WEB-6", closed_port())
    scripted(installation, {"relay": "connected"})
    operator = signed_in(installation)
    sent = send(operator, "WEB-6", command_type="connect", reason="restore supply")
    auditor = signed_in(installation, AUDITOR)
    page = auditor.get("/meters/WEB-6")
    assert page.status_code == 200
    assert 'data-testid="command-form"' not in page.text
    assert f'href="{sent.headers["location"]}">details</a>' in page.text
    assert auditor.get(sent.headers["location"]).status_code == 200
    token = hidden(page.text, "csrf_token")
    refused = auditor.post(
        "/meters/WEB-6/commands",
        data={"csrf_token": token, "command_type": "connect", "reason": "x"},
    )
    assert refused.status_code == 403 and "need the operator role" in refused.text
    assert len(installation.head_end.history_of(command_of(sent.headers["location"]))) == 3


def test_an_unknown_command_is_a_404_page(installation: Installation) -> None:
    client = signed_in(installation)
    assert client.get("/commands/00000000-0000-0000-0000-000000000000").status_code == 404
    garbage = client.get("/commands/not-a-command")
    assert garbage.status_code == 404 and garbage.headers["content-type"].startswith("text/html")


def test_the_form_offers_only_parameters_the_commands_take() -> None:
    css = SITE_CSS.read_text()
    assert {"read_now", "disconnect", "connect", "set_capture_period", "sync_clock"} <= set(
        COMMAND_FIELDS
    )
    for command_type, fields in COMMAND_FIELDS.items():
        assert {field.name for field in fields} <= set(COMMAND_TYPES[command_type])
        if fields:  # its parameters appear when the command is chosen
            assert f'fieldset.params[data-command="{command_type}"]' in css
