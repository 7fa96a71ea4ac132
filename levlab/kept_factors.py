"""The conversion factors pint computed, kept beside the data files: a one-shot command need not import pint.

`units.factor` asks pint one question per conversion: the factor from one expression of
units.toml to another (through the chemistry context, with a molar mass, between mass and
amount of substance). pint's answer depends on that question, on levlab's definitions
(data/units.txt) and on pint itself, and on nothing else. So the answers are kept in
`data/__pycache__/factors.<tag>.marshal` (levlab.data.keep) with the text of units.txt and the
installed pint they were made with: another units.txt, or another pint, and the table is not
used (the factors are asked of pint again). pint is imported (some 80 ms) only for a question
the table has not seen. The table only remembers pint's answers: nothing is converted another way.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from levlab.data import CACHE_DIR, cache_path, data_path, keep, read_kept

#: a question put to pint: (from expression, to expression, through the chemistry context, molar mass)
Question = tuple[str, str, bool, float | None]

_answers: dict[Question, float] | None = None


def known(question: Question) -> float | None:
    """pint's answer to `question` when the kept table has it, else None."""
    return _table().get(question)


def remember(question: Question, answer: float) -> None:
    """Add pint's answer to the table, and keep the table (when it can be written)."""
    table = _table()
    table[question] = answer
    keep(table_file(), _made_from(), table)


def table_file() -> str:
    """Where the table is kept."""
    return cache_path("factors", CACHE_DIR)


def _table() -> dict[Question, float]:
    global _answers
    if _answers is None:
        kept = read_kept(table_file(), _made_from())
        _answers = kept if isinstance(kept, dict) else {}
    return _answers


@cache
def _made_from() -> tuple[str, Any]:
    """What pint's answers depend on besides the question: the text of units.txt, and which pint
    is installed (its location, and the size and time of its files' last install), found
    without importing it."""
    with open(data_path("units.txt"), encoding="utf-8") as handle:
        definitions = handle.read()
    return definitions, _installed_pint()


def _installed_pint() -> Any:
    """Which pint is installed: the path of its package with the size and modification time of
    its __init__.py (an install, reinstall or upgrade writes it anew); None when pint is not found."""
    import importlib.util

    spec = importlib.util.find_spec("pint")
    if spec is None or spec.origin is None:
        return None
    try:
        module = os.stat(spec.origin)
    except OSError:
        return None
    return spec.origin, module.st_size, module.st_mtime_ns
