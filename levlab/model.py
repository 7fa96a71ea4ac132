"""Small frozen dataclasses that flow through the core (hashable, so results can be cached)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from levlab.language import N_

#: flag -> HL7 v3 ObservationInterpretation code
HL7_INTERPRETATION = {"L": "L", "N": "N", "H": "H", "?": "IND"}

FLAG_WORDS = {"L": N_("low"), "N": N_("in range"), "H": N_("raised"), "?": N_("indeterminate")}


@dataclass(frozen=True, slots=True)
class Patient:
    """What is known of the patient; None means unknown."""

    sex: str | None = None  # "F" or "M"
    age: float | None = None  # years
    smoker: bool | None = None


@dataclass(frozen=True, slots=True)
class Bounds:
    """The set of values a result may take: one point, or a half-line for a censored result."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    @classmethod
    def of(cls, number: float, comparator: str | None) -> Bounds:
        """Bounds of `number` read with an optional comparator `<`, `<=`, `>`, `>=`."""
        if comparator == "<":
            return cls(0.0, number, False, True)
        if comparator == "<=":
            return cls(0.0, number)
        if comparator == ">":
            return cls(number, math.inf, True, False)
        if comparator == ">=":
            return cls(number, math.inf)
        return cls(number, number)

    def above(self, threshold: float, *, inclusive: bool = False) -> bool | None:
        """Is the value > threshold (>= when inclusive)? None when the bounds do not settle it."""
        if self.low > threshold or (self.low == threshold and (inclusive or self.low_open)):
            return True
        if self.high < threshold or (self.high == threshold and not (inclusive and not self.high_open)):
            return False
        return None

    def below(self, threshold: float, *, inclusive: bool = False) -> bool | None:
        """Is the value < threshold (<= when inclusive)? None when the bounds do not settle it."""
        if self.high < threshold or (self.high == threshold and (inclusive or self.high_open)):
            return True
        if self.low > threshold or (self.low == threshold and not (inclusive and not self.low_open)):
            return False
        return None

    def scaled(self, factor: float) -> Bounds:
        """The same bounds multiplied by a positive factor."""
        return Bounds(self.low * factor, self.high * factor, self.low_open, self.high_open)


@dataclass(frozen=True, slots=True)
class Interval:
    """A reference interval, in the analyte's canonical unit, with where it came from."""

    analyte: str
    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    unit: str  # canonical unit of the analyte
    source: str
    text: str  # as written at the source, with its unit: "< 45 U/L"
    sex: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    smoker: bool | None = None
    note: str | None = None

    def flag(self, bounds: Bounds) -> str:
        """`L`, `N`, `H`, or `?` when a censored value straddles a limit."""
        raised = None if self.high is None else bounds.above(self.high, inclusive=not self.high_inclusive)
        if raised:
            return "H"
        low = None if self.low is None else bounds.below(self.low, inclusive=not self.low_inclusive)
        if low:
            return "L"
        if (raised is None and self.high is not None) or (low is None and self.low is not None):
            return "?"
        return "N"

    def holds_for(self, patient: Patient) -> bool | None:
        """True/False whether it applies to this patient; None when an unknown fact decides."""
        unknown = False
        for wanted, actual in ((self.sex, patient.sex), (self.smoker, patient.smoker)):
            if wanted is None:
                continue
            if actual is None:
                unknown = True
            elif actual != wanted:
                return False
        if self.age_min is not None or self.age_max is not None:
            if patient.age is None:
                unknown = True
            else:
                years = math.floor(patient.age)
                if (self.age_min is not None and years < self.age_min) or (
                    self.age_max is not None and years > self.age_max
                ):
                    return False
        return None if unknown else True


@dataclass(frozen=True, slots=True)
class Measurement:
    """One result as read: the number in its own unit, and the same in the canonical unit."""

    analyte: str
    input: str  # the text as given: "2.4mg/dL", "<5"
    number: float  # in `unit`
    comparator: str | None  # "<", "<=", ">", ">=" or None
    unit: str  # the unit the value was given in (a units.toml key)
    unit_kind: str  # "mass", "molar", "activity", "count"
    unit_assumed: bool  # no unit given: the canonical unit was assumed
    value: float  # in the canonical unit
    factor: float  # unit -> canonical
    lab_interval: Interval | None = None  # the laboratory's own range, which wins
    #: plausibility warnings: a value unusual for its stated unit ("check value and unit");
    #: interpreted all the same (an assumed unit would have been an error instead)
    warnings: tuple[str, ...] = ()
    #: no unit given, and the settings file's unit family (units = "si") gave it: not a guess, so
    #: checked as a stated unit; every report says "unit from settings"
    unit_from_settings: bool = False
    #: bounds of the value in the canonical unit (made once: every judgement reads them)
    bounds: Bounds = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", Bounds.of(self.value, self.comparator))


