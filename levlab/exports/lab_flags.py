"""The laboratory's own flag on a result, held against levlab's: a contradiction is evidence.

A long export's flag column (`flag`, `Vlag`, `afwijkend`) says what the laboratory made of a result
against its own interval. Where levlab's flag (often against a default interval) disagrees, neither
can be trusted for the normal-panel statement: the result becomes indeterminate (`?`) with a reason
that names both, so that `normal-panel` is never `met` against the laboratory's own word (issue
"never claim met on partial or contradicted evidence"). The CSV rule columns and the JSONL
interpretation both read the changed result, so they still agree.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from levlab.data import load_toml
from levlab.errors import shown
from levlab.model import AnalyteResult

_DIRECTION = {"high": "H", "low": "L", "normal": "N", "abnormal": "A"}


@cache
def _words() -> dict[str, str]:
    """Flag text (folded) -> H, L, N or A (abnormal, direction not said), from data/lab_flags.toml."""
    table = load_toml("lab_flags.toml")["flags"]
    return {word.casefold(): _DIRECTION[kind] for kind, words in table.items() for word in words}


def lab_flag(text: str) -> str | None:
    """The laboratory's flag as H, L, N or A; None for an empty or unreadable cell."""
    folded = text.strip().casefold()
    return _words().get(folded) if folded and len(folded) <= 30 else None


def agrees(lab: str, levlab: str) -> bool:
    """Whether the laboratory's flag and levlab's say the same (A: either L or H)."""
    return lab == levlab or (lab == "A" and levlab in ("L", "H"))


def held_against(result: AnalyteResult, flag_text: str) -> AnalyteResult:
    """`result`, or an indeterminate copy of it when the laboratory's flag contradicts levlab's."""
    lab = lab_flag(flag_text)
    if lab is None or result.flag == "?" or agrees(lab, result.flag):
        return result
    words = {"H": "raised", "L": "low", "N": "within its interval", "A": "abnormal"}
    used = f" ({result.interval.text})" if result.interval is not None else ""
    reason = (f"the laboratory flags it {shown(flag_text.strip())} ({words[lab]}) but levlab's interval{used} gives "
              f"{result.flag}: the laboratory's own interval evidently differs from the one levlab used; "
              "indeterminate until its range is given (a range column or --ranges)")
    # the limits in force are unknown: no interval, multiple of ULN or CTCAE grade may contradict the laboratory
    return replace(result, flag="?", reason=reason, interval=None, x_uln=None, candidates=())
