"""Oncology conventions over judged results: CTCAE grades, multiples of ULN, the R ratio. Pure.

Every criterion lives in data (data/ctcae.toml, data/patterns.toml); one grader walks a term's
grade bounds, highest first, so no analyte has code of its own. Everything is three-valued: a
censored value, an unknown interval or an undecided baseline gives None, never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from levlab.catalog import analytes
from levlab.data import load_toml
from levlab.language import N_, Localized, Msg, Numeric
from levlab.model import AnalyteResult, Bounds, Grade, Interval, Pattern
from levlab.units import to_canonical_factor, units
from levlab.values import format_number

#: values and thresholds are compared at this many significant digits, so that a multiple of
#: the ULN reached through a unit conversion is not missed by one unit in the last place
SIGNIFICANT_DIGITS = 12
COMPARATORS = (">", ">=", "<", "<=")
REFERENCES = ("ULN", "LLN", "baseline")


def settle(number: float) -> float:
    """`number` rounded to SIGNIFICANT_DIGITS (infinities and zero unchanged)."""
    if number == 0 or not math.isfinite(number):
        return number
    return float(f"{number:.{SIGNIFICANT_DIGITS}g}")


def settled(bounds: Bounds) -> Bounds:
    """`bounds` with both ends settled."""
    low = settle(bounds.low)
    high = low if bounds.high == bounds.low else settle(bounds.high)
    if low == bounds.low and high == bounds.high:
        return bounds  # nothing to settle (a value read from text usually has few digits)
    return Bounds(low, high, bounds.low_open, bounds.high_open)


_SETTLED_LIMITS: dict[float, float] = {}  # threshold -> settled: thresholds are few (data x intervals)


def compare(bounds: Bounds, op: str, threshold: float, *, already_settled: bool = False) -> bool | None:
    """Whether `value op threshold` holds for every value in bounds (True), none (False), or it
    depends (None); both compared settled (pass already_settled for bounds from `settled`)."""
    settled_bounds = bounds if already_settled else settled(bounds)
    limit = _SETTLED_LIMITS.get(threshold)
    if limit is None:
        if len(_SETTLED_LIMITS) > 4_096:  # lab ranges from a file can make many: stay bounded
            _SETTLED_LIMITS.clear()
        limit = _SETTLED_LIMITS[threshold] = settle(threshold)
    point = settled_bounds.low
    if point == settled_bounds.high and not (settled_bounds.low_open or settled_bounds.high_open):
        if op == ">":  # an exact value: what `above`/`below` give for a point, as a float comparison
            return point > limit
        if op == ">=":
            return point >= limit
        if op == "<":
            return point < limit
        if op == "<=":
            return point <= limit
    if op in (">", ">="):
        return settled_bounds.above(limit, inclusive=op == ">=")
    if op in ("<", "<="):
        return settled_bounds.below(limit, inclusive=op == "<=")
    raise ValueError(f"unknown comparator {op!r}")


def _intervals(result: AnalyteResult) -> tuple[Interval, ...]:
    """The interval in force, or every interval that may apply when sex/age is unknown."""
    if result.interval is not None:
        return (result.interval,)
    return result.candidates


def uln_compare(result: AnalyteResult, op: str, multiple: float) -> bool | None:
    """Is the value `op multiple x ULN`? Decided only when every interval that may apply agrees."""
    m = result.measurement
    intervals = _intervals(result)
    if m is None or not intervals or any(interval.high is None for interval in intervals):
        return None
    value = settled(m.bounds)
    outcomes = {compare(value, op, multiple * interval.high, already_settled=True) for interval in intervals}
    return outcomes.pop() if len(outcomes) == 1 else None


# --- CTCAE -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """A grade's lower bound: value `op` x times `of` (a reference), or `op` an absolute value."""

    grade: int
    op: str
    of: str | None  # "ULN", "LLN", "baseline"; None: `x` is an absolute value in the canonical unit
    x: float
    text: str  # as levlab shows it: "> 3 x ULN", "< 30 g/L"


@dataclass(frozen=True, slots=True)
class Term:
    """One CTCAE term: its bounds when the baseline was normal, and when it was abnormal."""

    analyte: str
    term: str
    bounds: tuple[Bound, ...]  # highest grade first
    bounds_baseline_abnormal: tuple[Bound, ...] | None
    note: str | None

    @property
    def basis(self) -> str:
        """What the (baseline-normal) grades are measured against: ULN, or LLN for a low term."""
        return "LLN" if any(bound.of == "LLN" for bound in self.bounds) else "ULN"


