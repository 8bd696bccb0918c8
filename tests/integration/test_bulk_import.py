"""Bulk import on real SQLite and PostgreSQL: every bad row reported, all or nothing saved."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.secrets.vault import SqlSecretVault, sealed_secrets
from application.bulk_import import IMPORT_ORDER, BulkImport, checks
from application.registry import Registry
from domain.provenance import Provenance

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
IMPORT = Provenance(actor="ops", reason="initial load from the old billing system", source="import")


@pytest.fixture
def registry(store: StoreLocation) -> Iterator[Registry]:
    registry = Registry(env=store.application_env())
    engine = shared_datastore(store.url).engine
    registry.vault = SqlSecretVault(engine, os.urandom(32))  # type: ignore[arg-type]
    yield registry
    registry.close()


@pytest.fixture(params=["log", "per key"])
def lookups(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which keys are registered: read from the notification log, or asked key by key."""
    if request.param == "per key":
        monkeypatch.setattr(checks, "_EVENTS_PER_ROW_WORTH_READING", 0)
    return str(request.param)


def sample_files() -> dict[str, str]:
    return {kind: (SAMPLES / f"{kind}.csv").read_text(encoding="utf-8") for kind in IMPORT_ORDER}


def stored_states(registry: Registry) -> list[bytes]:
    return [n.state for n in registry.recorder.select_notifications(start=1, limit=10_000)]


def sealed_count(store: StoreLocation) -> int:
    with shared_datastore(store.url).engine.connect() as connection:  # type: ignore[union-attr]
        return connection.execute(select(func.count()).select_from(sealed_secrets)).scalar_one()


def customers(count: int, bad: dict[int, str] | None = None) -> str:
    """A customer file of ``count`` rows; ``bad`` replaces the row on a given line."""
    lines = ["customer_id,name,phone"]
    lines += [f"C{line:03d},Customer {line},+49 30 {line:07d}" for line in range(2, count + 2)]
    for line, row in (bad or {}).items():
        lines[line - 1] = row
    return "\n".join(lines) + "\n"


def test_a_clean_multi_kind_import_registers_everything_and_a_repeat_changes_nothing(
    registry: Registry,
) -> None:
    first = BulkImport(registry).run(sample_files(), IMPORT)
    recorded = registry.recorder.max_notification_id()
    again = BulkImport(registry).run(sample_files(), IMPORT)

    assert first.accepted, first.problems
    assert first.created == dict.fromkeys(IMPORT_ORDER, 3)
    assert registry.exists("service_point", "SP-4002")
    assert registry.get("channel", "SP-4003:A+").attributes_on(date(2025, 1, 1))[
        "meter_serial"
    ] == ("SAMPLE0003")
    assert again.accepted, again.problems
    assert again.created == dict.fromkeys(IMPORT_ORDER, 0)
    assert again.unchanged == dict.fromkeys(IMPORT_ORDER, 3)
    assert registry.recorder.max_notification_id() == recorded


def test_three_bad_rows_among_fifty_are_reported_by_line_and_nothing_is_saved(
    registry: Registry,
) -> None:
    text = customers(
        50,
        bad={
            11: "C011,,+49 30 11",  # no name
            27: "C012,Someone Else,+49 30 12",  # the key of line 12 again
            40: "C040,Customer 40," + "9" * 41,  # phone longer than 40 characters
        },
    )

    report = BulkImport(registry).run({"customer": text}, IMPORT)

    assert not report.accepted
    assert [(p.line, p.column) for p in report.problems] == [
        (11, "name"),
        (27, "customer_id"),
        (40, "phone"),
    ]
    assert report.problems[0].reason == "is required"
    assert "already on line 12" in report.problems[1].reason
    assert "longer than 40 characters" in report.problems[2].reason
    assert report.created == {"customer": 0}
    assert not registry.exists("customer", "C002")
    assert not registry.exists("customer", "C051")
    assert registry.recorder.max_notification_id() is None


def test_a_bad_row_in_one_file_keeps_every_other_file_of_the_import_out(
    registry: Registry,
) -> None:
    files = sample_files()
    files["channel"] += "SP-4003:A-,SP-4003,Export,metered,kWh,7,SAMPLE0003,1.0.2.29.0.255,,,\n"

    report = BulkImport(registry).run(files, IMPORT)

    assert [(p.kind, p.line, p.column) for p in report.problems] == [
        ("channel", 5, "interval_minutes")
    ]
    assert not registry.exists("customer", "C-1001")
    assert registry.recorder.max_notification_id() is None


def test_a_reference_to_a_premise_in_neither_the_import_nor_the_registry_is_reported(
    registry: Registry, lookups: str
) -> None:
    registry.register("customer", {"customer_id": "C1", "name": "Anna"}, date(2025, 1, 1), IMPORT)
    accounts = (
        "account_key,account_number,customer_id,premise_id\n"
        "A1,100-1,C1,\n"  # a customer in the registry, no premise
        "A2,100-2,C1,P-404\n"
        "A3,100-3,C2,P1\n"  # both in the premise file below
    )
    premises = "premise_id,address\nP1,Marktplatz 3\n"
    recorded = registry.recorder.max_notification_id()

    report = BulkImport(registry).run({"account": accounts, "premise": premises}, IMPORT)

    assert [(p.kind, p.line, p.column) for p in report.problems] == [
        ("account", 3, "premise_id"),
        ("account", 4, "customer_id"),
    ]
    assert (
        report.problems[0].reason == "premise 'P-404' is neither in this import nor in the registry"
    )
    assert not registry.exists("premise", "P1")
    assert registry.recorder.max_notification_id() == recorded


