"""The analyte catalogue (data/analytes.toml): ids, units, aliases, LOINC codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from levlab.data import load_toml
from levlab.errors import UnknownAnalyteError, shown
from levlab.language import Msg

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
    #: (LOINC code, display) naming the result as levlab reports it; None where no listed code says exactly that
    reported_loinc: tuple[str, str] | None = None
    #: the unit of a bare value when the settings file says units = "si" (None: not in that family)
    si_unit: str | None = None


_UNIT_SIGNS = frozenset("%‰")


def normalise_name(text: str) -> str:
    """Fold a name for matching: no accents, lower case, letters and digits only (γ kept).

    `%` and `‰` are kept: they are units, so `ALT (%)` is not the name `ALT` but ALT in an
    unknown unit, refused as any other.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(c for c in folded if c.isalnum() or c in _UNIT_SIGNS)


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
            reported_loinc=(entry["reported_loinc"]["code"], entry["reported_loinc"]["display"])
            if "reported_loinc" in entry else None,
            si_unit=entry.get("si_unit"),
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
    return _named_with_abbreviation(name)


def _named_with_abbreviation(text: str) -> Analyte | None:
    """A name with its abbreviation in brackets: `Alanine Aminotransferase (ALT)`, `Lactate
    Dehydrogenase (LD)`, `Aspartate aminotransferase (AST/SGOT)`. The bracketed abbreviation must name
    an analyte (every part of it that names one, the same), and the name before it the same analyte,
    or none and without a word that makes it another quantity (`Urine LD (LD)` is not serum LDH)."""
    body = text.strip()
    if not body.endswith((")", "]")):
        return None
    opening = max(body.rfind("("), body.rfind("["))
    if opening <= 0:
        return None
    outer, inner = body[:opening], body[opening + 1:-1]
    index = _name_index()
    named = {index.get(normalise_name(part)) for part in re.split(r"[/,;|]", inner) if normalise_name(part)}
    named.discard(None)
    if len(named) != 1:
        return None
    (analyte_id,) = named
    outer_id = index.get(normalise_name(outer)) or index.get(normalise_name(_SPECIMEN_PREFIX.sub("", outer.strip())))
    if outer_id == analyte_id:
        return analytes()[analyte_id]
    if outer_id is None and normalise_name(outer) and not any(word in _near_miss_data()[1] for word in header_words(outer)):
        return analytes()[analyte_id]
    return None


def get_analyte(name: str) -> Analyte:
    """Like find_analyte, but an unknown name is an error listing the analyte ids."""
    analyte = find_analyte(name)
    if analyte is None:
        raise UnknownAnalyteError(Msg(
            "unknown analyte {name}; known: {known} (or an alias such as ALAT, ASAT, AF, LD, gamma-GT, or a LOINC code)",
            name=shown(name), known=", ".join(analytes()))
        )
    return analyte


# --- headers that nearly match ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A header that is not an analyte name but comes close: reported, never mapped silently.

    kind "typo": `analyte` is the analyte the header is `slips` typing slips away from (via
    `alias`), and `map_option` the `--map` that would take it. kind "other-meaning": the header
    contains the analyte word(s) in `alias` but a qualifier makes it another quantity; `analyte`
    is None and `reason` says why it is not taken.
    """

    header: str
    kind: str  # "typo" or "other-meaning"
    analyte: str | None
    alias: str
    slips: int
    reason: str
    map_option: str | None


_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+")


def header_words(text: str) -> tuple[str, ...]:
    """A header's words, folded: `Albumin_and_Globulin_Ratio`, `AlbuminGlobulinRatio` and
    `albumin/globulin ratio` all give ('albumin', 'and', 'globulin', 'ratio')."""
    return tuple(normalise_name(word) for word in _WORD.findall(text) if normalise_name(word))


def typing_slips(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, change, swap of two neighbours) from a to b; limit + 1 when more."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (char_a != char_b))
            if before is not None and i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return row[-1]


@cache
def _near_miss_data() -> tuple[tuple[tuple[int, int], ...], dict[str, str]]:
    table = load_toml("analytes.toml")["near_miss"]
    return tuple((int(length), int(slips)) for length, slips in table["max_slips"]), dict(table["qualifiers"])


def _allowed_slips(alias_key: str) -> int:
    allowed = 0
    for length, slips in _near_miss_data()[0]:
        if len(alias_key) >= length:
            allowed = slips
    return allowed


def _analyte_words(words: tuple[str, ...]) -> list[tuple[str, str]]:
    """(analyte id, the words naming it) for every run of up to four words that is an alias."""
    index, found = _name_index(), []
    for start in range(len(words)):
        for end in range(min(len(words), start + 4), start, -1):
            key = "".join(words[start:end])
            if key in index:
                found.append((index[key], " ".join(words[start:end])))
                break
    return found


def near_miss(header: str) -> NearMiss | None:
    """What a header that levlab does not take nearly means, or None (a known name, or nothing close).

    A header is "other-meaning" when it contains an analyte word together with a qualifier that
    makes it another quantity (`Direct_Bilirubin`, `Albumin_and_Globulin_Ratio`), and "typo" when,
    folded, it is within the allowed typing slips of exactly one analyte's aliases
    (`Alkaline_Phosphotase`, `Alamine_Aminotransferase`). Data: analytes.toml [near_miss].
    """
    if len(header) > MAX_NAME_TEXT or find_analyte(header) is not None:
        return None
    words = header_words(header)
    qualifiers = _near_miss_data()[1]
    found = _analyte_words(words)
    why = next((qualifiers[word] for word in words if word in qualifiers), None)
    if found and why:
        named = " and ".join(dict.fromkeys(words for _, words in found))
        return NearMiss(header, "other-meaning", None, named, 0,
                        f"{shown(header)} contains {named}, but it is {why}: not taken", None)
    if why:
        return None
    key = normalise_name(header)
    best: dict[str, tuple[int, str]] = {}
    for analyte in analytes().values():
        for alias in (analyte.id, *analyte.aliases):
            alias_key = normalise_name(alias)
            allowed = _allowed_slips(alias_key)
            if allowed == 0:
                continue
            slips = typing_slips(key, alias_key, allowed)
            if slips <= allowed and slips < best.get(analyte.id, (allowed + 1, ""))[0]:
                best[analyte.id] = (slips, alias)
    if not best:
        return None
    fewest = min(slips for slips, _ in best.values())
    closest = [analyte_id for analyte_id, (slips, _) in best.items() if slips == fewest]
    if len(closest) != 1:
        return None  # as close to two analytes: no suggestion
    analyte = analytes()[closest[0]]
    slips, alias = best[analyte.id]
    plural = "slip" if slips == 1 else "slips"
    unit = f":<{' or '.join(analyte.units[:2])}>" if analyte.unit_required else ""
    return NearMiss(header, "typo", analyte.id, alias, slips,
                    f"{shown(header)} is {slips} typing {plural} from {alias!r} ({analyte.id}): not taken without --map",
                    f'--map "{header}={analyte.id}{unit}"')
