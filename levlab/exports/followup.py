"""Follow-up inside `levlab csv`: each panel of a long export knows its patient's previous sample.

As `levlab trend` does (`levlab.serial.link`), but streaming: a panel is compared with the same
patient's previous sample by date-time (rule `new-abnormal`, the change since then) and graded for
CTCAE against the patient's first sample as baseline. Per patient only what the next sample needs
is remembered: the date-time and judged results of its latest sample, and its baseline sample's.

The previous sample is the one emitted before, which is the previous one in time only when each
patient's samples come in time order. When a sample is earlier than one already emitted for its
patient, it is *out of time order*: it is compared with nothing (no previous sample, no baseline),
its panel carries a warning, and the run counts it (`FollowUp.out_of_order`, the first patient
kept) so that the user can sort the file or use `levlab trend`, which orders samples itself. A
sample earlier than the patient's baseline also ends baseline grading for that patient. A sample
without a patient id, or without a readable, plausible date, is never linked (as in `trend`).

Memory: at most `PATIENT_LIMIT` patients are remembered; past it the least recently seen is
forgotten, and patients first seen after that are not graded against a baseline (their first
sample in the file may not be their first sample), which the closing line says.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from levlab.errors import shown
from levlab.exports.fields import ANALYTE_FIELDS
from levlab.exports.layout import Layout
from levlab.grading import baseline_abnormal, criteria, grade_against
from levlab.model import AnalyteResult
from levlab.rules import SERIAL_EVALUATORS, rules
from levlab.values import format_number

if TYPE_CHECKING:
    from levlab.exports.memo import Judged
    from levlab.exports.sinks import Sink

PATIENT_LIMIT = 20_000  # patients remembered at once; past it the least recently seen is forgotten
DATES_KEPT = 100_000  # distinct date texts whose parse is kept
CACHE_ENTRIES = 16_384  # entries of each follow-up cache (pairs of judged cells: their keys hold the cells)


def follows(layout: Layout) -> bool:
    """Whether `levlab csv` follows patients in this export: a long layout with a patient and a
    sample date column."""
    return layout.kind == "long" and "patient" in layout.roles and "date" in layout.roles


class PatientState:
    """What the next sample of one patient needs."""

    __slots__ = ("baseline", "baseline_label", "baseline_when", "label", "latest", "rebased", "when")

    def __init__(self, when: datetime, label: str, judged: Mapping[str, Judged],
                 rebased: dict[str, tuple[Judged, float | str]] | None) -> None:
        self.when, self.label, self.latest = when, label, judged  # the latest sample emitted: its judged cells by analyte
        # the CTCAE baseline: the first sample (None: unknown, see the module text)
        self.baseline: Mapping[str, Judged] | None = None if rebased is None else judged
        self.baseline_when, self.baseline_label = when, label
        self.rebased = rebased or {}


_NOTHING: Mapping[str, Judged] = MappingProxyType({})


class Link:
    """What follow-up gives one panel: its patient's previous sample and CTCAE baseline, if any."""

    __slots__ = ("baseline", "baseline_label", "previous", "previous_label", "rebased", "warning")

    def __init__(self, previous: Mapping[str, Judged] = _NOTHING, previous_label: str = "", baseline: Mapping[str, Judged] = _NOTHING,
                 baseline_label: str = "", rebased: Mapping[str, tuple[Judged, float | str]] | None = None,
                 warning: str | None = None) -> None:
        self.previous, self.previous_label = previous, previous_label
        self.baseline, self.baseline_label = baseline, baseline_label
        self.rebased = rebased or {}  # analyte id -> (the baseline it is graded against, its value or "?")
        self.warning = warning

    def json(self) -> dict[str, str | None]:
        """The `follow_up` object of a JSONL panel."""
        return {"previous_date": self.previous_label or None, "ctcae_baseline_date": self.baseline_label or None}


NOT_FOLLOWED = Link()
#: serial rule types whose outcome, given a previous sample, depends only on the flags of their
#: analytes now and before (rules._became_abnormal): decided once per distinct tuple of flags
_FLAGS_ONLY = frozenset({"became_abnormal"})