@dataclass(frozen=True, slots=True)
class AnalyteResult:
    """One analyte judged against its interval."""

    analyte: str
    measurement: Measurement | None  # None: present but unusable (see reason)
    flag: str  # L N H ?
    interval: Interval | None  # the one interval that applies, if one does
    x_uln: float | None  # value / upper limit, when one interval applies and the value is exact
    reason: str | None = None  # why the flag is `?`, or what was assumed
    candidates: tuple[Interval, ...] = ()  # intervals that may apply when sex/age/smoking is unknown
    #: lowest and highest value / upper limit over the candidates; None unless the value is exact
    #: and every candidate has an upper limit (derived once, here, for the rules that compare them)
    x_uln_span: tuple[float, float] | None = field(init=False, default=None, compare=False, repr=False)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The measurement's plausibility warnings (empty when none or unreadable)."""
        return () if self.measurement is None else self.measurement.warnings

    def __post_init__(self) -> None:
        m = self.measurement
        if m is None or m.comparator is not None or not self.candidates:
            return
        highs = [interval.high for interval in self.candidates]
        if all(highs):
            spans = [m.value / high for high in highs]
            object.__setattr__(self, "x_uln_span", (min(spans), max(spans)))


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition is met."""

    rule_id: str
    kind: str
    message: str
    source: str
    section: str


@dataclass(frozen=True, slots=True)
class NormalPanel:
    """Outcome of the `normal-panel` rule: met, not-met or incomplete."""

    status: str
    reason: str
    statement: str | None  # the 98% statement, only when met


@dataclass(frozen=True, slots=True)
class PanelResult:
    """Everything levlab concludes from one panel."""

    patient: Patient
    results: tuple[AnalyteResult, ...]
    hits: tuple[RuleHit, ...]
    undecided: tuple[str, ...]
    normal_panel: NormalPanel
    notes: tuple[str, ...] = field(default=())
    grades: tuple[Grade, ...] = field(default=())  # CTCAE grades (convention), one per graded analyte
    pattern: Pattern | None = None  # R-ratio pattern (convention), when ALT or ALP is raised
    baseline: tuple[AnalyteResult, ...] = field(default=())  # baseline results the grades used
    previous: tuple[AnalyteResult, ...] = field(default=())  # the patient's previous sample, if known
    relation: str | None = None  # how Hy's law, the pattern and bilirubin-over-2 relate, when shown together
    #: analytes judged against levlab's default intervals (not the laboratory's own), and of those
    #: the ones the normal-panel outcome depends on
    default_intervals: tuple[str, ...] = field(default=())
    normal_panel_defaults: tuple[str, ...] = field(default=())

    def result(self, analyte: str) -> AnalyteResult | None:
        """The result for one analyte id, or None when it was not given."""
        for result in self.results:
            if result.analyte == analyte:
                return result
        return None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every analyte's plausibility warning, as `analyte: warning`."""
        return results_warnings(self.results)

    def grade(self, analyte: str) -> Grade | None:
        """The CTCAE grade of one analyte id, or None when it has no CTCAE term or was not given."""
        return next((grade for grade in self.grades if grade.analyte == analyte), None)


@dataclass(frozen=True, slots=True)
class Grade:
    """A CTCAE grade of one result: a convention, always reported with its version."""

    analyte: str
    version: str  # "5.0"
    grade: int | None  # 0-4; None when the value, interval or baseline leaves it undecided
    term: str  # "Alanine aminotransferase increased"
    basis: str | None  # "ULN", "LLN" or "baseline": what the grade was measured against
    reason: str  # how it was reached, or why it is undecided


@dataclass(frozen=True, slots=True)
class Pattern:
    """The R-ratio pattern of liver injury (a convention)."""

    r_ratio: float
    type: str  # "hepatocellular", "mixed", "cholestatic"
    source: str


def results_warnings(results: Iterable[AnalyteResult]) -> tuple[str, ...]:
    """Every result's plausibility warning, as `analyte: warning` (a panel's warnings)."""
    return tuple(f"{result.analyte}: {warning}" for result in results for warning in result.warnings)
