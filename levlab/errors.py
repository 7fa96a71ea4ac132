"""The LevlabError family and the exit statuses of the command line."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Process exit codes; documented in the README."""

    OK = 0
    ROW_ERRORS = 1  # `levlab csv`: some rows carried an error, the rest was processed
    USAGE = 2  # bad token, option, unit, file or mapping: nothing was interpreted
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # the reader of stdout went away (`levlab csv big.csv | head`): 128 + SIGPIPE


class LevlabError(Exception):
    """Base of every error levlab reports as one `Error: ...` line."""

    exit_status = ExitStatus.USAGE


class ValueParseError(LevlabError):
    """A result text that is not one unambiguous non-negative number."""


class UnitError(LevlabError):
    """A unit that is unknown, ambiguous, or not accepted for the analyte."""


class ImplausibleValueError(LevlabError):
    """A value outside the analyte's plausible span: most likely a unit mistake."""


class UnknownAnalyteError(LevlabError):
    """A name or code that matches no analyte of the catalogue."""


class RangeError(LevlabError):
    """A reference range text or --ranges file that cannot be read unambiguously."""


class UsageError(LevlabError):
    """Bad command-line usage that click cannot catch (mapping, options, files)."""


def message_of(error: BaseException) -> str:
    """An error's message as made (a `language.Msg` keeps its template), for wrapping or translating."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, str) else str(error)


def shown(text: str, limit: int = 60) -> str:
    """A user text quoted for a message, cut to `limit` characters: hostile input keeps messages short."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
