"""The decision of a long panel from all its rows: its judged results, its errors, what is withheld.

`LongDecision.decide` takes all the rows of one panel (from `exports.grouping`, wherever they are
in the input) with their cells (`exports.long_cells`) and decides, in this order:

1. the patient: one sex and one age from the rows (`exports.long_patient`);
2. the judged result of each analyte: the first row of an analyte counts; the same result read
   twice is one result; two different results are a conflict, neither used (`_judged`);
   the laboratory's flag on a row can make its result indeterminate (`exports.lab_flags`);
3. the checks on the rows themselves: a specimen kept out (a note), rows differing in a date
   (`exports.panel_checks.DateSpread`: never `met`), more fields than the header, undecodable bytes;
4. what is withheld: `"met"` — a `met` is said as `incomplete` (rows of several dates, or a stream
   whose sample may go on); `"all"` — any outcome is (a fragment of a sample whose panel was
   written before); `""` — neither;
5. the follow-up link (`exports.followup`: the patient's previous and first sample), when the run
   follows patients.

The errors are echoed and counted (`ExportRun.row_errors`), and a panel sink (JSONL, table) is
given the panel. The rows' CSV output is written from the `Decided` by `exports.long_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from levlab.catalog import analytes
from levlab.errors import shown
from levlab.exports.fields import CountedPanel, PanelOut, RowError
from levlab.exports.followup import NOT_FOLLOWED, Link
from levlab.exports.lab_flags import held_against
from levlab.exports.layout import has_liver_test
from levlab.exports.long_patient import Errors, PanelPatient
from levlab.exports.memo import NOT_MEASURED, Judged, PatientEntry, Reading, panel_for
from levlab.exports.panel_checks import DateSpread, MissingSample
from levlab.exports.panel_checks import withheld as withheld_panel
from levlab.exports.rulebook import RuleBook
from levlab.exports.specimens import Passed
from levlab.grading import settle
from levlab.model import NormalPanel

if TYPE_CHECKING:
    from levlab.exports.long_cells import Cell
    from levlab.exports.run import ExportRun
    from levlab.exports.sinks import Sink


@dataclass(slots=True)
class Decided:
    """A panel decided from all its rows: what its rows' output needs, kept while its rows are written."""

    judged: dict[str, Judged]
    errors: Errors  # data-row number -> its errors
    withheld: str  # "met": a `met` is said as `incomplete` (its sample may be incomplete); "all": any
    # outcome is (a fragment of a sample whose panel was written before); "": neither
    link: Link  # the patient's previous sample and baseline (exports.followup), or NOT_FOLLOWED
    notes: dict[int, str]  # data-row number -> a note said on the row, not an error (a specimen kept out)


def result_of(reading: Reading) -> tuple[Any, ...]:
    """What a reading says, to compare two of one analyte: the converted value (settled to the 12
    significant digits values are compared at, so 30 U/L and 0.5 µkat/L are one result, while
    104.96 and 105.04 U/L, the same to display precision, are two either side of a limit),
    comparator and lab range; or its error."""
    m = reading.measurement
    if m is None:
        return (None, reading.error)
    return (settle(m.value), m.comparator, m.lab_interval)