@dataclass(frozen=True, slots=True)
class Criteria:
    """The CTCAE table as data: version, source and terms by analyte id."""

    version: str
    source: str
    terms: Mapping[str, Term]


def _bounds(analyte_id: str, entries: list[dict], where: str) -> tuple[Bound, ...]:
    analyte = analytes()[analyte_id]
    loaded = []
    for entry in entries:
        op = entry["op"]
        if op not in COMPARATORS:
            raise ValueError(f"{where}: unknown comparator {op!r}")
        if "of" in entry:
            if entry["of"] not in REFERENCES:
                raise ValueError(f"{where}: unknown reference {entry['of']!r}")
            x = float(entry["x"])
            loaded.append(Bound(int(entry["grade"]), op, entry["of"], x, f"{op} {format_number(x)} x {entry['of']}"))
        else:
            unit = units()[entry["unit"]].key
            value = float(entry["value"]) * to_canonical_factor(analyte, unit)
            loaded.append(Bound(int(entry["grade"]), op, None, value, f"{op} {format_number(float(entry['value']))} {unit}"))
    grades = [bound.grade for bound in loaded]
    if len(set(grades)) != len(grades) or not all(1 <= grade <= 4 for grade in grades):
        raise ValueError(f"{where}: each grade 1-4 at most once")
    return tuple(sorted(loaded, key=lambda bound: -bound.grade))


@cache
def criteria() -> Criteria:
    """data/ctcae.toml, checked and read once."""
    document = load_toml("ctcae.toml")
    terms = {}
    for entry in document["term"]:
        analyte_id = entry["analyte"]
        if analyte_id not in analytes() or analyte_id in terms:
            raise ValueError(f"ctcae.toml: unknown or repeated analyte {analyte_id!r}")
        abnormal = entry.get("grades_baseline_abnormal")
        terms[analyte_id] = Term(
            analyte=analyte_id,
            term=entry["term"],
            bounds=_bounds(analyte_id, entry["grades"], f"ctcae.toml {analyte_id}"),
            bounds_baseline_abnormal=None if abnormal is None else _bounds(analyte_id, abnormal, f"ctcae.toml {analyte_id}"),
            note=entry.get("note"),
        )
    return Criteria(str(document["version"]), document["source"], terms)


def _unit(analyte_id: str) -> str:
    return analytes()[analyte_id].canonical_unit


def _climb_to(bounds: tuple[Bound, ...], value: Bounds, references: Mapping[str, float | None]) -> tuple[int | None, Bound | None, float | None]:
    """The highest grade whose lower bound the value passes: (grade, the bound that decided, its
    threshold); grade None when the bound's reference is unknown (threshold None) or the value may
    or may not pass it; bound None when no bound is passed (grade 0)."""
    value = settled(value)
    point = value.low if value.low == value.high and not (value.low_open or value.high_open) else None
    for bound in bounds:
        reference = 1.0 if bound.of is None else references.get(bound.of)
        if reference is None:
            return None, bound, None
        threshold = bound.x * reference
        if point is not None:  # an exact value: `compare` of a point, as plain float comparisons
            limit = _SETTLED_LIMITS.get(threshold)
            if limit is not None:
                op = bound.op
                if point > limit if op == ">" else point >= limit if op == ">=" else point < limit if op == "<" else point <= limit:
                    return bound.grade, bound, threshold
                continue
        outcome = compare(value, bound.op, threshold, already_settled=True)
        if outcome is None:
            return None, bound, threshold
        if outcome:
            return bound.grade, bound, threshold
    return 0, None, None


def _climb(bounds: tuple[Bound, ...], value: Bounds, references: Mapping[str, float | None], unit: str) -> tuple[int | None, str]:
    """`_climb_to` with how it was decided, in words: (grade or None, how)."""
    grade_found, bound, threshold = _climb_to(bounds, value, references)
    if bound is None:
        lowest = bounds[-1]
        reference = 1.0 if lowest.of is None else references.get(lowest.of)
        if lowest.of is None or reference is None:
            return 0, Msg("not {bound}", bound=Numeric(lowest.text))
        return 0, Msg("not {bound} ({limit} {unit})", bound=Numeric(lowest.text), limit=lowest.x * reference, unit=unit)
    if threshold is None:
        return None, Msg("no {reference} known to compare with (grade {grade} is {bound})", reference=bound.of,
                         grade=bound.grade, bound=Numeric(bound.text))
    shown = Numeric(bound.text if bound.of is None else f"{bound.text} ({format_number(threshold)} {unit})")
    return grade_found, shown if grade_found is not None else Msg("may or may not be {shown}", shown=shown)


