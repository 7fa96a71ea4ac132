"""Writing a long panel's rows: each input row with levlab's fields, from its panel's decision.

A decided panel (`exports.long_decision.Decided`) has its rows written — all of them, or one run
of them when a sample's rows are apart in the file — with, on each row:

* the analyte id and the result's fields (`fields.ANALYTE_FIELDS`), made once per judged result
  (`Judged.fragment`), afresh only where an abnormal baseline changes the CTCAE grade;
* the panel's rule columns, decided by the book (`exports.rulebook.RuleBook`) once per distinct
  signature of judged results; a withheld panel is never `met`;
* the row's errors and notes (a specimen kept out is a note: its text joins levlab_error
  without counting as an error); the rows' own warnings and the panel's;
* with follow-up, the previous sample's date, value, flag and change, and the baseline's date.

The output goes column by column into a `LongChunkOutput`, given to the sink once per chunk.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from levlab.catalog import analytes
from levlab.exports.fields import ANALYTE_FIELDS, FOLLOW_UP_FIELDS, RowError, error_text, fragment_of, joined
from levlab.exports.memo import NOT_MEASURED, Judged

if TYPE_CHECKING:
    from levlab.exports.followup import FollowUp, Link
    from levlab.exports.long_cells import Cell
    from levlab.exports.long_decision import Decided
    from levlab.exports.rulebook import RuleBook
    from levlab.exports.run import ExportRun
    from levlab.exports.sinks import Sink


class LongChunkOutput:
    """The CSV output of a chunk's long panels, written once per chunk. Per panel it keeps its rows,
    their analyte ids and fields, the panel's rule columns once (with its row count), and errors,
    warnings and follow-up fields only where there are any; `columns` lays them out per row."""

    __slots__ = ("errors", "fields", "follow_up", "ids", "originals", "panel_texts", "rows", "sizes", "warnings")

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.originals: list[str | None] = []
        self.ids: list[str] = []
        self.fields: list[str] = []
        self.panel_texts: list[str] = []
        self.sizes: list[int] = []  # each panel's row count, for its panel text
        self.errors: list[tuple[int, list[str]]] = []  # (first row's offset, each row's error text)
        self.warnings: list[tuple[int, list[str]]] = []
        self.follow_up: list[list[str]] | None = None  # the three follow-up columns, when the run follows

    def add(self, rows: list[list[str]], originals: list[str | None], ids: list[str], fields: list[str],
            panel_text: str, errors: list[str] | None, warnings: list[str] | None = None,
            follow_up: list[list[str]] | None = None) -> None:
        if errors is not None:
            self.errors.append((len(self.rows), errors))
        if warnings is not None:
            self.warnings.append((len(self.rows), warnings))
        if follow_up is not None:
            if self.follow_up is None:
                self.follow_up = [[""] * len(self.rows) for _ in range(3)]
            for column, texts in zip(self.follow_up, follow_up, strict=True):
                column += texts
        self.rows += rows
        self.originals += originals
        self.ids += ids
        self.fields += fields
        self.panel_texts.append(panel_text)
        self.sizes.append(len(rows))

    def columns(self) -> list[list[str]]:
        """levlab's columns, row by row: analyte id, its fields, panel fields, error, [follow-up fields,] warnings."""
        count = len(self.rows)
        panel = list(itertools.chain.from_iterable(map(itertools.repeat, self.panel_texts, self.sizes)))
        return [self.ids, self.fields, panel, _spread(self.errors, count), *(self.follow_up or ()),
                _spread(self.warnings, count)]

    def give(self, sink: Sink) -> None:
        """The chunk's rows to the sink, if it has any."""
        if self.rows:
            sink.chunk(self.rows, self.originals, self.columns())


def _spread(parts: list[tuple[int, list[str]]], count: int) -> list[str]:
    """A column of `count` rows, empty but for the parts given at their offsets."""
    column = [""] * count
    for at, texts in parts:
        column[at:at + len(texts)] = texts
    return column


