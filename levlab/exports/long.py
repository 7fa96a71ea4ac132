"""Long records → panels: a row per result; a panel is a run of consecutive rows with the same key.

The key is the patient and sample (or the `--group-by` columns). Rows come a chunk at a time;
each row's analyte and reading are looked up column by column (`levlab.exports.memo`), and the
run still open at the end of a chunk goes on into the next: only the open panel is held. A key
that comes back after its panel was closed (an unsorted file) starts a new panel; the run
counts how often that happened so the user can sort the file first.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from levlab.catalog import Analyte, analytes, find_analyte
from levlab.errors import shown
from levlab.exports import memo
from levlab.exports.fields import ANALYTE_FIELDS, CountedPanel, PanelOut, RowError, error_text, fragment_of
from levlab.exports.lab_flags import held_against
from levlab.exports.layout import KEYLESS_PANEL_ROWS, has_liver_test
from levlab.exports.memo import LONG_CELL, NOT_MEASURED, Judged, PatientEntry, Reading, panel_for
from levlab.exports.records import RecordChunk, fields_by_column
from levlab.exports.rulebook import RuleBook
from levlab.exports.sinks import Sink

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


class LongChunkOutput:
    """The CSV output of a chunk's long panels, column by column, written once per chunk."""

    __slots__ = ("columns", "originals", "rows")

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.originals: list[str | None] = []
        self.columns: list[list[str]] = [[], [], [], []]  # analyte id, its fields, panel fields, error

    def add(self, rows: list[list[str]], originals: list[str | None], ids: list[str], fields: list[str],
            panel_text: str, errors: list[str] | None) -> None:
        self.rows += rows
        self.originals += originals
        self.columns[0] += ids
        self.columns[1] += fields
        self.columns[2] += [panel_text] * len(rows)
        self.columns[3] += errors or [""] * len(rows)


