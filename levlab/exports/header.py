"""Header words: what a column name says — a role (from its words, `levlab.exports.roles`), an
analyte and its unit, a companion column — and the command-line options that name columns
(`--col`, `--map`, `--range`).

`levlab.exports.layout` puts these together into a Layout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from levlab.catalog import Analyte, analytes, find_analyte, normalise_name
from levlab.data import load_toml
from levlab.errors import LevlabError, UsageError, shown
from levlab.exports.roles import exact_role, role_by_words, vocabulary
from levlab.units import lookup_unit, unit_for_analyte
from levlab.units import units as units_by_key
from levlab.values import parse_range

#: roles --col may set (`time`: a time-of-day column beside the sample date; `birth`: the patient's
#: birth date, for the age at the sample; `specimen`: what was sampled)
COL_ROLES = ("patient", "sex", "age", "birth", "sample", "date", "time", "test", "value", "unit", "range", "specimen")


@cache
def _suffixes() -> tuple[tuple[str, str], ...]:
    """Folded unit and range names that follow (or precede) an analyte's name in a companion column."""
    vocab = vocabulary()
    names = [(normalise_name(word), role.role) for role in vocab.roles if role.role in ("range", "unit")
             for word in role.words]
    for name in load_toml("header_roles.toml")["companions"]["names"]:
        names.append((normalise_name(name), "unit" if "unit" in name else "range"))
    return tuple(sorted(names, key=lambda item: -len(item[0])))


HEADER_CELL = 256  # characters: a longer header cell names no analyte, role or unit; it is only passed through
_SEPARATORS = re.compile(r"[\s_,]+")


@dataclass(frozen=True, slots=True)
class MapOption:
    """One --map: a header, the analyte it holds (None: ignore the column), and its unit."""

    header: str
    analyte: Analyte | None
    unit: str | None
    text: str


def parse_map(text: str, given_as: str = "--map") -> MapOption:
    """`HEADER=ANALYTE[:UNIT]` or `HEADER=ignore`; an error names the part that is wrong and where
    the text was given (`--map`, or a line of a `--codes` file)."""
    header, sep, target = text.rpartition("=")
    if not sep or not header.strip():
        raise UsageError(f"{given_as} {shown(text)}: the header is missing; write HEADER=ANALYTE[:UNIT], "
                         "e.g. --map \"Total_Bilirubin=bilirubin:mg/dL\"")
    name, _, unit_text = target.partition(":")
    if name.strip().casefold() in {"ignore", "-", "none"}:
        return MapOption(header.strip(), None, None, text)
    if not name.strip():
        raise UsageError(f"{given_as} {shown(text)}: the analyte is missing after '='; write HEADER=ANALYTE[:UNIT]")
    analyte = find_analyte(name)
    if analyte is None:
        raise UsageError(f"{given_as} {shown(text)}: unknown analyte {shown(name.strip())}; "
                         f"known: {', '.join(analytes())} (or 'ignore')")
    unit = None
    if unit_text.strip():
        try:
            unit = unit_for_analyte(analyte, unit_text).key
        except LevlabError as error:
            raise UsageError(f"{given_as} {shown(text)}: unit {shown(unit_text.strip())}: {error}") from None
    return MapOption(header.strip(), analyte, unit, text)


def parse_col(text: str) -> tuple[str, str]:
    """`ROLE=HEADER` -> (role, header); an error names the part that is wrong."""
    role, sep, header = text.partition("=")
    role = role.strip().casefold()
    if not sep or not header.strip():
        raise UsageError(f"--col {shown(text)}: write ROLE=HEADER, e.g. --col test=Bepaling")
    if role not in COL_ROLES:
        raise UsageError(f"--col {shown(text)}: unknown role {shown(role)}; roles: {', '.join(COL_ROLES)}")
    return role, header.strip()


def parse_range_option(text: str, decimal: str) -> tuple[str, str]:
    """`HEADER=RANGE` (`ALT=0-45`, `LDH=<250`) -> (header, range text), the range checked."""
    header, sep, range_text = text.rpartition("=")
    if not sep or not header.strip():
        raise UsageError(f"--range {shown(text)}: write HEADER=RANGE, e.g. --range \"ALT (U/L)=<45\"")
    try:
        parse_range(range_text, decimal)
    except LevlabError as error:
        raise UsageError(f"--range {shown(text)}: {error}") from None
    return header.strip(), range_text.strip()


def shown_list(texts: Sequence[str], limit: int = 30) -> str:
    """Texts of the file (column names) for a message: each cut as `shown` cuts it, at most `limit` of them."""
    listed = ", ".join(shown(text) for text in texts[:limit])
    return listed + (f", ... ({len(texts) - limit} more)" if len(texts) > limit else "")


def cut_option(text: str) -> str:
    """An option's text for a message: as given, or cut as `shown` cuts it when it is long."""
    return text if len(text) <= 60 else shown(text)


