"""Request bodies of the JSON API (pydantic), kept apart from domain objects."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MeterCreation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str = Field(min_length=1, max_length=64)
    template: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict, description="lls_password, block_cipher_key, authentication_key"
    )
    effective_from: date | None = None
    reason: str = "meter registered"
    reason_code: str = ""


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attributes: dict[str, Any]
    effective_from: date | None = None
    reason: str = "registered"
    reason_code: str = ""


class Edit(BaseModel):
    """A real change with effect from a date, or (``correction``) a fix of a past mistake."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)
    reason_code: str = ""
    correction: bool = False
    effective_from: date | None = Field(
        None, description="changes: the day the new values take effect (default today)"
    )
    effective_on: date | None = Field(
        None, description="corrections: a day inside the period being corrected (default today)"
    )
    expected_version: int | None = Field(
        None, description="the version you edited; a newer one gives 409 (or send If-Match)"
    )


class SecretsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secrets: dict[str, str] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=500)
    effective_from: date | None = None


class IntervalValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    value: float | None = Field(None, allow_inf_nan=False)


class IntervalEdit(BaseModel):
    """Edited values (quality ``edited``), or ``accept_as_is`` for failed ones."""

    model_config = ConfigDict(extra="forbid")

    intervals: list[IntervalValue] = Field(min_length=1, max_length=10_000)
    reason: str = Field(min_length=1, max_length=500)
    reason_code: str = ""
    accept_as_is: bool = False


class RegisterReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read_at: datetime
    # Text keeps every digit of a billing register; a JSON number is taken as written.
    value: Decimal = Field(allow_inf_nan=False)
    # "register" in JSON; renamed here since pydantic's BaseModel has a `register`.
    register_name: str = Field("total", alias="register", min_length=1, max_length=64)


class RegisterReadsIn(BaseModel):
    """Register reads of a channel (a field visit, a billing system's reads)."""

    model_config = ConfigDict(extra="forbid")

    reads: list[RegisterReadIn] = Field(min_length=1, max_length=10_000)
    reason: str = Field(min_length=1, max_length=500)
    reason_code: str = ""