def test_a_key_registered_with_other_values_is_a_conflict_and_the_same_values_are_unchanged(
    registry: Registry, lookups: str
) -> None:
    registry.register("customer", {"customer_id": "C1", "name": "Anna"}, date(2025, 1, 1), IMPORT)
    registry.register("customer", {"customer_id": "C2", "name": "Bert"}, date(2025, 1, 1), IMPORT)
    # No effective_from column: the rows mean "as registered", whenever that was.
    text = "customer_id,name,email\nC1,Anna,\nC2,Bertram,\nC3,Cora,cora@example.org\n"
    redated = "customer_id,name,effective_from\nC1,Anna,2025-02-01\n"

    refused = BulkImport(registry).check({"customer": text}, IMPORT)
    refused_date = BulkImport(registry).check({"customer": redated}, IMPORT)
    accepted = BulkImport(registry).run({"customer": text.replace("Bertram", "Bert")}, IMPORT)

    assert [(p.line, p.column) for p in refused.problems] == [(3, "customer_id")]
    assert "already registered with other values for name" in refused.problems[0].reason
    assert [p.line for p in refused_date.problems] == [2]
    assert "with effect from 2025-01-01" in refused_date.problems[0].reason
    assert accepted.accepted, accepted.problems
    assert (accepted.created, accepted.unchanged) == ({"customer": 1}, {"customer": 2})


def test_a_meter_password_is_sealed_never_recorded_and_a_repeat_with_it_is_unchanged(
    registry: Registry,
) -> None:
    password = "Pa55-only-in-the-vault"
    meters = (
        "serial;meter_type;security_profile;lls_password;effective_from\n"
        f"M1;single-phase;lls;{password};2025-01-01\n"
    )

    first = BulkImport(registry).run({"meter": meters}, IMPORT)
    again = BulkImport(registry).run({"meter": meters}, IMPORT)
    other = BulkImport(registry).check({"meter": meters.replace(password, "guess")}, IMPORT)

    assert first.created == {"meter": 1}
    assert registry.meter_secret("M1", "lls_password", date(2025, 1, 1)) == password
    states = stored_states(registry)
    assert any(b"single-phase" in state for state in states)  # the scan can see values
    assert not any(password.encode() in state for state in states)
    assert again.unchanged == {"meter": 1}
    assert [(p.line, p.column) for p in other.problems] == [(2, "serial")]
    assert "lls_password" in other.problems[0].reason
    assert "guess" not in other.problems[0].reason


def test_a_dry_run_counts_what_would_be_created_and_saves_and_seals_nothing(
    registry: Registry, store: StoreLocation
) -> None:
    report = BulkImport(registry).check(sample_files(), IMPORT)

    assert report.accepted, report.problems
    assert report.created == dict.fromkeys(IMPORT_ORDER, 3)
    assert registry.recorder.max_notification_id() is None
    assert sealed_count(store) == 0


def test_a_meter_takes_the_defaults_of_its_template_and_its_own_values_win(
    registry: Registry,
) -> None:
    registry.register(
        "template",
        {
            "name": "ct-meter",
            "meter_defaults": {"meter_type": "three-phase-ct", "ct_ratio": "40"},
        },
        date(2025, 1, 1),
        IMPORT,
    )
    meters = "serial,template,ct_ratio\nM1,ct-meter,\nM2,ct-meter,80\nM3,no-such-template,\n"

    refused = BulkImport(registry).check({"meter": meters}, IMPORT)
    report = BulkImport(registry).run({"meter": meters.rsplit("M3", 1)[0]}, IMPORT)

    assert [(p.line, p.column) for p in refused.problems] == [(4, "template")]
    assert report.created == {"meter": 2}
    first = registry.get("meter", "M1").attributes_on(date.today())
    second = registry.get("meter", "M2").attributes_on(date.today())
    assert (first["meter_type"], first["ct_ratio"], first["template"]) == (
        "three-phase-ct",
        "40",
        "ct-meter",
    )
    assert second["ct_ratio"] == "80"


def test_secrets_are_refused_when_the_registry_has_no_vault(registry: Registry) -> None:
    registry.vault = None
    meters = "serial,meter_type,security_profile,lls_password\nM1,single-phase,lls,secret\n"

    report = BulkImport(registry).run({"meter": meters}, IMPORT)

    assert [(p.line, p.column) for p in report.problems] == [(1, "lls_password")]
    assert registry.recorder.max_notification_id() is None


def test_a_missing_required_column_is_reported_once_and_not_again_on_every_row(
    registry: Registry,
) -> None:
    text = "customer_id,email\nC1,a@example.org\nC2,b@example.org\nC3,\n"

    report = BulkImport(registry).check({"customer": text}, IMPORT)

    assert [(p.line, p.column) for p in report.problems] == [(1, "name")]
