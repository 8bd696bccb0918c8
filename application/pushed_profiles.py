"""Load profiles that meters push, recorded into the channels the meter's load profile
feeds, exactly as a read of the same entries would record them (validated and estimated
when the collection has a workflow). The same push twice records nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from application.collection import Collection, ProfileInterval
from domain.provenance import Provenance

PUSHED = Provenance(
    actor="hes-push-listener", reason="load profile pushed", reason_code="PUSH", source="device"
)


class PushedLoadProfiles:
    def __init__(
        self, collection: Collection, channels_fed_by: Callable[[str], Sequence[str]]
    ) -> None:
        self.collection = collection
        # Which channels a meter's load profile feeds: the registry knows, through a read
        # model the adapter consults.
        self.channels_fed_by = channels_fed_by

    def record(self, serial: str, intervals: Sequence[ProfileInterval]) -> int:
        """Records the entries in every channel the meter feeds; returns the intervals
        that were new or changed."""
        if not intervals:
            return 0
        recorded = 0
        for channel_key in self.channels_fed_by(serial):
            outcome = self.collection.record_intervals(channel_key, intervals, PUSHED)
            recorded += outcome.intervals
        return recorded
