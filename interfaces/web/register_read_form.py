"""The channel page's form for a register read a person brings: its fields as typed (to
show them again after a refusal) and the standard reason codes."""

from __future__ import annotations

from typing import Any

from domain.vee.reason_codes import EDIT_REASON_CODES

FIELDS = ("read_at", "value", "register", "reason_code", "reason")


def register_form(submitted: dict[str, str] | None = None, problem: str = "") -> dict[str, Any]:
    """What the template needs: the fields (empty, or as submitted) and the refusal."""
    return {
        **{name: "" for name in FIELDS},
        "register": "total",
        **(submitted or {}),
        "reason_codes": list(EDIT_REASON_CODES.items()),
        "problem": problem,
    }