class LongDecision:
    """Decides the long panels of one run (see the module text)."""

    def __init__(self, run: ExportRun, sink: Sink) -> None:
        self.run, self.sink = run, sink
        self.layout, self.judge, self.summary = run.layout, run.judge, run.summary
        self.book = RuleBook(list(analytes()), self.judge.new_cache)
        self.patient = PanelPatient(self.layout, self.judge)
        self.value_header = self.layout.header[self.layout.roles["value"]].strip()
        self.spread = DateSpread(self.layout)  # date-like columns that must not differ within a panel
        self.signal = MissingSample(self.layout)  # what such rows say when no column tells samples apart
        self.doubles: list[tuple[int, int]] = []  # a panel's rows that gave one analyte different results

    def decide(self, rows: list[list[str]], cells: list[Cell], numbers: Sequence[int],
               bad_rows: dict[int, str], withheld: str | None = None, *, fragment: bool = False) -> Decided:
        """One panel from all its rows (`numbers`: their data-row numbers, in file order): judged,
        its errors counted and echoed, the panel given to a panel sink. `withheld`: why a `met`
        must not be claimed (its sample's rows are split over a stream): it is `incomplete`, said;
        with `fragment` (the rows are only part of a sample whose panel was written) any outcome is.
        Rows of several dates (exports.panel_checks.DateSpread) are never `met` either."""
        layout = self.layout
        errors: Errors = {}
        entry = self.patient.of(rows, numbers, errors)
        self.doubles.clear()
        judged = self._judged(cells, numbers, entry, errors)
        if self.doubles and self.signal.wanted:
            self.signal.note(rows, self.doubles, self.summary)
        if "flag" in layout.roles:
            self._held_against_lab_flags(judged, rows, cells, layout.roles["flag"])
        notes = self._passed(cells, numbers, errors) if "specimen" in layout.roles else {}
        spread = self.spread.check(rows, numbers) if self.spread.columns else None  # rows of several dates?
        if spread is not None:
            errors.setdefault(spread.row, []).append(spread)
        if bad_rows or max(map(len, rows)) > layout.width:
            self._record_errors(rows, numbers, errors, bad_rows)
        if withheld is not None:
            errors.setdefault(numbers[0], []).append(RowError(numbers[0], "", withheld))
        self._count(judged, errors)
        follow_up = self.run.follow_up
        link = NOT_FOLLOWED if follow_up is None else follow_up.link(rows[0], judged)
        withhold = "all" if withheld is not None and fragment else "met" if withheld is not None or spread is not None else ""
        if self.sink.wants_panels or self.sink.wants_counts:
            self._give_panel(rows, numbers, entry, judged, errors, notes, link, withhold,
                             withheld, spread.message if spread is not None else None)
        return Decided(judged, errors, withhold, link, notes)

    def normal_status(self, decided: Decided) -> str:
        """The normal-panel status of a decided panel (as its CSV columns say it, before withholding)."""
        book = self.book
        return book.status([decided.judged.get(analyte_id) for analyte_id in book.analyte_ids], self.sink)

    def _judged(self, cells: list[Cell], numbers: Sequence[int], entry: PatientEntry, errors: Errors) -> dict[str, Judged]:
        """The panel's judged results by analyte. The usual panel — each analyte once, read without
        error — is judged in one pass; any other goes the long way (`_judged_every_row`)."""
        judge = self.judge.judge
        seen = self.summary.seen
        judged: dict[str, Judged] = {}
        for analyte, reading in cells:
            if analyte is None:
                continue
            if reading is NOT_MEASURED:
                seen.add(analyte.id)
            elif reading.error is not None or analyte.id in judged:
                return self._judged_every_row(cells, numbers, entry, errors)
            else:
                judged[analyte.id] = judge(reading, entry)
        seen.update(judged)
        return judged

    def _judged_every_row(self, cells: list[Cell], numbers: Sequence[int], entry: PatientEntry,
                          errors: Errors) -> dict[str, Judged]:
        """The panel's judged results by analyte, the long way: the first row of each analyte counts;
        a reading's error is an error on its row; two different results of one analyte are a
        conflict (an error on the later row, and neither is used)."""
        judge, value_header = self.judge, self.value_header
        seen = self.summary.seen
        by_analyte: dict[str, int] = {}  # analyte id -> index of the row that counts
        conflicts: dict[str, str] = {}
        for offset, (analyte, reading) in enumerate(cells):
            if analyte is None:
                continue
            analyte_id = analyte.id
            seen.add(analyte_id)
            if reading is NOT_MEASURED:
                continue
            if reading.error is not None:
                errors.setdefault(numbers[offset], []).append(RowError(numbers[offset], value_header, reading.error))
            earlier = by_analyte.get(analyte_id)
            if earlier is None:
                by_analyte[analyte_id] = offset
            elif cells[earlier][1] is not reading and result_of(cells[earlier][1]) != result_of(reading):
                self.doubles.append((earlier, offset))
                # the same result read twice (ALT 30, ALAT 30.0, ALT 0.5 µkat/L) is no conflict
                message = (f"{analyte_id} is given twice in this panel (rows {numbers[earlier]} and {numbers[offset]}) "
                           "with different results; neither is used")
                conflicts[analyte_id] = message
                errors.setdefault(numbers[offset], []).append(RowError(numbers[offset], value_header, message))
        judged: dict[str, Judged] = {}
        for analyte_id, offset in by_analyte.items():
            analyte, reading = cells[offset]
            if analyte_id in conflicts:
                reading = Reading(analyte, None, conflicts[analyte_id])
            judged[analyte_id] = judge.judge(reading, entry)
        return judged

    @staticmethod
    def _held_against_lab_flags(judged: dict[str, Judged], rows: list[list[str]], cells: list[Cell], flag_at: int) -> None:
        """Each judged result against the laboratory's flag on its row (lab_flags.held_against):
        a contradiction makes it indeterminate, in a new Judged (the cached one is shared)."""
        for offset, (analyte, _) in enumerate(cells):
            if analyte is None or analyte.id not in judged or len(rows[offset]) <= flag_at:
                continue
            current = judged[analyte.id]
            if current.result is None or not rows[offset][flag_at].strip():
                continue
            held = held_against(current.result, rows[offset][flag_at])
            if held is not current.result:
                judged[analyte.id] = Judged(held, current.error)

    def _passed(self, cells: list[Cell], numbers: Sequence[int], errors: Errors) -> dict[int, str]:
        """The rows whose specimen kept their result out of the panel (exports.specimens): an unknown
        specimen word is a row error; a known other specimen is a note on its row (by data-row number)."""
        column = self.layout.header[self.layout.roles["specimen"]].strip()
        notes: dict[int, str] = {}
        for number, (analyte, reading) in zip(numbers, cells, strict=True):
            if analyte is None and isinstance(reading, Passed):
                if reading.error:  # perhaps the column holds sample ids, not specimen words: say how to tell levlab
                    errors.setdefault(number, []).append(RowError(
                        number, column, f"{reading.message}; if {shown(column)} holds sample ids, say so with "
                        f"--col sample=\"{column}\""))
                else:
                    notes[number] = f"{column}: {reading.message}"
        return notes

    def _record_errors(self, rows: list[list[str]], numbers: Sequence[int], errors: Errors, bad_rows: dict[int, str]) -> None:
        """The errors of the records themselves: more fields than the header, bytes that did not decode."""
        width = self.layout.width
        for row, number in zip(rows, numbers, strict=True):
            if len(row) > width:
                errors.setdefault(number, []).append(RowError(number, "", f"row has {len(row)} fields, the header {width}"))
        if bad_rows:
            for number in numbers:
                if number in bad_rows:
                    errors.setdefault(number, []).append(RowError(number, "", bad_rows.pop(number)))

    def _count(self, judged: dict[str, Judged], errors: Errors) -> None:
        """The panel's errors echoed and counted, in row order; the panel counted."""
        if errors:
            for number in sorted(errors):
                self.run.row_errors(number, errors[number])
        self.summary.panels += 1
        if not has_liver_test(judged):
            self.summary.without_liver_test += 1

    def _give_panel(self, rows: list[list[str]], numbers: Sequence[int], entry: PatientEntry, judged: dict[str, Judged],
                    errors: Errors, notes: dict[int, str], link: Link, withhold: str, withheld: str | None,
                    spread: str | None) -> None:
        """The panel to a panel sink: interpreted in full (JSONL), or counted from the book (the
        table summary, interpreted only if shown)."""
        judge, sink, header = self.judge, self.sink, self.layout.header
        follow_up = self.run.follow_up
        flat = [error for number in sorted(errors) for error in errors[number]]

        def whole() -> PanelOut:
            evaluation = judge.evaluate(tuple(judged.values()), entry.patient, tuple(link.previous.values()),
                                        tuple(link.baseline.values()))
            panel = panel_for(evaluation, entry.patient)
            if withheld is not None:
                panel = (replace(panel, normal_panel=NormalPanel("incomplete", withheld, None)) if withhold == "all"
                         else withheld_panel(panel, withheld))
            if spread is not None:
                panel = withheld_panel(panel, spread)
            if notes:
                panel = replace(panel, notes=(*panel.notes, *(f"row {number}: {note}" for number, note in notes.items())))
            shown_key = {header[i].strip(): rows[0][i] for i in self.layout.key_columns}
            return PanelOut(list(numbers), shown_key, panel, flat,
                            [link.warning] if link.warning else [], None if follow_up is None else link.json())

        if sink.wants_counts:  # the table summary: rule ids and status from the book, the panel only if shown
            book = self.book
            rule_ids, status = book.panel_ids([judged.get(a) for a in book.analyte_ids], sink)
            serial = () if follow_up is None else follow_up.serial_ids(judged, link)
            if serial:
                rule_ids = tuple(sorted({*rule_ids, *serial}, key=book.order.__getitem__))
            if withhold == "all" or (withhold == "met" and status == "met"):
                status = "incomplete"
            sink.counted(CountedPanel(rule_ids, status, has_liver_test(judged), flat, whole))
        elif not self._from_results(rows, numbers, entry, judged, flat, link, notes, withheld, spread):
            sink.panel(whole())  # (else written from its judged results, exports.panel_json)

    def _from_results(self, rows: list[list[str]], numbers: Sequence[int], entry: PatientEntry,
                      judged: dict[str, Judged], flat: list[RowError], link: Link, notes: dict[int, str],
                      withheld: str | None, spread: str | None) -> bool:
        """The panel written by a sink that puts it together from its judged results (JSONL,
        `exports.panel_json`), when nothing but its results makes its words (no withholding, date
        spread, notes, previous sample or baseline); False when the sink did not write it."""
        sink, follow_up = self.sink, self.run.follow_up
        if not sink.from_results or withheld is not None or spread is not None or notes or link.previous or link.baseline:
            return False
        header = self.layout.header
        return sink.judged_panel(
            [j.result for j in judged.values()], entry.patient, list(numbers),
            {header[i].strip(): rows[0][i] for i in self.layout.key_columns}, flat,
            [link.warning] if link.warning else [], None if follow_up is None else link.json())
