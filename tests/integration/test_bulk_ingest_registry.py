"""A long-running bulk ingest keeps channels between batches and follows the registry:
a channel changed since the last batch is read afresh, the others are not read again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.bulk_ingest import BulkIngest
from domain.channel import Channel
from tests.integration.test_bulk_ingest import (
    DAY,
    DEVICE,
    SETUP,
    Side,
    delivery,
    household,
    start_of,
)


def spiky(day_offset: int) -> Any:
    values = household(DAY + timedelta(days=day_offset))
    values[40] *= 40
    return values


def test_a_channel_changed_between_batches_is_read_again_and_only_it(side: Side) -> None:
    loaded: list[set[UUID]] = []
    original = side.registry.get_many_as_of

    def counting(ids: Any, as_of: Any) -> Any:
        loaded.append(set(ids))
        return original(ids, as_of)

    side.registry.get_many_as_of = counting  # type: ignore[method-assign]
    bulk = BulkIngest(side.registry, side.readings)
    first = bulk.ingest(
        [delivery(key, start_of(DAY), spiky(0)) for key in ("SP-1:A+", "SP-3:A+")], DEVICE
    )
    # SP-1's spikes fail from the next day on: the strict rule set.
    side.registry.change("channel", "SP-1:A+", {"rule_set": "strict"}, DAY, SETUP)
    second = bulk.ingest(
        [
            delivery(key, start_of(DAY + timedelta(days=1)), spiky(1))
            for key in ("SP-1:A+", "SP-3:A+")
        ],
        DEVICE,
    )

    assert [outcome.failed for outcome in first] == [0, 0]  # the default: a spike warns
    assert [outcome.failed for outcome in second] == [1, 0]
    assert loaded == [
        {Channel.id_for("SP-1:A+"), Channel.id_for("SP-3:A+")},
        {Channel.id_for("SP-1:A+")},
    ]


def test_an_unknown_channel_is_refused_by_name(side: Side) -> None:
    bulk = BulkIngest(side.registry, side.readings)

    with pytest.raises(LookupError, match="SP-9"):
        bulk.ingest([delivery("SP-9:A+", start_of(DAY), household(DAY))], DEVICE)
