"""Which columns each kind's CSV file may have, which it must have, what they refer to."""

from __future__ import annotations

from collections.abc import Collection

from application.registry import KINDS
from application.secrets import SECRET_NAMES

# Also the order in which a multi-kind import is checked, reported and saved: things
# before what refers to them.
IMPORT_ORDER = (
    "customer",
    "premise",
    "account",
    "meter",
    "service_point",
    "channel",
    "external_period",
)
EFFECTIVE_FROM = "effective_from"
# Lists and mappings have no CSV spelling. A meter's ``secret_refs`` are made on import
# from the secret columns and are never given by hand.
_NOT_IN_CSV = ("list", "mapping")

# Columns naming another registered thing, which must be in the same import or already
# in the registry. A meter's ``template`` is checked where its defaults are applied.
REFERENCES: dict[str, dict[str, str]] = {
    "account": {"customer_id": "customer", "premise_id": "premise", "tou_schedule": "tou_schedule"},
    "service_point": {
        "premise_id": "premise",
        "account_key": "account",
        "meter_serial": "meter",
    },
    "channel": {"service_point_id": "service_point", "meter_serial": "meter"},
    "external_period": {"service_point_id": "service_point"},
}


def label(kind: str) -> str:
    return kind.replace("_", " ")


def key_column(kind: str) -> str:
    return KINDS[kind].KEY


def attribute_columns(kind: str) -> tuple[str, ...]:
    schema = KINDS[kind].SCHEMA
    return tuple(name for name, attribute in schema.items() if attribute.kind not in _NOT_IN_CSV)


def secret_columns(kind: str) -> tuple[str, ...]:
    return SECRET_NAMES if kind == "meter" else ()


def columns_of(kind: str) -> tuple[str, ...]:
    return (*attribute_columns(kind), EFFECTIVE_FROM, *secret_columns(kind))


def required_columns(kind: str, present: Collection[str]) -> tuple[str, ...]:
    """Columns the header must name; a meter template may supply all but the serial."""
    if kind == "meter" and "template" in present:
        return (key_column(kind),)
    schema = KINDS[kind].SCHEMA
    return tuple(
        name for name in attribute_columns(kind) if schema[name].key or schema[name].required
    )
