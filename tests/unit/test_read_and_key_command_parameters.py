"""Parameters of read_registers, read_events, set_thresholds and change_keys are checked
before anything is recorded; new keys are wrapped as RFC 3394 says."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from adapters.dlms.key_transfer import key_transfer_parameter
from domain.command_types import InvalidCommandParameters, check_parameters


def test_read_events_takes_known_logs_and_a_range_that_ends_after_it_starts() -> None:
    checked = check_parameters(
        "read_events",
        {
            "logs": ["fraud", "standard", "fraud"],
            "start": "2026-03-01T00:00:00+01:00",
            "end": "2026-03-01T00:30:00+00:00",
        },
    )
    assert checked["logs"] == ["fraud", "standard"]
    with pytest.raises(InvalidCommandParameters, match="logs: must be a non-empty list"):
        check_parameters("read_events", {"logs": ["alarms"]})
    # 00:30+01:00 is 23:30 UTC the day before: before the start.
    with pytest.raises(InvalidCommandParameters, match="end: must be after start"):
        check_parameters(
            "read_events",
            {"start": "2026-03-01T00:00:00+00:00", "end": "2026-03-01T00:30:00+01:00"},
        )
    with pytest.raises(InvalidCommandParameters, match="time zone"):
        check_parameters("read_events", {"start": "2026-03-01T00:00:00"})


def test_read_registers_takes_up_to_62_days_of_billing_snapshots() -> None:
    assert check_parameters("read_registers", {"billing_days": 62}) == {"billing_days": 62}
    with pytest.raises(InvalidCommandParameters, match="billing_days"):
        check_parameters("read_registers", {"billing_days": 63})


def test_thresholds_are_kept_as_exact_text_per_monitor() -> None:
    checked = check_parameters(
        "set_thresholds",
        {"thresholds": [{"monitor": "0.0.16.1.0.255", "values": [32.5, 40, "0.001"]}]},
    )
    assert checked["thresholds"] == [
        {"monitor": "0.0.16.1.0.255", "values": ["32.5", "40", "0.001"]}
    ]
    for wrong, problem in (
        ([{"monitor": "0.0.16.1.0", "values": [1]}], "logical name"),
        ([{"monitor": "0.0.16.1.0.256", "values": [1]}], "0-255"),
        ([{"monitor": "0.0.16.1.0.255", "values": [-1]}], "not negative"),
        ([{"monitor": "0.0.16.1.0.255", "values": ["NaN"]}], "finite"),
        ([{"monitor": "0.0.16.1.0.255", "values": [1, 2, 3, 4, 5]}], "1 to 4"),
        ([{"monitor": "0.0.16.1.0.255", "values": [True]}], "a number"),
        ([{"monitor": "0.0.16.1.0.255", "values": [1], "unit": "A"}], "nothing else"),
        ([], "non-empty"),
    ):
        with pytest.raises(InvalidCommandParameters, match=problem):
            check_parameters("set_thresholds", {"thresholds": wrong})


def test_new_keys_are_named_by_sealed_references_never_given_in_clear() -> None:
    with pytest.raises(InvalidCommandParameters, match="never a secret"):
        check_parameters(
            "change_keys",
            {
                "block_cipher_key_ref": "000102030405060708090a0b0c0d0e0f",
                "authentication_key_ref": "vault:abc",
            },
        )


def test_keys_are_wrapped_under_the_master_key_as_rfc_3394_says() -> None:
    kek = bytes(range(16))
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    parameter = key_transfer_parameter(kek, {2: key, 0: key})
    wrapped = bytes.fromhex("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5")  # RFC 3394 4.1
    # array of 2 {enum key_id, octet-string(24) wrapped key}, key ids in order
    entries = [bytes((2, 2, 22, key_id, 9, 24)) + wrapped for key_id in (0, 2)]
    assert parameter.encode() == bytes((1, 2)) + b"".join(entries)
    assert aes_key_unwrap(kek, wrapped) == key
    with pytest.raises(ValueError, match="16 octets"):
        key_transfer_parameter(kek, {0: key[:15]})