def find_header(header: Sequence[str], name: str, what: str) -> int:
    """Index of a header named on the command line: exact first, then folded if that is unique."""
    stripped = [cell.strip() for cell in header]
    if name in stripped:
        return stripped.index(name)
    folded = normalise_name(name)
    matches = [i for i, cell in enumerate(stripped) if len(cell) <= HEADER_CELL and normalise_name(cell) == folded and folded]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(f"{what}: no column {shown(name)} in the header (columns: {shown_list(stripped)})")


def split_header(text: str) -> tuple[Analyte | None, str | None]:
    """The analyte a wide header names and the unit it gives: `ALAT (U/L)`, `bilirubin_umol_L`.

    A bracketed text that is not a unit of the analyte is an error (it would otherwise be
    silently ignored); a unit after a space or underscore is taken only when it is one.
    """
    if len(text) > HEADER_CELL:
        return None, None
    whole = find_analyte(text)
    if whole is not None:
        return whole, None
    bracketed = bracketed_unit(text)
    if bracketed is not None and bracketed[0]:
        analyte = find_analyte(bracketed[0])
        if analyte is not None:
            inner = bracketed[1]
            if not inner or find_analyte(inner) is analyte:
                return analyte, None
            try:
                return analyte, unit_for_analyte(analyte, inner).key
            except LevlabError as error:
                if _same_quantity(analyte, inner):  # an amount of the analyte, in a unit levlab does not take
                    raise UsageError(
                        f"column {shown(text)}: {error}; give its unit with --map \"{text}={analyte.id}:UNIT\""
                    ) from None
                raise UsageError(
                    f"column {shown(text)}: {shown(inner)} is not a unit of {analyte.id}: the column may hold another "
                    f"quantity (a fraction, a ratio, a percentage...), so it is not read as {analyte.id}; pass it through "
                    f"with --map \"{text}=ignore\" ({analyte.id} is read in {', '.join(analyte.units)})"
                ) from None
    parts = [part for part in _SEPARATORS.split(text.strip()) if part]
    for size in (1, 2, 3):
        if len(parts) <= size:
            break
        analyte = find_analyte(" ".join(parts[:-size]))
        if analyte is None:
            continue
        try:
            unit = lookup_unit("/".join(parts[-size:]) if size > 1 else parts[-1])
        except LevlabError:
            continue
        if unit.key in analyte.units:
            return analyte, unit.key
    return None, None


def _same_quantity(analyte: Analyte, unit_text: str) -> bool:
    """Whether a unit text is a unit of the analyte's kind (mass, molar, activity...) that it does
    not accept (bilirubin in mmol/L), rather than no unit or one of another quantity (`direct`, `%`)."""
    try:
        kind = lookup_unit(unit_text).kind
    except LevlabError:
        return False
    return any(units_by_key()[key].kind == kind for key in analyte.units)


def header_unit(text: str, analyte: Analyte) -> str | None:
    """The unit a header gives for `analyte` (`ALAT (ukat/L)` -> µkat/L), whatever its name part
    says: for a `--map` without a unit, which must not drop the header's unit. None if it gives none."""
    if len(text) > HEADER_CELL:
        return None
    bracketed = bracketed_unit(text)
    parts = [part for part in _SEPARATORS.split(text.strip()) if part]
    candidates = ([bracketed[1]] if bracketed else []) + (["/".join(parts[-2:]), parts[-1]] if len(parts) > 1 else [])
    for candidate in candidates:
        try:
            return unit_for_analyte(analyte, candidate).key
        except LevlabError:
            continue
    return None


def bracketed_unit(text: str) -> tuple[str, str] | None:
    """`ALAT (U/L)` -> ("ALAT", "U/L"): the name before the last bracket and the text inside it
    (no bracket in it), both stripped; None when the text does not end in a bracket. Found with
    string searches, not a pattern: a wide cell of spaces and brackets cannot make it backtrack."""
    body = text.rstrip()
    if not body.endswith((")", "]")):
        return None
    opening = max(body.rfind("(", 0, len(body) - 1), body.rfind("[", 0, len(body) - 1))
    inner = body[opening + 1:-1]
    if opening < 0 or ")" in inner or "]" in inner:
        return None
    return body[:opening].rstrip(), inner.strip()


def companion_of(text: str) -> tuple[str, Analyte] | None:
    """`ALT ref`, `ALAT normaalwaarde`, `ALT unit` -> ("range" | "unit", the analyte)."""
    if len(text) > HEADER_CELL:
        return None
    folded = normalise_name(text)
    for suffix, role in _suffixes():
        if folded != suffix and folded.endswith(suffix):
            analyte = find_analyte(folded[: -len(suffix)])
            if analyte is not None:
                return role, analyte
        if folded != suffix and folded.startswith(suffix):
            analyte = find_analyte(folded[len(suffix):])
            if analyte is not None:
                return role, analyte
    return None


def role_of(text: str) -> str | None:
    """The role a column's header names, from its words (`Uitslag` -> value, `Afnamedatum` -> date,
    `Patiëntnummer` -> patient; levlab.exports.roles), or None. A header naming an analyte has no role."""
    if len(text) > HEADER_CELL:
        return None
    role = exact_role(text) or role_by_words(text)
    if role is not None and find_analyte(text) is not None:
        return None
    return role