class LongPanels:
    """Each run of rows with the same key in a long export a panel, into a sink."""

    def __init__(self, run: ExportRun, sink: Sink) -> None:
        self.run, self.sink = run, sink
        self.layout, self.judge, self.header, self.summary = run.layout, run.judge, run.header, run.summary
        self._book = RuleBook(list(analytes()), self.judge.new_cache)
        self._cells = self.judge.new_cache()  # (test, code, value, unit, range texts) -> (analyte, reading)
        if sink.wants_rows:
            self._empty_fields = sink.fragment([""] * len(ANALYTE_FIELDS))
            self._id_texts = {analyte_id: sink.fragment([analyte_id]) for analyte_id in analytes()}

    def write(self, chunks: Iterable[RecordChunk]) -> None:
        """Runs of rows with the same key are panels. Rows come a chunk at a time; each row's
        analyte and reading are looked up column by column, and the run still open at the end
        of a chunk goes on into the next."""
        sink, group = self.sink, self.layout.group
        key_of: Callable[[list[str]], Any] = operator.itemgetter(*group) if group else (lambda row: ())
        date_at = self.layout.roles.get("date")
        if date_at is not None and date_at in group:  # one day written 05-01-2026 or 2026-01-05 is one sample
            key_of = _with_parsed_date(key_of, group.index(date_at), len(group), self.summary.implausible_dates)
        closed: set[Any] = set()
        open_key: Any = None
        open_rows: list[list[str]] = []  # the run still open: rows, original texts, looked-up cells
        open_originals: list[str | None] = []
        open_cells: list[tuple[Analyte | None, Any]] = []
        open_first = 0
        lone_at = self.layout.lone_without  # a row without a patient id is linked to no other row
        keyless, apart = not group, False
        for first, rows, originals in chunks:
            if keyless and len(open_rows) + len(rows) > KEYLESS_PANEL_ROWS:  # no single sample: a row is a panel
                keyless = False
                apart = self.summary.keyless_rows_apart = True
                out = LongChunkOutput()
                try:
                    for offset, (row, original, cell) in enumerate(zip(open_rows, open_originals, open_cells, strict=True)):
                        self._panel((_LONE, open_first + offset), [row], [original], [cell], open_first + offset, sink, out)
                finally:
                    if out.rows:
                        sink.chunk(out.rows, out.originals, out.columns)
                open_rows, open_originals, open_cells, open_key = [], [], [], None
            keys = [(_LONE, first + index) for index in range(len(rows))] if apart else list(map(key_of, rows))
            if lone_at is not None:
                keys = [(_LONE, first + index) if len(row) <= lone_at or not row[lone_at].strip() else key
                        for index, (row, key) in enumerate(zip(rows, keys, strict=True))]
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
                        self._panel(open_key, open_rows, open_originals, open_cells, open_first, sink, out)
                        if len(closed) < memo.CACHE_LIMIT and not apart:
                            closed.add(open_key)
                    open_key, open_first = keys[start], first + start
                    if open_key in closed:
                        self.summary.reopened += 1
                    open_rows, open_originals, open_cells = [], [], []
                    at = start
                open_rows += rows[at:]
                open_originals += originals[at:]
                open_cells += cells[at:]
            finally:  # panels before a --strict stop are still written
                if out.rows:
                    sink.chunk(out.rows, out.originals, out.columns)
        if open_rows:
            out = LongChunkOutput()
            try:
                self._panel(open_key, open_rows, open_originals, open_cells, open_first, sink, out)
            finally:
                if out.rows:
                    sink.chunk(out.rows, out.originals, out.columns)

    def _long_cells(self, rows: list[list[str]]) -> list[tuple[Analyte | None, Any]]:
        """Each row's (analyte or None when it is not one levlab knows, Reading or NOT_MEASURED or
        None), cached per (test name, code, value, unit, range) texts."""
        roles, judge = self.layout.roles, self.judge
        test_at, value_at = roles["test"], roles["value"]
        code_at, unit_at, range_at = roles.get("code"), roles.get("unit"), roles.get("range")
        fields = fields_by_column(rows, {i for i in (test_at, code_at, value_at, unit_at, range_at) if i is not None})
        keys = list(zip(fields[test_at], fields[code_at] if code_at is not None else itertools.repeat(""),
                        fields[value_at], fields[unit_at] if unit_at is not None else itertools.repeat(None),
                        fields[range_at] if range_at is not None else itertools.repeat(None), strict=False))
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
                        name, code, value, unit, lab_range = key
                        analyte = self._analyte_of(name, code)
                        reading = None if analyte is None else judge.reading(analyte, value, unit, lab_range, range_source)
                        cell = (analyte, reading)
                        if not any(part is not None and len(part) > LONG_CELL for part in key):
                            cache[key] = cell
                    found[index] = cell
        return found

    def _panel(self, key: Any, rows: list[list[str]], originals: list[str | None], cells: list[tuple[Analyte | None, Any]],
               first: int, sink: Sink, out: LongChunkOutput) -> None:
        """One panel of a long file: its rules decided, its rows' output put in `out`."""
        layout, judge = self.layout, self.judge
        header = layout.header
        value_header = header[layout.roles["value"]].strip()
        errors: dict[int, list[RowError]] = {}
        entry = self._panel_patient(rows, first, errors)
        judged = self._judged(cells, first, entry, errors, value_header)
        if "flag" in layout.roles:
            self._held_against_lab_flags(judged, rows, cells, layout.roles["flag"])
        self.run.record_errors(first, rows, errors)
        for offset in sorted(errors):
            self.run.row_errors(first + offset, errors[offset])
        self.summary.panels += 1
        if not has_liver_test(judged):
            self.summary.without_liver_test += 1
        if sink.wants_rows:  # CSV: rules decided by the book, per-result fields made once per judged result
            self._rows_out(rows, originals, cells, judged, errors, sink, out)
        if sink.wants_panels or sink.wants_counts:
            flat = [error for offset in sorted(errors) for error in errors[offset]]

            def whole() -> PanelOut:
                evaluation = judge.evaluate(tuple(judged.values()), entry.patient)
                shown_key = {header[i].strip(): rows[0][i] for i in layout.key_columns}
                return PanelOut(list(range(first, first + len(rows))), shown_key, panel_for(evaluation, entry.patient), flat)

            if sink.wants_counts:  # the table summary: rule ids and status from the book, the panel only if shown
                rule_ids, status = self._book.panel_ids([judged.get(a) for a in self._book.analyte_ids], sink)
                sink.counted(CountedPanel(rule_ids, status, has_liver_test(judged), flat, whole))
            else:
                sink.panel(whole())

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

    def _judged(self, cells: list[tuple[Analyte | None, Any]], first: int, entry: PatientEntry,
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
                errors.setdefault(offset, []).append(RowError(first + offset, value_header, reading.error))
            earlier = by_analyte.get(analyte_id)
            if earlier is None:
                by_analyte[analyte_id] = offset
            elif cells[earlier][1] is not reading and _result_of(cells[earlier][1]) != _result_of(reading):
                # the same result read twice (ALT 30, ALAT 30.0, ALT 0.5 µkat/L) is no conflict
                message = (f"{analyte_id} is given twice in this panel (rows {first + earlier} and {first + offset}) "
                           "with different results; neither is used")
                conflicts[analyte_id] = message
                errors.setdefault(offset, []).append(RowError(first + offset, value_header, message))
        judged: dict[str, Judged] = {}
        for analyte_id, offset in by_analyte.items():
            analyte, reading = cells[offset]
            if analyte_id in conflicts:
                reading = Reading(analyte, None, conflicts[analyte_id])
            judged[analyte_id] = judge.judge(reading, entry)
        return judged

    def _rows_out(self, rows: list[list[str]], originals: list[str | None], cells: list[tuple[Analyte | None, Any]],
                  judged: dict[str, Judged], errors: dict[int, list[RowError]], sink: Sink, out: LongChunkOutput) -> None:
        """The panel's rows with levlab's fields (CSV) into `out`: its rules decided by the book, the
        per-result fields made once per judged result."""
        judge = self.judge
        book = self._book
        panel_cells: list[Judged | None] = [judged.get(analyte_id) for analyte_id in book.analyte_ids]
        panel_text = book.panel_text(panel_cells, book.signatures(panel_cells), sink)
        ids, fields = [], []
        for analyte, reading in cells:
            if analyte is None:  # an empty analyte id and fields
                ids.append("")
                fields.append(self._empty_fields)
            elif reading is NOT_MEASURED:
                ids.append(self._id_texts[analyte.id])
                fields.append(self._empty_fields)
            else:
                cell = judged[analyte.id]
                ids.append(self._id_texts[analyte.id])
                fields.append(cell.fragment or fragment_of(cell, sink, judge.decimal))
        out.add(rows, originals, ids, fields, panel_text,
                [sink.fragment([error_text(errors[offset])]) if offset in errors else "" for offset in range(len(rows))]
                if errors else None)

    def _analyte_of(self, name: str, code: str) -> Analyte | None:
        names = self.judge.names
        key = (name, code)
        if key in names:
            return names[key]
        self.judge.grow()
        found = find_analyte(name) or (find_analyte(code) if code.strip() else None)
        if len(name) + len(code) <= LONG_CELL:
            names[key] = found
        return found

    def _panel_patient(self, rows: list[list[str]], first: int, errors: dict[int, list[RowError]]) -> PatientEntry:
        """The panel's sex and age: the first given in its rows; a different one later is an error."""
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
            for offset, row in enumerate(rows):
                text = row[at]
                if text.strip().casefold() in self.judge.na:
                    continue
                if not texts[role]:
                    texts[role] = text
                elif text.strip() != texts[role].strip():
                    errors.setdefault(offset, []).append(RowError(
                        first + offset, header[at], f"{role} {shown(text.strip())} differs from {shown(texts[role].strip())} "
                        "earlier in this panel; the first is used"))
        entry = self.judge.patient(texts["sex"], texts["age"])
        if entry.errors:
            for role, message in entry.errors:
                at = roles[role]
                offset = next(i for i, row in enumerate(rows) if row[at] == texts[role])
                errors.setdefault(offset, []).append(RowError(first + offset, header[at], message))
        return entry
