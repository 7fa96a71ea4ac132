"""Long records → panels: a row per result; a panel is all the rows with the same key.

The key is the patient and sample (or the `--group-by` columns). Rows come a chunk at a time;
each row's analyte and reading are looked up column by column (`levlab.exports.memo`), and the
run still open at the end of a chunk goes on into the next. Each run of consecutive rows with
one key goes to the grouping (`levlab.exports.grouping`), which joins a key's runs when they are
apart (an unsorted file) and decides each panel from all its rows, or never claims `met` for a
stream's fragment that comes back too late.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from levlab.catalog import Analyte, analytes
from levlab.errors import shown
from levlab.exports.ages import age_at_sample, disagreement
from levlab.exports.fields import (
    ANALYTE_FIELDS,
    FOLLOW_UP_FIELDS,
    CountedPanel,
    PanelOut,
    RowError,
    error_text,
    fragment_of,
    joined,
)
from levlab.exports.followup import NOT_FOLLOWED, Link
from levlab.exports.lab_flags import held_against
from levlab.exports.layout import KEYLESS_PANEL_ROWS, has_liver_test
from levlab.exports.memo import LONG_CELL, NOT_MEASURED, Judged, PatientEntry, Reading, panel_for
from levlab.exports.names import UNKNOWN, NamedAnalyte, NameReader, row_unit
from levlab.exports.panel_checks import DateSpread, MissingSample
from levlab.exports.panel_checks import withheld as withheld_panel
from levlab.exports.records import RecordChunk, fields_by_column
from levlab.exports.rulebook import RuleBook
from levlab.exports.sinks import Sink
from levlab.exports.specimens import Passed, place
from levlab.model import NormalPanel

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun


_LONE = object()  # the panel key of a long row without a patient id (with its row number)


def _with_parsed_date(key_of: Callable[[list[str]], Any], position: int, size: int,
                      implausible: list[str]) -> Callable[[list[str]], Any]:
    """A panel key whose date part is the parsed date-time (ISO), not its text, when it parses;
    each distinct text is parsed once. A date before 1900 or after today is added to `implausible`."""
    from levlab.exports.sinks import plausible_sample_date
    from levlab.serial import parse_datetime

    parsed: dict[str, str] = {}

    def moment(text: str) -> str:
        found = parsed.get(text)
        if found is None:
            when = parse_datetime(text) if len(parsed) < 100_000 else None
            found = when.isoformat() if when is not None else text
            if when is not None and not plausible_sample_date(when):
                implausible.append(text)
            if len(parsed) < 100_000:
                parsed[text] = found
        return found

    def key(row: list[str]) -> Any:
        found = key_of(row)
        if size == 1:
            return moment(found)
        return (*found[:position], moment(found[position]), *found[position + 1:])

    return key


def _result_of(reading: Reading) -> tuple[Any, ...]:
    """What a reading says, to compare two of one analyte: the converted value (rounded to the
    display precision, so 30 U/L and 0.5 µkat/L are one result), comparator and lab range; or its error."""
    m = reading.measurement
    if m is None:
        return (None, reading.error)
    return (float(f"{m.value:.4g}"), m.comparator, m.lab_interval)


@dataclass(slots=True)
class Decided:
    """A panel decided from all its rows: what its rows' output needs, kept while its rows are written."""

    judged: dict[str, Judged]
    errors: dict[int, list[RowError]]  # data-row number -> its errors
    withheld: str  # "met": a `met` is said as `incomplete` (its sample may be incomplete); "all": any
    # outcome is (a fragment of a sample whose panel was written before); "": neither
    link: Link  # the patient's previous sample and baseline (exports.followup), or NOT_FOLLOWED
    notes: dict[int, str]  # data-row number -> a note said on the row, not an error (a specimen kept out)


