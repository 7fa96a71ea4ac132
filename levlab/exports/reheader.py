"""A header repeated in the middle of an export: it ends the layout it follows (issue 19.8).

Two exports pasted together bring the second one's header along, perhaps with its columns in
another order; reading the rows after it by the first header would swap ALT and AST silently.
`HeaderWatch` looks at every data record (a cheap test first: a cell where a number belongs that
is no plain number), and a record that looks like a header — at least half as many cells naming
a role or an analyte as the first header has, and two at least — ends the layout:

* its layout is detected afresh; when its columns mean the same as the first header's (the same
  roles, the same analytes in the same units, the same unit and range columns; passed-through
  columns matched by name), the rows after it are read by its columns: each record's cells are
  put back in the first header's order (the record's own text is still what is written back).
  The header row itself is not data: an error on its row says what happened;
* otherwise the run stops there (`stop`): the rows before it are written, and the message names
  what differs, so that the file can be split at that row.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
from collections.abc import Iterable, Iterator
from typing import Any

from levlab.errors import LevlabError
from levlab.exports.header import role_of, shown_list, split_header
from levlab.exports.layout import Layout, detect_layout
from levlab.exports.records import RecordChunk, RecordReader
from levlab.exports.settings import CsvOptions

_NOT_A_NUMBER = re.compile(r"[^0-9.,<>=≤≥\s]")  # a cell where a number belongs holding something else
_RECOGNISED: dict[str, bool] = {}


def names_a_column(cell: str) -> bool:
    """Whether a cell names a role or an analyte, as a header cell does (cached per text)."""
    found = _RECOGNISED.get(cell)
    if found is None:
        text = cell.strip()
        if not text or len(text) > 256:
            found = False
        elif role_of(text) is not None:
            found = True
        else:
            try:
                found = split_header(text)[0] is not None
            except LevlabError:  # a bracketed text that is no unit: still names an analyte
                found = True
        if len(_RECOGNISED) < 100_000:
            _RECOGNISED[cell] = found
    return found


def meanings(layout: Layout) -> dict[tuple[Any, ...], int]:
    """What each column of a layout means -> its index: roles, analyte columns with their units,
    their unit and range columns; the other columns by their name."""
    found: dict[tuple[Any, ...], int] = {("role", role): index for role, index in layout.roles.items()}
    for column in layout.columns:
        found[("analyte", column.analyte.id, column.unit)] = column.index
        if column.unit_index is not None:
            found[("unit of", column.analyte.id)] = column.unit_index
        if column.range_index is not None:
            found[("range of", column.analyte.id)] = column.range_index
    used = set(found.values())
    for index, text in enumerate(layout.header):
        if index not in used:
            found.setdefault(("text", text.strip().casefold()), index)
    return found


def _said(meaning: tuple[Any, ...]) -> str:
    kind, *rest = meaning
    if kind == "analyte":
        return f"{rest[0]} ({rest[1] or 'no unit'})"
    return f"{kind} {rest[0]}"


class LayoutStop(LevlabError):
    """A header mid-file whose columns mean other things: the run stops at its row."""


class HeaderWatch:
    """Data records with a header repeated mid-file taken out, and the records after it in the
    first header's column order (see the module text)."""

    def __init__(self, layout: Layout, options: CsvOptions, decimal: str, delimiter: str) -> None:
        self.layout, self.options, self.decimal, self.delimiter = layout, options, decimal, delimiter
        self.first = meanings(layout)
        self.meaningful = {meaning for meaning in self.first if meaning[0] != "text"}
        recognised = sum(map(names_a_column, layout.header))
        self.enough = max(2, (recognised + 1) // 2)
        #: where a number belongs: the value column (long) or the analyte columns (wide)
        self.number_at = ([layout.roles["value"]] if "value" in layout.roles
                          else [column.index for column in layout.columns])
        self.order: list[int] | None = None  # the current record's cell for each first-header column
        self.changes: list[str] = []  # what the report says, one line per header met
        self.stop: LayoutStop | None = None  # set when a header ends the run
        self.stopped_at: int | None = None

    def chunks(self, records: RecordReader) -> Iterator[RecordChunk]:
        """The reader's chunks, watched; ends early when a header stops the run (`stop`)."""
        for first, rows, originals in records.chunks():
            start = 0
            for at in self._headers_in(rows):
                if at > start:
                    yield self._ordered(first + start, rows[start:at], originals[start:at])
                number = first + at
                if not self._take_header(rows[at], number, records.bad_rows):
                    return
                self._not_data(rows, originals, at)
                start = at
            yield self._ordered(first + start, rows[start:], originals[start:])

    def _headers_in(self, rows: list[list[str]]) -> list[int]:
        """Indexes of the rows that look like a header."""
        if not self.number_at or not rows:
            return []
        width = min(map(len, rows))
        if max(self.number_at) >= width:
            return []
        values = list(map(operator.itemgetter(self.number_at[0]), rows))
        if _NOT_A_NUMBER.search("\n".join(values)) is None:  # every cell a number's (a line break is a space): no header
            return []
        candidates: Iterable[int] = itertools.compress(range(len(rows)), map(_NOT_A_NUMBER.search, values))
        return [index for index in candidates if sum(map(names_a_column, rows[index])) >= self.enough]

    def _take_header(self, row: list[str], number: int, bad_rows: dict[int, str]) -> bool:
        """A header met at data row `number`: read on by its columns (True) or stop (False)."""
        shown_cells = shown_list([cell.strip() for cell in row if cell.strip()], 8)
        try:
            layout = detect_layout(row, self.options, self.decimal)
        except LevlabError as error:
            return self._stop(number, f"row {number} is a header ({shown_cells}) that levlab cannot read: {error}")
        found = meanings(layout)
        meaningful = {meaning for meaning in found if meaning[0] != "text"}
        if layout.kind != self.layout.kind or meaningful != self.meaningful:
            missing = sorted(map(_said, self.meaningful - meaningful))
            new = sorted(map(_said, meaningful - self.meaningful))
            what = "; ".join(part for part in (f"without {', '.join(missing)}" if missing else "",
                                               f"with {', '.join(new)}" if new else "",
                                               f"a {layout.kind} layout" if layout.kind != self.layout.kind else "")
                             if part)
            return self._stop(number, f"row {number} is another header ({shown_cells}) whose columns differ from the "
                              f"first header's ({what}): levlab stops there rather than read the rows after it by the "
                              f"first header; split the file at row {number}")
        order = [found.get(meaning, -1) for meaning in sorted(self.first, key=self.first.__getitem__)]
        same = order == list(range(len(order)))
        self.order = None if same else order
        said = ("repeats the header" if same else "repeats the header with its columns in another order: the rows "
                "after it are read by its columns")
        bad_rows[number] = f"this row {said}; it is not data"
        self.changes.append(f"levlab csv: row {number} {said}")
        return True

    def _stop(self, number: int, message: str) -> bool:
        self.stop = LayoutStop(message)
        self.stopped_at = number
        return False

    def _text(self, row: list[str]) -> str:
        """A record's cells as the delimited text of the file."""
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter, lineterminator="").writerow(row)
        return out.getvalue()

    def _not_data(self, rows: list[list[str]], originals: list[str | None], at: int) -> None:
        """The header row blanked for reading (its row carries the error only), written back as it is."""
        row = rows[at]
        if originals[at] is None:
            originals[at] = self._text(row)
        blank = [""] * self.layout.width
        values = getattr(row, "values", None)  # a workbook's typed cells, written back by its sink
        rows[at] = row.__class__(blank, values) if values is not None else blank

    def _ordered(self, first: int, rows: list[list[str]], originals: list[str | None]) -> RecordChunk:
        """Records in the first header's column order (their own text kept for the write-back)."""
        order = self.order
        if order is None:
            return RecordChunk(first, rows, originals)
        width = max(order) + 1
        ordered, texts = [], []
        for row, original in zip(rows, originals, strict=True):
            if original is None:  # written back from its cells: as they are in the file
                original = self._text(row)
            cells = row if len(row) >= width else [*row, *[""] * (width - len(row))]
            cells = [cells[at] if at >= 0 else "" for at in order]
            values = getattr(row, "values", None)
            ordered.append(row.__class__(cells, values) if values is not None else cells)
            texts.append(original)
        return RecordChunk(first, ordered, texts)
