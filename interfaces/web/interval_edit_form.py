"""The channel page's edit form: selected intervals, their new values, and the reason.

The page reads what was typed; whether it may be recorded (a known reason code, finite
values, intervals that exist, billed estimates) is the domain's judgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData

from domain.provenance import Provenance
from domain.vee.reason_codes import EDIT_REASON_CODES, check_reason
from interfaces.web.forms import FormProblem, decimal_text, field_text
from interfaces.web.interval_table import parse_start

ACTIONS = ("edit", "accept")


@dataclass(frozen=True)
class EditSubmission:
    """The form as submitted, kept to show it again after a refusal."""

    action: str = "edit"
    selected: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)
    value_all: str = ""
    reason_code: str = ""
    reason: str = ""

    @classmethod
    def read(cls, form: FormData) -> EditSubmission:
        selected = tuple(str(key) for key in form.getlist("start") if isinstance(key, str))
        return cls(
            action=field_text(form, "action") or "edit",
            selected=selected,
            values={key: field_text(form, f"value-{key}") for key in selected},
            value_all=field_text(form, "value_all"),
            reason_code=field_text(form, "reason_code"),
            reason=field_text(form, "reason"),
        )

    def starts(self) -> list[datetime]:
        if not self.selected:
            raise FormProblem("start", "select at least one interval")
        return [parse_start("start", key) for key in self.selected]

    def new_values(self) -> dict[datetime, float]:
        """A value per selected row, or the one for all where a row's own is empty."""
        chosen: dict[datetime, float] = {}
        for key, moment in zip(self.selected, self.starts(), strict=True):
            text = self.values.get(key, "").strip() or self.value_all.strip()
            if not text:
                raise FormProblem(
                    "value", "give a value for each selected interval, or one value for all"
                )
            chosen[moment] = _number(text)
        return chosen

    def provenance(self, actor: str) -> Provenance:
        return reasoned_provenance(actor, self.reason_code, self.reason)

    def shown(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "selected": set(self.selected),
            "values": self.values,
            "value_all": self.value_all,
            "reason_code": self.reason_code,
            "reason": self.reason,
        }


def edit_form(submitted: EditSubmission | None = None, problem: str = "") -> dict[str, Any]:
    """What the template needs for the form (empty, or as submitted with the refusal)."""
    return {
        **(submitted or EditSubmission()).shown(),
        "reason_codes": list(EDIT_REASON_CODES.items()),
        "problem": problem,
    }


def reasoned_provenance(actor: str, reason_code: str, reason: str) -> Provenance:
    """A person's change from a page, with a standard reason code or words."""
    # The domain's rule first: it names a missing or unknown reason code in the
    # operator's terms, before the general "a reason is required".
    check_reason(reason_code, reason)
    # A standard code without a note is recorded with the code's own description,
    # so every event still says why in words.
    words = reason.strip() or EDIT_REASON_CODES.get(reason_code, "")
    return Provenance(actor=actor, reason=words, reason_code=reason_code, source="ui")


def _number(text: str) -> float:
    try:
        return float(decimal_text(text))
    except ValueError:
        raise FormProblem("value", f"is not a number: {text!r}") from None