def baseline_abnormal(baseline: AnalyteResult) -> tuple[bool | None, str]:
    """Is the baseline above its ULN (> ULN)? None when its value or interval leaves it open."""
    shown = baseline.measurement.input if baseline.measurement else baseline.analyte
    intervals = _intervals(baseline)
    if baseline.measurement is None:
        return None, Msg("baseline {shown} unreadable", shown=shown)
    if not intervals or any(interval.high is None for interval in intervals):
        return None, Msg("baseline {shown} has no single upper limit to say whether it was abnormal", shown=shown)
    outcome = uln_compare(baseline, ">", 1.0)
    if outcome is None:
        return None, Msg("baseline {shown} may or may not be above its ULN", shown=shown)
    return outcome, Msg(N_("baseline {shown} above ULN") if outcome else N_("baseline {shown} not above ULN"), shown=shown)


def grade(result: AnalyteResult, baseline: AnalyteResult | None = None) -> Grade | None:
    """The CTCAE grade of one result, or None when CTCAE has no term for the analyte.

    `baseline` is the same analyte's baseline result: above its ULN, the baseline-abnormal
    bounds (multiples of the baseline value) apply; otherwise, or without one, the multiples
    of ULN. The Grade's `grade` is None when the value, the interval or the baseline leaves
    it undecided, with the reason.
    """
    if baseline is None:  # the same result is graded again and again in a stream of panels: once is enough
        kept = _GRADES.get(id(result))
        if kept is not None and kept[0] is result:
            return kept[1]
        if len(_GRADES) >= GRADES_KEPT:
            _GRADES.clear()
        found = _grade(result, None)
        _GRADES[id(result)] = (result, found)
        return found
    return _grade(result, baseline)


GRADES_KEPT = 8_192
_GRADES: dict[int, tuple[AnalyteResult, Grade | None]] = {}  # id(result) -> (result, its grade without baseline)


def _grade(result: AnalyteResult, baseline: AnalyteResult | None) -> Grade | None:
    table = criteria()
    term = table.terms.get(result.analyte)
    if term is None:
        return None

    def made(value: int | None, basis: str | None, reason: str) -> Grade:
        return Grade(result.analyte, table.version, value, term.term, basis, reason)

    m = result.measurement
    if m is None:
        return made(None, None, Msg("unreadable: {reason}", reason=result.reason) if result.reason else Msg("unreadable"))
    bounds, basis, why = term.bounds, term.basis, ""
    references: dict[str, float | None] = {"baseline": None}
    if term.bounds_baseline_abnormal is not None:
        if baseline is None:
            why = Msg("; no baseline given: graded against ULN")
        else:
            abnormal, said = baseline_abnormal(baseline)
            if abnormal is None:
                return made(None, None, said)
            if abnormal:
                bm = baseline.measurement
                if bm is None or bm.comparator is not None:
                    return made(None, "baseline", Msg("{said}, but a censored baseline ({input}) gives no multiple",
                                                      said=said, input=bm.input if bm else "?"))
                bounds, basis = term.bounds_baseline_abnormal, "baseline"
                references["baseline"] = bm.value
                why = Msg("; {said}: graded against baseline {value} {unit}", said=said, value=bm.value,
                          unit=_unit(result.analyte))
            else:
                why = Msg("; {said}: graded against ULN", said=said)
    unit = _unit(result.analyte)
    intervals = _intervals(result) or (None,)
    outcomes = {
        _climb(bounds, m.bounds, {**references, "ULN": i.high if i else None, "LLN": i.low if i else None}, unit)
        for i in intervals
    }
    grades = {value for value, _ in outcomes}
    value_text = Numeric(f"{m.comparator or ''}{format_number(m.value)} {unit}")
    if len(grades) > 1:
        found = ", ".join(sorted(str(g) for g in grades))
        return made(None, basis, Msg("{value}: grade {grades} depending on which reference interval applies (sex or age "
                                     "unknown)", value=value_text, grades=found))
    value, how = sorted(outcomes, key=lambda outcome: str(outcome[1]))[0]
    if len(intervals) > 1 and value is not None:
        how = Msg("{how}, grade {grade} under each of the {count} intervals that may apply", how=how, grade=value,
                  count=len(intervals))
    return made(value, basis, Msg("{value}: {how}{why}", value=value_text, how=how, why=why))


