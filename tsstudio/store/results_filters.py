"""Filters of the results table: a value filter on a key, a range filter on a number (a metric or a numeric key).

Filters act on runs, before grouping, so a group's mean ± std, its n, the best mark and the
differences to the baseline are all computed over the runs that pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tsstudio.config.flat import freeze
from tsstudio.store.results_index import ResultRow


def value_text(value: Any) -> str:
    """How a key's value is shown in the table and in a value filter's choices."""
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@dataclass(frozen=True)
class RowFilter:
    """Keep runs whose `key` has one of `values` (a value filter) or lies in [low, high] (a range filter).

    A range bound of None is open. A run without the key never passes.
    """

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    @classmethod
    def value(cls, key: str, *values: Any) -> RowFilter:
        return cls(key, values=tuple(freeze(v) for v in values))

    @classmethod
    def range(cls, key: str, low: float | None = None, high: float | None = None) -> RowFilter:
        if low is not None and high is not None and low > high:
            raise ValueError(f"filter on {key}: the lower bound {low} is above the upper bound {high}")
        return cls(key, low=low, high=high)

    @property
    def is_range(self) -> bool:
        return self.values is None

    def accepts(self, row: ResultRow) -> bool:
        value = row.value(self.key)
        if self.values is not None:
            return freeze(value) in self.values
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        x = float(value)
        if not math.isfinite(x):
            return False
        return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)

    def describe(self) -> str:
        """One line for the list of active filters."""
        if self.values is not None:
            return f"{self.key} = " + " or ".join(value_text(v) for v in self.values)
        if self.low is not None and self.high is not None:
            return f"{self.low:g} ≤ {self.key} ≤ {self.high:g}"
        if self.low is not None:
            return f"{self.key} ≥ {self.low:g}"
        if self.high is not None:
            return f"{self.key} ≤ {self.high:g}"
        return f"{self.key} present"


def filter_rows(rows: Iterable[ResultRow], filters: Sequence[RowFilter]) -> list[ResultRow]:
    """The rows that every filter accepts, in their order."""
    return [r for r in rows if all(f.accepts(r) for f in filters)]


def distinct_values(rows: Iterable[ResultRow], key: str) -> list[Any]:
    """The different values of `key` among the rows (frozen, missing ones left out), sorted for a menu."""
    seen: dict[Any, None] = {}
    for row in rows:
        value = freeze(row.value(key))
        if value is not None:
            seen.setdefault(value, None)

    def order(v: Any) -> tuple:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (0, float(v), "")
        return (1, 0.0, value_text(v))

    return sorted(seen, key=order)


def is_numeric_key(rows: Iterable[ResultRow], key: str) -> bool:
    """Whether every present value of `key` is a number (so a range filter makes sense)."""
    found = False
    for row in rows:
        value = row.value(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        found = True
    return found
