"""A short way for a cell that is a plain number: a memo in front of the long way, never a second interpretation.

Most cells of an export are a plain number (`23.05`) in a column whose unit, lab range and
patient context are the same row after row. For such a cell the long way (`memo.Judge.read`,
`interpret.read_measurement`, `interpret.assess`, the CTCAE grade, the RuleBook signature, the
output text) is a step function of the value: every discrete answer it gives — the flag, the
CTCAE grade, the rule projections the RuleBook signs (`rule_projections.PROJECTIONS`), whether a plausibility
warning is said — changes only where the value crosses a *breakpoint*: a limit of an interval
that may apply, a CTCAE threshold (a multiple of such a limit, or an absolute value), a rule
threshold (a multiple of ULN, an `above`/`below` limit), a plausible or possible limit.

So for each (column, patient context, unit, lab range) a `Plan` keeps those breakpoints, each
widened to a guard zone of a tiny relative width (`GUARD`, far wider than the 12-digit rounding
the long way compares with), and the segments between the zones. The first cell whose value
falls in a segment goes the long way; what it answered (flag, grade, signature, the fixed output
fields) is kept for the segment. Every later cell in that segment takes the short way:

    text -> float -> canonical value -> segment (one bisect) -> value text + the segment's answers

with the only per-cell arithmetic that of the long way itself: `number * factor` and
`values.format_number` for the value field, `value / ULN` for the dominance keys. Anything else —
a comparator, a unit or other text in the cell, three fraction digits (which may be a thousands
group, `exports.marks`), a missing-value marker, a value in a guard zone, a segment whose first
cell had a warning or an error, a unit assumed or taken from settings — goes the long way. The
`Judged` a short-way cell stands for (`LaneJudged`) makes its `AnalyteResult` the long way when a
writer asks for it (a new row signature, a ratio rule, a panel shown in full).

The module knows which answers it keeps (`KEPT_FIELDS`) and the limits of which rule projections it
knows (`rule_breakpoints`): where the output has other fields, or a rule another projection, it
stays out of the way. Tests hold the lane against the long way on
random values and on, a hair below and a hair above every breakpoint
(`tests/test_exports_numeric_lane.py`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from levlab.catalog import Analyte
from levlab.exports.fields import ANALYTE_FIELDS
from levlab.exports.memo import Judged, Reading
from levlab.grading import criteria
from levlab.model import AnalyteResult, Interval, Measurement
from levlab.units import factor as unit_factor
from levlab.units import units
from levlab.values import format_number

#: relative half-width of the guard zone around each breakpoint: a value this close to a limit
#: goes the long way (the long way compares at 12 significant digits, so 1e-12 apart counts)
GUARD = 1e-9
#: the appended fields the lane makes: the value field per cell, the others kept per segment
KEPT_FIELDS = ("value", "unit", "flag", "ctcae")
#: a plain number in the decimal mark: no sign, no space, not three fraction digits (`1,250` may
#: be a thousands group: exports.marks decides that, the long way)
_PLAIN = {mark: re.compile(rf"[0-9]{{1,15}}(?:\{mark}(?:[0-9]{{1,2}}|[0-9]{{4,14}}))?") for mark in (".", ",")}
_NEVER = float("-inf")


class LaneJudged(Judged):
    """A judged cell of the short way: its flag and signature those the long way gave for its
    segment, its output text and dominance keys made as `NumericLane.entries` makes them; its
    AnalyteResult made the long way when first asked for."""

    __slots__ = ("_made", "_segment", "_text")
    error = None  # a short-way cell never has an error ...
    warnings = ()  # ... nor a warning (their segments go the long way)

    def __init__(self, segment: Segment, text: str) -> None:
        self._segment, self._text = segment, text

    flag = property(lambda self: self._segment.flag)  # type: ignore[assignment]
    signature = property(lambda self: self._segment.signature)  # type: ignore[assignment]
    fragment = property(lambda self: self._segment.fields(self._text)[0])  # type: ignore[assignment]
    lead_key = property(lambda self: self._segment.fields(self._text)[1])  # type: ignore[assignment]
    rival_key = property(lambda self: self._segment.fields(self._text)[2])  # type: ignore[assignment]

    @property
    def signed(self) -> Judged:
        """The long-way cell of its segment: the same RuleBook signature, its result made."""
        return self._segment.first

    @property  # type: ignore[override]
    def result(self) -> AnalyteResult | None:
        """The long way's result for this cell (made once, on first use): its segment's answers
        with the cell's own measurement (`Segment.result_of`)."""
        try:
            return self._made
        except AttributeError:
            made = self._made = self._segment.result_of(self._text)
            return made


