"""The cumulative report of one patient: analytes as rows, samples as columns. Pure.

Built from a patient's linked samples (serial.link): per analyte the reference interval, every
sample's value and flag, ×ULN of the latest result, the change since the previous result and
whether it exceeds the reference change value (data/biological_variation.toml, a convention),
and the worst CTCAE grade after the baseline; per sample the rules met and the normal-panel
outcome; over the series Hy's law within a window (hyslaw.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from levlab.catalog import analytes
from levlab.data import load_toml
from levlab.grading import criteria, settle
from levlab.hyslaw import HysLawSeries, hys_law_over_time
from levlab.model import AnalyteResult, Grade, Interval, NormalPanel, RuleHit
from levlab.ranges import describe_interval
from levlab.serial import Sample, baseline_index

# --- reference change values ----------------------------------------------------------------


@dataclass(frozen=True)
class Variation:
    """An analyte's within-subject biological variation and the analytical CV levlab assumes (%)."""

    analyte: str
    cvi: float
    cva: float
    source: str
    cva_source: str

    @property
    def rcv(self) -> float:
        """The reference change value in percent: z x sqrt(2) x sqrt(CVa^2 + CVi^2)."""
        return variation_table().z * math.sqrt(2) * math.hypot(self.cva, self.cvi)


@dataclass(frozen=True)
class VariationTable:
    """data/biological_variation.toml: z, the formula and its sources, and each analyte's CVs."""

    z: float
    formula: str
    formula_source: str
    by_analyte: dict[str, Variation]
    unverified: dict[str, str]


@cache
def variation_table() -> VariationTable:
    """The biological variation data, checked and read once."""
    document = load_toml("biological_variation.toml")
    fraction, by_analyte = float(document["cva_fraction_of_cvi"]), {}
    for entry in document["analyte"]:
        if entry["id"] not in analytes() or entry["id"] in by_analyte:
            raise ValueError(f"biological_variation.toml: unknown or repeated analyte {entry['id']!r}")
        cvi = float(entry["cvi"])
        own = "cva" in entry
        by_analyte[entry["id"]] = Variation(entry["id"], cvi, float(entry["cva"]) if own else fraction * cvi, entry["source"],
                                            entry.get("cva_source", "") if own else document["cva_source"])
    return VariationTable(float(document["z"]), document["formula"], document["formula_source"], by_analyte,
                          dict(document.get("unverified", {})))


def rcv(analyte_id: str) -> float | None:
    """The analyte's reference change value in percent, or None without (verified) data."""
    found = variation_table().by_analyte.get(analyte_id)
    return None if found is None else found.rcv


@dataclass(frozen=True)
class Change:
    """An analyte's change from one result to the next."""

    analyte: str
    before: float | None
    after: float | None
    percent: float | None  # (after - before) / before x 100; None when censored, missing or before is 0
    rcv: float | None  # percent; None when levlab has no verified data
    exceeds: bool | None  # |percent| > rcv; None when either is unknown
    reason: str


def exceeds(percent: float, limit: float) -> bool:
    """Whether a change of `percent` exceeds the RCV `limit`: strictly, compared settled, so
    a change of exactly the RCV does not exceed it."""
    return settle(abs(percent)) > settle(limit)


def change(before: AnalyteResult | None, after: AnalyteResult | None) -> Change | None:
    """The change between two results of one analyte (None when either is absent)."""
    if before is None or after is None:
        return None
    analyte_id, limit = after.analyte, rcv(after.analyte)
    b, a = before.measurement, after.measurement
    if b is None or a is None:
        return Change(analyte_id, None, None, None, limit, None, "a result is unreadable")
    if b.comparator or a.comparator:
        return Change(analyte_id, b.value, a.value, None, limit, None, "a censored result has no exact change")
    if b.value == 0:
        return Change(analyte_id, b.value, a.value, None, limit, None, "no percentage change from 0")
    percent = (a.value - b.value) / b.value * 100
    if limit is None:
        why = variation_table().unverified.get(analyte_id, "no biological variation data")
        return Change(analyte_id, b.value, a.value, percent, None, None, f"no RCV: {why}")
    beyond = exceeds(percent, limit)
    word = "exceeds" if beyond else "within"
    return Change(analyte_id, b.value, a.value, percent, limit, beyond, f"{percent:+.1f}% {word} the RCV of {limit:.1f}%")


