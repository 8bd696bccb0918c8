"""What a simulated meter can be told to do: its supply relay (disconnect control, class
70), and the settings the HES writes (limiter, demand period, billing date, activity
calendar, push setup). Pure Python; `meter_controls` maps them onto COSEM attributes.
"""

from __future__ import annotations

import datetime as dt
import enum
from bisect import bisect_right
from dataclasses import dataclass, field

from adapters.dlms.event_logs import EventCode


class ControlState(enum.IntEnum):
    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


# Modes whose remote_reconnect goes straight to "connected" (transition a of the Blue
# Book); the others only make the relay ready for a manual reconnection (transition d).
DIRECT_REMOTE_RECONNECT = frozenset({2, 4})


class RelayRefused(Exception):
    """The control mode does not allow this transition."""


@dataclass
class Relay:
    """The supply relay with its history, so that every interval knows whether power
    flowed (a disconnected meter measures nothing)."""

    control_mode: int = 4  # remote disconnect and direct remote reconnect, no manual
    state: ControlState = ControlState.CONNECTED
    _changes: list[tuple[dt.datetime, bool]] = field(default_factory=list)
    # What the disconnector control log shows: (meter time, event code) per transition.
    events: list[tuple[dt.datetime, int]] = field(default_factory=list)

    @property
    def output_state(self) -> bool:
        return self.state is ControlState.CONNECTED

    def remote_disconnect(self, at: dt.datetime) -> None:
        if self.control_mode == 0:
            raise RelayRefused("control mode 0: always connected")
        self._move(ControlState.DISCONNECTED, at, EventCode.REMOTE_DISCONNECTION)

    def remote_reconnect(self, at: dt.datetime) -> None:
        if self.control_mode == 0:
            raise RelayRefused("control mode 0: always connected")
        if self.state is ControlState.CONNECTED:
            return
        if self.control_mode in DIRECT_REMOTE_RECONNECT:
            self._move(ControlState.CONNECTED, at, EventCode.REMOTE_CONNECTION)
        else:
            self._move(
                ControlState.READY_FOR_RECONNECTION, at, EventCode.READY_FOR_MANUAL_RECONNECTION
            )

    def manual_reconnect(self, at: dt.datetime) -> None:
        """The customer pressed the button (transition e)."""
        if self.state is ControlState.READY_FOR_RECONNECTION:
            self._move(ControlState.CONNECTED, at, EventCode.MANUAL_CONNECTION)

    def _move(self, state: ControlState, at: dt.datetime, code: EventCode) -> None:
        was = self.output_state
        if state is not self.state:
            self.events.append((at, int(code)))
        self.state = state
        if self.output_state != was:
            self._changes.append((at, self.output_state))

    def supplied_at(self, moment: dt.datetime) -> bool:
        """Whether the relay was closed at `moment` (meter time)."""
        index = bisect_right([at for at, _closed in self._changes], moment)
        return True if index == 0 else self._changes[index - 1][1]

    def supplied_throughout(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Closed from `start` up to `end`: an interval with any outage measures nothing
        (the simulator does not prorate partial intervals)."""
        opened_inside = any(start < at < end and not closed for at, closed in self._changes)
        return self.supplied_at(start) and not opened_inside


@dataclass
class MeterSettings:
    """Values the HES writes and reads back. `written` holds the attributes the meter only
    stores (calendar tables, schedules, push objects) as the encoded bytes received."""

    current_threshold: int = 0  # current limiter threshold_active, mA
    power_threshold: int = 0  # limiter threshold active power, W
    demand_period_seconds: int = 900
    written: dict[tuple[str, int], bytes] = field(default_factory=dict)
