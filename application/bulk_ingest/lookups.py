"""Channel settings and built rule sets of a bulk ingest's deliveries, kept between
batches while the registry records nothing new for them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, timedelta
from typing import cast
from uuid import UUID

import numpy as np

from application.bulk_ingest.plans import Planned
from application.registry import Registry
from application.vee_workflow import Delivery, VeeWorkflow
from domain.channel import Channel
from domain.channel_day import BlockOutOfDay, day_start
from domain.vee.rule_set import RuleSetVersion
from domain.vee.series import (
    ValidationRule,
)


class RegistryLookups:
    def __init__(self, registry: Registry, workflow: VeeWorkflow) -> None:
        self.registry = registry
        self.workflow = workflow  # its rule-set lookup, the one-by-one path's own
        self._built: dict[str, list[ValidationRule]] = {}
        self._registry_position: int | None = None
        self._channels: dict[str, Channel] = {}
        self._rule_sets: dict[tuple[str | None, date], list[ValidationRule]] = {}

    def planned(self, deliveries: Sequence[Delivery]) -> list[Planned]:
        self._follow_registry()
        channels, rule_sets = self._channels, self._rule_sets
        self._load_channels({delivery.channel_key for delivery in deliveries} - channels.keys())
        plans = []
        for index, delivery in enumerate(deliveries):
            if delivery.start.tzinfo is None:
                raise BlockOutOfDay("interval times must be timezone-aware")
            start = delivery.start.astimezone(UTC)
            key = delivery.channel_key
            if key not in channels:
                channels[key] = self.registry.get("channel", key)  # raises: unknown channel
            settings = channels[key].attributes_on(start.date())
            interval = int(settings["interval_minutes"])
            if 1440 % interval or (start - day_start(start.date())) % timedelta(minutes=interval):
                raise BlockOutOfDay(f"{start.isoformat()} is not on a {interval} min boundary")
            name = settings.get("rule_set")
            if (name, start.date()) not in rule_sets:
                version = self.workflow.rule_set_on(name, start)
                rule_sets[(name, start.date())] = self._rules(version)
            plans.append(
                Planned(
                    index=index,
                    delivery=delivery,
                    channel_id=Channel.id_for(key),
                    interval=interval,
                    start=start,
                    values=np.asarray(delivery.values, dtype=np.float64),
                    statuses=np.asarray(delivery.statuses, dtype=np.uint8),
                    settings=settings,
                    rules=rule_sets[(name, start.date())],
                )
            )
        return plans

    def _follow_registry(self) -> None:
        """Drops what the registry recorded something new for since the last batch.

        Registry reads cost milliseconds each, so channels are kept across batches; a
        channel's own events say when its copy is stale (a new rule-set version may
        concern any day: the rule sets are read afresh)."""
        position = self.registry.recorder.max_notification_id()
        if position == self._registry_position:
            return
        changed: set[UUID] | None = set()
        after = self._registry_position
        while after is not None and changed is not None and after < (position or 0):
            found = self.registry.recorder.select_notifications(
                start=after, limit=1_000, inclusive_of_start=False
            )
            if not found or len(changed) > 10_000:
                changed = None  # a whole new registry, or nothing readable: start afresh
                break
            changed.update(cast(UUID, n.originator_id) for n in found)
            after = found[-1].id
        if after is None or changed is None:
            self._channels.clear()
        else:
            for key in [k for k in self._channels if Channel.id_for(k) in changed]:
                del self._channels[key]
        self._rule_sets.clear()
        self._registry_position = position

    def _load_channels(self, keys: Collection[str]) -> None:
        """The channels not kept yet, in one read (unknown ones are left out)."""
        ids = {Channel.id_for(key): key for key in keys}
        for channel_id, channel in self.registry.get_many_as_of(list(ids), None).items():
            if isinstance(channel, Channel):
                self._channels[ids[channel_id]] = channel

    def _rules(self, version: RuleSetVersion) -> list[ValidationRule]:
        # Rules are stateless (parameters only), so one built set serves every delivery.
        key = version.to_json()
        if key not in self._built:
            self._built[key] = version.build()
        return self._built[key]
