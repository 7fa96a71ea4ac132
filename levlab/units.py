"""Units: spelling -> accepted unit (data/units.toml), and factors computed once through pint.

pint only ever sees expressions from units.toml and names from units.txt, never user text,
and it is imported on the first conversion that is not the identity and that pint has not
answered before (its answers are kept on disk: levlab.kept_factors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from levlab import kept_factors
from levlab.catalog import Analyte
from levlab.data import data_path, load_toml
from levlab.errors import UnitError, message_of
from levlab.language import Msg
from levlab.values import normalise_text

MAX_UNIT_TEXT = 32


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit levlab accepts."""

    key: str  # as displayed: "µmol/L"
    pint: str  # expression handed to pint
    kind: str  # "mass", "molar", "activity", "count"


@cache
def units() -> dict[str, Unit]:
    """All accepted units by display key."""
    table = load_toml("units.toml")["units"]
    return {key: Unit(key, entry["pint"], entry["kind"]) for key, entry in table.items()}


@cache
def _spelling_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, entry in load_toml("units.toml")["units"].items():
        for spelling in (key, *entry["spellings"]):
            index[_fold(spelling)] = key
    return index


def _nfkc(text: str) -> str:
    """NFKC, with the mojibake `Âµ` (UTF-8 µ read as cp1252) back to µ; NFKC turns µ into μ first."""
    return normalise_text(text).replace("Âμ", "μ")


def _fold(text: str) -> str:
    text = _nfkc(text).replace("μ", "u").replace("µ", "u")
    text = re.sub(r"\s+", "", text).lower()
    return re.sub(r"(^|/)mc(?=g|mol|kat|l)", r"\1u", text)


_FOUND: dict[str, Unit] = {}  # spellings already looked up (a file repeats its few units on every row)
_FOUND_KEPT = 1_024


def lookup_unit(text: str) -> Unit:
    """The accepted unit a spelling stands for (`umol/l`, `mg%`, `IE/l`, `10*9/L`...).

    A bare lower-case `u` (`u/L`) is refused: it is not U/L to pint, and it is not clear
    to a reader either.
    """
    found = _FOUND.get(text)
    if found is None:
        found = _lookup_unit(text)
        if len(_FOUND) < _FOUND_KEPT and len(text) <= 4 * MAX_UNIT_TEXT:
            _FOUND[text] = found
    return found


def _lookup_unit(text: str) -> Unit:
    if len(text) > 4 * MAX_UNIT_TEXT and len(text.strip()) > 4 * MAX_UNIT_TEXT:  # before NFKC, which can expand it
        raise UnitError(f"unit text is {len(text)} characters long; at most {MAX_UNIT_TEXT} are read")
    cleaned = _nfkc(text).strip()
    if len(cleaned) > MAX_UNIT_TEXT:
        raise UnitError(f"unit text is {len(cleaned)} characters long; at most {MAX_UNIT_TEXT} are read")
    if re.fullmatch(r"(?:u|µ|μ)\s*(?:/.*)?", cleaned):
        raise UnitError(
            f"unit {text!r} is ambiguous (a lower-case u is atomic mass units to pint, or a µ prefix without a unit); "
            "write U/L for enzyme units per litre"
        )
    key = _spelling_index().get(_fold(cleaned))
    if key is None:
        raise UnitError(Msg("unknown unit {text!r}", text=text))
    return units()[key]


def unit_for_analyte(analyte: Analyte, text: str) -> Unit:
    """The accepted unit for this analyte, or an error naming the units it accepts."""
    try:
        unit = lookup_unit(text)
    except UnitError as error:
        raise UnitError(Msg("{error}; {analyte} accepts {units}", error=message_of(error), analyte=analyte.id,
                            units=", ".join(analyte.units))) from None
    if unit.key not in analyte.units:
        raise UnitError(Msg("unit {text!r} is not accepted for {analyte}; it accepts {units}", text=text, analyte=analyte.id,
                            units=", ".join(analyte.units)))
    return unit


@cache
def registry() -> Any:
    """levlab's own small pint registry, built from data/units.txt (no pickle cache)."""
    import pint

    return pint.UnitRegistry(data_path("units.txt"), cache_folder=None)


@cache
def factor(analyte_id: str, from_unit: str, to_unit: str, molar_mass: float | None = None) -> float:
    """Multiply a value in `from_unit` by this to get it in `to_unit`; computed once by pint
    (and kept: levlab.kept_factors)."""
    if from_unit == to_unit:
        return 1.0
    source, target = units()[from_unit], units()[to_unit]
    chemistry = source.kind in ("mass", "molar") and target.kind in ("mass", "molar") and source.kind != target.kind
    if chemistry and molar_mass is None:
        raise UnitError(f"{analyte_id}: no molar mass to convert {from_unit} to {to_unit}")
    question = (source.pint, target.pint, chemistry, molar_mass if chemistry else None)
    answer = kept_factors.known(question)
    if answer is None:
        answer = pint_factor(*question)
        kept_factors.remember(question, answer)
    return answer


def pint_factor(source: str, target: str, chemistry: bool, molar_mass: float | None) -> float:
    """pint's factor from the expression `source` to `target` (through the chemistry context
    with `molar_mass` in g/mol), to 15 significant digits."""
    ureg = registry()
    quantity = ureg.Quantity(1.0, source)
    if chemistry:
        converted = quantity.to(target, "chemistry", mw=ureg.Quantity(molar_mass, "gram / mole"))
    else:
        converted = quantity.to(target)
    # pint's float arithmetic leaves last-digit noise (ng/mL -> µg/L = 1.0000000000000002), which
    # would move inclusive boundaries (CEA 3.0 ng/mL above `<= 3.0 µg/L`, 200 ng/mL above 200 µg/L);
    # 15 significant digits is what a double holds exactly, so this only removes the noise.
    return float(f"{float(converted.magnitude):.15g}")


def to_canonical_factor(analyte: Analyte, unit_key: str) -> float:
    """Factor from an accepted unit of the analyte to its canonical unit."""
    return factor(analyte.id, unit_key, analyte.canonical_unit, analyte.molar_mass)


def convert(analyte: Analyte, value: float, from_unit: str, to_unit: str) -> float:
    """Convert a value of this analyte between two of its accepted units."""
    return value * factor(analyte.id, from_unit, to_unit, analyte.molar_mass)
