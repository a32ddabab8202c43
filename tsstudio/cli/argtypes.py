"""Argument types of the numeric options: each checks its range once, at parsing, and names what it expected.

argparse reports a rejected value as `tsstudio CMD: error: --steps: expected an integer ≥ 1, got -3`, before
any file is opened or written. Options that set a configuration key take its range from the schema, so the
CLI accepts exactly what `validate` accepts.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable

from tsstudio.config.schema import RunConfig


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range_text(low: float | None, high: float | None, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{_num(low)}, {_num(high)}]"
    if low is not None:
        return f"{'>' if low_open else '≥'} {_num(low)}"
    return f"≤ {_num(high)}" if high is not None else ""


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A type function accepting a whole number within [low, high]."""
    expected = f"an integer {_range_text(low, high, False)}".rstrip()

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False) -> Callable[[str], float]:
    """A type function accepting a finite number within [low, high] (or (low, high] when `low_open`)."""
    expected = f"a finite number {_range_text(low, high, low_open)}".rstrip()

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = low is not None and (value <= low if low_open else value < low)
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text.strip()}")
        return value

    return parse


def setting(key: str, *, low: float | None = None) -> Callable[[str], int] | Callable[[str], float]:
    """The type function of an option that sets the configuration key `section.name`: its schema type and
    range, with `low` raised where the option means more than the key (`--max-steps 0` is not "use epochs")."""
    section, name = key.split(".")
    f = {f.name: f for f in dataclasses.fields(getattr(RunConfig(), section))}[name]
    meta = f.metadata
    lowest = meta.get("low") if low is None else low
    low_open = bool(meta.get("low_open")) and low is None
    if isinstance(f.default, int):
        return integer(None if lowest is None else int(lowest), None if meta.get("high") is None else int(meta["high"]))
    return number(lowest, meta.get("high"), low_open=low_open)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: `tsstudio CMD: error: --opt: what was expected`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