class LongChunkOutput:
    """The CSV output of a chunk's long panels, column by column, written once per chunk."""

    __slots__ = ("columns", "originals", "rows")

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.originals: list[str | None] = []
        # analyte id, its fields, panel fields, error, [follow-up fields,] warnings
        self.columns: list[list[str]] = [[], [], [], [], []]

    def add(self, rows: list[list[str]], originals: list[str | None], ids: list[str], fields: list[str],
            panel_text: str, errors: list[str] | None, warnings: list[str] | None = None,
            follow_up: list[list[str]] | None = None) -> None:
        self.rows += rows
        self.originals += originals
        self.columns[0] += ids
        self.columns[1] += fields
        self.columns[2] += [panel_text] * len(rows)
        self.columns[3] += errors or [""] * len(rows)
        if follow_up is not None:
            if len(self.columns) == 5:
                self.columns[4:4] = [[], [], []]
            for at, texts in enumerate(follow_up, start=4):
                self.columns[at] += texts
        self.columns[-1] += warnings or [""] * len(rows)


class LongPanels:
    """Each run of rows with the same key in a long export a panel, into a sink."""

    def __init__(self, run: ExportRun, sink: Sink) -> None:
        self.run, self.sink = run, sink
        self.layout, self.judge, self.header, self.summary = run.layout, run.judge, run.header, run.summary
        self._book = RuleBook(list(analytes()), self.judge.new_cache)
        self._cells = self.judge.new_cache()  # (test, code, value, unit, range, specimen texts) -> (analyte, reading)
        self._names = NameReader(self.layout.value_maps)  # test names and codes, with --map / --codes value maps
        self._doubles: list[tuple[int, int]] = []  # a panel's rows that gave one analyte different results
        self._spread = DateSpread(self.layout)  # date-like columns that must not differ within a panel
        self._signal = MissingSample(self.layout)  # what such rows say when no column tells samples apart
        if sink.wants_rows:
            self._empty_fields = sink.fragment([""] * len(ANALYTE_FIELDS))
            # the follow-up columns: previous date (panel), previous value, flag and change (row), baseline date (panel)
            # (an empty single field is "", as the empty levlab_error is: a fragment of one empty field would be quoted)
            self._empty_follow_up = ("", sink.fragment([""] * (len(FOLLOW_UP_FIELDS) - 2)), "")
            self._id_texts = {analyte_id: sink.fragment([analyte_id]) for analyte_id in analytes()}

    def keys_function(self, implausible: list[str]) -> Callable[[int, list[list[str]]], list[Any]]:
        """(first row number, rows) -> each row's panel key: the `--group-by` or patient and sample
        columns, the date part read as a date; a row without a patient id its own key. Dates before
        1900 or after today are added to `implausible`."""
        group = self.layout.group
        key_of: Callable[[list[str]], Any] = operator.itemgetter(*group) if group else (lambda row: ())
        date_at = self.layout.roles.get("date")
        if date_at is not None and date_at in group:  # one day written 05-01-2026 or 2026-01-05 is one sample
            key_of = _with_parsed_date(key_of, group.index(date_at), len(group), implausible)
        lone_at = self.layout.lone_without  # a row without a patient id is linked to no other row

        def keys(first: int, rows: list[list[str]]) -> list[Any]:
            found = list(map(key_of, rows))
            if lone_at is not None:
                found = [(_LONE, first + index) if len(row) <= lone_at or not row[lone_at].strip() else key
                         for index, (row, key) in enumerate(zip(rows, found, strict=True))]
            return found

        return keys

    def write(self, chunks: Iterable[RecordChunk]) -> None:
        """Runs of rows with the same key go to the grouping (`levlab.exports.grouping`), which makes
        them panels. Rows come a chunk at a time; each row's analyte and reading are looked up column
        by column, and the run still open at the end of a chunk goes on into the next."""
        from levlab.exports.grouping import grouping_for

        sink = self.sink
        keys_of = self.keys_function(self.summary.implausible_dates)
        grouping = grouping_for(self, self.keys_function)
        open_key: Any = None
        open_rows: list[list[str]] = []  # the run still open: rows, original texts, looked-up cells
        open_originals: list[str | None] = []
        open_cells: list[tuple[Analyte | None, Any]] = []
        open_first = 0
        keyless, apart = not self.layout.group, False  # a file without a key: one panel, up to a limit
        for first, rows, originals in chunks:
            if keyless and len(open_rows) + len(rows) > KEYLESS_PANEL_ROWS:  # no single sample: a row is a panel
                keyless = False
                apart = self.summary.keyless_rows_apart = True
                out = LongChunkOutput()
                try:
                    for offset, (row, original, cell) in enumerate(zip(open_rows, open_originals, open_cells, strict=True)):
                        grouping.run((_LONE, open_first + offset), [row], [original], [cell], open_first + offset, out)
                finally:
                    if out.rows:
                        sink.chunk(out.rows, out.originals, out.columns)
                open_rows, open_originals, open_cells, open_key = [], [], [], None
            keys = [(_LONE, first + index) for index in range(len(rows))] if apart else keys_of(first, rows)
            cells = self._long_cells(rows)
            # rows where a new run starts (the first row too when nothing is open)
            starts = list(itertools.compress(range(len(rows)), map(operator.ne, keys, itertools.chain([open_key], keys))))
            if not open_rows and (not starts or starts[0] != 0):
                starts.insert(0, 0)
            out = LongChunkOutput()
            try:
                at = 0
                for start in starts:
                    open_rows += rows[at:start]
                    open_originals += originals[at:start]
                    open_cells += cells[at:start]
                    if open_rows:
                        grouping.run(open_key, open_rows, open_originals, open_cells, open_first, out)
                    open_key, open_first = keys[start], first + start
                    open_rows, open_originals, open_cells = [], [], []
                    at = start
                open_rows += rows[at:]
                open_originals += originals[at:]
                open_cells += cells[at:]
            finally:  # panels before a --strict stop are still written
                if out.rows:
                    sink.chunk(out.rows, out.originals, out.columns)
        out = LongChunkOutput()
        try:
            if open_rows:
                grouping.run(open_key, open_rows, open_originals, open_cells, open_first, out)
            grouping.finish(out)
        finally:
            if out.rows:
                sink.chunk(out.rows, out.originals, out.columns)
        given = set(self.run.options.maps)  # --map options (a --codes file is a dictionary: most of it unused)
        self.summary.unused_maps = [o.text for o in self.layout.value_maps if o.text in given and o.text not in self._names.used]

    def _long_cells(self, rows: list[list[str]]) -> list[tuple[Analyte | None, Any]]:
        """Each row's (analyte or None when it is not one levlab takes, Reading or NOT_MEASURED or
        None or a specimen's Passed), cached per (test name, code, value, unit, range, specimen) texts."""
        roles = self.layout.roles
        test_at, value_at = roles["test"], roles["value"]
        code_at, unit_at, range_at = roles.get("code"), roles.get("unit"), roles.get("range")
        specimen_at = roles.get("specimen")
        fields = fields_by_column(rows, {i for i in (test_at, code_at, value_at, unit_at, range_at, specimen_at)
                                         if i is not None})
        keys = list(zip(fields[test_at], fields[code_at] if code_at is not None else itertools.repeat(""),
                        fields[value_at], fields[unit_at] if unit_at is not None else itertools.repeat(None),
                        fields[range_at] if range_at is not None else itertools.repeat(None),
                        fields[specimen_at] if specimen_at is not None else itertools.repeat(None), strict=False))
        cache = self._cells
        found = list(map(cache.get, keys))
        if None in found:
            header = self.layout.header
            range_source = f"laboratory's own range (column {shown(header[range_at].strip())})" if range_at is not None else ""
            for index, cell in enumerate(found):
                if cell is None:
                    key = keys[index]
                    cell = cache.get(key)
                    if cell is None:
                        cell = self._cell(key, range_source)
                        if not any(part is not None and len(part) > LONG_CELL for part in key):
                            cache[key] = cell
                    found[index] = cell
        return found

    def _cell(self, key: tuple[Any, ...], range_source: str) -> tuple[Analyte | None, Any]:
        """One row's (analyte, Reading | NOT_MEASURED) from its test name or code, value, unit, range and
        specimen texts; (None, Passed) for a result its specimen keeps out of the panel (exports.specimens);
        (None, None) for a test levlab does not take."""
        name, code, value, unit, lab_range, specimen = key
        test = self._analyte_of(name, code)
        analyte = test.analyte
        if analyte is not None and specimen is not None:
            analyte, passed = place(analyte, specimen, self.judge.na)
            if passed is not None:
                return None, passed
        if analyte is None:
            return None, None
        unit, problem = row_unit(test, unit, self.judge.na)  # a unit in the test name (`ALT (U/L)`) or its map
        if problem is not None and value.strip().casefold() not in self.judge.na:
            return analyte, Reading(analyte, None, problem)
        return analyte, self.judge.reading(analyte, value, unit, lab_range, range_source)

    def panel(self, rows: list[list[str]], originals: list[str | None], cells: list[tuple[Analyte | None, Any]],
              numbers: Sequence[int], out: LongChunkOutput, withheld: str | None = None, *, fragment: bool = False) -> None:
        """One panel of a long file whose rows are all here: its rules decided, its rows' output put in `out`."""
        decided = self.decide(rows, cells, numbers, self.run.records.bad_rows, withheld, fragment=fragment)
        if self.sink.wants_rows:
            self.rows_out(rows, originals, cells, numbers, decided, out)

    def decide(self, rows: list[list[str]], cells: list[tuple[Analyte | None, Any]], numbers: Sequence[int],
               bad_rows: dict[int, str], withheld: str | None = None, *, fragment: bool = False) -> Decided:
        """One panel from all its rows (`numbers`: their data-row numbers, in file order): judged,
        its errors counted and echoed, the panel given to a panel sink. `withheld`: why a `met`
        must not be claimed (its sample's rows are split over a stream): it is `incomplete`, said;
        with `fragment` (the rows are only part of a sample whose panel was written) any outcome is.
        Rows of several dates (exports.panel_checks.DateSpread) are never `met` either."""
        layout, judge, sink = self.layout, self.judge, self.sink
        header = layout.header
        value_header = header[layout.roles["value"]].strip()
        errors: dict[int, list[RowError]] = {}  # data-row number -> its errors
        entry = self._panel_patient(rows, numbers, errors)
        self._doubles.clear()
        judged = self._judged(cells, numbers, entry, errors, value_header)
        if self._doubles and self._signal.wanted:
            self._signal.note(rows, self._doubles, self.summary)
        if "flag" in layout.roles:
            self._held_against_lab_flags(judged, rows, cells, layout.roles["flag"])
        notes = self._passed(cells, numbers, errors) if "specimen" in layout.roles else {}
        spread = self._spread.check(rows, numbers) if self._spread.columns else None  # rows of several dates?
        if spread is not None:
            errors.setdefault(spread.row, []).append(spread)
        self._record_errors(rows, numbers, errors, bad_rows)
        if withheld is not None:
            errors.setdefault(numbers[0], []).append(RowError(numbers[0], "", withheld))
        for number in sorted(errors):
            self.run.row_errors(number, errors[number])
        self.summary.panels += 1
        if not has_liver_test(judged):
            self.summary.without_liver_test += 1
        follow_up = self.run.follow_up
        link = NOT_FOLLOWED if follow_up is None else follow_up.link(rows[0], judged)
        withhold = "all" if withheld is not None and fragment else "met" if withheld is not None or spread is not None else ""
        if sink.wants_panels or sink.wants_counts:
            flat = [error for number in sorted(errors) for error in errors[number]]

            def whole() -> PanelOut:
                evaluation = judge.evaluate(tuple(judged.values()), entry.patient, tuple(link.previous.values()),
                                            tuple(link.baseline.values()))
                panel = panel_for(evaluation, entry.patient)
                if withheld is not None:
                    panel = (replace(panel, normal_panel=NormalPanel("incomplete", withheld, None)) if fragment
                             else withheld_panel(panel, withheld))
                if spread is not None:
                    panel = withheld_panel(panel, spread.message)
                if notes:
                    panel = replace(panel, notes=(*panel.notes, *(f"row {number}: {note}" for number, note in notes.items())))
                shown_key = {header[i].strip(): rows[0][i] for i in layout.key_columns}
                return PanelOut(list(numbers), shown_key, panel, flat,
                                [link.warning] if link.warning else [], None if follow_up is None else link.json())

            if sink.wants_counts:  # the table summary: rule ids and status from the book, the panel only if shown
                book = self._book
                rule_ids, status = book.panel_ids([judged.get(a) for a in book.analyte_ids], sink)
                serial = () if follow_up is None else follow_up.serial_ids(judged, link)
                if serial:
                    rule_ids = tuple(sorted({*rule_ids, *serial}, key=book.order.__getitem__))
                if withhold == "all" or (withhold == "met" and status == "met"):
                    status = "incomplete"
                sink.counted(CountedPanel(rule_ids, status, has_liver_test(judged), flat, whole))
            elif not (sink.from_results and withheld is None and spread is None and not notes and not link.previous
                      and not link.baseline and sink.judged_panel(
                          [j.result for j in judged.values()], entry.patient, list(numbers),
                          {header[i].strip(): rows[0][i] for i in layout.key_columns}, flat,
                          [link.warning] if link.warning else [], None if follow_up is None else link.json())):
                sink.panel(whole())  # (else written from its judged results, exports.panel_json)
        return Decided(judged, errors, withhold, link, notes)

    def _passed(self, cells: list[tuple[Analyte | None, Any]], numbers: Sequence[int],
                errors: dict[int, list[RowError]]) -> dict[int, str]:
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

    def normal_status(self, decided: Decided) -> str:
        """The normal-panel status of a decided panel (as its CSV columns say it, before withholding)."""
        book = self._book
        return book.status([decided.judged.get(analyte_id) for analyte_id in book.analyte_ids], self.sink)

    def cells_of(self, rows: list[list[str]]) -> list[tuple[Analyte | None, Any]]:
        """Each row's (analyte, reading), as `write` looks them up."""
        return self._long_cells(rows)

    def _record_errors(self, rows: list[list[str]], numbers: Sequence[int], errors: dict[int, list[RowError]],
                       bad_rows: dict[int, str]) -> None:
        """The errors of the records themselves: more fields than the header, bytes that did not decode."""
        width = self.layout.width
        for row, number in zip(rows, numbers, strict=True) if max(map(len, rows)) > width else ():
            if len(row) > width:
                errors.setdefault(number, []).append(RowError(number, "", f"row has {len(row)} fields, the header {width}"))
        if bad_rows:
            for number in numbers:
                if number in bad_rows:
                    errors.setdefault(number, []).append(RowError(number, "", bad_rows.pop(number)))

    @staticmethod
    def _held_against_lab_flags(judged: dict[str, Judged], rows: list[list[str]],
                                cells: list[tuple[Analyte | None, Any]], flag_at: int) -> None:
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

    def _judged(self, cells: list[tuple[Analyte | None, Any]], numbers: Sequence[int], entry: PatientEntry,
                errors: dict[int, list[RowError]], value_header: str) -> dict[str, Judged]:
        """The panel's judged results by analyte: the first row of each analyte counts; two different
        results of one analyte are a conflict (an error on the later row, and neither is used)."""
        judge = self.judge
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
            elif cells[earlier][1] is not reading and _result_of(cells[earlier][1]) != _result_of(reading):
                self._doubles.append((earlier, offset))
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

    def rows_out(self, rows: list[list[str]], originals: list[str | None], cells: list[tuple[Analyte | None, Any]],
                 numbers: Sequence[int], decided: Decided, out: LongChunkOutput) -> None:
        """Rows of a decided panel with levlab's fields (CSV) into `out` (all its rows, or one run of
        them): its rules decided by the book, the per-result fields made once per judged result
        (afresh only where an abnormal baseline changes the CTCAE grade); the follow-up fields when
        the run follows patients. Its notes (a specimen kept out) join the row's levlab_error text
        without counting as errors; a withheld panel is never met."""
        judge, sink, judged, errors, link = self.judge, self.sink, decided.judged, decided.errors, decided.link
        book = self._book
        follow_up = self.run.follow_up
        serial = () if follow_up is None else follow_up.serial_ids(judged, link)
        panel_cells: list[Judged | None] = [judged.get(analyte_id) for analyte_id in book.analyte_ids]
        panel_text = book.panel_text(panel_cells, book.signatures(panel_cells), sink, serial,
                                     withhold=decided.withheld)
        if decided.notes:
            errors = {number: list(errors.get(number, [])) for number in {*errors, *decided.notes}}
            for number, note in decided.notes.items():
                errors[number].append(RowError(0, "", note))  # only its text is written
        # each row's judged cell, None for a test levlab does not know or a value not measured
        row_cells = [None if analyte is None or reading is NOT_MEASURED else judged[analyte.id] for analyte, reading in cells]
        ids = [self._id_texts[analyte.id] if analyte is not None else "" for analyte, _ in cells]
        rebased = link.rebased
        fields = [self._empty_fields if cell is None
                  else follow_up.graded_fragment(cell, rebased[cell.result.analyte], sink, judge.decimal)
                  if rebased and follow_up is not None and cell.result is not None and cell.result.analyte in rebased
                  else cell.fragment or fragment_of(cell, sink, judge.decimal) for cell in row_cells]
        warnings: list[str] | None = None
        if judge.warned or link.warning:  # the rows' own warnings, and the panel's
            warnings = [joined([*(cell.warnings if cell is not None else ()), *([link.warning] if link.warning else [])])
                        for cell in row_cells]
            warnings = [sink.fragment([text]) if text else "" for text in warnings]
        follow_texts = None
        if follow_up is not None:
            count = len(rows)
            if not link.previous and not link.baseline:
                follow_texts = [[self._empty_follow_up[0]] * count, [self._empty_follow_up[1]] * count,
                                [self._empty_follow_up[2]] * count]
            else:
                previous = link.previous
                befores = [self._empty_follow_up[1] if cell is None or analyte is None or analyte.id not in previous
                           else follow_up.before_fragment(cell, previous[analyte.id], sink, judge.decimal)
                           for (analyte, _), cell in zip(cells, row_cells, strict=True)]
                follow_texts = [[sink.fragment([link.previous_label]) if link.previous_label else ""] * count, befores,
                                [sink.fragment([link.baseline_label]) if link.baseline_label else ""] * count]
        out.add(rows, originals, ids, fields, panel_text,
                [sink.fragment([error_text(errors[number])]) if number in errors else "" for number in numbers]
                if errors else None, warnings, follow_texts)

    def _analyte_of(self, name: str, code: str) -> NamedAnalyte:
        """A test name or code read (exports.names: value maps, then the name-and-unit reader), cached."""
        names = self.judge.names
        key = (name, code)
        if key in names:
            return names[key]
        self.judge.grow()
        found = self._names.read(name, code) if len(name) <= LONG_CELL else UNKNOWN
        if len(name) + len(code) <= LONG_CELL:
            names[key] = found
        return found

    def _panel_patient(self, rows: list[list[str]], numbers: Sequence[int], errors: dict[int, list[RowError]]) -> PatientEntry:
        """The panel's sex and age, as its rows give them; rows that give two are an error, and the
        panel is judged with that one unknown (never on a guess of which row is right)."""
        roles, header = self.layout.roles, self.header
        texts = {}
        for role in ("sex", "age"):
            at = roles.get(role)
            texts[role] = ""
            if at is None:
                continue
            text = rows[0][at]
            if all(row[at] == text for row in rows):  # the same on every row, as usual
                texts[role] = "" if text.strip().casefold() in self.judge.na else text
                continue
            differ = False
            for offset, row in enumerate(rows):
                text = row[at]
                if text.strip().casefold() in self.judge.na:
                    continue
                if not texts[role]:
                    texts[role] = text
                elif text.strip() != texts[role].strip():
                    differ = True
                    errors.setdefault(numbers[offset], []).append(RowError(
                        numbers[offset], header[at], f"{role} {shown(text.strip())} differs from {shown(texts[role].strip())} "
                        f"earlier in this panel; the panel is judged with {role} unknown"))
            if differ:
                texts[role] = ""
        birth_at = roles.get("birth")
        if birth_at is not None:  # the age at the sample from the birth date (exports.ages)
            date_at = roles.get("date")
            derived, problem = age_at_sample(rows[0][birth_at], rows[0][date_at] if date_at is not None else "")
            if problem and not texts["age"]:
                errors.setdefault(numbers[0], []).append(RowError(numbers[0], header[birth_at], problem))
            disagree = disagreement(texts["age"], derived) if texts["age"] and derived else None
            if disagree:
                errors.setdefault(numbers[0], []).append(RowError(numbers[0], header[roles["age"]], disagree))
                texts["age"] = ""
            elif not texts["age"]:
                texts["age"] = derived
        entry = self.judge.patient(texts["sex"], texts["age"])
        if entry.errors:
            for role, message in entry.errors:
                at = roles[role]
                offset = next(i for i, row in enumerate(rows) if row[at] == texts[role])
                errors.setdefault(numbers[offset], []).append(RowError(numbers[offset], header[at], message))
        return entry