def display_label(sample: Sample, samples: Sequence[Sample]) -> str:
    """How a sample is named in the report: its ISO date, with the time when another of the
    patient's samples has the same date; the text as written when the date could not be read."""
    if sample.when is None:
        return sample.label
    same_day = sum(1 for s in samples if s.when is not None and s.when.date() == sample.when.date())
    return f"{sample.when:%Y-%m-%d %H:%M}" if same_day > 1 else f"{sample.when:%Y-%m-%d}"


# --- worst grade after baseline -------------------------------------------------------------


@dataclass(frozen=True)
class WorstGrade:
    """The highest CTCAE grade of an analyte over the samples after the baseline."""

    analyte: str
    grade: int | None  # highest decided grade; None when no sample after baseline was graded
    samples: tuple[str, ...]  # labels of the samples with that grade
    undecided: int  # samples after baseline whose grade is undecided (the worst may be higher)
    basis: str | None  # "ULN" or "baseline": what the worst grade was measured against
    rule: str  # the baseline rule, in words


def baseline_rule(base: Sample | None, analyte_id: str, base_label: str = "") -> str:
    """How this analyte's samples after `base` (named `base_label`) are graded, in words."""
    if base is None:
        return "no sample after the baseline"
    label = base_label or base.label
    result = base.panel.result(analyte_id)
    term = criteria().terms.get(analyte_id)
    if result is None or term is None:
        return f"baseline {label}: {'not measured' if result is None else 'no CTCAE term'}; graded against ULN"
    if term.bounds_baseline_abnormal is None:
        return f"baseline {label}; graded against {term.basis} (the term has no baseline-abnormal criteria)"
    from levlab.grading import baseline_abnormal

    abnormal, why = baseline_abnormal(result)
    if abnormal:
        return f"{why} on {label}: later values graded as multiples of the baseline (CTCAE v{criteria().version})"
    if abnormal is None:
        return f"{why} on {label}: later grades undecided where it matters"
    return f"{why} on {label}: later values graded against ULN"


