"""The operators' pages over HTTP (TestClient), on SQLite; one journey on PostgreSQL too.

Pages are driven as a browser without JavaScript would: GET the form, read its hidden
fields, POST it back. Only the journey runs on both backends: the pages share the
applications' and read models' code paths, which their own suites run on both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select, update

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from adapters.web_sessions import web_sessions
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation
from interfaces.web import login_pages
from interfaces.web.pages import GUARDED

SETUP = Provenance("test", "setup", "system")
TODAY = datetime.now(UTC).date()
REGISTERED = TODAY - timedelta(days=90)
OPERATOR = ("olga", "operator-password")
AUDITOR = ("audrey", "auditor-password")
CHANNEL_KEY = "SP-1:import"


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    yield from opened(sqlite_store)


@pytest.fixture
def installation_on_each_backend(store: StoreLocation) -> Iterator[Installation]:
    yield from opened(store)


def opened(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol(*OPERATOR, ["operator"], SETUP)
    found.security.enrol(*AUDITOR, ["auditor"], SETUP)
    found.registry.create_meter(
        {"serial": "M1", "meter_type": "three-phase", "manufacturer": "Landis", "ct_ratio": "100"},
        REGISTERED,
        SETUP,
    )
    found.registry.create_meter({"serial": "M2", "meter_type": "single-phase"}, REGISTERED, SETUP)
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
        REGISTERED,
        SETUP,
    )
    yield found
    found.close()


@pytest.fixture
def client(installation: Installation) -> TestClient:
    return TestClient(create_app(installation))


def hidden(page: Response | str, name: str) -> str:
    text = page if isinstance(page, str) else page.text
    found = re.search(rf'name="{name}" value="([^"]*)"', text)
    assert found is not None, f"no hidden field {name}"
    return found.group(1)


def sign_in(client: TestClient, credentials: tuple[str, str], next_url: str = "") -> Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": credentials[0],
            "password": credentials[1],
            "csrf_token": hidden(form, "csrf_token"),
            "next": next_url,
        },
        follow_redirects=False,
    )


def signed_in(installation: Installation, credentials: tuple[str, str] = OPERATOR) -> TestClient:
    client = TestClient(create_app(installation))
    assert sign_in(client, credentials).status_code == 303
    return client


def edit(client: TestClient, serial: str, **fields: str) -> Response:
    page = client.get(f"/meters/{serial}")
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "expected_version": hidden(page, "expected_version"),
        "shown_on": hidden(page, "shown_on"),
        "effective_from": TODAY.isoformat(),
        "meter_type": "three-phase",
        "manufacturer": "Landis",
        "ct_ratio": "100",
        **fields,
    }
    return client.post(f"/meters/{serial}", data=form, follow_redirects=False)


def session_count(installation: Installation) -> int:
    engine = shared_datastore(installation.store.url).engine
    with engine.connect() as connection:  # type: ignore[union-attr]
        return int(connection.execute(select(func.count()).select_from(web_sessions)).scalar())


def test_an_operator_signs_in_edits_and_reads_the_change_back_on_each_backend(
    installation_on_each_backend: Installation,
) -> None:
    installation = installation_on_each_backend
    client = signed_in(installation)
    assert session_count(installation) == 1
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    assert edit(client, "M1", ct_ratio="200", reason="CT rebuild").status_code == 303
    assert re.search(r'data-field="ct_ratio">200<', client.get("/meters/M1").text)
    then = client.get("/meters/M1", params={"as_of": before_change.isoformat()})
    assert re.search(r'data-field="ct_ratio">100<', then.text)
    audit = client.get("/audit", params={"actor": "olga", "aggregate_type": "meter"})
    assert "1 entries" in audit.text and "<ins>200</ins>" in audit.text
    token = hidden(audit, "csrf_token")
    client.post("/logout", data={"csrf_token": token})
    assert session_count(installation) == 0


# -- signing in -------------------------------------------------------------------------


def test_every_page_sends_a_visitor_without_a_session_to_sign_in(client: TestClient) -> None:
    pages = [route for router in GUARDED for route in router().routes]
    assert all(isinstance(route, APIRoute) for route in pages)
    public = [route.path for route in login_pages.public_router().routes]  # type: ignore[attr-defined]
    assert set(public) == {"/login"}
    assert len(pages) >= 6
    for route in pages:
        assert isinstance(route, APIRoute)
        path = route.path.replace("{serial}", "M1").replace("{channel}", CHANNEL_KEY)
        for method in route.methods:
            answer = client.request(method, path, follow_redirects=False)
            assert answer.status_code == 303, f"{method} {route.path} is not guarded"
            assert answer.headers["location"].startswith("/login?next=")


def test_signing_in_returns_to_the_page_first_asked_for(client: TestClient) -> None:
    first = client.get("/meters/M1?effective=2026-01-01", follow_redirects=False)
    assert first.headers["location"] == "/login?next=%2Fmeters%2FM1%3Feffective%3D2026-01-01"
    answer = sign_in(client, OPERATOR, "/meters/M1?effective=2026-01-01")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/meters/M1?effective=2026-01-01"
    cookie = answer.headers["set-cookie"].lower()
    assert "hes_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    assert "olga" in client.get("/meters").text


def test_sign_in_never_sends_the_user_to_another_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        assert sign_in(client, OPERATOR, target).headers["location"] == "/meters"


def test_session_cookie_is_secure_when_served_over_https(installation: Installation) -> None:
    client = TestClient(create_app(installation), base_url="https://testserver")
    answer = sign_in(client, OPERATOR)
    assert "secure" in answer.headers["set-cookie"].lower()
    assert client.get("/meters").status_code == 200


def test_a_wrong_password_shows_the_form_again_with_401_and_starts_no_session(
    client: TestClient, installation: Installation
) -> None:
    answer = sign_in(client, ("olga", "not-the-password"))
    assert answer.status_code == 401
    assert "wrong username or password" in answer.text.lower()
    assert "not-the-password" not in answer.text
    assert "hes_session" not in answer.headers.get("set-cookie", "")
    assert session_count(installation) == 0
    unknown = sign_in(client, ("nobody", "whatever-password"))
    assert unknown.status_code == 401
    assert "wrong username or password" in unknown.text.lower()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: TestClient, installation: Installation
) -> None:
    for _ in range(5):
        assert sign_in(client, ("olga", "guessing-password")).status_code == 401
    locked = sign_in(client, OPERATOR)
    assert locked.status_code == 401
    assert "account locked" in locked.text.lower()
    assert session_count(installation) == 0


def test_signing_in_without_the_form_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"username": "olga", "password": OPERATOR[1]})
    assert answer.status_code == 403
    assert "hes_session" not in answer.headers.get("set-cookie", "")


def test_signing_out_ends_the_session_on_the_server(installation: Installation) -> None:
    client = signed_in(installation)
    cookie = client.cookies.get("hes_session")
    token = hidden(client.get("/meters"), "csrf_token")
    answer = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    replay = TestClient(create_app(installation), cookies={"hes_session": cookie or ""})
    assert replay.get("/meters", follow_redirects=False).status_code == 303
    assert session_count(installation) == 0


def test_a_session_survives_a_restart_and_ends_when_it_expires(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    restarted = TestClient(create_app(installation), cookies=dict(client.cookies))
    assert restarted.get("/meters").status_code == 200
    engine = shared_datastore(installation.store.url).engine
    with engine.begin() as connection:  # type: ignore[union-attr]
        connection.execute(update(web_sessions).values(expires_at=datetime.now(UTC)))
    assert restarted.get("/meters", follow_redirects=False).status_code == 303


# -- meters -----------------------------------------------------------------------------


def test_the_meter_list_shows_registered_meters_and_searches_them(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    page = client.get("/meters")
    assert page.status_code == 200
    assert 'href="/meters/M1"' in page.text and 'href="/meters/M2"' in page.text
    assert "2 meters" in page.text
    found = client.get("/meters", params={"search": "landis"})
    assert 'href="/meters/M1"' in found.text and 'href="/meters/M2"' not in found.text
    assert "1 of 2 meters match" in found.text


def test_the_meter_page_shows_attributes_as_known_at_a_past_time(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    assert edit(client, "M1", ct_ratio="200", reason="CT rebuild").status_code == 303
    now = client.get("/meters/M1")
    assert re.search(r'data-field="ct_ratio">200<', now.text)
    then = client.get("/meters/M1", params={"as_of": before_change.isoformat()})
    assert then.status_code == 200
    assert re.search(r'data-field="ct_ratio">100<', then.text)
    yesterday = client.get("/meters/M1", params={"effective": str(TODAY - timedelta(days=1))})
    assert re.search(r'data-field="ct_ratio">100<', yesterday.text)
    assert "from " + TODAY.isoformat() in now.text  # the CT ratio timeline


def test_an_edit_records_a_change_by_the_signed_in_user_from_the_ui(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    answer = edit(client, "M1", ct_ratio="150", reason="CT rebuild", reason_code="R12")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/meters/M1?saved=2"
    change = installation.registry.history("meter", "M1")[-1]
    assert type(change).__name__ == "Changed"
    assert (change.actor, change.source, change.reason) == ("olga", "ui", "CT rebuild")
    assert change.changes == {"ct_ratio": "150"}  # untouched fields are not re-recorded
    assert change.effective_from == TODAY.isoformat()


def test_the_correction_box_records_a_correction_of_the_period(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    answer = edit(client, "M1", ct_ratio="120", reason="typo at install", correction="on")
    assert answer.status_code == 303
    correction = installation.registry.history("meter", "M1")[-1]
    assert type(correction).__name__ == "Corrected"
    meter = installation.registry.get("meter", "M1")
    assert meter.attributes_on(REGISTERED)["ct_ratio"] == "120"


def test_an_invalid_edit_shows_the_domain_message_and_records_nothing(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    answer = edit(client, "M1", ct_ratio="-5", reason="oops")
    assert answer.status_code == 422
    assert "must be positive" in answer.text
    assert 'value="-5"' in answer.text  # the input is shown back for fixing
    no_reason = edit(client, "M1", ct_ratio="300", reason=" ")
    assert no_reason.status_code == 422
    assert "a reason is required" in no_reason.text
    assert len(installation.registry.history("meter", "M1")) == 1


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    page = client.get("/meters/M1")
    form = {"expected_version": hidden(page, "expected_version"), "ct_ratio": "999", "reason": "x"}
    assert client.post("/meters/M1", data=form).status_code == 403
    forged = client.post("/meters/M1", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert len(installation.registry.history("meter", "M1")) == 1


def test_an_auditor_reads_meters_but_gets_no_edit_form_and_cannot_post(
    installation: Installation,
) -> None:
    client = signed_in(installation, AUDITOR)
    page = client.get("/meters/M1")
    assert page.status_code == 200
    assert 'name="expected_version"' not in page.text
    token = hidden(page, "csrf_token")
    refused = client.post("/meters/M1", data={"csrf_token": token, "ct_ratio": "5", "reason": "x"})
    assert refused.status_code == 403
    assert len(installation.registry.history("meter", "M1")) == 1


def test_sealed_secrets_are_never_rendered(installation: Installation) -> None:
    installation.registry.create_meter(
        {"serial": "M-S", "meter_type": "single-phase", "security_profile": "lls"},
        REGISTERED,
        SETUP,
        secrets={"lls_password": "Sup3rS3cretLLS"},
    )
    page = signed_in(installation).get("/meters/M-S")
    assert page.status_code == 200
    assert "sealed: lls_password" in page.text
    assert "Sup3rS3cretLLS" not in page.text and "vault:" not in page.text


def test_an_unknown_meter_is_a_404_page(installation: Installation) -> None:
    page = signed_in(installation).get("/meters/NOPE")
    assert page.status_code == 404
    assert "NOPE" in page.text and page.headers["content-type"].startswith("text/html")


# -- channels and audit -----------------------------------------------------------------


def record(installation: Installation, start: datetime, values: list[float]) -> None:
    installation.readings.record_block(
        Channel.id_for(CHANNEL_KEY),
        15,
        start,
        np.array(values),
        np.zeros(len(values), dtype=np.uint8),
        SETUP,
    )


def test_the_channel_page_shows_intervals_in_chart_data_and_table(
    installation: Installation,
) -> None:
    midnight = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    record(installation, midnight, [1.25, 2.5, 3.75, 5.0])
    client = signed_in(installation)
    meter = client.get("/meters/M1")
    link = f"/channels/{Channel.id_for(CHANNEL_KEY)}"
    assert f'href="{link}"' in meter.text
    page = client.get(link)
    assert page.status_code == 200
    assert page.text.count('<tr class="q-raw">') == 4
    assert "3.750" in page.text
    assert '"values": [1.25, 2.5, 3.75, 5.0]' in page.text
    assert "/static/chart.js" in page.text
    assert client.get("/static/chart.js").status_code == 200
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200


def test_the_channel_page_shows_values_as_known_at_a_past_time(
    installation: Installation,
) -> None:
    start = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) - timedelta(days=1)
    record(installation, start, [1.0, 1.0])
    first_known = datetime.now(UTC)
    time.sleep(0.01)
    record(installation, start, [7.0, 7.0])
    client = signed_in(installation)
    now = client.get(f"/channels/{CHANNEL_KEY}")
    assert "7.000" in now.text and "1.000" not in now.text
    then = client.get(f"/channels/{CHANNEL_KEY}", params={"as_of": first_known.isoformat()})
    assert "1.000" in then.text and "7.000" not in then.text
    bad = client.get(f"/channels/{CHANNEL_KEY}", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert bad.status_code == 422 and "must not be before from" in bad.text


def test_the_audit_page_lists_the_change_and_filters_by_actor(
    installation: Installation,
) -> None:
    client = signed_in(installation)
    assert edit(client, "M1", ct_ratio="250", reason="CT rebuild").status_code == 303
    page = client.get("/audit", params={"actor": "olga"})
    assert page.status_code == 200
    assert "1 entries" in page.text
    assert "CT rebuild" in page.text and "<ins>250</ins>" in page.text
    everything = client.get("/audit")
    assert "setup" in everything.text
    assert client.get("/audit", params={"since": "yesterday"}).status_code == 422


def test_pages_carry_a_content_security_policy(installation: Installation) -> None:
    page = signed_in(installation).get("/meters")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
