"""Wide records → panels: a row per sample, a column per analyte; each row is a panel.

A chunk of rows is handled column by column: every cell is looked up in its column's cache of
judged cells (keyed by cell text and the patient's assessment context, `levlab.exports.memo`),
rules are decided once per distinct row signature (`levlab.exports.rulebook.RuleBook`), and the
output text is put together from texts made once per judged cell. The work per row is a few
dictionary lookups done in C (`map` and `zip` over the caches).
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from levlab.errors import shown
from levlab.exports.ages import age_at_sample, disagreement
from levlab.exports.fields import ANALYTE_FIELDS, CountedPanel, PanelOut, RowError, error_text, fragment_of, joined
from levlab.exports.layout import AnalyteColumn, stated_unit_conflict
from levlab.exports.memo import LONG_CELL, NOT_MEASURED, Judged, PatientEntry, Reading, panel_for
from levlab.exports.numeric_lane import LaneJudged, NumericLane
from levlab.exports.records import RecordChunk, fields_by_column
from levlab.exports.rulebook import Decision, JudgedColumn, RuleBook, column_entry
from levlab.exports.sinks import Sink, bulk_counts
from levlab.exports.specimens import specimen_kind, whole_blood_analytes

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun

_COLUMNS = operator.attrgetter("columns")
_CELL_ERRORS = operator.attrgetter("cell_errors")
_ERROR = operator.attrgetter("error")
_NO_ERRORS: list[RowError] = []  # (never changed: a row without errors)


class WidePanels:
    """Each row of a wide export a panel, into a sink."""

    def __init__(self, run: ExportRun, sink: Sink) -> None:
        self.run, self.sink = run, sink
        self.layout, self.judge, self.header = run.layout, run.judge, run.header
        layout, judge = self.layout, self.judge
        self.sex_at, self.age_at = layout.roles.get("sex"), layout.roles.get("age")
        self.analyte_ids = [column.analyte.id for column in layout.columns]
        self.book = RuleBook(self.analyte_ids, judge.new_cache)
        # not measured: one stand-in for every column, with the empty fields as its text
        self.absent = Judged(None)
        self.absent.fragment = sink.fragment([""] * len(ANALYTE_FIELDS)) if sink.wants_rows else ""
        self.absent_cell = column_entry(self.absent)
        # per column: its position, the column, and its cache of judged cells
        self.plan = [(position, column, judge.new_cache()) for position, column in enumerate(layout.columns)]
        # the short way for plain-number cells (a memo of the long way): for rows (CSV, workbook), counted
        # panels (the table summary) and panels from their judged results (JSONL: a lane cell, its result made
        # only when a rule reads it);
        # other panels in full (trend) take their results as made
        self.lane = NumericLane(judge.decimal, judge.na, judge.new_cache, sink.fragment if sink.wants_rows else None,
                                enabled=sink.wants_counts or (sink.wants_rows and not sink.wants_panels)
                                or (sink.from_results and not sink.wants_rows))
        self.needed = {i for column in layout.columns for i in (column.index, column.unit_index, column.range_index)
                       if i is not None}
        # without an age column, the age at the sample from a birth date and the sample date (exports.ages)
        self.birth_at = layout.roles.get("birth")  # with an age column too: the two are checked against each other
        self.date_at = layout.roles.get("date")
        self.birth_errors: dict[int, str] = {}  # a chunk's rows whose birth date is wrong
        # a specimen column: a row of another specimen than serum or plasma is not interpreted (exports.specimens)
        self.specimen_at = layout.roles.get("specimen")
        self.specimen_notes: dict[int, str] = {}  # a chunk's rows of a known other specimen
        self.specimen_errors: dict[int, str] = {}  # ... and of a specimen word levlab does not know
        self.needed.update(i for i in (self.sex_at, self.age_at, self.birth_at, self.date_at) if i is not None)

    def write(self, chunks: Iterable[RecordChunk]) -> None:
        """Every row of every chunk, as a panel, into the sink."""
        for first, rows, originals in chunks:
            self._chunk(first, rows, originals)

    def _chunk(self, first: int, rows: list[list[str]], originals: list[str | None]) -> None:
        """One chunk's rows judged column by column, their errors counted, their output written."""
        sink, book = self.sink, self.book
        count = len(rows)
        outputs = rows  # as written back; `rows` below: as judged (a row of another specimen with its results blanked)
        if self.specimen_at is not None:
            rows = self._specimen_rows(rows)
        fields = fields_by_column(rows, self.needed)  # column by column (rows are at least `width` long)
        entries = self._row_patients(fields, count, self.sex_at, self.age_at)
        if self.birth_at is not None:
            entries = self._ages_from_birth(fields, count, entries)
        # per column, the context tokens of the chunk's (few) distinct patients
        in_chunk = [set(tokens) for tokens in zip(*map(_COLUMNS, set(entries)), strict=True)]
        contexts = list(zip(*map(_COLUMNS, entries), strict=True))  # per column, each row's context token
        columns = [JudgedColumn._make(zip(*self._column_cells(position, column, cache, fields, tokens, in_chunk[position],
                                                              rows, entries, book, sink, self.absent_cell), strict=True))
                   for (position, column, cache), tokens in zip(self.plan, contexts, strict=True)]
        if sink.wants_rows or sink.wants_counts:
            texts, decisions, fired = book.panel_texts(columns, count, sink)
            cell_errors = list(map(_CELL_ERRORS, decisions))
        else:  # panels only (JSONL): no rule column is written and nothing counted, so none is decided here
            texts, decisions, fired = [], [], {}
            cell_errors = list(map(any, zip(*[map(operator.is_not, map(_ERROR, column.judged), itertools.repeat(None))
                                              for column in columns], strict=True))) if columns else [False] * count
        rows = outputs
        errors = self._errors(first, rows, columns, cell_errors, entries, self.header)
        error_texts = [""] * count
        for row, row_errors in errors.items():
            error_texts[row] = sink.fragment([error_text(row_errors)])
        for row, note in self.specimen_notes.items():  # said on the row, not counted as an error
            error_texts[row] = sink.fragment([error_text([*errors.get(row, []), RowError(0, "", note)])])
        warning_texts = self._warning_texts(columns, count, sink) if sink.wants_rows else []
        done = count
        try:
            for row in sorted(errors):
                done = row  # rows before a --strict stop are still written
                self.run.row_errors(first + row, errors[row])
            done = count
        finally:
            self.run.summary.panels += done
            self._write(first, rows, originals, columns, texts, error_texts, warning_texts, entries, errors, done)
            if sink.wants_counts:
                self._counted(first, rows, columns, decisions, fired, entries, errors, done)

    def _warning_texts(self, columns: list[JudgedColumn], count: int, sink: Sink) -> list[str]:
        """Each row's levlab_warnings text: its cells' plausibility warnings (looked for only once
        the run has judged a cell with one)."""
        texts = [""] * count
        if not self.judge.warned:
            return texts
        found: dict[int, list[str]] = {}
        for column in columns:
            for row, cell in enumerate(column.judged):
                if cell.warnings:
                    found.setdefault(row, []).extend(cell.warnings)
        for row, warnings in found.items():
            texts[row] = sink.fragment([joined(warnings)])
        return texts

    def _write(self, first: int, rows: list[list[str]], originals: list[str | None], columns: list[JudgedColumn],
               texts: list[str], error_texts: list[str], warning_texts: list[str], entries: list[PatientEntry],
               errors: dict[int, list[RowError]], done: int) -> None:
        """The first `done` rows of a chunk into the sink: as rows (CSV) and/or as panels."""
        sink, judge, absent, header, layout = self.sink, self.judge, self.absent, self.header, self.layout
        count = len(rows)
        if sink.wants_rows and done:
            fragments = [column.fragments for column in columns]
            if done < count:
                rows, originals, texts, error_texts = rows[:done], originals[:done], texts[:done], error_texts[:done]
                warning_texts = warning_texts[:done]
                fragments = [part[:done] for part in fragments]
            sink.chunk(rows, originals, [*fragments, texts, error_texts, warning_texts])
        if sink.wants_panels and not sink.wants_counts:
            from_results, noted, key_columns = sink.from_results, self.specimen_notes, layout.key_columns
            judged_panel = sink.judged_panel
            for row, cells in enumerate(itertools.islice(zip(*[column.judged for column in columns], strict=True), done)):
                entry = entries[row]
                shown_key = {header[i]: rows[row][i] for i in key_columns}
                if from_results and row not in noted and judged_panel(
                        [cell if cell.__class__ is LaneJudged else cell.result for cell in cells if cell is not absent],
                        entry.patient, [first + row], shown_key, errors.get(row, _NO_ERRORS)):
                    continue  # written from its judged results (exports.panel_json)
                key = tuple(cell for cell in cells if cell is not absent)
                evaluation = judge.panels.get(key) or judge.evaluate(key, entry.patient)
                panel = panel_for(evaluation, entry.patient)
                if row in self.specimen_notes:
                    panel = replace(panel, notes=(*panel.notes, self.specimen_notes[row]))
                sink.panel(PanelOut([first + row], shown_key, panel, errors.get(row, [])))

    def _counted(self, first: int, rows: list[list[str]], columns: list[JudgedColumn], decisions: list[Decision],
                 fired: dict[int, tuple[str, ...]], entries: list[PatientEntry], errors: dict[int, list[RowError]],
                 done: int) -> None:
        """The first `done` rows of a chunk as CountedPanels (the table summary): rule ids, status and
        liver test from the RuleBook's decisions, the whole panel made only if the sink asks for it."""
        sink, ids, cells = self.sink, self.book.ids, [column.judged for column in columns]
        if sink.counts_chunks:  # a piece of the summary in a worker process (exports.table_pieces)
            sink.chunk_counts(self, first, rows, cells, entries, errors, decisions, fired, done)
            return
        panel_out = self._panel_out
        row = 0
        while row < done and getattr(sink, "showing", True):
            decision = decisions[row]
            sink.counted(CountedPanel(ids(decision, fired.get(row)), decision.status, decision.liver, errors.get(row, []),
                                      functools.partial(panel_out, first, row, rows[row], cells, entries[row], errors)))
            row += 1
        if row < done:  # nothing more to show: the rest counted in bulk, per distinct Decision
            statuses, rule_counts, without_liver, findings = bulk_counts(decisions, fired, row, done)
            sink.tally(done - row, statuses, rule_counts, sum(row <= at < done for at in errors), without_liver, findings)

    def _panel_out(self, first: int, row: int, fields: list[str], cells: list[tuple[Judged, ...]], entry: PatientEntry,
                   errors: dict[int, list[RowError]]) -> PanelOut:
        """One row's whole panel, interpreted (cached per distinct tuple of judged cells)."""
        key = tuple(column[row] for column in cells if column[row] is not self.absent)
        evaluation = self.judge.panels.get(key) or self.judge.evaluate(key, entry.patient)
        shown_key = {self.header[i]: fields[i] for i in self.layout.key_columns}
        return PanelOut([first + row], shown_key, panel_for(evaluation, entry.patient), errors.get(row, []))

    def _column_cells(self, position: int, column: AnalyteColumn, cache: dict[Any, Any], fields: list[Any],
                      tokens: tuple[int, ...], in_chunk: set[int], rows: list[list[str]],
                      entries: list[PatientEntry], book: RuleBook, sink: Sink, absent: Any) -> list[Any]:
        """A chunk's cells (`_cell`s; `absent` where not measured) of one analyte column, from the
        column's cache: a dict per assessment context keyed by cell text, or, when unit or range
        cells join the key, one dict keyed by (text, context, unit, range)."""
        values = fields[column.index]
        extra = column.unit_index is not None or column.range_index is not None
        if extra:
            keys: Sequence[Any] = list(zip(
                values, tokens,
                fields[column.unit_index] if column.unit_index is not None else itertools.repeat(column.unit),
                fields[column.range_index] if column.range_index is not None else itertools.repeat(column.range_text),
                strict=False))
            cells = list(map(cache.get, keys))
        else:
            keys = values
            for token in in_chunk:
                cache.setdefault(token, {})
            if len(in_chunk) == 1:
                cells = list(map(cache[tokens[0]].get, values))
            else:
                cells = list(map(dict.get, map(cache.__getitem__, tokens), values))
        if None in cells and self.lane.enabled and not extra:
            self._lane_cells(position, cache, values, tokens, cells)
        if None in cells:
            for row, cell in enumerate(cells):
                if cell is None:
                    key = keys[row]
                    store = cache if extra else cache.setdefault(tokens[row], {})  # (a grow may have cleared it)
                    cell = store.get(key)  # judged already, further up this chunk?
                    if cell is None:
                        cell = self._new_cell(position, column, rows[row], entries[row], tokens[row], book, sink, absent)
                        if (not any(isinstance(part, str) and len(part) > LONG_CELL for part in key) if extra
                                else len(key) <= LONG_CELL):
                            (cache if extra else cache.setdefault(tokens[row], {}))[key] = cell
                    cells[row] = cell
        return cells

    def _lane_cells(self, position: int, cache: dict[Any, Any], values: Sequence[str], tokens: Sequence[int],
                    cells: list[Any]) -> None:
        """The cells of a chunk's column (unit and range the column's) that the numeric lane answers,
        filled in and kept in the column's cache; the others stay None."""
        missing: dict[int, list[int]] = {}  # context token -> rows not found in the cache
        for row in itertools.compress(range(len(cells)), map(operator.not_, cells)):
            missing.setdefault(tokens[row], []).append(row)
        for token, at in missing.items():
            plan = self.lane.plans.get((position, token))
            if plan is None:
                continue
            found = self.lane.entries(plan, {values[row] for row in at})
            self.judge.grow(len(found))  # (may clear the caches: the column's dict taken after it)
            store = cache.setdefault(token, {})
            store.update(found)
            for row in at:
                cells[row] = found.get(values[row])

    def _new_cell(self, position: int, column: AnalyteColumn, row: list[str], entry: PatientEntry, token: int,
                  book: RuleBook, sink: Sink, absent: Any) -> Any:
        """A cell not seen before, as a JudgedColumn entry: the numeric lane's when it knows the cell
        (`exports.numeric_lane`), else the long way's, which the lane then learns from."""
        lane, text, plan = self.lane, row[column.index], None
        if lane.enabled:
            key = (position, token, *self._unit_and_range(column, row)) if column.unit_index is not None or (
                column.range_index is not None) else (position, token)  # unit and range: the column's
            plan = lane.plans.get(key)
            if plan is not None:
                self.judge.grow()
                found = lane.cell(plan, text)
                if found is not None:
                    return found
        cell = self._judge_cell(column, row, entry, token)
        if cell is NOT_MEASURED:
            return absent
        self._ready(position, cell, book, sink)
        if lane.enabled:
            plan = plan or lane.plan_for(key, cell, column.analyte, book.projections[position],
                                         functools.partial(self._long_way, column, list(row), entry, token))
            if plan is not None:
                lane.learn(plan, text, cell)
        return column_entry(cell)

    def _long_way(self, column: AnalyteColumn, row: list[str], entry: PatientEntry, token: int, text: str) -> Judged:
        """A numeric-lane cell judged the long way: `text` in its plan's first row."""
        row = list(row)
        row[column.index] = text
        return self._judge_cell(column, row, entry, token)

    def _row_patients(self, fields: list[tuple[str, ...]], count: int, sex_at: int | None, age_at: int | None) -> list[PatientEntry]:
        """The patient of each row of a chunk, from its sex and age cells (cached per pair of texts)."""
        judge = self.judge
        if sex_at is None and age_at is None:
            entry = judge.patient("", "")
            if entry.columns is None:
                self._column_contexts(entry)
            return [entry] * count
        whos = list(zip(fields[sex_at] if sex_at is not None else itertools.repeat(""),
                        fields[age_at] if age_at is not None else itertools.repeat(""), strict=False))
        entries = list(map(judge.patients.get, whos))
        if None in entries:
            for row, entry in enumerate(entries):
                if entry is None:
                    entry = entries[row] = judge.patient(*whos[row])
                    if entry.columns is None:
                        self._column_contexts(entry)
        return entries

    def _specimen_rows(self, rows: list[list[str]]) -> list[list[str]]:
        """The chunk's rows as judged: a row whose specimen is not serum or plasma (or blank) with its
        analyte cells blanked, said on the row (a note; an error for a word levlab does not know)."""
        self.specimen_notes, self.specimen_errors = {}, {}
        at, na = self.specimen_at, self.judge.na
        judged = rows
        for row, fields in enumerate(rows):
            text = fields[at].strip() if at is not None and at < len(fields) else ""
            if text.casefold() in na or specimen_kind(text) == "serum":
                continue
            if judged is rows:
                judged = list(rows)
            blanked = list(fields)
            kind = specimen_kind(text)
            kept = whole_blood_analytes() if kind == "whole_blood" else frozenset()
            for column in self.layout.columns:
                if column.analyte.id not in kept:
                    blanked[column.index] = ""
            judged[row] = blanked
            name = self.layout.header[at].strip()  # type: ignore[index]
            if kind == "whole_blood":
                self.specimen_notes[row] = (f"{name}: specimen {shown(text)} (whole blood): only the blood count "
                                            f"({', '.join(sorted(kept))}) is interpreted; the other results are passed "
                                            "through, not the serum or plasma results levlab's intervals are for")
            elif kind is None:
                self.specimen_errors[row] = (f"specimen {shown(text)} is not known as serum or plasma, so this row's "
                                             "results are not interpreted (the words are in levlab/data/specimens.toml); "
                                             f"if {shown(name)} holds sample ids, say so with --col sample=\"{name}\"")
            else:
                self.specimen_notes[row] = (f"{name}: specimen {shown(text)}: not serum or plasma; this row's results "
                                            "are passed through, not interpreted")
        return judged

    def _ages_from_birth(self, fields: list[tuple[str, ...]], count: int, entries: list[PatientEntry]) -> list[PatientEntry]:
        """Each row's patient with the age at the sample from its birth date; wrong birth dates kept for `_errors`."""
        self.birth_errors = {}
        births = fields[self.birth_at]  # type: ignore[index]
        dates = fields[self.date_at] if self.date_at is not None else itertools.repeat("")
        sexes = fields[self.sex_at] if self.sex_at is not None else itertools.repeat("")
        ages = fields[self.age_at] if self.age_at is not None else itertools.repeat("")
        out = []
        for row, (birth, date, sex, age_text) in enumerate(zip(births, dates, sexes, ages, strict=False)):
            if not birth.strip():
                out.append(entries[row])
                continue
            age, problem = age_at_sample(birth, date)
            if age_text.strip():  # an age column wins, unless the birth date contradicts it (exports.ages)
                disagree = disagreement(age_text, age) if age else None
                if disagree is None:
                    out.append(entries[row])
                    continue
                self.birth_errors[row], age = disagree, ""
            elif problem:
                self.birth_errors[row] = problem
            entry = self.judge.patient(sex, age)
            if entry.columns is None:
                self._column_contexts(entry)
            out.append(entry)
        return out

    def _ready(self, position: int, cell: Judged, book: RuleBook, sink: Sink) -> Judged:
        """A judged cell with its signature and (for CSV) its text made."""
        if cell.signature is None:
            book.sign(position, cell)
        if cell.fragment is None and sink.wants_rows:
            fragment_of(cell, sink, self.judge.decimal)
        return cell

    def _errors(self, first: int, rows: list[list[str]], columns: list[JudgedColumn], cell_errors: list[bool],
                     entries: list[PatientEntry], header: list[str]) -> dict[int, list[RowError]]:
        """The errors of a chunk's rows, by row index (`cell_errors`: whether a cell of the row
        carries one): cells, then sex/age, then width, then bytes."""
        errors: dict[int, list[RowError]] = {}
        if any(cell_errors):
            for row in itertools.compress(range(len(rows)), cell_errors):
                errors[row] = [RowError(first + row, self._column_of(column, chunk_column.judged[row].error),
                                        chunk_column.judged[row].error)
                               for column, chunk_column in zip(self.layout.columns, columns, strict=True)
                               if chunk_column.judged[row].error is not None]
        if any(entry.errors for entry in set(entries)):
            roles = self.layout.roles
            for row, entry in enumerate(entries):
                for role, message in entry.errors:
                    errors.setdefault(row, []).append(RowError(first + row, header[roles[role]], message))
        for row, problem in self.birth_errors.items():
            errors.setdefault(row, []).append(RowError(first + row, header[self.layout.roles["birth"]], problem))
        for row, problem in self.specimen_errors.items():
            errors.setdefault(row, []).append(RowError(first + row, header[self.layout.roles["specimen"]], problem))
        self.run.record_errors(first, rows, errors)
        return errors

    def _column_of(self, column: AnalyteColumn, message: str) -> str:
        """The column an error belongs to: a bad reference range is the range column's, not the value's."""
        if column.range_index is not None and message.startswith("reference range"):
            return self.layout.header[column.range_index].strip()
        return column.header

    def _column_contexts(self, entry: PatientEntry) -> tuple[int, ...]:
        """The patient's assessment context for each analyte column (made once per patient)."""
        entry.columns = tuple(self.judge.context(column.analyte.id, entry) for column in self.layout.columns)
        return entry.columns

    @staticmethod
    def _unit_and_range(column: AnalyteColumn, row: list[str]) -> tuple[str | None, str | None]:
        return (row[column.unit_index] if column.unit_index is not None else column.unit,
                row[column.range_index] if column.range_index is not None else column.range_text)

    def _judge_cell(self, column: AnalyteColumn, row: list[str], entry: PatientEntry, context: int) -> Any:
        """A wide cell read and judged for this context: a Judged, or NOT_MEASURED."""
        self.judge.grow()
        unit, lab_range = self._unit_and_range(column, row)
        if column.unit is not None and column.unit_index is not None:  # a stated unit beside a unit column
            conflict = stated_unit_conflict(column, unit, self.layout.header[column.unit_index].strip(), self.judge.na)
            if conflict is not None:
                if row[column.index].strip().casefold() in self.judge.na:
                    return NOT_MEASURED
                return self.judge.judge(Reading(column.analyte, None, conflict), entry, context)
            unit = column.unit
        reading = self.judge.reading(column.analyte, row[column.index], unit, lab_range, column.range_source)
        if reading is NOT_MEASURED:
            return NOT_MEASURED
        return self.judge.judge(reading, entry, None if reading.patient_free else context)
