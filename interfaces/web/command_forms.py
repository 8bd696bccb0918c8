"""The meter page's command form: which commands it offers and how their fields read.

Browsers send text; this module turns each field into the type the command's parameter
check expects (``domain.command_types``) and leaves the judgement (ranges, allowed
values) to that check. Commands whose parameters are lists of objects (calendars, push
schedules, thresholds) or secret references (password and key changes) are requested
through the API, not typed into a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from starlette.datastructures import FormData

from interfaces.web.forms import FormProblem, parse_moment


@dataclass(frozen=True)
class CommandField:
    name: str
    kind: str  # "int", "number", "moment" (UTC date-time) or "text"
    hint: str = ""


COMMAND_FIELDS: dict[str, tuple[CommandField, ...]] = {
    "read_now": (CommandField("days", "int", "days back, 1-31; empty: 1"),),
    "disconnect": (),
    "connect": (),
    "sync_clock": (CommandField("max_drift_seconds", "int", "0-3600; empty: the meter's"),),
    "set_capture_period": (CommandField("minutes", "int", "1, 5, 10, 15, 30 or 60"),),
    "set_demand_period": (CommandField("minutes", "int", "1, 5, 10, 15, 30 or 60"),),
    "set_clock": (CommandField("time", "moment", "UTC"),),
    "set_control_mode": (CommandField("mode", "int", "0-6"),),
    "set_load_limit": (
        CommandField("current_threshold_a", "number", "A"),
        CommandField("power_threshold_w", "number", "W"),
    ),
    "set_disconnect_triggers": (
        CommandField("limiter", "text", "power or current; empty: power"),
        CommandField("over_threshold", "text", "disconnect or none"),
        CommandField("under_threshold", "text", "reconnect or none"),
        CommandField("min_over_threshold_seconds", "int", "0-86400"),
        CommandField("min_under_threshold_seconds", "int", "0-86400"),
    ),
    "set_auto_reconnect": (
        CommandField("attempts", "int", "0-255"),
        CommandField("interval_seconds", "int", "1-86400"),
    ),
    "set_lockout_period": (CommandField("seconds", "int", "0-86400"),),
    "set_billing_date": (CommandField("day_of_month", "int", "1-28"),),
    "firmware_upgrade": (
        CommandField("image_id", "text"),
        CommandField("activate_at", "moment", "UTC; empty: at once"),
    ),
}


def field_name(command_type: str, parameter: str) -> str:
    """Each command's fields have their own names, so one form can hold them all."""
    return f"{command_type}.{parameter}"


def offered() -> list[dict[str, Any]]:
    """The command types and their fields, in the order the form lists them."""
    return [
        {
            "type": command_type,
            "fields": [
                {
                    "name": field_name(command_type, f.name),
                    "label": f.name,
                    "kind": f.kind,
                    "hint": f.hint,
                }
                for f in fields
            ],
        }
        for command_type, fields in COMMAND_FIELDS.items()
    ]


def command_parameters(command_type: str, form: FormData) -> dict[str, Any]:
    """The chosen command's filled-in fields, typed; empty fields are left out."""
    if command_type not in COMMAND_FIELDS:
        raise FormProblem("command_type", f"choose one of {', '.join(COMMAND_FIELDS)}")
    parameters: dict[str, Any] = {}
    for spec in COMMAND_FIELDS[command_type]:
        name = field_name(command_type, spec.name)
        value = form.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if text:
            parameters[spec.name] = _typed(spec, name, text)
    return parameters


def _typed(spec: CommandField, name: str, text: str) -> Any:
    if spec.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise FormProblem(name, "must be a whole number") from None
    if spec.kind == "number":
        try:
            return float(text.replace(",", "."))
        except ValueError:
            raise FormProblem(name, "must be a number") from None
    if spec.kind == "moment":
        moment = parse_moment(name, text)
        assert moment is not None  # text is not blank
        return moment.astimezone(UTC).isoformat()
    return text
