"""Standard reason codes for manual edits and estimates of interval data.

The list is what utilities commonly report to billing and regulators; a person may
instead give free text (``OTHER`` with a mandatory explanation).
"""

from __future__ import annotations

EDIT_REASON_CODES: dict[str, str] = {
    "METER_FAULT": "meter or register fault confirmed in the field",
    "METER_EXCHANGE": "values around a meter exchange",
    "CT_PT_RATIO_ERROR": "wrong CT/PT ratio or multiplier applied at the meter",
    "CLOCK_ERROR": "meter clock was wrong; intervals shifted",
    "CUSTOMER_READ": "reading supplied by the customer",
    "FIELD_READ": "reading taken on site by a technician",
    "COMMUNICATION_LOSS": "data lost in communication, restored from another source",
    "OUTAGE_CORRECTION": "consumption during a confirmed power outage",
    "ESTIMATION_CORRECTION": "an automatic estimate replaced by a better one",
    "BILLING_ADJUSTMENT": "adjustment agreed with billing or the customer",
    "TAMPER": "consumption reconstructed after tampering",
    "OTHER": "free text explains",
}


class UnknownReasonCode(ValueError):
    pass


def check_reason(reason_code: str, reason_text: str) -> None:
    """A known code, or OTHER/none with an explanation in free text."""
    if reason_code and reason_code not in EDIT_REASON_CODES:
        known = ", ".join(EDIT_REASON_CODES)
        raise UnknownReasonCode(f"unknown reason code {reason_code!r}; use one of {known}")
    if (not reason_code or reason_code == "OTHER") and not reason_text.strip():
        raise UnknownReasonCode("without a standard reason code, explain the edit in free text")
