"""What was sampled: a long export's specimen column (`Materiaal`, `specimen`, `sample type`).

levlab's intervals and rules are about serum and plasma. A result on another specimen is
never read as the serum analyte of its name: ascitic LDH is `ascites_ldh` (the
`ascites-ldh-ratio` rule); a result on urine, CSF, ascites (other tests) or another known
material passes through, said on its row; an unknown specimen word is not guessed (an error
on its row, the result not in the panel). The words are data: `levlab/data/specimens.toml`.
"""

from __future__ import annotations

from functools import cache

from levlab.catalog import Analyte, analytes, normalise_name
from levlab.data import load_toml
from levlab.errors import shown


class Passed:
    """A result kept out of the panel because of its specimen: said on its row (`error`: counted
    as a row error, for a specimen word levlab does not know)."""

    __slots__ = ("error", "message")

    def __init__(self, message: str, error: bool) -> None:
        self.message = message
        self.error = error

    def __repr__(self) -> str:
        return f"Passed({self.message!r}, error={self.error})"


@cache
def _kinds() -> dict[str, str]:
    data = load_toml("specimens.toml")
    return {normalise_name(word): kind for kind in ("serum", "whole_blood", "ascites", "other") for word in data[kind]}


@cache
def whole_blood_analytes() -> frozenset[str]:
    """The analytes whose result on whole blood makes the panel (the blood count)."""
    return frozenset(load_toml("specimens.toml")["whole_blood_analytes"])


@cache
def _ascites_moves() -> dict[str, str]:
    return dict(load_toml("specimens.toml")["ascites_moves"])


def specimen_kind(text: str) -> str | None:
    """`serum` (serum, plasma, blood), `whole_blood`, `ascites`, `other` (urine, CSF...), or None for a
    word levlab does not know."""
    return _kinds().get(normalise_name(text)) if len(text) <= 100 else None


def place(analyte: Analyte, specimen: str, na: frozenset[str]) -> tuple[Analyte | None, Passed | None]:
    """Where a result of `analyte` on `specimen` goes: (the analyte of the panel, None), or (None, why it
    passes through). A blank or not-stated specimen is read as serum/plasma, as in an export without
    a specimen column."""
    text = specimen.strip()
    if text.casefold() in na:
        return analyte, None
    kind = specimen_kind(text)
    if kind == "serum":
        return analyte, None
    if kind == "whole_blood":
        if analyte.id in whole_blood_analytes():
            return analyte, None
        return None, Passed(f"specimen {shown(text)} (whole blood): {analyte.id} on whole blood is not the serum or "
                            "plasma result levlab's intervals are for; passed through, not in the panel", False)
    if kind == "ascites":
        moved = _ascites_moves().get(analyte.id)
        if moved is not None:
            return analytes()[moved], None
        return None, Passed(f"specimen {shown(text)} (ascitic fluid): {analyte.id} on ascites is not a serum result; "
                            "passed through, not in the panel", False)
    if kind == "other":
        return None, Passed(f"specimen {shown(text)}: not serum or plasma; {analyte.id} passed through, not in the panel",
                            False)
    return None, Passed(f"specimen {shown(text)} is not known as serum or plasma, so {analyte.id} is not put into the "
                        "panel (the words are in levlab/data/specimens.toml)", True)
