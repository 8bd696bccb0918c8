from __future__ import annotations

import json

import pytest

from domain.vee.estimation import (
    DEFAULT_PLAN,
    METHODS,
    LikeDayAverage,
    LinearInterpolation,
    ValueFill,
    build_method,
    build_plan,
    describe_method,
)


def test_every_method_is_known_by_its_name_and_builds_with_its_defaults() -> None:
    assert list(METHODS) == [
        "power_gap_fill",
        "linear_interpolation",
        "like_day_average",
        "register_distribution",
        "value_fill",
        "register_scaling",
    ]
    for name, method_type in METHODS.items():
        method = build_method(name, {})
        assert isinstance(method, method_type)
        assert method.name == name


@pytest.mark.parametrize("name", list(METHODS))
def test_a_stored_method_builds_back_into_the_same_method(name: str) -> None:
    stored = json.loads(json.dumps(describe_method(build_method(name, {}))))

    rebuilt = build_method(stored["method"], stored["params"])

    assert describe_method(rebuilt) == stored


def test_json_values_become_the_parameters_types() -> None:
    method = build_method(
        "like_day_average", {"holidays": ["2025-12-25"], "days": 2, "scale_to_day_level": True}
    )

    assert isinstance(method, LikeDayAverage)
    assert method.params.holidays == ("2025-12-25",)
    assert method.params.days == 2
    fill = build_method("value_fill", {"value": 1, "max_gap_minutes": None})
    assert isinstance(fill, ValueFill)
    assert fill.params.value == 1.0
    assert isinstance(fill.params.value, float)
    assert fill.params.max_gap_minutes is None


def test_an_unknown_method_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match="unknown estimation method 'spline'; known: power_gap_fill"
    ):
        build_method("spline", {})


def test_an_unknown_parameter_is_refused_with_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) max_gap; accepted: flat_when"):
        build_method("linear_interpolation", {"max_gap": 60})


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "linear_interpolation",
            {"max_gap_minutes": "120"},
            "max_gap_minutes must be a whole number",
        ),
        (
            "linear_interpolation",
            {"max_gap_minutes": True},
            "max_gap_minutes must be a whole number",
        ),
        (
            "linear_interpolation",
            {"max_gap_minutes": 1.5},
            "max_gap_minutes must be a whole number",
        ),
        ("linear_interpolation", {"flat_when_one_sided": 1}, "must be true or false"),
        ("value_fill", {"value": None}, "value must be a number"),
        ("like_day_average", {"holidays": "2025-12-25"}, "holidays must be a list of strings"),
        ("like_day_average", {"holidays": [20251225]}, "holidays must be a list of strings"),
        ("register_scaling", {"register": 1}, "register must be a string"),
    ],
)
def test_a_parameter_of_the_wrong_type_is_refused(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_method(name, params)


def test_a_parameter_out_of_range_is_refused_by_the_method() -> None:
    with pytest.raises(ValueError, match="linear_interpolation: max_gap_minutes must be positive"):
        build_method("linear_interpolation", {"max_gap_minutes": 0})


def test_the_default_plan_is_certain_before_likely() -> None:
    assert [method.name for method in build_plan()] == [
        "power_gap_fill",
        "linear_interpolation",
        "like_day_average",
        "register_distribution",
    ]
    assert [step["method"] for step in DEFAULT_PLAN] == [m.name for m in build_plan()]


def test_a_stored_plan_builds_in_order_with_its_parameters() -> None:
    plan = build_plan(
        [
            {"method": "linear_interpolation", "params": {"max_gap_minutes": 60}},
            {"method": "value_fill"},
        ]
    )

    assert isinstance(plan[0], LinearInterpolation)
    assert plan[0].params.max_gap_minutes == 60
    assert plan[1].name == "value_fill"


def test_a_plan_step_without_a_method_name_is_refused() -> None:
    with pytest.raises(ValueError, match="method name"):
        build_plan([{"params": {}}])