def _put(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Keep a value in a cache of this module, cleared on its own past CACHE_ENTRIES entries (and
    with the memo's caches)."""
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


class FollowUp:
    """The patients of one run, followed sample by sample (see the module text), and the CSV
    fields follow-up adds, cached on the judged cells they read."""

    def __init__(self, layout: Layout, new_cache: Callable[[], dict[Any, Any]] = dict, limit: int | None = None) -> None:
        from levlab.exports.sinks import plausible_sample_date
        from levlab.serial import parse_datetime

        self.patient_at, self.date_at = layout.roles["patient"], layout.roles["date"]
        self.limit = PATIENT_LIMIT if limit is None else limit
        self.patients: OrderedDict[str, PatientState] = OrderedDict()
        self.dates: dict[str, datetime | None] = {}
        self.parse, self.plausible = parse_datetime, plausible_sample_date
        self.out_of_order = 0  # samples earlier than one emitted before for their patient
        self.first_out_of_order: tuple[str, str] | None = None  # (patient, date) of the first
        self.undated = 0  # samples of a patient without a readable, plausible date
        self.forgotten = 0  # patients forgotten past `limit`
        self.serial_rules = [rule for rule in rules() if rule.when["type"] in SERIAL_EVALUATORS]
        self.watched = tuple(dict.fromkeys(analyte_id for rule in self.serial_rules
                                           for analyte_id in (*rule.when.get("analytes", ()), *rule.when.get("low_analytes", ()))))
        self.terms = criteria().terms
        self.matters = new_cache()  # baseline Judged -> False (graded against ULN), "?" or its value (see _rebased)
        self.graded = new_cache()  # (Judged, baseline Judged) -> ANALYTE_FIELDS text, graded against the baseline
        self.before = new_cache()  # previous Judged -> its value and flag texts, its exact value or None
        self.changes = new_cache()  # a difference now - before -> its text
        self.fragments = new_cache()  # (previous value, flag, change) texts -> sink text
        self.serial = new_cache()  # flags of the watched analytes now and before -> serial rule ids met

    def _when(self, text: str) -> datetime | None:
        if text in self.dates:
            return self.dates[text]
        when = self.parse(text)
        if when is not None and not self.plausible(when):
            when = None
        if len(self.dates) >= DATES_KEPT:
            self.dates.clear()
        self.dates[text] = when
        return when

    def _rebased(self, baseline: Iterable[Judged]) -> dict[str, tuple[Judged, float | str]]:
        """The baseline results that change a later grade: a CTCAE term with baseline-abnormal
        criteria and a baseline above its ULN or undecided. Against the others a later value is
        graded against ULN, as the cached CSV fields already are."""
        found = {}
        for judged in baseline:
            matters = self.matters.get(judged)
            if matters is None:  # False: it does not; "?": it makes a later grade undecided; a number: the baseline value
                matters = False
                result = judged.result
                term = None if result is None else self.terms.get(result.analyte)
                if result is not None and term is not None and term.bounds_baseline_abnormal is not None:
                    abnormal = baseline_abnormal(result)[0]
                    m = result.measurement
                    if abnormal is None or (abnormal and (m is None or m.comparator is not None)):
                        matters = "?"
                    elif abnormal and m is not None:
                        matters = m.value
                _put(self.matters, judged, matters)
            if matters is not False:
                found[judged.result.analyte] = (judged, matters)  # type: ignore[union-attr]
        return found

    def link(self, row: list[str], judged: Mapping[str, Judged]) -> Link:
        """Link one panel (its first row, its judged results) to its patient's samples, and
        remember it for the next."""
        patient = row[self.patient_at].strip()
        if not patient:
            return NOT_FOLLOWED
        label = row[self.date_at].strip()
        when = self._when(label)
        if when is None:
            self.undated += 1
            return Link(warning=f"sample date {shown(label) if label else '(blank)'} is not a readable date from 1900 "
                                "to today: this sample is not compared with the patient's other samples")
        state = self.patients.get(patient)
        if state is None:
            if len(self.patients) >= self.limit:
                self.patients.popitem(last=False)
                self.forgotten += 1
            self.patients[patient] = PatientState(when, label, judged, None if self.forgotten else self._rebased(judged.values()))
            return NOT_FOLLOWED  # its first sample: the baseline, graded against ULN
        self.patients.move_to_end(patient)
        if when < state.when:
            self.out_of_order += 1
            if self.first_out_of_order is None:
                self.first_out_of_order = (patient, label)
            if when < state.baseline_when:
                state.baseline = None  # its first sample was not its earliest
                state.rebased = {}
            return Link(warning=f"sample {shown(label)} of patient {shown(patient)} comes after its sample "
                                f"{shown(state.label)} in the file (out of time order): not compared with a previous "
                                "sample nor graded against a baseline; sort the file by patient and sample date, "
                                "or use levlab trend")
        if state.baseline is None:
            link = Link(state.latest, state.label)
        else:
            link = Link(state.latest, state.label, state.baseline, state.baseline_label, state.rebased)
        state.when, state.label, state.latest = when, label, judged
        return link

    def serial_ids(self, judged: Mapping[str, Judged], link: Link) -> tuple[str, ...]:
        """The serial rules (`new-abnormal`) a panel meets against its previous sample."""
        before = link.previous
        if not before:
            return ()
        key = tuple((now.flag if (now := judged.get(a)) is not None else None,
                     then.flag if (then := before.get(a)) is not None else None) for a in self.watched)
        found = self.serial.get(key)
        if found is None or not all(rule.when["type"] in _FLAGS_ONLY for rule in self.serial_rules):
            results = {analyte_id: j.result for analyte_id, j in judged.items() if j.result is not None}
            previous = {analyte_id: j.result for analyte_id, j in before.items() if j.result is not None}
            found = _put(self.serial, key, tuple(
                rule.id for rule in self.serial_rules if SERIAL_EVALUATORS[rule.when["type"]](rule.when, results, previous)[0]))
        return found

    def graded_fragment(self, cell: Judged, rebased: tuple[Judged, float | str], sink: Sink, decimal: str) -> str:
        """A cell's ANALYTE_FIELDS as sink text, its CTCAE grade against an abnormal (or undecided)
        baseline: `rebased` is (the baseline, its value or "?"), from `_rebased`."""
        reference = rebased[1]
        key = (cell, reference)  # an abnormal baseline enters the grade by its value alone; an undecided one makes it "?"
        text = self.graded.get(key)
        if text is None:
            result = cell.result
            assert result is not None
            if reference == "?" or result.measurement is None or result.analyte not in self.terms:
                ctcae = "" if result.analyte not in self.terms else "?"
            else:
                graded = grade_against(result, reference)  # type: ignore[arg-type]
                ctcae = "?" if graded is None else str(graded)
            text = _put(self.graded, key, sink.fragment([ctcae if name == "ctcae" else function(result, decimal)
                                                         for name, function in ANALYTE_FIELDS]))
        return text

    def before_fragment(self, cell: Judged | None, previous: Judged, sink: Sink, decimal: str) -> str:
        """A row's previous value, flag and change since, as sink text (see before_fields): the
        previous cell's texts made once per cell, the change once per distinct difference."""
        texts = self.before.get(previous)
        if texts is None:
            before = previous.result.measurement if previous.result is not None else None
            texts = _put(self.before, previous, (*before_fields(None, previous.result, decimal)[:2],
                                                 None if before is None or before.comparator is not None else before.value))
        value, flag, number = texts
        change = ""
        now = None if cell is None or cell.result is None else cell.result.measurement
        if number is not None and now is not None and now.comparator is None:
            difference = now.value - number
            change = self.changes.get(difference)
            if change is None:
                change = _put(self.changes, difference, format_number(difference, decimal))
        key = (value, flag, change)
        text = self.fragments.get(key)
        if text is None:
            text = _put(self.fragments, key, sink.fragment([value, flag, change]))
        return text

    def closing_lines(self) -> list[str]:
        """What the run says at the end about follow-up."""
        lines = []
        if self.out_of_order:
            patient, label = self.first_out_of_order or ("", "")
            lines.append(
                f"levlab csv: {self.out_of_order} sample{'s' * (self.out_of_order != 1)} came out of time order for "
                f"their patient (the first: patient {shown(patient, 20)}, sample {shown(label, 20)}): not compared "
                "with a previous sample, and a sample of that patient before it may have been compared with the wrong "
                "one; sort the file by patient and sample date, or use `levlab trend`, which orders samples itself")
        if self.undated:
            lines.append(f"levlab csv: {self.undated} sample{'s' * (self.undated != 1)} of a patient had no readable "
                         "date from 1900 to today: not compared with other samples")
        if self.forgotten:
            lines.append(f"levlab csv: more than {self.limit:,} patients were followed at once, so {self.forgotten:,} "
                         "were forgotten: a patient coming back after that was compared from its next sample on, and "
                         "patients first seen after that were graded against ULN, not a baseline (sort the file by "
                         "patient and sample date)")
        return lines


def before_fields(result: AnalyteResult | None, previous: AnalyteResult | None, decimal: str) -> list[str]:
    """The middle FOLLOW_UP_FIELDS of one row: the analyte's value (canonical unit) and flag on the
    previous sample, and the change since (now - before; exact values only)."""
    value = flag = change = ""
    if previous is not None:
        before = previous.measurement
        flag = previous.flag
        if before is not None:
            value = (before.comparator or "") + format_number(before.value, decimal)
            now = None if result is None else result.measurement
            if now is not None and now.comparator is None and before.comparator is None:
                change = format_number(now.value - before.value, decimal)
    return [value, flag, change]