class Segment:
    """What the long way answered for the values of one segment (between two guard zones)."""

    __slots__ = ("decimal", "first", "flag", "highs", "keys", "plan", "signature", "suffix")

    def __init__(self, plan: Plan, decimal: str, first: Judged, suffix: str | None, highs: tuple[float, ...] | None,
                 keys: tuple[float, float]) -> None:
        self.plan, self.decimal = plan, decimal
        self.first = first  # the segment's first cell, judged the long way
        self.flag, self.signature = first.flag or "", first.signature
        self.suffix = suffix  # the output text of the fields after the value (see NumericLane.learn); None: no rows
        self.highs = highs  # the upper limits a raised value is a multiple of (dominance keys), or None
        self.keys = keys  # the dominance keys when they do not depend on the value

    def result_of(self, text: str) -> AnalyteResult:
        """The AnalyteResult the long way makes of a plain-number text of this segment: what
        `interpret.read_measurement` reads of it (the number, times the unit factor) and what
        `interpret.assess` judges, the segment's first result's answers (flag, interval, reason,
        candidates: the same between two breakpoints) with `value / ULN` of its interval."""
        first = self.first.result
        assert first is not None and first.measurement is not None
        m = first.measurement
        number = float(text.replace(",", "."))
        value = number * m.factor
        interval = first.interval
        return AnalyteResult(m.analyte, Measurement(m.analyte, text, number, None, m.unit, m.unit_kind, False, value,
                                                    m.factor, m.lab_interval, (), False),
                             first.flag, interval, value / interval.high if interval is not None and interval.high else None,
                             first.reason, first.candidates)

    def fields(self, text: str) -> tuple[str | None, float, float]:
        """A plain-number text of this segment as (output text, lead key, rival key)."""
        value = float(text.replace(",", ".")) * self.plan.factor
        return self.of_value(value)

    def of_value(self, value: float) -> tuple[str | None, float, float]:
        """A value (canonical unit) of this segment as (output text, lead key, rival key): the value
        field as `fields.ANALYTE_FIELDS` writes it (None for a sink without rows), and
        `rule_projections.dominance_keys` of its result."""
        text = None if self.suffix is None else format_number(value, self.decimal) + self.suffix
        highs = self.highs
        if highs is None:
            return text, *self.keys
        if len(highs) == 1:
            multiple = value / highs[0]
            return text, multiple, multiple
        spans = [value / high for high in highs]
        return text, min(spans), max(spans)


#: a segment whose cells always go the long way (its first cell had a warning or an error)
LONG_WAY: Any = object()


def guard_zones(points: Iterable[float]) -> list[float]:
    """The limits widened to guard zones (`GUARD`, relative), overlapping zones joined, as the
    sorted edges [low, high, low, high, ...]: by `bisect_right`, an odd index is inside a zone and
    an even one is the segment index / 2."""
    edges: list[float] = []
    for point in sorted(set(points)):
        width = abs(point) * GUARD or 1e-300
        low, high = point - width, point + width
        if edges and low <= edges[-1]:
            edges[-1] = max(edges[-1], high)  # overlapping zones become one
        else:
            edges += [low, high]
    return edges