class LongRows:
    """Writes the rows of decided long panels (see the module text)."""

    def __init__(self, run: ExportRun, sink: Sink, book: RuleBook) -> None:
        self.run, self.sink, self.book, self.judge = run, sink, book, run.judge
        self.empty_fields = sink.fragment([""] * len(ANALYTE_FIELDS))
        # the follow-up columns: previous date (panel), previous value, flag and change (row), baseline date (panel)
        # (an empty single field is "", as the empty levlab_error is: a fragment of one empty field would be quoted)
        self.empty_follow_up = ("", sink.fragment([""] * (len(FOLLOW_UP_FIELDS) - 2)), "")
        self.id_texts = {analyte_id: sink.fragment([analyte_id]) for analyte_id in analytes()}

    def write(self, rows: list[list[str]], originals: list[str | None], cells: list[Cell],
              numbers: Sequence[int], decided: Decided, out: LongChunkOutput) -> None:
        """Rows of a decided panel with levlab's fields (CSV) into `out` (all its rows, or one run of them)."""
        sink, judged, link = self.sink, decided.judged, decided.link
        book = self.book
        follow_up = self.run.follow_up
        serial = () if follow_up is None else follow_up.serial_ids(judged, link)
        panel_cells: list[Judged | None] = list(map(judged.get, book.analyte_ids))
        panel_text = book.panel_text(panel_cells, book.signatures(panel_cells), sink, serial,
                                     withhold=decided.withheld)
        # each row's judged cell, None for a test levlab does not know or a value not measured
        row_cells = [None if analyte is None or reading is NOT_MEASURED else judged[analyte.id] for analyte, reading in cells]
        ids = [self.id_texts[analyte.id] if analyte is not None else "" for analyte, _ in cells]
        fields = self._fields(row_cells, link, follow_up)
        warnings = self._warnings(row_cells, link)
        follow_texts = None if follow_up is None else self._follow_up_texts(cells, row_cells, link, follow_up)
        out.add(rows, originals, ids, fields, panel_text, self._error_texts(numbers, decided), warnings, follow_texts)

    def _fields(self, row_cells: list[Judged | None], link: Link, follow_up: FollowUp | None) -> list[str]:
        """Each row's result fields: made once per judged result, graded afresh against an abnormal baseline."""
        sink, decimal, empty = self.sink, self.judge.decimal, self.empty_fields
        rebased = link.rebased
        if not rebased:
            return [empty if cell is None else cell.fragment or fragment_of(cell, sink, decimal) for cell in row_cells]
        return [empty if cell is None
                else follow_up.graded_fragment(cell, rebased[cell.result.analyte], sink, decimal)
                if rebased and follow_up is not None and cell.result is not None and cell.result.analyte in rebased
                else cell.fragment or fragment_of(cell, sink, decimal) for cell in row_cells]

    def _warnings(self, row_cells: list[Judged | None], link: Link) -> list[str] | None:
        """Each row's levlab_warnings: its own result's warnings and the panel's; None when there are none."""
        if not (self.judge.warned or link.warning):
            return None
        panel_warning = [link.warning] if link.warning else []
        texts = [joined([*(cell.warnings if cell is not None else ()), *panel_warning]) for cell in row_cells]
        return [self.sink.fragment([text]) if text else "" for text in texts]

    def _error_texts(self, numbers: Sequence[int], decided: Decided) -> list[str] | None:
        """Each row's levlab_error: its errors, then its notes (a note is said, not counted); None when none."""
        errors = decided.errors
        if decided.notes:
            errors = {number: list(errors.get(number, [])) for number in {*errors, *decided.notes}}
            for number, note in decided.notes.items():
                errors[number].append(RowError(0, "", note))  # only its text is written
        if not errors:
            return None
        fragment = self.sink.fragment
        return [fragment([error_text(errors[number])]) if number in errors else "" for number in numbers]

    def _follow_up_texts(self, cells: list[Cell], row_cells: list[Judged | None], link: Link,
                         follow_up: FollowUp) -> list[list[str]]:
        """The follow-up columns of each row: previous date, previous value/flag/change, baseline date."""
        count = len(cells)
        empty = self.empty_follow_up
        if not link.previous and not link.baseline:
            return [[empty[0]] * count, [empty[1]] * count, [empty[2]] * count]
        sink, decimal, previous = self.sink, self.judge.decimal, link.previous
        befores = [empty[1] if cell is None or analyte is None or analyte.id not in previous
                   else follow_up.before_fragment(cell, previous[analyte.id], sink, decimal)
                   for (analyte, _), cell in zip(cells, row_cells, strict=True)]
        return [[sink.fragment([link.previous_label]) if link.previous_label else ""] * count, befores,
                [sink.fragment([link.baseline_label]) if link.baseline_label else ""] * count]