def worst_grade(samples: Sequence[Sample], analyte_id: str, base: int) -> WorstGrade | None:
    """The worst grade over the dated samples after index `base` (None: no CTCAE term)."""
    if analyte_id not in criteria().terms:
        return None
    dated = [s for s in samples if s.when is not None]
    after = dated[base + 1:]
    grades: list[tuple[Sample, Grade]] = [(s, g) for s in after if (g := s.panel.grade(analyte_id)) is not None]
    decided = [(s, g) for s, g in grades if g.grade is not None]
    rule = baseline_rule(dated[base], analyte_id, display_label(dated[base], samples)) if dated else baseline_rule(None, analyte_id)
    undecided = len(grades) - len(decided)
    if not decided:
        return WorstGrade(analyte_id, None, (), undecided, None, rule)
    top = max(g.grade for _, g in decided)  # type: ignore[type-var]
    worst = [(s, g) for s, g in decided if g.grade == top]
    return WorstGrade(analyte_id, top, tuple(display_label(s, samples) for s, _ in worst), undecided, worst[-1][1].basis, rule)


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One analyte in one sample."""

    result: AnalyteResult | None
    text: str  # "120", "<5", "?" (unreadable), "" (not measured)
    flag: str  # L N H ? or ""
    change: Change | None  # since the patient's previous sample, when both have the analyte
    grade: Grade | None = None  # CTCAE grade of this result (against the baseline where it applies)


@dataclass(frozen=True)
class Row:
    """One analyte across the samples."""

    analyte: str
    unit: str
    interval: str  # the interval of the latest result ("varies" when the samples differ)
    interval_source: str
    low: float | None  # the band of the latest result, for sparklines and charts
    high: float | None
    cells: tuple[Cell, ...]
    latest_x_uln: float | None
    latest_change: Change | None
    worst: WorstGrade | None

    @property
    def values(self) -> tuple[float | None, ...]:
        """Exact values per sample (None: missing, unreadable or censored)."""
        return tuple(None if c.result is None or c.result.measurement is None or c.result.measurement.comparator
                     else c.result.measurement.value for c in self.cells)


@dataclass(frozen=True)
class SampleSummary:
    """What one sample met: its rules (hys-law as decided over the series) and normal-panel."""

    label: str
    hits: tuple[RuleHit, ...]
    normal_panel: NormalPanel
    hys_law_with: tuple[str, ...]  # labels of the samples it met Hy's law with (itself included)


@dataclass(frozen=True)
class Cumulative:
    """The cumulative report of one patient."""

    patient: str
    samples: tuple[Sample, ...]  # date order, undated last
    baseline: Sample | None
    rows: tuple[Row, ...]
    summaries: tuple[SampleSummary, ...]
    hys_law: HysLawSeries
    baseline_on: date | None = None  # --baseline-date, when given

    @property
    def baseline_choice(self) -> str:
        """How the baseline sample was chosen, in words."""
        if self.baseline_on is None:
            return "the patient's earliest sample"
        return f"the last sample on or before {self.baseline_on} (the earliest if none was)"


def _cell_text(result: AnalyteResult | None) -> str:
    from levlab.values import format_number

    if result is None:
        return ""
    m = result.measurement
    return "?" if m is None else f"{m.comparator or ''}{format_number(m.value)}"


def _interval(results: Sequence[AnalyteResult]) -> tuple[str, str, Interval | None]:
    intervals = [r.interval for r in results if r.interval is not None]
    if not intervals:
        return ("no single interval" if results else "", "", None)
    latest = intervals[-1]
    varies = any(i.text != latest.text or i.source != latest.source for i in intervals)
    return describe_interval(latest) + (" (latest; varies)" if varies else ""), latest.source, latest


def build(patient: str, samples: Sequence[Sample], baseline_on: date | None = None,
          hy_window_days: int | None = None) -> Cumulative:
    """The cumulative report of one patient's linked samples (serial.link order)."""
    dated = [s for s in samples if s.when is not None]
    base = baseline_index(dated, baseline_on)
    rows = []
    for analyte_id in analytes():
        results = [s.panel.result(analyte_id) for s in samples]
        if all(r is None for r in results):
            continue
        cells = []
        for sample, result in zip(samples, results, strict=True):
            before = next((p for p in sample.panel.previous if p.analyte == analyte_id), None)
            cells.append(Cell(result, _cell_text(result), "" if result is None else result.flag,
                              change(before, result) if sample.when is not None else None,
                              sample.panel.grade(analyte_id)))
        present = [r for r in results if r is not None]
        text, source, latest_interval = _interval(present)
        # the latest result: of the dated samples when there are any (undated ones come last)
        present_at = [i for i, r in enumerate(results) if r is not None]
        dated_at = [i for i in present_at if samples[i].when is not None]
        latest_index = (dated_at or present_at)[-1]
        rows.append(Row(
            analyte_id, analytes()[analyte_id].canonical_unit, text, source,
            latest_interval.low if latest_interval else None, latest_interval.high if latest_interval else None,
            tuple(cells), results[latest_index].x_uln, cells[latest_index].change,  # type: ignore[union-attr]
            worst_grade(samples, analyte_id, base),
        ))
    series = hys_law_over_time(samples, hy_window_days)
    partners: dict[int, list[str]] = {}
    for pair in series.met:
        for one, other in ((pair.transaminase, pair.bilirubin), (pair.bilirubin, pair.transaminase)):
            partners.setdefault(id(one), [])
            if display_label(other, samples) not in partners[id(one)]:
                partners[id(one)].append(display_label(other, samples))
    summaries = tuple(
        SampleSummary(display_label(s, samples), tuple(h for h in s.panel.hits if h.rule_id != "hys-law"),
                      s.panel.normal_panel, tuple(partners.get(id(s), ())))
        for s in samples
    )
    return Cumulative(patient, tuple(samples), dated[base] if dated else None, tuple(rows), summaries, series, baseline_on)