class Plan:
    """One (column, patient context, unit, lab range): its unit factor and breakpoints as guard
    zones, and what the long way answered in each segment between them."""

    __slots__ = ("edges", "factor", "long_way", "segments", "unit")

    def __init__(self, unit: str, factor: float, breakpoints: list[float], long_way: Callable[[str], Judged]) -> None:
        self.unit, self.factor = unit, factor
        self.long_way = long_way  # a cell text of this plan judged the long way
        self.edges = edges = guard_zones(breakpoints)
        self.segments: list[Any] = [None] * (len(edges) // 2 + 1)  # None: not seen yet


def intervals_of(result: AnalyteResult) -> tuple[Interval, ...]:
    """The interval in force, or every interval that may apply (as grading reads them)."""
    return (result.interval,) if result.interval is not None else result.candidates


def breakpoints(analyte: Analyte, result: AnalyteResult, projections: list[tuple[Any, Any]]) -> list[float] | None:
    """Every value (canonical unit) where the long way's discrete answers for this analyte, unit
    and intervals may change; None when the lane does not know them all (a projection it does not
    know)."""
    m = result.measurement
    assert m is not None
    intervals = intervals_of(result)
    points = [analyte.plausible_low, analyte.plausible_high, analyte.possible_low, analyte.possible_high]
    for interval in intervals:
        points += [limit for limit in (interval.low, interval.high) if limit is not None]
    term = criteria().terms.get(analyte.id)
    if term is not None:
        for bound in term.bounds:
            if bound.of is None:
                points.append(bound.x)
            else:
                for interval in intervals:
                    reference = interval.high if bound.of == "ULN" else interval.low if bound.of == "LLN" else None
                    if reference is not None:
                        points.append(bound.x * reference)
    for rule, _ in projections:
        found = rule_breakpoints(rule.when, analyte, m.unit, m.factor, intervals)
        if found is None:
            return None
        points += found
    return points


def rule_breakpoints(when: Any, analyte: Analyte, unit: str, factor: float,
                     intervals: tuple[Interval, ...]) -> list[float] | None:
    """Where a rule's projection of a result of this analyte, unit (`factor` to canonical) and
    intervals may change (canonical unit); None for a condition whose limits are not known here."""
    kind = when["type"]
    if kind == "x_uln_all":
        return [leg["value"] * interval.high for leg in when["legs"] if analyte.id in leg["analytes"]
                for interval in intervals if interval.high is not None]
    if kind in ("above", "below"):  # compared in the reported unit with the threshold of its kind (rules._threshold)
        kind_of = units()[unit].kind
        chosen = next((t for t in when["thresholds"] if units()[t["unit"]].kind == kind_of), when["thresholds"][0])
        return [chosen["value"] * unit_factor(analyte.id, chosen["unit"], unit, analyte.molar_mass) * factor]
    return None


class NumericLane:
    """The short way for the plain-number cells of one export's analyte columns.

    `plan_for(key, ...)` keeps a Plan per key (the caller's: column, context, unit, lab range);
    `cell(plan, text)` gives a cell's JudgedColumn entry, or None for the long way;
    `learn(plan, text, judged)` hands it what the long way answered for a cell it passed on.
    Plans live in a cache of the Judge, cleared with the others.
    """

    def __init__(self, decimal: str, na_markers: frozenset[str], new_cache: Callable[[], dict[Any, Any]],
                 fragment: Callable[[list[str]], str] | None, enabled: bool = True) -> None:
        self.decimal = decimal
        self.plain = _PLAIN[decimal].fullmatch
        self.na = na_markers
        self.plain_markers = frozenset(marker for marker in na_markers if self.plain(marker))
        self.fragment = fragment
        self.plans = new_cache()  # key -> Plan, or None: the long way for this key (so far)
        self.enabled = enabled and tuple(name for name, _ in ANALYTE_FIELDS) == KEPT_FIELDS

    def cell(self, plan: Plan | None, text: str) -> tuple[Any, ...] | None:
        """The JudgedColumn entry of a plain-number cell whose segment is known; else None."""
        return None if plan is None else self.entries(plan, (text,)).get(text)

    def entries(self, plan: Plan, texts: Iterable[str]) -> dict[str, tuple[Any, ...]]:
        """`cell` for many texts of one plan: the JudgedColumn entry of each text the lane answers."""
        found = {}
        plain, decimal, edges, segments, factor = self.plain, self.decimal, plan.edges, plan.segments, plan.factor
        na = self.plain_markers  # (a missing-value marker that is a plain number: --na 0)
        for text in texts:
            if not plain(text) or (na and text in na):
                continue
            value = float(text.replace(",", ".") if decimal == "," else text) * factor  # as read_measurement computes it
            at = bisect_right(edges, value)
            if at & 1:
                continue  # in a guard zone
            segment = segments[at >> 1]
            if segment is None or segment is LONG_WAY:
                continue
            # Segment.of_value, written out (it is the lane's inner loop)
            suffix, highs = segment.suffix, segment.highs
            fragment = None if suffix is None else format_number(value, decimal) + suffix
            if highs is None:
                lead, rival = segment.keys
            elif len(highs) == 1:
                lead = rival = value / highs[0]
            else:
                spans = [value / high for high in highs]
                lead, rival = min(spans), max(spans)
            found[text] = (fragment, segment.signature, lead, rival, LaneJudged(segment, text))
        return found

    def plan_for(self, key: Any, judged: Judged, analyte: Analyte, projections: list[tuple[Any, Any]],
                 long_way: Callable[[str], Judged]) -> Plan | None:
        """The Plan of `key`, compiled from a cell the long way judged there when there is none yet."""
        plan = self.plans.get(key)
        if plan is None and self.enabled and _usable(judged):
            m = judged.result.measurement  # type: ignore[union-attr]
            points = breakpoints(analyte, judged.result, projections)  # type: ignore[arg-type]
            if points is not None:
                plan = self.plans[key] = Plan(m.unit, m.factor, points, long_way)
        return plan

    def learn(self, plan: Plan, text: str, judged: Judged) -> None:
        """Keep what the long way answered for a plain-number cell in a segment not seen before."""
        if not self.plain(text) or text in self.na:
            return
        value = float(text.replace(",", ".")) * plan.factor
        at = bisect_right(plan.edges, value)
        if at & 1 or plan.segments[at >> 1] is not None:
            return
        result = judged.result
        m = None if result is None else result.measurement
        if not _usable(judged) or m is None or m.unit != plan.unit or m.factor != plan.factor or m.value != value:
            plan.segments[at >> 1] = LONG_WAY
            return
        fields = judged.fragment  # made by the caller for a sink of rows: the value, then the tail
        assert judged.signature is not None
        tail = [function(result, self.decimal) for _, function in ANALYTE_FIELDS[1:]]  # type: ignore[arg-type]
        span = result.x_uln_span  # type: ignore[union-attr]
        highs = tuple(interval.high for interval in result.candidates) if (  # type: ignore[union-attr, misc]
            judged.flag == "H" and span is not None) else None
        keys = (judged.lead_key, judged.rival_key)
        # the output text of a value (digits and the decimal mark) followed by the other fields: the
        # sink's text of the fields with a value put in front, checked against the long way's text
        segment = Segment(plan, self.decimal, judged, None if self.fragment is None else self.fragment(["0", *tail])[1:],
                          highs, keys if highs is None else (_NEVER, _NEVER))
        if (segment.of_value(value) != (fields, *keys) or not self._plain_value_safe(tail, segment.suffix)
                or segment.result_of(text) != result):
            plan.segments[at >> 1] = LONG_WAY  # (never seen: what the lane makes is what the long way made)
            return
        plan.segments[at >> 1] = segment

    def _plain_value_safe(self, tail: list[str], suffix: str | None) -> bool:
        """Whether the sink writes any value of digits and the decimal mark as it is, before the
        same suffix (a CSV sink would quote a value holding its delimiter); no rows: nothing to write."""
        if self.fragment is None or suffix is None:
            return self.fragment is None
        probe = "1" + self.decimal + "5"
        return self.fragment([probe, *tail]) == probe + suffix


def _usable(judged: Judged) -> bool:
    """Whether a judged cell is one the lane can stand in for: a plain reading in a stated unit,
    without error, warning or comparator."""
    result = judged.result
    if judged.error is not None or result is None or result.warnings:
        return False
    m = result.measurement
    return m is not None and m.comparator is None and not m.unit_assumed and not m.unit_from_settings


class ReadingLane:
    """The short way for a long row's plain-number value: its `memo.Reading` without the long way.

    Per (analyte, unit text, lab range text) the first plain-number value read the long way
    (`memo.Judge.reading`) without comparator, warning, assumed unit or unit from settings gives
    the unit, its factor and the lab's interval; a later plain-number value of the same texts whose
    canonical value lies within the analyte's usual (plausible) span, away from its ends by the
    guard, reads as the long way reads it: `number * factor`, no warning. Anything else, and every
    value while the input is known to write both decimal marks, goes the long way. Plans live in a
    cache of the Judge, cleared with the others.
    """

    def __init__(self, decimal: str, na_markers: frozenset[str], new_cache: Callable[[], dict[Any, Any]]) -> None:
        self.plain = _PLAIN[decimal].fullmatch
        self.plain_markers = frozenset(marker for marker in na_markers if self.plain(marker))
        self.plans = new_cache()  # (analyte id, unit, range) -> (first measurement, lowest, highest value)

    def reading(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None) -> Reading | None:
        """The Reading of a plain-number text whose plan is known and whose value is usual; else None."""
        plan = self.plans.get((analyte.id, unit, lab_range))
        if plan is None or not self.plain(text) or text in self.plain_markers:
            return None
        m, lowest, highest = plan
        number = float(text.replace(",", "."))
        value = number * m.factor  # as read_measurement computes it
        if not lowest < value < highest:
            return None
        return Reading(analyte, Measurement(m.analyte, text, number, None, m.unit, m.unit_kind, False, value, m.factor,
                                            m.lab_interval, (), False), None)

    def learn(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None, reading: Any) -> None:
        """Keep the plan of these texts from a value the long way read, when it can stand for them."""
        key = (analyte.id, unit, lab_range)
        if key in self.plans or not self.plain(text) or text in self.plain_markers:
            return
        m = getattr(reading, "measurement", None)
        if (m is None or reading.error is not None or m.comparator is not None or m.warnings or m.unit_assumed
                or m.unit_from_settings or m.input != text):
            return
        width = (analyte.plausible_high - analyte.plausible_low) * GUARD
        self.plans[key] = (m, analyte.plausible_low + width, analyte.plausible_high - width)
        made = self.reading(analyte, text, unit, lab_range)
        if made is not None and made.measurement != m:
            self.plans[key] = None  # (never seen: the lane reads as the long way reads)
