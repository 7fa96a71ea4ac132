"""The analyte catalogue (data/analytes.toml): ids, units, aliases, LOINC codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from levlab.data import load_toml
from levlab.errors import UnknownAnalyteError, shown

MAX_NAME_TEXT = 100  # characters; no alias is half as long, so a longer name is unknown unread

_SPECIMEN_PREFIX = re.compile(r"^(?:s|p|b|se|pl|serum|plasma|bloed|blood)[-_. ]+(?=\S)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Analyte:
    """One analyte as described in the catalogue."""

    id: str
    name: str
    canonical_unit: str
    units: tuple[str, ...]
    unit_required: bool
    molar_mass: float | None
    loinc: tuple[str, ...]
    aliases: tuple[str, ...]
    plausible_low: float  # the "unusual for the unit" tier: outside, a stated unit gets a warning
    plausible_high: float
    plausible_basis: str
    possible_low: float  # the "impossible" tier: outside, an error whatever the unit
    possible_high: float
    possible_basis: str
    #: (other unit, low, high): values a result in that unit really takes; a bare number in
    #: such a span is not assumed to be in the canonical unit
    believable: tuple[tuple[str, float, float], ...] = ()
    believable_basis: str = ""


def normalise_name(text: str) -> str:
    """Fold a name for matching: no accents, lower case, letters and digits only (γ kept)."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(c for c in folded if c.isalnum())


@cache
def analytes() -> dict[str, Analyte]:
    """All analytes, in catalogue order."""
    table = load_toml("analytes.toml")["analytes"]
    return {
        analyte_id: Analyte(
            id=analyte_id,
            name=entry["name"],
            canonical_unit=entry["canonical_unit"],
            units=tuple(entry["units"]),
            unit_required=entry["unit_required"],
            molar_mass=entry.get("molar_mass"),
            loinc=tuple(entry.get("loinc", ())),
            aliases=tuple(entry["aliases"]),
            plausible_low=float(entry["plausible"][0]),
            plausible_high=float(entry["plausible"][1]),
            plausible_basis=entry["plausible_basis"],
            possible_low=float(entry["possible"][0]),
            possible_high=float(entry["possible"][1]),
            possible_basis=entry["possible_basis"],
            believable=tuple((unit, float(span[0]), float(span[1])) for unit, span in entry.get("believable", {}).items()),
            believable_basis=entry.get("believable_basis", ""),
        )
        for analyte_id, entry in table.items()
    }


@cache
def _name_index() -> dict[str, str]:
    """Folded alias, id and LOINC code -> analyte id."""
    index: dict[str, str] = {}
    for analyte in analytes().values():
        for name in (analyte.id, *analyte.aliases, *analyte.loinc):
            key = normalise_name(name)
            if index.get(key, analyte.id) != analyte.id:
                raise ValueError(f"alias {name!r} names both {index[key]} and {analyte.id}")
            index[key] = analyte.id
    return index


def find_analyte(name: str) -> Analyte | None:
    """The analyte a name, abbreviation or LOINC code stands for, or None."""
    if len(name) > MAX_NAME_TEXT and len(name.strip()) > MAX_NAME_TEXT:
        return None
    index = _name_index()
    key = normalise_name(name)
    if key in index:
        return analytes()[index[key]]
    stripped = _SPECIMEN_PREFIX.sub("", name.strip())
    if stripped != name.strip():
        found = index.get(normalise_name(stripped))
        if found:
            return analytes()[found]
    return None


def get_analyte(name: str) -> Analyte:
    """Like find_analyte, but an unknown name is an error listing the analyte ids."""
    analyte = find_analyte(name)
    if analyte is None:
        raise UnknownAnalyteError(
            f"unknown analyte {shown(name)}; known: {', '.join(analytes())} (or an alias such as ALAT, ASAT, AF, LD, gamma-GT, or a LOINC code)"
        )
    return analyte
