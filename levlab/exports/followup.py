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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from levlab.errors import shown
from levlab.exports.fields import FOLLOW_UP_FIELDS, joined
from levlab.exports.layout import Layout
from levlab.grading import baseline_abnormal, criteria, grade
from levlab.model import AnalyteResult
from levlab.rules import SERIAL_EVALUATORS, rules
from levlab.values import format_number

if TYPE_CHECKING:
    from levlab.exports.memo import Judged

PATIENT_LIMIT = 100_000  # patients remembered at once; past it the least recently seen is forgotten
DATES_KEPT = 100_000  # distinct date texts whose parse is kept


def follows(layout: Layout) -> bool:
    """Whether `levlab csv` follows patients in this export: a long layout with a patient and a
    sample date column."""
    return layout.kind == "long" and "patient" in layout.roles and "date" in layout.roles


class PatientState:
    """What the next sample of one patient needs."""

    __slots__ = ("baseline", "baseline_label", "baseline_when", "label", "latest", "rebased", "when")

    def __init__(self, when: datetime, label: str, judged: tuple[Judged, ...], baseline_known: bool) -> None:
        self.when, self.label, self.latest = when, label, judged  # the latest sample emitted
        # the CTCAE baseline: the first sample (None: unknown, see the module text)
        self.baseline: tuple[Judged, ...] | None = judged if baseline_known else None
        self.baseline_when, self.baseline_label = when, label
        self.rebased = _rebased(judged) if baseline_known else {}


class Link:
    """What follow-up gives one panel."""

    __slots__ = ("baseline", "baseline_label", "previous", "previous_label", "rebased", "warning")

    def __init__(self, previous: tuple[Judged, ...] = (), previous_label: str = "", baseline: tuple[Judged, ...] = (),
                 baseline_label: str = "", rebased: Mapping[str, AnalyteResult] | None = None,
                 warning: str | None = None) -> None:
        self.previous, self.previous_label = previous, previous_label
        self.baseline, self.baseline_label = baseline, baseline_label
        self.rebased = rebased or {}  # analyte id -> baseline result it is graded against (abnormal or undecided)
        self.warning = warning

    def json(self) -> dict[str, str | None]:
        """The `follow_up` object of a JSONL panel."""
        return {"previous_date": self.previous_label or None, "ctcae_baseline_date": self.baseline_label or None}


NOT_FOLLOWED = Link()


def _rebased(baseline: Sequence[Judged]) -> dict[str, AnalyteResult]:
    """The baseline results that change a later grade: a CTCAE term with baseline-abnormal criteria
    and a baseline above its ULN or undecided. Against the others a later value is graded against
    ULN, as the cached CSV fields already are."""
    terms = criteria().terms
    found = {}
    for judged in baseline:
        result = judged.result
        if result is None:
            continue
        term = terms.get(result.analyte)
        if term is not None and term.bounds_baseline_abnormal is not None and baseline_abnormal(result)[0] is not False:
            found[result.analyte] = result
    return found


class FollowUp:
    """The patients of one run, followed sample by sample (see the module text)."""

    def __init__(self, layout: Layout, limit: int = PATIENT_LIMIT) -> None:
        from levlab.exports.sinks import plausible_sample_date
        from levlab.serial import parse_datetime

        self.patient_at, self.date_at = layout.roles["patient"], layout.roles["date"]
        self.limit = limit
        self.patients: OrderedDict[str, PatientState] = OrderedDict()
        self.dates: dict[str, datetime | None] = {}
        self.parse, self.plausible = parse_datetime, plausible_sample_date
        self.out_of_order = 0  # samples earlier than one emitted before for their patient
        self.first_out_of_order: tuple[str, str] | None = None  # (patient, date) of the first
        self.undated = 0  # samples of a patient without a readable, plausible date
        self.forgotten = 0  # patients forgotten past `limit`
        self.serial_rules = [rule for rule in rules() if rule.when["type"] in SERIAL_EVALUATORS]

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

    def link(self, row: list[str], judged: tuple[Judged, ...]) -> Link:
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
            self.patients[patient] = PatientState(when, label, judged, baseline_known=not self.forgotten)
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
            link = Link(state.latest, state.label, (), "")
        else:
            link = Link(state.latest, state.label, state.baseline, state.baseline_label, state.rebased)
        state.when, state.label, state.latest = when, label, judged
        return link

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


def serial_rule_ids(follow_up: FollowUp, results: Mapping[str, AnalyteResult],
                    previous: Mapping[str, AnalyteResult]) -> tuple[str, ...]:
    """The serial rules (`new-abnormal`) met by a panel against its previous sample."""
    return tuple(rule.id for rule in follow_up.serial_rules
                 if SERIAL_EVALUATORS[rule.when["type"]](rule.when, results, previous)[0])


def ctcae_text(result: AnalyteResult, baseline: AnalyteResult) -> str:
    """The `levlab_ctcae` text of a result graded against its baseline (grading.grade)."""
    graded = grade(result, baseline)
    return "" if graded is None else "?" if graded.grade is None else str(graded.grade)


def row_fields(result: AnalyteResult | None, previous: AnalyteResult | None, link: Link, decimal: str) -> list[str]:
    """FOLLOW_UP_FIELDS of one row: the panel's previous sample date, the analyte's previous value
    and flag and the change since (canonical unit, exact values only), the CTCAE baseline's date."""
    value = flag = change = ""
    if result is not None and previous is not None:
        before, now = previous.measurement, result.measurement
        flag = previous.flag
        if before is not None:
            value = (before.comparator or "") + format_number(before.value, decimal)
            if now is not None and now.comparator is None and before.comparator is None:
                change = format_number(now.value - before.value, decimal)
    fields = [link.previous_label, value, flag, change, link.baseline_label]
    assert len(fields) == len(FOLLOW_UP_FIELDS)
    return fields


def warning_text(messages: Sequence[str]) -> str:
    """Warnings as one levlab_warnings cell."""
    return joined(messages)
