"""Fixtures shared by the integration tests of the bulk VEE path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import store_for
from tests.integration.test_bulk_ingest import Side, opened


@pytest.fixture
def side(backend: str, tmp_path: Path) -> Iterator[Side]:
    """The bulk-ingest tests' registry set-up (channels SP-1.. , a strict rule set,
    billing's outage credit) on a fresh store of ``backend``."""
    with store_for(backend, tmp_path / "store") as location:
        opened_side = opened(location)
        yield opened_side
        opened_side.close()
