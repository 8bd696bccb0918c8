"""ChannelFormula: how a calculated channel's values follow from other channels.

A linear combination, parsed without ``eval``: channel keys in braces (keys contain
``+`` and ``:``), decimal numbers, ``+``, ``-``, ``*`` by a constant and parentheses, e.g.
``{SP-1:A+} + {SP-2:A+} - 0.5 * {SP-3:A-}``. Coefficients are kept as ``Decimal``, so
``0.1 * {A} + 0.2 * {A}`` is exactly ``0.3 * {A}``. A formula that cannot be parsed is a
``FormulaError`` naming the (1-based) position of the character where it went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

import numpy as np

from domain.reading_quality import ReadingQuality

_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")


class FormulaError(ValueError):
    def __init__(self, position: int, problem: str) -> None:
        self.position = position  # 1-based
        self.problem = problem
        super().__init__(f"at position {position}: {problem}")


@dataclass(frozen=True)
class ChannelFormula:
    coefficients: Mapping[str, Decimal]  # channel key -> coefficient, in order of mention
    constant: Decimal = Decimal(0)

    @classmethod
    def parse(cls, text: str) -> ChannelFormula:
        form = _Parser(text).formula()
        return cls(dict(form.coefficients), form.constant)

    @property
    def channel_keys(self) -> tuple[str, ...]:
        return tuple(self.coefficients)

    def apply(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The combination of the sources' ``values`` (NaN wherever any source is NaN)."""
        result: np.ndarray | None = None
        for key, coefficient in self.coefficients.items():
            term = np.asarray(values[key], dtype=np.float64) * float(coefficient)
            result = term if result is None else result + term
        assert result is not None  # a formula names at least one channel
        return result + float(self.constant) if self.constant else result


# How a calculated interval's quality follows from its sources' (worst wins). Edited and
# accepted source values count as estimated: on the calculated channel they are not a
# person's decision, which ChannelDay would hold against every later recomputation.
# Failed or missing sources leave the interval missing (see combined_quality).
_RESULT_QUALITY = {
    ReadingQuality.VALIDATED: ReadingQuality.VALIDATED,
    ReadingQuality.ESTIMATED: ReadingQuality.ESTIMATED,
    ReadingQuality.EDITED: ReadingQuality.ESTIMATED,
    ReadingQuality.ACCEPTED: ReadingQuality.ESTIMATED,
    ReadingQuality.RAW: ReadingQuality.RAW,
    ReadingQuality.FAILED: ReadingQuality.MISSING,
    ReadingQuality.MISSING: ReadingQuality.MISSING,
}
_BY_RANK = (
    ReadingQuality.VALIDATED,
    ReadingQuality.ESTIMATED,
    ReadingQuality.RAW,
    ReadingQuality.MISSING,
)
_RANK = np.zeros(256, dtype=np.uint8)
for _source, _result in _RESULT_QUALITY.items():
    _RANK[int(_source)] = _BY_RANK.index(_result)


def combined_quality(qualities: list[np.ndarray]) -> np.ndarray:
    """Per interval, the quality of a value computed from sources of ``qualities``:
    missing if any source is missing or failed, else the worst of validated < estimated
    (also for edited and accepted sources) < raw."""
    ranks = np.max([_RANK[np.asarray(q, dtype=np.uint8)] for q in qualities], axis=0)
    return np.array(_BY_RANK, dtype=np.uint8)[ranks]


@dataclass(frozen=True)
class _Linear:
    coefficients: dict[str, Decimal]
    constant: Decimal

    def plus(self, other: _Linear, sign: int) -> _Linear:
        merged = dict(self.coefficients)
        for key, coefficient in other.coefficients.items():
            merged[key] = merged.get(key, Decimal(0)) + sign * coefficient
        return _Linear(merged, self.constant + sign * other.constant)

    def times(self, factor: Decimal) -> _Linear:
        return _Linear(
            {k: c * factor for k, c in self.coefficients.items()}, self.constant * factor
        )


class _Parser:
    """Recursive descent: formula := sum; sum := ['+'|'-'] product (('+'|'-') product)*;
    product := factor ('*' factor)*; factor := number | '{' key '}' | '(' sum ')'."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def formula(self) -> _Linear:
        form = self._sum()
        self._skip()
        if self.at < len(self.text):
            self._fail(f"unexpected {self.text[self.at]!r}")
        if not form.coefficients:
            raise FormulaError(1, "a formula names at least one channel, as {key}")
        return form

    def _sum(self) -> _Linear:
        first_sign = Decimal(self._sign() or 1)
        form = self._product().times(first_sign)
        while (sign := self._sign()) is not None:
            form = form.plus(self._product(), sign)
        return form

    def _sign(self) -> int | None:
        self._skip()
        if self.at < len(self.text) and self.text[self.at] in "+-":
            self.at += 1
            return 1 if self.text[self.at - 1] == "+" else -1
        return None

    def _product(self) -> _Linear:
        form = self._factor()
        while self._skip() and self.text[self.at] == "*":
            where = self.at
            self.at += 1
            other = self._factor()
            if form.coefficients and other.coefficients:
                raise FormulaError(where + 1, "channels can be multiplied by a constant only")
            # One side is a constant: the product stays linear.
            scaled, factor = (form, other) if form.coefficients else (other, form)
            form = scaled.times(factor.constant)
        return form

    def _factor(self) -> _Linear:
        if not self._skip():
            self._fail("expected a number, a {channel} or '(' but the formula ended")
        char = self.text[self.at]
        if char == "{":
            end = self.text.find("}", self.at)
            key = self.text[self.at + 1 : end].strip() if end >= 0 else ""
            if end < 0 or "{" in key:
                self._fail("a channel key opened with '{' is not closed with '}'")
            if not key:
                self._fail("an empty channel key")
            self.at = end + 1
            return _Linear({key: Decimal(1)}, Decimal(0))
        if char == "(":
            self.at += 1
            form = self._sum()
            if not self._skip() or self.text[self.at] != ")":
                self._fail("expected ')'")
            self.at += 1
            return form
        if number := _NUMBER.match(self.text, self.at):
            self.at = number.end()
            return _Linear({}, Decimal(number.group()))
        self._fail(f"expected a number, a {{channel}} or '(', not {char!r}")

    def _skip(self) -> bool:
        """Skips blanks; says whether anything is left."""
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1
        return self.at < len(self.text)

    def _fail(self, problem: str) -> NoReturn:
        raise FormulaError(self.at + 1, problem)
