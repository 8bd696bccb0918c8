"""The commands a head end sends to meters, and the parameters each one takes.

Parameters are checked here so that a malformed request is refused before anything is
recorded or sent. Secrets (new passwords and keys) are never parameters: a command names
the sealed secret reference to install instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any


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


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("must be a list of objects")
    return value


# command type -> {parameter: (required, check)}
COMMAND_TYPES: dict[str, dict[str, tuple[bool, Callable[[Any], Any]]]] = {
    "read_now": {"days": (False, _int_between(1, 31))},
    "connect": {},
    "disconnect": {},
    "set_control_mode": {"mode": (True, _int_between(0, 6))},
    "set_load_limit": {
        "current_threshold_a": (False, _positive_number),
        "power_threshold_w": (False, _positive_number),
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
    "set_thresholds": {"thresholds": (True, _list_of_dicts)},
    "set_clock": {"time": (True, _iso_datetime)},
    "sync_clock": {"max_drift_seconds": (False, _int_between(0, 3600))},
    "firmware_upgrade": {
        "image_id": (True, str),
        "activate_at": (False, _iso_datetime),
    },
}


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
    if problems:
        raise InvalidCommandParameters("; ".join(problems))
    return checked
