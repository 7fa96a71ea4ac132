"""The cached path through the core: a memo in front of `interpret`, never a second interpretation.

Every answer here is the core's own (`read_measurement`, `assess`, `interpret_results`,
`unusable`), computed once and looked up again, because values repeat a great deal in real
exports:

* a cell is read once per distinct (analyte, text, unit, lab range) — the decimal mark is
  fixed per run (`Judge.reading`);
* a reading is judged once per distinct *assessment context* of the patient
  (`interpret.assess_context`: the intervals that may apply), not once per patient
  (`Judge.judge`); a judged cell (`Judged`) is made once and carries, for the writers, its
  output text, its RuleBook signature and its dominance keys;
* a panel is interpreted in full (JSONL, table) once per distinct tuple of judged results
  (`Judge.evaluate`).

The CSV rule columns are decided by `levlab.exports.rulebook.RuleBook` from the same judged
cells. Every cache is cleared together when they have grown past `CACHE_LIMIT` entries, and
the panel cache on its own past `PANEL_CACHE_LIMIT`, so memory stays bounded however long the
file. A test checks that the CSV columns equal the full interpretation on random panels.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from levlab.catalog import Analyte
from levlab.errors import LevlabError, UsageError, shown
from levlab.exports.marks import other_mark_decimal, thousands_shaped
from levlab.interpret import assess, assess_context, interpret_results, read_measurement, unusable
from levlab.model import AnalyteResult, PanelResult, Patient
from levlab.ranges import IntervalTable, parse_sex
from levlab.rule_projections import dominance_keys
from levlab.values import parse_number

CACHE_LIMIT = 50_000  # entries over all caches; past it they are all cleared
PANEL_CACHE_LIMIT = 512  # interpreted panels are large (~15 kB each, with their texts): cleared on their own
LONG_CELL = 1_024  # characters: no value, unit, range, sex, age or test name is this long; such a cell is
# refused on every row it is on, and never kept as a cache key (a few huge distinct cells would hold megabytes)


class _NotMeasured:
    """A cell that holds a missing-value marker."""

    def __repr__(self) -> str:
        return "NOT_MEASURED"


NOT_MEASURED: Any = _NotMeasured()


class Reading:
    """One distinct cell read by `read_measurement`: the measurement, or the error it raised."""

    __slots__ = ("analyte", "error", "judged", "measurement", "patient_free")

    def __init__(self, analyte: Analyte, measurement: Any, error: str | None) -> None:
        self.analyte = analyte
        self.measurement = measurement
        self.error = error
        # unreadable, or judged by the lab's own range: the patient does not enter the judgement
        self.patient_free = measurement is None or measurement.lab_interval is not None
        self.judged: dict[int, Judged] = {}  # assessment context token (0: patient-free) -> judged


class Judged:
    """A reading judged for one assessment context; made once, so panels are keyed by identity."""

    __slots__ = ("error", "flag", "fragment", "lead_key", "result", "rival_key", "signature", "warnings")

    def __init__(self, result: AnalyteResult | None, error: str | None = None) -> None:
        self.result = result  # None: the stand-in for a cell not measured
        self.error = error  # the reading's error, for the row's levlab_error
        # its plausibility warnings as `id: warning`, for the row's levlab_warnings
        self.warnings = () if result is None or not result.warnings else tuple(
            f"{result.analyte}: {warning}" for warning in result.warnings)
        self.flag = None if result is None else result.flag
        self.lead_key, self.rival_key = dominance_keys(result)  # for rule_projections.LEAD_OVER_RIVALS
        self.fragment: str | None = None  # its ANALYTE_FIELDS as CSV text, made on first use
        self.signature: int | None = None  # RuleBook's number for what its cached rules read of it

    @property
    def signed(self) -> Judged:
        """A judged cell with this cell's RuleBook signature whose result is made: the cell itself
        (a numeric-lane cell names the long-way cell of its segment, `exports.numeric_lane`)."""
        return self


class PatientEntry:
    """A patient read from sex/age cells, with the errors of those cells."""

    __slots__ = ("columns", "contexts", "errors", "patient")

    def __init__(self, patient: Patient, errors: list[tuple[str, str]]) -> None:
        self.patient = patient
        self.errors = errors
        self.contexts: dict[str, int] = {}  # analyte id -> assessment context token
        self.columns: tuple[int, ...] | None = None  # wide: the context of each analyte column


class Evaluation:
    """A panel interpreted once per distinct tuple of judged results (JSONL and table output)."""

    __slots__ = ("panel",)

    def __init__(self, panel: PanelResult) -> None:
        self.panel = panel


_RANGE_NUMBER = re.compile(r"(?<![0-9.,])[0-9]+[.,][0-9]+(?![0-9.,])")  # a limit written with a mark


class Judge:
    """The core behind caches. See the module text for what each cache is keyed by."""

    def __init__(self, table: IntervalTable, decimal: str, na_markers: frozenset[str], limit: int | None = None,
                 configured_units: Mapping[str, str] | None = None):
        self.table = table
        self.configured = dict(configured_units or {})  # analyte id -> unit of a bare value (settings file)
        self.from_settings: set[str] = set()  # analytes read in the unit from settings
        self.decimal = decimal
        self.na = na_markers
        self.limit = CACHE_LIMIT if limit is None else limit
        self.clears = 0  # how often the caches were cleared
        self.assumed: set[str] = set()  # analytes read with an assumed (canonical) unit
        self.warned = False  # a judged cell with a warning was made: the writers look for warnings only then
        #: where the input wrote the other decimal mark (`'12.5' on line 4`): thousands-shaped values
        #: (`1,250`) are then refused (`levlab.exports.marks`); None until seen
        self.mixed_marks: str | None = None
        self.thousands_read: list[str] = []  # thousands-shaped values read before that (a stream), a few
        self.watch_marks = True  # text cells (CSV); a workbook's or FHIR's numbers are typed, never ambiguous
        self._tokens = itertools.count(1)  # context tokens, never reused (0: patient-free)
        self._entries = 0
        self._caches: list[dict[Any, Any]] = []
        self.readings = self.new_cache()  # (analyte id, text, unit, range) -> Reading | NOT_MEASURED
        self.patients = self.new_cache()  # (sex text, age text) -> PatientEntry
        self.contexts = self.new_cache()  # assessment context -> token
        self.candidates = self.new_cache()  # token -> the (certain, possible) intervals of its context
        self.panels = self.new_cache()  # tuple of Judged -> Evaluation
        self.names = self.new_cache()  # test name -> Analyte | None

    def new_cache(self) -> dict[Any, Any]:
        """A dict cleared together with all the others."""
        cache: dict[Any, Any] = {}
        self._caches.append(cache)
        return cache

    def grow(self, entries: int = 1) -> None:
        """Count new cache entries; past the limit every cache is cleared."""
        self._entries += entries
        if self._entries > self.limit:
            self.forget()

    def forget(self) -> None:
        """Clear every cache (when full, or when what a cell means has changed)."""
        for cache in self._caches:
            cache.clear()
        self._entries = 0
        self.clears += 1

    def _range_marks(self, analyte: Analyte, lab_range: str) -> Reading | None:
        """A lab range with a thousands-shaped limit (`1,250 - 2,500`) in an input that writes both
        decimal marks: its value is not read, as a thousands-shaped value is not."""
        for limit in _RANGE_NUMBER.findall(lab_range):
            if thousands_shaped(limit, self.decimal):
                return Reading(analyte, None, (
                    f"the reference range {shown(lab_range.strip())} is ambiguous: this input writes both decimal "
                    f"marks ({self.mixed_marks}), so {self.decimal!r} in {shown(limit)} may be a decimal mark or a "
                    "thousands separator; correct the export"))
        return None

    def _marks(self, analyte: Analyte, text: str) -> Reading | None:
        """A thousands-shaped value in an input that writes both decimal marks: refused (issue 19.7).
        A value that writes the other mark is that evidence, learnt here when no scan saw it."""
        if thousands_shaped(text, self.decimal):
            if self.mixed_marks is not None:
                integer, _, fraction = text.strip().lstrip("<>=≤≥ ").partition(self.decimal)
                fraction = fraction[:3]
                return Reading(analyte, None, (
                    f"{shown(text.strip())} is ambiguous: this input writes both decimal marks ({self.mixed_marks}), so "
                    f"{self.decimal!r} may be a decimal mark or a thousands separator ({integer}.{fraction} or "
                    f"{integer}{fraction}); correct the export"))
            if len(self.thousands_read) < 5:
                self.thousands_read.append(text.strip())
        elif self.mixed_marks is None and other_mark_decimal(text, self.decimal):
            self.mixed_marks = shown(text.strip())
            self.forget()  # a thousands-shaped cell read before is read again under the new rule
        return None

    def read(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None, range_source: str) -> Any:
        """Read a cell (uncached): NOT_MEASURED for a missing-value marker, else a Reading."""
        self.grow()
        if text.strip().casefold() in self.na:
            return NOT_MEASURED
        refused = self._marks(analyte, text) if self.watch_marks else None
        if refused is None and self.mixed_marks is not None and lab_range:
            refused = self._range_marks(analyte, lab_range)
        if refused is not None:
            return refused
        if lab_range is not None and lab_range.strip().casefold() in self.na:
            lab_range = None
        if unit is not None and unit.strip().casefold() in self.na:
            unit = None
        try:
            measurement = read_measurement(analyte, text, unit_text=unit, decimal=self.decimal,
                                           lab_range=lab_range, lab_range_source=range_source,
                                           configured_unit=self.configured.get(analyte.id))
        except LevlabError as error:
            return Reading(analyte, None, str(error))
        if measurement.unit_assumed:
            self.assumed.add(analyte.id)
        if measurement.unit_from_settings:
            self.from_settings.add(analyte.id)
        return Reading(analyte, measurement, None)

    def reading(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None, range_source: str) -> Any:
        """`read`, cached per (analyte, text, unit, lab range)."""
        key = (analyte.id, text, unit, lab_range)
        found = self.readings.get(key)
        if found is None:
            found = self.read(analyte, text, unit, lab_range, range_source)
            if len(text) + len(unit or "") + len(lab_range or "") <= LONG_CELL:
                self.readings[key] = found
        return found

    def patient(self, sex_text: str, age_text: str) -> PatientEntry:
        """The patient of a row's sex and age cells, cached per pair of texts."""
        key = (sex_text, age_text)
        entry = self.patients.get(key)
        if entry is None:
            self.grow()
            errors: list[tuple[str, str]] = []
            sex = age = None
            if sex_text.strip().casefold() not in self.na:
                try:
                    sex = parse_sex(sex_text)
                except LevlabError as error:
                    errors.append(("sex", str(error)))
            if age_text.strip().casefold() not in self.na:
                try:
                    age = parse_number(age_text, self.decimal)
                    if age > 130:
                        raise UsageError(f"age {shown(age_text.strip())} is above 130 years")
                except LevlabError as error:
                    age = None
                    errors.append(("age", f"age {shown(age_text.strip())}: {error}"))
            entry = PatientEntry(Patient(sex, age), errors)
            if len(sex_text) + len(age_text) <= LONG_CELL:
                self.patients[key] = entry
        return entry

    def context(self, analyte_id: str, entry: PatientEntry) -> int:
        """Token of what `assess` looks at of this patient for this analyte."""
        token = entry.contexts.get(analyte_id)
        if token is None:
            context = assess_context(analyte_id, entry.patient, self.table)
            token = self.contexts.get((analyte_id, context))
            if token is None:
                self.grow()
                token = self.contexts[(analyte_id, context)] = next(self._tokens)
                if isinstance(context, tuple):  # (certain, possible, ...): the intervals `assess` will consider
                    self.candidates[token] = context[:2]
            entry.contexts[analyte_id] = token
        return token

    def judge(self, reading: Reading, entry: PatientEntry, context: int | None = None) -> Judged:
        """The reading judged for this patient, cached per assessment context."""
        if context is None:
            context = 0 if reading.patient_free else self.context(reading.analyte.id, entry)
        judged = reading.judged.get(context)
        if judged is None:
            self.grow()
            if reading.measurement is None:
                result = unusable(reading.analyte.id, reading.error or "unreadable")
            else:
                result = assess(reading.measurement, entry.patient, self.table, self.candidates.get(context))
            judged = reading.judged[context] = Judged(result, reading.error)
            if judged.warnings:
                self.warned = True
        return judged

    def evaluate(self, judged: tuple[Judged, ...], patient: Patient, previous: tuple[Judged, ...] = (),
                 baseline: tuple[Judged, ...] = ()) -> Evaluation:
        """The panel of these judged results, interpreted once per distinct tuple (with the
        patient's `previous` sample and CTCAE `baseline`, once per distinct triple of tuples).

        A Judged is made once per (reading, context) and never copied, so the tuple itself is
        the key (identity hash); the cache holds the tuple, so no id can be reused while it
        is a key. The judged results already hold all the patient decides, so the panel carries the
        patient of its first occurrence and `panel_for` relabels it for the others.
        """
        key: tuple[Any, ...] = (judged, previous, baseline) if previous or baseline else judged
        evaluation = self.panels.get(key)
        if evaluation is None:
            if len(self.panels) >= PANEL_CACHE_LIMIT:
                self.panels.clear()
            evaluation = self.panels[key] = Evaluation(interpret_results(
                [j.result for j in judged], patient, [j.result for j in baseline if j.result is not None],
                [j.result for j in previous if j.result is not None]))
        return evaluation


def panel_for(evaluation: Evaluation, patient: Patient) -> PanelResult:
    """The evaluation's panel labelled with this patient."""
    panel = evaluation.panel
    return panel if panel.patient == patient else replace(panel, patient=patient)
