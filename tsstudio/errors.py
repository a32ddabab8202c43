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


def warn(message: str) -> None:
    """Report a problem that does not stop the command: one line on stderr, prefixed `warning:`.

    Used for input that is skipped or taken with a caveat (an unreadable data folder, a prior on an
    unfinished tokenizer), so that nothing is substituted or ignored without a word.
    """
    import sys

    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


def wrong_kind(path: object, kind: str, expected: str) -> RunFileError:
    """The error for a run file of another kind than the command needs ("is an export run, not a ...")."""

    def a(word: str) -> str:
        return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"

    return RunFileError(f"{path}: is {a(kind)} run, not {a(expected)} run")
