"""User-facing errors: each carries one readable line that front ends print as is."""

from __future__ import annotations


class TsstudioError(Exception):
    """An error caused by user input or state, reported without a traceback."""


class DataError(TsstudioError):
    """A dataset file or folder that cannot be used (names the file, line and problem)."""


class ConfigError(TsstudioError):
    """A configuration value outside its allowed values or range (names the key)."""


class RunFileError(TsstudioError):
    """A run file that is missing, unreadable or not of the expected kind."""


class Cancelled(TsstudioError):
    """A long operation (evaluation, export) stopped on request before writing anything."""
