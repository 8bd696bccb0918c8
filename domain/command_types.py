"""The commands a head end sends to meters, and the parameters each one takes.

Parameters are checked here so that a malformed request is refused before anything is
recorded or sent. Secrets (new passwords and keys) are never parameters: a command names
the sealed secret reference to install instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# The meter's event logs a read_events command may name.
EVENT_LOG_NAMES = ("standard", "fraud", "disconnector", "power_quality")
MAX_THRESHOLDS = 4  # per register monitor
_LOGICAL_NAME = re.compile(r"^\d{1,3}(\.\d{1,3}){5}$")


class InvalidCommandParameters(ValueError):
    pass


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return check


def _one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}")
        return value

    return check


def _iso_datetime(value: Any) -> str:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("must be an ISO date-time with a time zone")
    return moment.isoformat()


def _iso_date(value: Any) -> str:
    return date.fromisoformat(str(value)).isoformat()


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("must be a positive number")
    return float(value)


def _secret_reference(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("vault:"):
        raise ValueError("must be a sealed secret reference (vault:...), never a secret")
    return value


def _subset_of(*choices: str) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not value or not set(value) <= set(choices):
            raise ValueError(f"must be a non-empty list of {', '.join(choices)}")
        return list(dict.fromkeys(value))

    return check


def _logical_name(value: Any) -> str:
    if not isinstance(value, str) or not _LOGICAL_NAME.match(value):
        raise ValueError("must be a logical name (OBIS code a.b.c.d.e.f)")
    if any(int(part) > 255 for part in value.split(".")):
        raise ValueError("each group of a logical name is 0-255")
    return value


def _non_negative_decimal(value: Any) -> str:
    """Kept as text: an exact value in the monitored quantity's unit."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number")
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not exact.is_finite() or exact < 0:
        raise ValueError("must be a finite number, not negative")
    return str(exact)


def _thresholds(value: Any) -> list[dict[str, Any]]:
    """[{"monitor": "0.0.16.1.0.255", "values": [40, "63.5"]}]: a register monitor and its
    thresholds in the unit of the value it monitors."""
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of {monitor, values}")
    checked = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"monitor", "values"}:
            raise ValueError("each item is {monitor, values} and nothing else")
        values = item["values"]
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_THRESHOLDS:
            raise ValueError(f"values: 1 to {MAX_THRESHOLDS} thresholds per monitor")
        checked.append(
            {
                "monitor": _logical_name(item["monitor"]),
                "values": [_non_negative_decimal(threshold) for threshold in values],
            }
        )
    return checked


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("must be a list of objects")
    return value


# command type -> {parameter: (required, check)}
COMMAND_TYPES: dict[str, dict[str, tuple[bool, Callable[[Any], Any]]]] = {
    "read_now": {"days": (False, _int_between(1, 31))},
    "read_registers": {"billing_days": (False, _int_between(0, 62))},
    "read_events": {
        "logs": (False, _subset_of(*EVENT_LOG_NAMES)),
        "days": (False, _int_between(1, 366)),
        "start": (False, _iso_datetime),
        "end": (False, _iso_datetime),
    },
    "connect": {},
    "disconnect": {},
    "set_control_mode": {"mode": (True, _int_between(0, 6))},
    "set_load_limit": {
        "current_threshold_a": (False, _positive_number),
        "power_threshold_w": (False, _positive_number),
    },
    # What a limiter's crossing makes the relay do: its actions over and under the
    # threshold, after how long over (or back under) it.
    "set_disconnect_triggers": {
        "limiter": (False, _one_of("power", "current")),
        "over_threshold": (True, _one_of("disconnect", "none")),
        "under_threshold": (True, _one_of("reconnect", "none")),
        "min_over_threshold_seconds": (False, _int_between(0, 86_400)),
        "min_under_threshold_seconds": (False, _int_between(0, 86_400)),
    },
    "set_auto_reconnect": {
        "attempts": (True, _int_between(0, 255)),
        "interval_seconds": (True, _int_between(1, 86_400)),
    },
    "set_lockout_period": {"seconds": (True, _int_between(0, 86_400))},
    "set_capture_period": {"minutes": (True, _one_of(1, 5, 10, 15, 30, 60))},
    "set_demand_period": {"minutes": (True, _one_of(1, 5, 10, 15, 30, 60))},
    "set_activity_calendar": {
        "calendar": (True, _list_of_dicts),
        "activate_on": (True, _iso_date),
    },
    "set_billing_date": {"day_of_month": (True, _int_between(1, 28))},
    "change_password": {"secret_ref": (True, _secret_reference)},
    "change_keys": {
        "block_cipher_key_ref": (True, _secret_reference),
        "authentication_key_ref": (True, _secret_reference),
    },
    "set_push_schedule": {
        "schedule": (True, _list_of_dicts),
        "objects": (True, _list_of_dicts),
    },
    "set_thresholds": {"thresholds": (True, _thresholds)},
    "set_clock": {"time": (True, _iso_datetime)},
    "sync_clock": {"max_drift_seconds": (False, _int_between(0, 3600))},
    "firmware_upgrade": {
        "image_id": (True, str),
        "activate_at": (False, _iso_datetime),
    },
}


def _not_after(start: str | None, end: str | None) -> bool:
    if start is None or end is None:
        return False
    return datetime.fromisoformat(end) <= datetime.fromisoformat(start)


def check_parameters(command_type: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    spec = COMMAND_TYPES[command_type]
    problems: list[str] = []
    checked: dict[str, Any] = {}
    for name in parameters:
        if name not in spec:
            problems.append(f"{name}: not a parameter of {command_type}")
    for name, (required, check) in spec.items():
        if name not in parameters:
            if required:
                problems.append(f"{name}: is required")
            continue
        try:
            checked[name] = check(parameters[name])
        except ValueError as error:
            problems.append(f"{name}: {error}")
    if _not_after(checked.get("start"), checked.get("end")):
        problems.append("end: must be after start")
    if problems:
        raise InvalidCommandParameters("; ".join(problems))
    return checked
