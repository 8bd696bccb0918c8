"""Parameters of a rule as stored (JSON) turned back into its frozen dataclass, refusing
unknown names and ill-typed values with a message a person configuring rules can act on."""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any


def parameters_of(rule_class: type[Any]) -> type[Any]:
    """The frozen dataclass a rule class takes as its ``params``."""
    params_type: type[Any] = typing.get_type_hints(rule_class)["params"]
    return params_type


def build_params(rule: str, params_type: type[Any], given: Mapping[str, object]) -> Any:
    hints = typing.get_type_hints(params_type)
    known = [field.name for field in fields(params_type)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
            f"rule {rule!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(known) or 'none'}"
        )
    values = {name: _coerced(rule, name, value, hints[name]) for name, value in given.items()}
    try:
        return params_type(**values)
    except ValueError as error:
        raise ValueError(f"rule {rule!r}: {error}") from error


def _coerced(rule: str, name: str, value: object, hint: object) -> object:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        converted = _as(value, option)
        if converted is not _REFUSED:
            return converted
    wanted = " or ".join(_type_name(option) for option in options)
    raise ValueError(f"rule {rule!r}: parameter {name!r} must be {wanted}, not {value!r}")


_REFUSED = object()


def _as(value: object, kind: object) -> object:
    # bool is an int in Python but never a count or a limit in a rule set.
    if kind is bool:
        return value if isinstance(value, bool) else _REFUSED
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _REFUSED
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) if math.isfinite(value) else _REFUSED
        return _REFUSED
    if kind is str:
        return value if isinstance(value, str) else _REFUSED
    if typing.get_origin(kind) is tuple:
        # JSON has lists where the dataclass has tuples.
        item = typing.get_args(kind)[0]
        if isinstance(value, list | tuple) and all(
            _as(each, item) is not _REFUSED for each in value
        ):
            return tuple(_as(each, item) for each in value)
    return _REFUSED


_NAMES: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    type(None): "null",
}


def _type_name(kind: object) -> str:
    if typing.get_origin(kind) is tuple:
        return f"a list of {_type_name(typing.get_args(kind)[0])}"
    return _NAMES.get(kind, str(kind))
