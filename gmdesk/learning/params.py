"""Parameter constraints declared on estimator classes (scikit-learn style) and the one validator.

A class lists, for each hyper-parameter, the values it accepts::

    _parameter_constraints = {"epochs": [Interval(int, 1, 100_000)], "C": [None, Interval(float, 0, None, "neither")]}

``None`` in a list accepts ``None``. :func:`validate_parameters` checks a table of values against it (an
estimator's ``get_params()`` or a bundle manifest's ``hyper_parameters``) and names the first one at fault.
JSON gives lists where an estimator holds tuples; both are accepted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Protocol

from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


class ParameterError(GmdeskError):
    """A hyper-parameter is unknown or has a value its class does not accept."""


class Constraint(Protocol):
    """What a constraint offers the validator."""

    def accepts(self, value: Any) -> bool: ...

    def describe(self) -> str: ...


def _is_whole(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _is_finite(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Interval:
    """A whole number (``kind`` int) or a finite number (``kind`` float) between ``low`` and ``high`` (None:
    unbounded); ``closed`` says which ends belong to it: ``both``, ``left``, ``right`` or ``neither``."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if not (_is_whole(value) if self.kind is int else _is_finite(value)):
            return False
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left)):
            return False
        return self.high is None or value < self.high or (value == self.high and right)

    def describe(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.low is None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        if self.kind is int:
            return f"{what} {self.low:g}-{self.high:g}"
        lo, hi = "[" if self.closed in ("both", "left") else "(", "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {lo}{self.low:g}, {self.high:g}{hi}"


@dataclass(frozen=True)
class OneOf:
    """One of a few values (names)."""

    options: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float) and value in self.options

    def describe(self) -> str:
        return f"one of {sorted(self.options)}"


@dataclass(frozen=True)
class Indices:
    """A list of column or landmark indices (whole numbers 0 <= i < 1000000)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and all(_is_whole(x) and 0 <= x < 1_000_000 for x in value)

    def describe(self) -> str:
        return "a list of column or landmark indices"


@dataclass(frozen=True)
class IndexPairs(Indices):
    """A flattened list of pairs of indices (a0, b0, a1, b1, ...): an even number of them."""

    def accepts(self, value: Any) -> bool:
        return super().accepts(value) and len(value) % 2 == 0

    def describe(self) -> str:
        return "a list of pairs of landmark indices, flattened (an even number)"


@dataclass(frozen=True)
class Signs:
    """A list of signs, each +1 or -1."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and all(_is_finite(x) and x in (-1, 1) for x in value)

    def describe(self) -> str:
        return "a list of signs +-1"


def describe(allowed: Sequence[Constraint | None]) -> str:
    """What a parameter with these alternatives must be."""
    words = [c.describe() for c in allowed if c is not None]
    return " or ".join(words + (["None"] if None in allowed else []))


def validate_parameters(constraints: Mapping[str, Sequence[Constraint | None]], params: Mapping[str, Any]) -> None:
    """Check ``params`` against ``constraints``; parameters left out are not checked (their defaults apply).

    Raises
    ------
    ParameterError
        Naming the first parameter that is unknown or has a value none of its constraints accepts.
    """
    for name, value in params.items():
        if name not in constraints:
            raise ParameterError(f"unknown hyper-parameter {name!r}")
        allowed = constraints[name]
        if not any(value is None if c is None else c.accepts(value) for c in allowed):
            raise ParameterError(f"hyper-parameter {name!r} is {str(value)[:80]!r}; it must be {describe(allowed)}")
