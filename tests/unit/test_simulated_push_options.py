"""`hes simulate --push-to ...` read into push settings, or refused with a clear message."""

from __future__ import annotations

import datetime as dt

import pytest
import typer

from interfaces.cli.simulated_push_options import push_settings


def test_without_a_destination_the_meters_do_not_push() -> None:
    assert push_settings(None, "udp", 15, None) is None


def test_a_destination_becomes_push_settings() -> None:
    settings = push_settings("10.0.0.5:4059", "tcp", 0.5, 8)

    assert settings is not None
    assert (settings.destination.host, settings.destination.port) == ("10.0.0.5", 4059)
    assert settings.destination.transport == "tcp"
    assert (settings.every, settings.entries) == (dt.timedelta(seconds=30), 8)


@pytest.mark.parametrize(
    ("push_to", "transport"),
    [("4059", "udp"), ("host:port", "udp"), ("host:70000", "udp"), ("host:4059", "sctp")],
)
def test_a_malformed_destination_is_refused(push_to: str, transport: str) -> None:
    with pytest.raises(typer.BadParameter):
        push_settings(push_to, transport, 15, None)
