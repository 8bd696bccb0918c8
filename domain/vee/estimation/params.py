"""Method parameters from stored JSON plans, and back.

A plan is stored as ``{"method": name, "params": {...}}`` objects; parameters arrive as
JSON values (lists for tuples, ints where floats are meant) and are checked here so that
a wrong plan fails when it is saved, with a message naming the method and parameter.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, TypeVar

from domain.vee.series import EstimationMethod

P = TypeVar("P")


class ConfigurableMethod(EstimationMethod, Protocol):
    """An estimation method built from its frozen parameters dataclass."""

    params_type: ClassVar[type]

    def __init__(self, params: Any = None) -> None: ...


def params_from(method: str, params_type: type[P], given: Mapping[str, object]) -> P:
    """``params_type`` built from JSON values; ValueError names what is wrong."""
    accepted = {field.name for field in dataclasses.fields(params_type)}  # type: ignore[arg-type]
    unknown = sorted(set(given) - accepted)
    if unknown:
        raise ValueError(
            f"{method}: unknown parameter(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(accepted))}"
        )
    hints = typing.get_type_hints(params_type)
    values = {name: _coerced(method, name, hints[name], value) for name, value in given.items()}
    # Every field has a default; ranges are checked by the dataclass (ValueError).
    return params_type(**values)


def params_as_json(params: object) -> dict[str, object]:
    """The parameters as JSON values (tuples become lists)."""
    return {
        field.name: _as_json(getattr(params, field.name))
        for field in dataclasses.fields(params)  # type: ignore[arg-type]
    }


def _as_json(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _coerced(method: str, name: str, hint: object, value: object) -> object:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if value is None:
            return None
        (hint,) = [arg for arg in args if arg is not type(None)]
        origin = typing.get_origin(hint)
    # bool is an int in Python, but true is not a number of minutes in a plan.
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if (
        origin is tuple
        and isinstance(value, list | tuple)
        and all(isinstance(item, str) for item in value)
    ):
        return tuple(value)
    expected = _EXPECTED.get(hint, "a list of strings")  # tuple[str, ...] is the only other
    raise ValueError(f"{method}: parameter {name} must be {expected}, not {value!r}")


_EXPECTED: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
}