def panel_grades(results: Mapping[str, AnalyteResult], baseline: Mapping[str, AnalyteResult] | None = None) -> tuple[Grade, ...]:
    """The grade of every result that has a CTCAE term, in the order of `results`."""
    baseline = baseline or {}
    graded = (grade(result, baseline.get(analyte_id)) for analyte_id, result in results.items())
    return tuple(g for g in graded if g is not None)


# --- R ratio -------------------------------------------------------------------------------------


def r_ratio_pattern(results: Mapping[str, AnalyteResult]) -> Pattern | None:
    """(ALT/ULN)/(ALP/ULN) classified by data/patterns.toml; None unless ALT >= 3 x ULN or
    ALP >= 2 x ULN (its `classify_when`) and both have a single exact multiple of their ULN."""
    spec = load_toml("patterns.toml")["r_ratio"]
    if not any(uln_compare(results[c["analyte"]], c["op"], c["value"]) for c in spec["classify_when"] if c["analyte"] in results):
        return None
    return classified_pattern(results)


def classified_pattern(results: Mapping[str, AnalyteResult]) -> Pattern | None:
    """`r_ratio_pattern` of results for which one of its `classify_when` holds (a caller that knows it)."""
    spec = load_toml("patterns.toml")["r_ratio"]
    top, bottom = results.get(spec["numerator"]), results.get(spec["denominator"])
    if top is None or bottom is None or top.x_uln is None or not bottom.x_uln:
        return None
    ratio = top.x_uln / bottom.x_uln
    point = settled(Bounds.of(ratio, None))  # (once, not per band: JSONL asks this of about every other panel)
    kind = next(
        (band["type"] for band in spec["bands"] if compare(point, band["op"], band["value"], already_settled=True)),
        spec["otherwise"],
    )
    return Pattern(ratio, kind, spec["source"])


def grade_value(result: AnalyteResult, baseline: AnalyteResult | None = None) -> tuple[bool, int | None]:
    """`grade(result, baseline).grade` without the words, for bulk output: (whether CTCAE has a
    term for the analyte, the grade or None when undecided)."""
    term = criteria().terms.get(result.analyte)
    if term is None:
        return False, None
    if result.measurement is None:
        return True, None
    reference = None
    if baseline is not None and term.bounds_baseline_abnormal is not None:
        abnormal = baseline_abnormal(baseline)[0]
        if abnormal is None:
            return True, None
        if abnormal:
            bm = baseline.measurement
            if bm is None or bm.comparator is not None:
                return True, None
            reference = bm.value
    return True, grade_against(result, reference)


def grade_against(result: AnalyteResult, abnormal_baseline: float | None) -> int | None:
    """The grade of a measured result with a CTCAE term: against ULN (or LLN), or with
    `abnormal_baseline` (a baseline value above its ULN) as a multiple of it where the term has
    baseline-abnormal criteria; None when undecided. See `grade_value`."""
    term = criteria().terms[result.analyte]
    m = result.measurement
    assert m is not None
    bounds = term.bounds
    if abnormal_baseline is not None and term.bounds_baseline_abnormal is not None:
        bounds = term.bounds_baseline_abnormal
    grades = {_climb_to(bounds, m.bounds, {"baseline": abnormal_baseline, "ULN": i.high if i else None,
                                           "LLN": i.low if i else None})[0]
              for i in _intervals(result) or (None,)}
    return grades.pop() if len(grades) == 1 else None


def relation_note(rule_ids: Iterable[str], pattern: Pattern | None) -> str | None:
    """The line relating Hy's law to the R-ratio pattern and to bilirubin-over-2 when the rule
    `requires` is met together with a pattern or one of `with_any` (patterns.toml [relation])."""
    spec = load_toml("patterns.toml")["relation"]
    ids = set(rule_ids)
    if spec["requires"] not in ids or (pattern is None and not ids & set(spec["with_any"])):
        return None
    return Localized(spec["text"], {"nl": spec["text_nl"]} if "text_nl" in spec else None)
